package vnet

import (
	"bytes"
	"encoding/binary"
	"math/rand"
	"testing"
	"testing/quick"
)

// The tests check checksums with code of their own: a plain 16-bit
// word loop, no folding tricks shared with the package.
func refSum(b []byte) uint32 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return s
}

func refPseudo(p []byte, proto byte, l4len int) []byte {
	var ph []byte
	if p[0]>>4 == 4 {
		ph = append(ph, p[12:20]...)
	} else {
		ph = append(ph, p[8:40]...)
	}
	return append(ph, 0, proto, byte(l4len>>8), byte(l4len))
}

// refValid says whether p's IPv4 header and TCP/UDP checksums are right.
func refValid(p []byte, proto byte, l4 int) bool {
	if p[0]>>4 == 4 && refSum(p[:20]) != 0xffff {
		return false
	}
	return refSum(append(refPseudo(p, proto, len(p)-l4), p[l4:]...)) == 0xffff
}

// superTCP builds a TCP super-packet as the kernel hands it over with
// TSO: headers of the whole length, the checksum field holding the
// pseudo-header sum, and its virtio-net header.
func superTCP(v6 bool, srcPort uint16, seq uint32, id uint16, psh bool, mss int, payload []byte) []byte {
	l4 := 20
	if v6 {
		l4 = 40
	}
	tcpLen := 32 // 12 bytes of options (NOP NOP timestamp)
	p := make([]byte, l4+tcpLen+len(payload))
	if v6 {
		p[0] = 0x60
		binary.BigEndian.PutUint16(p[4:], uint16(len(p)-40))
		p[6], p[7] = protoTCP, 64
		copy(p[8:], []byte{0xfd, 0x12, 15: 1, 16: 0xfd, 0x12, 31: 2})
	} else {
		p[0], p[8], p[9] = 0x45, 64, protoTCP
		binary.BigEndian.PutUint16(p[2:], uint16(len(p)))
		binary.BigEndian.PutUint16(p[4:], id)
		p[6] = 0x40 // DF
		copy(p[12:], []byte{198, 51, 100, 1, 198, 51, 100, 2})
		binary.BigEndian.PutUint16(p[10:], ^uint16(refSum(p[:20])))
	}
	t := p[l4:]
	binary.BigEndian.PutUint16(t[0:], srcPort)
	binary.BigEndian.PutUint16(t[2:], 5201)
	binary.BigEndian.PutUint32(t[4:], seq)
	binary.BigEndian.PutUint32(t[8:], 777)
	t[12], t[13] = byte(tcpLen/4)<<4, tcpACK
	if psh {
		t[13] |= tcpPSH
	}
	binary.BigEndian.PutUint16(t[14:], 502)
	copy(t[20:], []byte{1, 1, 8, 10, 0, 0, 0, 9, 0, 0, 0, 7})
	copy(t[tcpLen:], payload)
	binary.BigEndian.PutUint16(t[16:], uint16(refSum(refPseudo(p, protoTCP, len(p)-l4))))
	gso := uint8(gsoTCPv4)
	if v6 {
		gso = gsoTCPv6
	}
	h := make([]byte, HeaderLen)
	header{flagNeedsCsum, gso, uint16(l4 + tcpLen), uint16(mss), uint16(l4), 16}.encode(h)
	return append(h, p...)
}

func splitAll(t *testing.T, raw []byte) [][]byte {
	t.Helper()
	sp, err := parse(decodeHeader(raw), append([]byte(nil), raw[HeaderLen:]...))
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for i := 0; i < sp.count; i++ {
		b := make([]byte, bufferSize)
		out = append(out, b[:sp.segment(i, b)])
	}
	return out
}

// A random TCP stream, cut by TSO, split by the device and coalesced
// back, is the super-packet it was, byte for byte; every segment in
// between is a valid TCP segment in sequence.
func TestTCPSplitAndCoalesceRoundTrip(t *testing.T) {
	check := func(seed int64, v6, psh bool) bool {
		r := rand.New(rand.NewSource(seed))
		mss := 500 + r.Intn(1000)
		payload := make([]byte, 1+r.Intn(60000))
		r.Read(payload)
		seq := r.Uint32()
		raw := superTCP(v6, 40000, seq, uint16(r.Uint32()), psh, mss, payload)
		segs := splitAll(t, raw)
		l4 := 20
		if v6 {
			l4 = 40
		}
		var got []byte
		for i, s := range segs {
			if !refValid(s, protoTCP, l4) {
				t.Logf("segment %d has a bad checksum", i)
				return false
			}
			if binary.BigEndian.Uint32(s[l4+4:]) != seq+uint32(len(got)) || len(s)-l4-32 > mss {
				t.Logf("segment %d: seq or size wrong", i)
				return false
			}
			if (s[l4+13]&tcpPSH != 0) != (psh && i == len(segs)-1) {
				t.Logf("segment %d: PSH wrong", i)
				return false
			}
			got = append(got, s[l4+32:]...)
		}
		if !bytes.Equal(got, payload) {
			return false
		}
		var pl planner
		pl.reset()
		for _, s := range segs {
			pl.add(s)
		}
		if len(pl.groups) != 1 {
			t.Logf("%d segments planned as %d writes", len(segs), len(pl.groups))
			return false
		}
		out := make([]byte, HeaderLen+maxSuper)
		n := pl.groups[0].build(out)
		if len(segs) == 1 {
			// one segment is written as a plain packet
			return bytes.Equal(out[HeaderLen:n], segs[0]) && bytes.Equal(out[:HeaderLen], make([]byte, HeaderLen))
		}
		if !bytes.Equal(out[:n], raw) {
			t.Logf("coalesced packet differs from the super-packet")
			return false
		}
		return true
	}
	if err := quick.Check(check, &quick.Config{MaxCount: 300}); err != nil {
		t.Fatal(err)
	}
}

// Segments of several flows, pure ACKs and other packets interleaved:
// written groups, cut again, give every flow's packets in their order.
func TestCoalescingNeverReordersAFlow(t *testing.T) {
	check := func(seed int64) bool {
		r := rand.New(rand.NewSource(seed))
		type flow struct{ segs [][]byte }
		flows := make([]flow, 3)
		for f := range flows {
			payload := make([]byte, 1+r.Intn(20000))
			r.Read(payload)
			flows[f].segs = splitAll(t, superTCP(f == 2, uint16(40000+f), r.Uint32(), 1, false, 1000, payload))
		}
		var in [][]byte
		next := make([]int, len(flows))
		for {
			f := r.Intn(len(flows))
			if next[f] == len(flows[f].segs) {
				done := true
				for g := range flows {
					done = done && next[g] == len(flows[g].segs)
				}
				if done {
					break
				}
				continue
			}
			s := flows[f].segs[next[f]]
			if r.Intn(8) == 0 { // a damaged copy must go alone, in place
				s = append([]byte(nil), s...)
				s[len(s)-1] ^= 0xff
				flows[f].segs[next[f]] = s
			}
			if r.Intn(6) == 0 { // a pure ACK of the flow, then its next segment
				ack := append([]byte(nil), s[:tcpOffset(s)+32]...)
				if ack[0]>>4 == 4 {
					binary.BigEndian.PutUint16(ack[2:], uint16(len(ack)))
				} else {
					binary.BigEndian.PutUint16(ack[4:], uint16(len(ack)-40))
				}
				in = append(in, ack)
			}
			in = append(in, s)
			next[f]++
			if r.Intn(6) == 0 {
				in = append(in, []byte{0x45, 0, 0, 20, 9: protoUDP}) // not TCP
			}
		}
		var pl planner
		pl.reset()
		for _, p := range in {
			pl.add(p)
		}
		var out [][]byte
		buf := make([]byte, HeaderLen+maxSuper)
		for i := range pl.groups {
			n := pl.groups[i].build(buf)
			if len(pl.groups[i].packets) == 1 {
				out = append(out, append([]byte(nil), buf[HeaderLen:n]...))
				continue
			}
			out = append(out, splitAll(t, append([]byte(nil), buf[:n]...))...)
		}
		if len(out) != len(in) {
			t.Logf("%d packets in, %d out", len(in), len(out))
			return false
		}
		for f := range flows {
			var want, got [][]byte
			for _, p := range in {
				if len(p) > 40 && binary.BigEndian.Uint16(p[tcpOffset(p):]) == uint16(40000+f) {
					want = append(want, p)
				}
			}
			for _, p := range out {
				if len(p) > 40 && binary.BigEndian.Uint16(p[tcpOffset(p):]) == uint16(40000+f) {
					got = append(got, p)
				}
			}
			if len(want) != len(got) {
				return false
			}
			for i := range want {
				if !bytes.Equal(want[i], got[i]) {
					t.Logf("flow %d packet %d differs", f, i)
					return false
				}
			}
		}
		return true
	}
	if err := quick.Check(check, &quick.Config{MaxCount: 200}); err != nil {
		t.Fatal(err)
	}
}

func tcpOffset(p []byte) int {
	if p[0]>>4 == 6 {
		return 40
	}
	return 20
}

// A UDP super-packet (USO) is cut into datagrams with their own lengths
// and checksums.
func TestUDPSplit(t *testing.T) {
	check := func(seed int64) bool {
		r := rand.New(rand.NewSource(seed))
		size := 100 + r.Intn(1400)
		payload := make([]byte, 1+r.Intn(30000))
		r.Read(payload)
		p := make([]byte, 28+len(payload))
		p[0], p[8], p[9] = 0x45, 64, protoUDP
		binary.BigEndian.PutUint16(p[2:], uint16(len(p)))
		copy(p[12:], []byte{198, 51, 100, 1, 198, 51, 100, 2})
		binary.BigEndian.PutUint16(p[10:], ^uint16(refSum(p[:20])))
		binary.BigEndian.PutUint16(p[20:], 5000)
		binary.BigEndian.PutUint16(p[22:], 5001)
		binary.BigEndian.PutUint16(p[24:], uint16(len(p)-20))
		copy(p[28:], payload)
		binary.BigEndian.PutUint16(p[26:], uint16(refSum(refPseudo(p, protoUDP, len(p)-20))))
		raw := make([]byte, HeaderLen, HeaderLen+len(p))
		header{flagNeedsCsum, gsoUDPL4, 28, uint16(size), 20, 6}.encode(raw)
		var got []byte
		for _, s := range splitAll(t, append(raw, p...)) {
			if !refValid(s, protoUDP, 20) || int(binary.BigEndian.Uint16(s[24:])) != len(s)-20 || len(s)-28 > size {
				return false
			}
			got = append(got, s[28:]...)
		}
		return bytes.Equal(got, payload)
	}
	if err := quick.Check(check, &quick.Config{MaxCount: 200}); err != nil {
		t.Fatal(err)
	}
}

// A whole packet with NEEDS_CSUM gets its checksum completed; one whose
// header points past its end is refused.
func TestPartialChecksumCompleted(t *testing.T) {
	raw := superTCP(false, 1, 1, 1, false, 0, []byte("hello"))
	h := decodeHeader(raw)
	h.gsoType = gsoNone
	sp, err := parse(h, raw[HeaderLen:])
	if err != nil || sp.count != 1 || !refValid(raw[HeaderLen:], protoTCP, 20) {
		t.Fatalf("checksum not completed: %v", err)
	}
	h.csumOffset = 60000
	if _, err := parse(h, raw[HeaderLen:]); err == nil {
		t.Fatal("a checksum field past the packet was accepted")
	}
}
