package vnet

import (
	"encoding/binary"

	"wgcore/libwg/internal/inetsum"
)

// pseudoHeader is the sum of the TCP/UDP pseudo-header of an IPv4 or
// IPv6 packet p for an L4 length of length.
func pseudoHeader(p []byte, proto uint8, length int) uint64 {
	addrs := p[12:20]
	if p[0]>>4 == 6 {
		addrs = p[8:40]
	}
	return inetsum.Add(addrs, uint64(proto)+uint64(length))
}

// ipv4HeaderChecksum sets the checksum of the IPv4 header at p.
func ipv4HeaderChecksum(p []byte) {
	ihl := int(p[0]&0xf) * 4
	p[10], p[11] = 0, 0
	binary.BigEndian.PutUint16(p[10:], ^inetsum.Fold(inetsum.Add(p[:ihl], 0)))
}

// l4Checksum sets the full TCP or UDP checksum of packet p whose L4
// header starts at l4 and whose checksum field is at field.
func l4Checksum(p []byte, proto uint8, l4, field int) {
	p[field], p[field+1] = 0, 0
	c := ^inetsum.Fold(inetsum.Add(p[l4:], pseudoHeader(p, proto, len(p)-l4)))
	if c == 0 && proto == protoUDP {
		c = 0xffff
	}
	binary.BigEndian.PutUint16(p[field:], c)
}
