// Package packettest builds the IP packets tests send through tunnels.
package packettest

import (
	"encoding/binary"
	"net/netip"
)

// Test addresses (198.51.100.0/24, a documentation range).
var (
	AddrA = []byte{198, 51, 100, 1}
	AddrB = []byte{198, 51, 100, 2}
)

// IPv4 wraps payload in an IPv4 header from src to dst whose length field
// matches; the protocol is 253 (for experiments).
func IPv4(src, dst, payload []byte) []byte {
	p := make([]byte, 20+len(payload))
	p[0] = 0x45
	binary.BigEndian.PutUint16(p[2:], uint16(len(p)))
	p[8] = 64
	p[9] = 253
	copy(p[12:], src)
	copy(p[16:], dst)
	copy(p[20:], payload)
	return p
}

// UDP wraps payload in IPv4 and UDP headers from src to dst, checksums
// zero (as the fork's multihop link sends them).
func UDP(src, dst netip.AddrPort, payload []byte) []byte {
	p := IPv4(src.Addr().AsSlice(), dst.Addr().AsSlice(), make([]byte, 8+len(payload)))
	p[9] = 17
	binary.BigEndian.PutUint16(p[20:], src.Port())
	binary.BigEndian.PutUint16(p[22:], dst.Port())
	binary.BigEndian.PutUint16(p[24:], uint16(8+len(payload)))
	copy(p[28:], payload)
	return p
}
