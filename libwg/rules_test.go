package main

import (
	"testing"

	"golang.zx2c4.com/wireguard/device"
)

// wg_rules.h's numbers are Go's (rules.go); these are the ones wireguard-go
// or arithmetic also fixes, which must not drift apart from it.
func TestRulesAgreeWithWireGuardGo(t *testing.T) {
	for _, c := range []struct {
		name      string
		got, want int
	}{
		{"WG_DATAGRAM_OVERHEAD", datagramOverhead, device.MessageTransportSize},
		{"WG_MAX_MTU", maxMTU, 65535 - 20 - 8 - device.MessageTransportSize}, // mtu + 32 fits UDP over IPv4
		{"WG_MULTIHOP_OVERHEAD", hopOverhead, device.MessageTransportSize + 20 + 8},
		{"WG_MULTIHOP_MIN_MTU", multihopMinMTU, minMTU + hopOverhead},
		{"WG_DEFAULT_MTU", defaultMTU, 1500 - 80}, // wg-quick's: IPv6 and UDP headers and WireGuard's 32 on a 1500-byte link
	} {
		if c.got != c.want {
			t.Errorf("%s is %d, want %d", c.name, c.got, c.want)
		}
	}
}

func TestIPPacketProblemNamesWhatIsWrong(t *testing.T) {
	good4 := ipv4Packet(make([]byte, 8))
	if err := ipPacketProblem(good4, 1420); err != nil {
		t.Fatal(err)
	}
	good6 := make([]byte, 48)
	good6[0], good6[5] = 0x60, 8
	if err := ipPacketProblem(good6, 1420); err != nil {
		t.Fatal(err)
	}
	mismatch := append([]byte(nil), good4...)
	mismatch[3]++
	for _, c := range []struct {
		packet []byte
		want   string
	}{
		{mismatch, "the IP header says 29 bytes, the packet has 28"},
		{append([]byte{0x50}, good4[1:]...), "IP version 5 is neither 4 nor 6"},
		{good4[:10], "10 bytes is too short for IPv4"},
		{good6[:39], "39 bytes is too short for IPv6"},
		{nil, "empty packet"},
		{ipv4Packet(make([]byte, 1401)), "1421 bytes is more than the MTU (1420)"},
	} {
		if err := ipPacketProblem(c.packet, 1420); err == nil || err.Error() != c.want {
			t.Errorf("%d bytes: %v, want %q", len(c.packet), err, c.want)
		}
	}
}

func TestDatagramSizeOKBoundsBySize(t *testing.T) {
	for size, ok := range map[int]bool{0: false, 1: true, 576 + 32: true, 576 + 33: false} {
		if datagramSizeOK(size, 576) != ok {
			t.Errorf("%d bytes: ok %v, want %v", size, !ok, ok)
		}
	}
}
