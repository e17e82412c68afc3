// Package vnet is a TUN device with the kernel's offloads (IFF_VNET_HDR,
// TUNSETOFFLOAD): every read and write starts with a virtio-net header,
// a read may return a TCP (or UDP) super-packet of up to 64 KiB that the
// device splits into MTU-sized segments, and consecutive segments of one
// TCP flow are written as one super-packet.
//
// The contract is the kernel's struct virtio_net_hdr (10 bytes, host
// byte order for a legacy TUN): with flag NEEDS_CSUM the L4 checksum
// field, csum_offset bytes after csum_start, holds the pseudo-header sum
// and the rest is the reader's to add; with a gso_type other than NONE
// the packet is to be cut into gso_size payloads behind copies of its
// headers (hdr_len bytes).
package vnet

import "encoding/binary"

// HeaderLen is the size of struct virtio_net_hdr.
const HeaderLen = 10

const (
	flagNeedsCsum = 1

	gsoNone  = 0
	gsoTCPv4 = 1
	gsoTCPv6 = 4
	gsoUDPL4 = 5
	gsoECN   = 0x80
)

// header is struct virtio_net_hdr.
type header struct {
	flags, gsoType                         uint8
	hdrLen, gsoSize, csumStart, csumOffset uint16
}

func decodeHeader(b []byte) header {
	e := binary.NativeEndian
	return header{b[0], b[1], e.Uint16(b[2:]), e.Uint16(b[4:]), e.Uint16(b[6:]), e.Uint16(b[8:])}
}

func (h header) encode(b []byte) {
	e := binary.NativeEndian
	b[0], b[1] = h.flags, h.gsoType
	e.PutUint16(b[2:], h.hdrLen)
	e.PutUint16(b[4:], h.gsoSize)
	e.PutUint16(b[6:], h.csumStart)
	e.PutUint16(b[8:], h.csumOffset)
}
