// Package inetsum is the Internet checksum (RFC 1071): the ones'
// complement sum of 16-bit big-endian words.
package inetsum

import "encoding/binary"

// Add adds b to the unfolded sum s (an odd last byte is padded with a
// zero).
func Add(b []byte, s uint64) uint64 {
	for len(b) >= 8 {
		v := binary.BigEndian.Uint64(b)
		s += v>>32 + v&0xffffffff
		b = b[8:]
	}
	for len(b) >= 2 {
		s += uint64(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		s += uint64(b[0]) << 8
	}
	return s
}

// Fold folds s to 16 bits.
func Fold(s uint64) uint16 {
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	return uint16(s)
}
