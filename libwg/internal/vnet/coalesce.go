package vnet

import (
	"bytes"
	"encoding/binary"

	"wgcore/libwg/internal/inetsum"
)

// maxSuper bounds a coalesced packet: IPv4's total length, and an IPv6
// payload length, are 16 bits.
const maxSuper = 65535

// group is a run of packets written as one: a lone packet, or TCP
// segments of one flow in sequence order that the kernel will cut back
// into exactly these segments.
type group struct {
	packets [][]byte
	l4      int // L4 header offset of a TCP group
	hdrEnd  int // its headers' length
	size    int // payload bytes of its first segment
	total   int // bytes once coalesced
	closed  bool
}

// flowKey is a TCP flow: version, addresses and ports.
type flowKey [1 + 32 + 4]byte

// planner groups the packets of one batch. Each packet joins the newest
// group of its flow or starts a group; groups are written in the order
// they started, so no flow's packets are reordered.
type planner struct {
	groups []group
	latest map[flowKey]int
}

func (pl *planner) reset() {
	for i := range pl.groups {
		pl.groups[i].packets = pl.groups[i].packets[:0]
	}
	pl.groups = pl.groups[:0]
	if pl.latest == nil {
		pl.latest = map[flowKey]int{}
	}
	clear(pl.latest)
}

// add plans packet p.
func (pl *planner) add(p []byte) {
	key, l4, hdrEnd, tcp := tcpFlow(p)
	if tcp {
		if i, found := pl.latest[key]; found && pl.groups[i].join(p) {
			return
		}
	}
	g := pl.start(p)
	g.closed = true
	if !tcp {
		return
	}
	pl.latest[key] = len(pl.groups) - 1 // the flow's next packet goes after this one
	if coalescable(p, l4, hdrEnd) {
		g.l4, g.hdrEnd, g.size = l4, hdrEnd, len(p)-hdrEnd
		g.closed = p[l4+13] != tcpACK // only plain ACK segments start a run
	}
}

func (pl *planner) start(p []byte) *group {
	if len(pl.groups) < cap(pl.groups) {
		pl.groups = pl.groups[:len(pl.groups)+1]
	} else {
		pl.groups = append(pl.groups, group{})
	}
	g := &pl.groups[len(pl.groups)-1]
	g.packets = append(g.packets[:0], p)
	g.total, g.closed = len(p), false
	return g
}

// tcpFlow says whether p is a TCP segment (IPv4 without options or
// fragmentation, IPv6 without extension headers) and gives its flow and
// offsets.
func tcpFlow(p []byte) (key flowKey, l4, hdrEnd int, ok bool) {
	if len(p) < 20 {
		return key, 0, 0, false
	}
	switch p[0] >> 4 {
	case 4:
		if p[0]&0xf != 5 || p[9] != protoTCP || binary.BigEndian.Uint16(p[6:])&0x3fff != 0 ||
			int(binary.BigEndian.Uint16(p[2:])) != len(p) {
			return key, 0, 0, false
		}
		l4 = 20
		key[0] = 4
		copy(key[1:], p[12:20])
	case 6:
		if len(p) < 40 || p[6] != protoTCP || int(binary.BigEndian.Uint16(p[4:]))+40 != len(p) {
			return key, 0, 0, false
		}
		l4 = 40
		key[0] = 6
		copy(key[1:], p[8:40])
	default:
		return key, 0, 0, false
	}
	if len(p) < l4+20 {
		return key, 0, 0, false
	}
	hdrEnd = l4 + int(p[l4+12]>>4)*4
	copy(key[33:], p[l4:l4+4])
	return key, l4, hdrEnd, hdrEnd >= l4+20 && hdrEnd <= len(p)
}

// coalescable says whether TCP segment p carries payload and has a
// correct checksum (the kernel recomputes the checksums of what it
// segments, so a damaged segment must not hide in a run).
func coalescable(p []byte, l4, hdrEnd int) bool {
	return hdrEnd < len(p) && inetsum.Fold(inetsum.Add(p[l4:], pseudoHeader(p, protoTCP, len(p)-l4))) == 0xffff
}

// join appends TCP segment p (of g's flow) to g if the kernel's
// segmentation of the result gives back exactly the segments.
func (g *group) join(p []byte) bool {
	first := g.packets[0]
	last := g.packets[len(g.packets)-1]
	payload := len(p) - g.hdrEnd
	flags := p[g.l4+13]
	if g.closed || len(p) < g.hdrEnd || payload <= 0 || payload > g.size || !coalescable(p, g.l4, g.hdrEnd) ||
		g.total+payload > maxSuper || flags&^tcpPSH != tcpACK ||
		!sameHeaders(first, p, g.l4, g.hdrEnd) ||
		binary.BigEndian.Uint32(p[g.l4+4:]) != binary.BigEndian.Uint32(last[g.l4+4:])+uint32(len(last)-g.hdrEnd) {
		return false
	}
	if first[0]>>4 == 4 && binary.BigEndian.Uint16(p[4:]) != binary.BigEndian.Uint16(first[4:])+uint16(len(g.packets)) {
		return false
	}
	g.packets = append(g.packets, p)
	g.total += payload
	g.closed = payload < g.size || flags&tcpPSH != 0
	return true
}

// sameHeaders compares the headers of two segments of a flow but for
// the fields segmentation sets per segment: IPv4 length, ID and
// checksum, IPv6 payload length, TCP sequence number, PSH and checksum.
func sameHeaders(a, b []byte, l4, hdrEnd int) bool {
	if len(b) < hdrEnd || int(b[l4+12]>>4)*4 != hdrEnd-l4 {
		return false
	}
	if a[0]>>4 == 4 {
		if !bytes.Equal(a[:2], b[:2]) || !bytes.Equal(a[6:10], b[6:10]) || !bytes.Equal(a[12:20], b[12:20]) {
			return false
		}
	} else if !bytes.Equal(a[:4], b[:4]) || !bytes.Equal(a[6:40], b[6:40]) {
		return false
	}
	t, u := a[l4:hdrEnd], b[l4:hdrEnd]
	return bytes.Equal(t[:4], u[:4]) && bytes.Equal(t[8:13], u[8:13]) && t[13]&^tcpPSH == u[13]&^tcpPSH &&
		bytes.Equal(t[14:16], u[14:16]) && bytes.Equal(t[18:], u[18:])
}

// build writes g as one packet behind its virtio-net header into out
// (which must hold HeaderLen+g.total bytes) and returns the length.
func (g *group) build(out []byte) int {
	if len(g.packets) == 1 {
		clear(out[:HeaderLen])
		return HeaderLen + copy(out[HeaderLen:], g.packets[0])
	}
	first := g.packets[0]
	p := out[HeaderLen:]
	n := copy(p, first)
	for _, q := range g.packets[1:] {
		n += copy(p[n:], q[g.hdrEnd:])
	}
	p = p[:n]
	last := g.packets[len(g.packets)-1]
	p[g.l4+13] |= last[g.l4+13] & tcpPSH
	gso := uint8(gsoTCPv4)
	if p[0]>>4 == 4 {
		binary.BigEndian.PutUint16(p[2:], uint16(n))
		ipv4HeaderChecksum(p)
	} else {
		gso = gsoTCPv6
		binary.BigEndian.PutUint16(p[4:], uint16(n-40))
	}
	// NEEDS_CSUM: the field holds the pseudo-header sum for the whole length
	binary.BigEndian.PutUint16(p[g.l4+16:], inetsum.Fold(pseudoHeader(p, protoTCP, n-g.l4)))
	header{flagNeedsCsum, gso, uint16(g.hdrEnd), uint16(g.size), uint16(g.l4), 16}.encode(out)
	return HeaderLen + n
}
