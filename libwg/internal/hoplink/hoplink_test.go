//go:build !upstream

package hoplink

import (
	"encoding/binary"
	"net/netip"
	"testing"
)

var (
	local  = netip.MustParseAddr("203.0.113.2")
	remote = netip.MustParseAddrPort("203.0.113.10:51820")
)

func packet(src, dst netip.AddrPort, payload []byte) []byte {
	p := make([]byte, Overhead+len(payload))
	p[0], p[9] = 0x45, 17
	binary.BigEndian.PutUint16(p[2:], uint16(len(p)))
	copy(p[12:], src.Addr().AsSlice())
	copy(p[16:], dst.Addr().AsSlice())
	binary.BigEndian.PutUint16(p[20:], src.Port())
	binary.BigEndian.PutUint16(p[22:], dst.Port())
	binary.BigEndian.PutUint16(p[24:], uint16(8+len(payload)))
	copy(p[28:], payload)
	return p
}

func TestCheckAcceptsOnlyUDPFromTheExitEndpoint(t *testing.T) {
	to := netip.AddrPortFrom(local, 4000)
	good := packet(remote, to, []byte("datagram"))
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
		"other source":    packet(netip.MustParseAddrPort("203.0.113.11:51820"), to, []byte("datagram")),
		"other port":      packet(netip.MustParseAddrPort("203.0.113.10:1"), to, []byte("datagram")),
		"other dest":      packet(remote, netip.MustParseAddrPort("203.0.113.3:4000"), []byte("datagram")),
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
	bad := packet(remote, netip.AddrPortFrom(local, 4000), nil)
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
