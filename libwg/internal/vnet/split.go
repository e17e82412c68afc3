package vnet

import (
	"encoding/binary"
	"errors"

	"wgcore/libwg/internal/inetsum"
)

const (
	protoTCP = 6
	protoUDP = 17

	tcpFIN = 0x01
	tcpSYN = 0x02
	tcpRST = 0x04
	tcpPSH = 0x08
	tcpACK = 0x10
	tcpURG = 0x20
	tcpECE = 0x40
	tcpCWR = 0x80
)

var errMalformed = errors.New("vnet: packet does not match its virtio-net header")

// superPacket is a packet read from the TUN and how to cut it: segment
// i is headers (the first hdrEnd bytes) then payload bytes [i*size,
// (i+1)*size) of what follows them.
type superPacket struct {
	p      []byte
	proto  uint8
	l4     int // L4 header offset
	hdrEnd int
	size   int // payload bytes a segment
	count  int
}

// parse checks packet p against h and says how to cut it. A packet the
// kernel asks no segmentation of is one segment; with NEEDS_CSUM its
// checksum is completed in place.
func parse(h header, p []byte) (superPacket, error) {
	gso := h.gsoType &^ gsoECN
	if gso == gsoNone {
		if h.flags&flagNeedsCsum != 0 {
			start, field := int(h.csumStart), int(h.csumStart)+int(h.csumOffset)
			if field+2 > len(p) {
				return superPacket{}, errMalformed
			}
			binary.BigEndian.PutUint16(p[field:], ^inetsum.Fold(inetsum.Add(p[start:], 0)))
		}
		return superPacket{p: p, hdrEnd: len(p), count: 1}, nil
	}
	if len(p) < 20 {
		return superPacket{}, errMalformed
	}
	sp := superPacket{p: p, l4: int(h.csumStart), size: int(h.gsoSize)}
	switch v := p[0] >> 4; {
	case v == 4 && (gso == gsoTCPv4 || gso == gsoUDPL4):
		sp.proto = p[9]
		if sp.l4 != int(p[0]&0xf)*4 {
			return superPacket{}, errMalformed
		}
	case v == 6 && (gso == gsoTCPv6 || gso == gsoUDPL4) && len(p) >= 40:
		sp.proto = p[6]
		if sp.l4 != 40 {
			return superPacket{}, errMalformed // extension headers: not produced for TCP/UDP GSO here
		}
	default:
		return superPacket{}, errMalformed
	}
	switch {
	case sp.proto == protoTCP && gso != gsoUDPL4 && len(p) >= sp.l4+20:
		sp.hdrEnd = sp.l4 + int(p[sp.l4+12]>>4)*4
	case sp.proto == protoUDP && gso == gsoUDPL4:
		sp.hdrEnd = sp.l4 + 8
	default:
		return superPacket{}, errMalformed
	}
	payload := len(p) - sp.hdrEnd
	if sp.hdrEnd > len(p) || sp.size == 0 || payload <= 0 {
		return superPacket{}, errMalformed
	}
	sp.count = (payload + sp.size - 1) / sp.size
	return sp, nil
}

// segment writes segment i of sp into out (which must hold it) with its
// lengths, IPv4 ID, TCP sequence number and flags, and checksums set,
// and returns its length.
func (sp *superPacket) segment(i int, out []byte) int {
	p := sp.p
	if sp.count == 1 && sp.proto == 0 {
		return copy(out, p)
	}
	start := sp.hdrEnd + i*sp.size
	end := min(start+sp.size, len(p))
	n := copy(out, p[:sp.hdrEnd])
	n += copy(out[n:], p[start:end])
	s := out[:n]
	if s[0]>>4 == 4 {
		binary.BigEndian.PutUint16(s[2:], uint16(n))
		binary.BigEndian.PutUint16(s[4:], binary.BigEndian.Uint16(p[4:])+uint16(i))
		ipv4HeaderChecksum(s)
	} else {
		binary.BigEndian.PutUint16(s[4:], uint16(n-40))
	}
	l4 := s[sp.l4:]
	if sp.proto == protoUDP {
		binary.BigEndian.PutUint16(l4[4:], uint16(len(l4)))
		l4Checksum(s, protoUDP, sp.l4, sp.l4+6)
		return n
	}
	binary.BigEndian.PutUint32(l4[4:], binary.BigEndian.Uint32(p[sp.l4+4:])+uint32(i*sp.size))
	if i != sp.count-1 {
		l4[13] &^= tcpFIN | tcpPSH
	}
	if i != 0 {
		l4[13] &^= tcpCWR
	}
	l4Checksum(s, protoTCP, sp.l4, sp.l4+16)
	return n
}
