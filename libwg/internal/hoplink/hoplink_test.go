//go:build !upstream

package hoplink

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"wgcore/libwg/internal/packettest"
)

var (
	local  = netip.MustParseAddr("203.0.113.2")
	remote = netip.MustParseAddrPort("203.0.113.10:51820")
)

func TestCheckAcceptsOnlyUDPFromTheExitEndpoint(t *testing.T) {
	to := netip.AddrPortFrom(local, 4000)
	good := packettest.UDP(remote, to, []byte("datagram"))
	if err := Check(good, remote, local); err != nil {
		t.Fatalf("a good packet was refused: %v", err)
	}
	edit := func(f func(p []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	for name, p := range map[string][]byte{
		"short":           good[:27],
		"IPv6":            edit(func(p []byte) []byte { p[0] = 0x65; return p }),
		"IHL past end":    edit(func(p []byte) []byte { p[0] = 0x4f; return p }),
		"IHL too small":   edit(func(p []byte) []byte { p[0] = 0x44; return p }),
		"total too long":  edit(func(p []byte) []byte { binary.BigEndian.PutUint16(p[2:], 500); return p }),
		"TCP":             edit(func(p []byte) []byte { p[9] = 6; return p }),
		"other source":    packettest.UDP(netip.MustParseAddrPort("203.0.113.11:51820"), to, []byte("datagram")),
		"other port":      packettest.UDP(netip.MustParseAddrPort("203.0.113.10:1"), to, []byte("datagram")),
		"other dest":      packettest.UDP(remote, netip.MustParseAddrPort("203.0.113.3:4000"), []byte("datagram")),
		"UDP length off":  edit(func(p []byte) []byte { binary.BigEndian.PutUint16(p[24:], 300); return p }),
		"UDP length tiny": edit(func(p []byte) []byte { binary.BigEndian.PutUint16(p[24:], 2); return p }),
	} {
		if Check(p, remote, local) == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestLinkDropsWhatTheForkWouldPanicOn(t *testing.T) {
	l, err := New(local, remote, 1420)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	bad := packettest.UDP(remote, netip.AddrPortFrom(local, 4000), nil)
	bad[0] = 0x4f // a header longer than the packet: multihoptun slices past its end
	if n, err := l.Write(bad, 0); n != len(bad) || err != nil {
		t.Fatalf("write: %d %v", n, err)
	}
	if l.Dropped() != 1 {
		t.Fatalf("dropped %d, want 1", l.Dropped())
	}
	l.Close() // a second Close must not panic
	if _, ok := <-l.Events(); ok {
		t.Fatal("the event channel stays open after Close")
	}
}

func TestNewRefusesIPv6(t *testing.T) {
	if _, err := New(netip.MustParseAddr("2001:db8::2"), remote, 1420); err == nil {
		t.Error("an IPv6 local address was accepted")
	}
	if _, err := New(local, netip.MustParseAddrPort("[2001:db8::1]:51820"), 1420); err == nil {
		t.Error("an IPv6 exit endpoint was accepted")
	}
}
