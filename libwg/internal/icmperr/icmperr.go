// Package icmperr builds the ICMP "destination unreachable" error that
// answers a packet no peer can carry, as the kernel's WireGuard driver
// sends one: ICMPv4 type 3 code 1 (host unreachable), ICMPv6 type 1 code 3
// (address unreachable).
package icmperr

import (
	"encoding/binary"
	"net/netip"

	"wgcore/libwg/internal/inetsum"
)

const (
	v4HeaderLen = 20
	v6HeaderLen = 40
	icmpHeader  = 8    // type, code, checksum, 4 unused bytes
	maxV4       = 576  // an ICMPv4 error's largest size (RFC 1812 4.3.2.3)
	maxV6       = 1280 // an ICMPv6 error's largest size (RFC 4443 2.4 (c))
	protoICMPv4 = 1
	protoICMPv6 = 58
	hopLimit    = 64
)

// minQuote is the least an answer quotes: an IPv4 header and 8 bytes
// (RFC 792); smaller limits get no answer.
const minQuote = v4HeaderLen + 8

// Append appends to b the ICMP error that answers packet, from its
// destination to its source, quoting as much of packet as fits in
// min(mtu, 576) bytes (IPv4) or min(mtu, 1280) bytes (IPv6); false (and b
// unchanged) when packet must not be answered: not a whole IP header, an ICMP error
// itself, a fragment other than the first, or a source or destination
// that is unspecified, multicast or (IPv4) the limited broadcast. The
// source is the unreachable destination, as the kernel's: a packet
// from a local address arriving on a TUN would be dropped as martian.
func Append(b, packet []byte, mtu int) ([]byte, bool) {
	if len(packet) == 0 {
		return b, false
	}
	var out []byte
	switch packet[0] >> 4 {
	case 4:
		out = unreachable4(packet, min(mtu, maxV4))
	case 6:
		out = unreachable6(packet, min(mtu, maxV6))
	}
	if out == nil {
		return b, false
	}
	return append(b, out...), true
}

// unreachable4 is the answer to an IPv4 packet of at most size bytes, or nil.
func unreachable4(p []byte, size int) []byte {
	if len(p) < v4HeaderLen || size < v4HeaderLen+icmpHeader+minQuote {
		return nil
	}
	ihl := int(p[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(p[2:4]))
	if ihl < v4HeaderLen || total < ihl || total > len(p) {
		return nil
	}
	p = p[:total]
	src, dst := netip.AddrFrom4([4]byte(p[12:16])), netip.AddrFrom4([4]byte(p[16:20]))
	fragOffset := binary.BigEndian.Uint16(p[6:8]) & 0x1fff
	if fragOffset != 0 || !answerable(src) || !answerable(dst) {
		return nil
	}
	if p[9] == protoICMPv4 && (total < ihl+1 || isICMPv4Error(p[ihl])) {
		return nil
	}
	quote := p[:min(len(p), size-v4HeaderLen-icmpHeader)]
	out := make([]byte, v4HeaderLen+icmpHeader+len(quote))
	out[0] = 0x45
	out[1] = 0xc0 // precedence "internetwork control", as ICMP errors carry
	binary.BigEndian.PutUint16(out[2:], uint16(len(out)))
	out[8] = hopLimit
	out[9] = protoICMPv4
	copy(out[12:16], p[16:20])
	copy(out[16:20], p[12:16])
	binary.BigEndian.PutUint16(out[10:], ^sum(out[:v4HeaderLen], 0))
	icmp := out[v4HeaderLen:]
	icmp[0], icmp[1] = 3, 1
	copy(icmp[icmpHeader:], quote)
	binary.BigEndian.PutUint16(icmp[2:], ^sum(icmp, 0))
	return out
}

// isICMPv4Error reports whether an ICMPv4 type is an error or unknown
// (RFC 1122 3.2.2: no error answers an error).
func isICMPv4Error(typ byte) bool {
	switch typ {
	case 0, 8, 9, 10, 13, 14, 15, 16, 17, 18: // replies, requests, adverts
		return false
	}
	return true
}

// unreachable6 is the answer to an IPv6 packet of at most size bytes, or nil.
func unreachable6(p []byte, size int) []byte {
	if len(p) < v6HeaderLen || size < v6HeaderLen+icmpHeader+minQuote {
		return nil
	}
	total := v6HeaderLen + int(binary.BigEndian.Uint16(p[4:6]))
	if total > len(p) {
		return nil
	}
	p = p[:total]
	src, dst := netip.AddrFrom16([16]byte(p[8:24])), netip.AddrFrom16([16]byte(p[24:40]))
	if !answerable(src) || !answerable(dst) || !answerable6(p) {
		return nil
	}
	quote := p[:min(len(p), size-v6HeaderLen-icmpHeader)]
	out := make([]byte, v6HeaderLen+icmpHeader+len(quote))
	out[0] = 0x60
	binary.BigEndian.PutUint16(out[4:], uint16(icmpHeader+len(quote)))
	out[6] = protoICMPv6
	out[7] = hopLimit
	copy(out[8:24], p[24:40])
	copy(out[24:40], p[8:24])
	icmp := out[v6HeaderLen:]
	icmp[0], icmp[1] = 1, 3
	copy(icmp[icmpHeader:], quote)
	binary.BigEndian.PutUint16(icmp[2:], ^sum(icmp, pseudoSum6(out)))
	return out
}

// answerable6 walks the extension headers of a whole IPv6 packet: false
// for a fragment other than the first, an ICMPv6 error (or a message too
// short to tell), or a header chain cut short.
func answerable6(p []byte) bool {
	next, at := p[6], v6HeaderLen
	for {
		switch next {
		case 0, 43, 60: // hop-by-hop, routing, destination options
			if at+2 > len(p) {
				return false
			}
			next, at = p[at], at+(int(p[at+1])+1)*8
		case 44: // fragment
			if at+8 > len(p) || binary.BigEndian.Uint16(p[at+2:])>>3 != 0 {
				return false
			}
			next, at = p[at], at+8
		case 51: // authentication header
			if at+2 > len(p) {
				return false
			}
			next, at = p[at], at+(int(p[at+1])+2)*4
		case protoICMPv6:
			return at < len(p) && p[at] >= 128 // types below 128 are errors
		default:
			return at <= len(p)
		}
	}
}

// answerable reports whether an address may be either end of an ICMP
// error.
func answerable(a netip.Addr) bool {
	return !a.IsUnspecified() && !a.IsMulticast() && a != netip.AddrFrom4([4]byte{255, 255, 255, 255})
}

// pseudoSum6 is the sum of an IPv6 packet's ICMPv6 pseudo-header.
func pseudoSum6(packet []byte) uint32 {
	s := uint32(inetsum.Fold(inetsum.Add(packet[8:40], 0))) // source and destination
	s += uint32(len(packet) - v6HeaderLen)
	return s + protoICMPv6
}

// sum is the ones' complement sum of b on top of partial, folded to 16 bits.
func sum(b []byte, partial uint32) uint16 {
	return inetsum.Fold(inetsum.Add(b, uint64(partial)))
}
