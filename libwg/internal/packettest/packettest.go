// Package packettest builds the IP packets tests send through tunnels.
package packettest

import "encoding/binary"

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
