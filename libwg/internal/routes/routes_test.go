package routes

import (
	"fmt"
	"math/rand"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"wgcore/libwg/internal/packettest"
)

var addrA, addrB = packettest.AddrA, packettest.AddrB

func mustRoutes(t testing.TB, text string) *Table {
	t.Helper()
	r, err := FromUAPI(text)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// lookup is the public key of the peer Route hands a packet to addr.
func lookup(r *Table, addr netip.Addr) (string, bool) {
	p := make([]byte, 40)
	if addr.Is4() {
		p[0] = 0x45
		a := addr.As4()
		copy(p[16:], a[:])
	} else {
		p[0] = 0x60
		a := addr.As16()
		copy(p[24:], a[:])
	}
	if peer, noRoute := r.Route(p); !noRoute {
		return r.Peers()[peer], true
	}
	return "", false
}

func TestRouteTableLongestPrefixWins(t *testing.T) {
	r := mustRoutes(t, `private_key=00
listen_port=1
public_key=aa
endpoint=127.0.0.1:1
allowed_ip=10.0.0.0/8
allowed_ip=fd00::/16
public_key=bb
allowed_ip=10.1.0.0/16
allowed_ip=10.1.2.3/32
allowed_ip=fd00:1::/64
public_key=cc
allowed_ip=192.0.2.77/24
public_key=dd
`)
	for addr, want := range map[string]string{
		"10.1.2.3":        "bb",
		"10.1.9.9":        "bb",
		"10.2.0.1":        "aa",
		"11.0.0.1":        "",
		"192.0.2.1":       "cc", // stored masked: 192.0.2.0/24
		"fd00:1::5":       "bb",
		"fd00:2::5":       "aa",
		"fd01::1":         "",
		"::ffff:10.0.0.1": "", // IPv4-mapped IPv6 is IPv6, as in wireguard-go
	} {
		got, ok := lookup(r, netip.MustParseAddr(addr))
		if got != want || ok != (want != "") {
			t.Errorf("lookup(%s) = %q, %v; want %q", addr, got, ok, want)
		}
	}
}

func TestRouteTableDefaultRoutesAreSeparatePerFamily(t *testing.T) {
	r := mustRoutes(t, "public_key=aa\nallowed_ip=0.0.0.0/0\n")
	if _, ok := lookup(r, netip.MustParseAddr("203.0.113.9")); !ok {
		t.Error("0.0.0.0/0 does not cover an IPv4 address")
	}
	if _, ok := lookup(r, netip.MustParseAddr("2001:db8::1")); ok {
		t.Error("0.0.0.0/0 covers an IPv6 address")
	}
}

func TestRouteTableRejectsBadText(t *testing.T) {
	for _, text := range []string{"allowed_ip=10.0.0.0/8\n", "public_key=aa\nallowed_ip=10.0.0.0/33\n", "public_key=aa\nallowed_ip=nonsense\n"} {
		if _, err := FromUAPI(text); err == nil {
			t.Errorf("%q accepted", text)
		}
	}
}

func TestRouteLooksAtTheDestination(t *testing.T) {
	r := mustRoutes(t, "public_key=aa\nallowed_ip=198.51.100.2/32\nallowed_ip=fd42::/64\n")
	v6 := func(dst string) []byte {
		p := make([]byte, 40)
		p[0] = 0x60
		a := netip.MustParseAddr(dst).As16()
		copy(p[24:], a[:])
		return p
	}
	cases := map[string]struct {
		packet  []byte
		peer    int
		noRoute bool
	}{
		"covered v4":   {packettest.IPv4(addrA, addrB, nil), 0, false},
		"uncovered v4": {packettest.IPv4(addrB, addrA, nil), -1, true},
		"covered v6":   {v6("fd42::1"), 0, false},
		"uncovered v6": {v6("fd43::1"), -1, true},
		"short":        {packettest.IPv4(addrB, addrA, nil)[:12], -1, false},
		"not IP":       {make([]byte, 40), -1, false},
	}
	for name, c := range cases {
		if peer, noRoute := r.Route(c.packet); peer != c.peer || noRoute != c.noRoute {
			t.Errorf("%s: route = %d, %v", name, peer, noRoute)
		}
	}
	var none *Table // before the first config set
	if _, noRoute := none.Route(packettest.IPv4(addrA, addrB, nil)); !noRoute {
		t.Error("an empty table routes a packet")
	}
}

func TestPeersAreThoseWithAnAllowedIP(t *testing.T) {
	r := mustRoutes(t, "public_key=bb\nallowed_ip=fd42::/64\npublic_key=cc\npublic_key=aa\nallowed_ip=10.0.0.0/8\nallowed_ip=10.1.0.0/16\n")
	if got := r.Peers(); !slices.Equal(got, []string{"bb", "aa"}) {
		t.Fatalf("peers %q", got)
	}
}

// TestRouteTableMatchesALinearScan compares lookups with the obvious
// algorithm over random tables and addresses.
func TestRouteTableMatchesALinearScan(t *testing.T) {
	rng := rand.New(rand.NewSource(8))
	randomAddr := func(v6 bool) netip.Addr {
		if v6 {
			var b [16]byte
			rng.Read(b[:2]) // few distinct high bits, so prefixes overlap
			return netip.AddrFrom16(b)
		}
		return netip.AddrFrom4([4]byte{10, byte(rng.Intn(4)), byte(rng.Intn(4)), byte(rng.Intn(256))})
	}
	for round := 0; round < 20; round++ {
		var text strings.Builder
		var prefixes []netip.Prefix
		owner := map[netip.Prefix]string{}
		for peer := 0; peer < 30; peer++ {
			key := fmt.Sprintf("%02x", peer)
			fmt.Fprintf(&text, "public_key=%s\n", key)
			for i := 0; i < 5; i++ {
				v6 := rng.Intn(2) == 0
				bits := rng.Intn(33)
				if v6 {
					bits = rng.Intn(129)
				}
				p := netip.PrefixFrom(randomAddr(v6), bits).Masked()
				fmt.Fprintf(&text, "allowed_ip=%s\n", p)
				if _, seen := owner[p]; !seen {
					prefixes = append(prefixes, p)
				}
				owner[p] = key
			}
		}
		r := mustRoutes(t, text.String())
		for i := 0; i < 2000; i++ {
			addr := randomAddr(rng.Intn(2) == 0)
			want, best := "", -1
			for _, p := range prefixes {
				if p.Contains(addr) && p.Bits() > best {
					want, best = owner[p], p.Bits()
				}
			}
			if got, _ := lookup(r, addr); got != want {
				t.Fatalf("round %d: lookup(%s) = %q, want %q", round, addr, got, want)
			}
		}
	}
}

func BenchmarkRouteManyPeers(b *testing.B) {
	var text strings.Builder
	for peer := 0; peer < 10000; peer++ {
		fmt.Fprintf(&text, "public_key=%04x\nallowed_ip=10.%d.%d.0/24\nallowed_ip=fd00:%x::/64\n", peer, peer>>8, peer&255, peer)
	}
	r := mustRoutes(b, text.String())
	packet := packettest.IPv4(addrA, []byte{10, 20, 30, 40}, make([]byte, 100))
	b.ResetTimer()
	for range b.N {
		if _, noRoute := r.Route(packet); noRoute {
			b.Fatal("no route")
		}
	}
}
