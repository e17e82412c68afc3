package memtun

import (
	"testing"

	"wgcore/libwg/internal/packettest"
)

func ipv4Packet(payload []byte) []byte {
	return packettest.IPv4(packettest.AddrA, packettest.AddrB, payload)
}

func TestCheckIPPacket(t *testing.T) {
	good4 := ipv4Packet(make([]byte, 8))
	if err := CheckIPPacket(good4, 1420); err != nil {
		t.Fatal(err)
	}
	bad := append([]byte(nil), good4...)
	bad[3]++
	for name, p := range map[string][]byte{
		"length mismatch": bad,
		"version":         append([]byte{0x50}, good4[1:]...),
		"short":           good4[:10],
		"empty":           nil,
	} {
		if CheckIPPacket(p, 1420) == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if CheckIPPacket(ipv4Packet(make([]byte, 1500)), 1420) == nil {
		t.Error("packet over the MTU accepted")
	}
}
