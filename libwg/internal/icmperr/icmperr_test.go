package icmperr

import (
	"bytes"
	"encoding/binary"
	"net"
	"testing"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

var (
	src4, dst4 = []byte{198, 51, 100, 1}, []byte{203, 0, 113, 9}
	src6       = net.ParseIP("fd00::1").To16()
	dst6       = net.ParseIP("2001:db8::9").To16()
)

func v4(proto byte, payload []byte) []byte {
	p := make([]byte, 20+len(payload))
	p[0] = 0x45
	binary.BigEndian.PutUint16(p[2:], uint16(len(p)))
	p[8], p[9] = 64, proto
	copy(p[12:], src4)
	copy(p[16:], dst4)
	copy(p[20:], payload)
	return p
}

func v6(next byte, payload []byte) []byte {
	p := make([]byte, 40+len(payload))
	p[0] = 0x60
	binary.BigEndian.PutUint16(p[4:], uint16(len(payload)))
	p[6], p[7] = next, 64
	copy(p[8:], src6)
	copy(p[24:], dst6)
	copy(p[40:], payload)
	return p
}

// check parses an ICMP error with x/net and checks it answers packet:
// addresses swapped, type and code, both checksums, the quote.
func check(t *testing.T, packet, answer []byte, mtu int) {
	t.Helper()
	var body, src, dst []byte
	var proto int
	var want icmp.Type
	limit := min(mtu, 576)
	if packet[0]>>4 == 4 {
		h, err := ipv4.ParseHeader(answer)
		if err != nil {
			t.Fatal(err)
		}
		if h.TotalLen != len(answer) || h.Protocol != 1 || ^checksum(answer[:20], 0) != 0 {
			t.Fatalf("bad IPv4 header %v (checksum %#x)", h, ^checksum(answer[:20], 0))
		}
		body, src, dst, proto, want = answer[20:], h.Src.To4(), h.Dst.To4(), 1, ipv4.ICMPTypeDestinationUnreachable
		if !bytes.Equal(src, packet[16:20]) || !bytes.Equal(dst, packet[12:16]) {
			t.Fatalf("addresses %v -> %v do not answer the packet", h.Src, h.Dst)
		}
		if ^checksum(body, 0) != 0 {
			t.Fatal("bad ICMPv4 checksum")
		}
	} else {
		limit = min(mtu, 1280)
		h, err := ipv6.ParseHeader(answer)
		if err != nil {
			t.Fatal(err)
		}
		if h.PayloadLen != len(answer)-40 || h.NextHeader != 58 {
			t.Fatalf("bad IPv6 header %v", h)
		}
		body, src, dst, proto, want = answer[40:], h.Src, h.Dst, 58, ipv6.ICMPTypeDestinationUnreachable
		if !bytes.Equal(src, packet[24:40]) || !bytes.Equal(dst, packet[8:24]) {
			t.Fatalf("addresses %v -> %v do not answer the packet", h.Src, h.Dst)
		}
		pseudo := append(append(append([]byte{}, src...), dst...), 0, 0, 0, 0, 0, 0, 0, 58)
		binary.BigEndian.PutUint32(pseudo[32:], uint32(len(body)))
		if ^checksum(pseudo, checksum(body, 0)) != 0 {
			t.Fatal("bad ICMPv6 checksum")
		}
	}
	m, err := icmp.ParseMessage(proto, body)
	if err != nil {
		t.Fatal(err)
	}
	wantCode := 1
	if proto == 58 {
		wantCode = 3
	}
	if m.Type != want || m.Code != wantCode {
		t.Fatalf("type %v code %d, want %v code %d", m.Type, m.Code, want, wantCode)
	}
	quote := m.Body.(*icmp.DstUnreach).Data
	whole := packet[:declaredLen(packet)]
	if len(answer) > limit || !bytes.HasPrefix(whole, quote) || (len(quote) < len(whole) && len(answer) != limit) {
		t.Fatalf("quote of %d bytes (answer %d bytes) of a %d-byte packet, limit %d", len(quote), len(answer), len(packet), limit)
	}
}

// declaredLen is the packet's length as its IP header gives it.
func declaredLen(p []byte) int {
	if p[0]>>4 == 4 {
		return int(binary.BigEndian.Uint16(p[2:]))
	}
	return 40 + int(binary.BigEndian.Uint16(p[4:]))
}

// checksum is the 16-bit ones' complement sum of b on top of s (not
// shared with the code under test: an independent reading of RFC 1071).
func checksum(b []byte, s uint16) uint16 {
	total := uint64(s)
	for i := 0; i < len(b); i += 2 {
		hi := uint64(b[i]) << 8
		if i+1 < len(b) {
			hi |= uint64(b[i+1])
		}
		total += hi
	}
	for total>>16 != 0 {
		total = total&0xffff + total>>16
	}
	return uint16(total)
}

func TestAnswersV4AndV6(t *testing.T) {
	for _, size := range []int{0, 1, 8, 100, 547, 548, 549, 1232, 1233, 1400} {
		payload := bytes.Repeat([]byte{0xa5, 0x17}, size)[:size]
		for _, p := range [][]byte{v4(17, payload), v4(6, payload), v6(17, payload), v6(6, payload)} {
			a := unreachable(p, 1420)
			if a == nil {
				t.Fatalf("no answer to a %d-byte packet", len(p))
			}
			check(t, p, a, 1420)
		}
	}
}

func TestSmallMTULimitsTheAnswer(t *testing.T) {
	p := v6(17, make([]byte, 1000))
	a := unreachable(p, 600)
	if len(a) != 600 {
		t.Fatalf("answer of %d bytes with MTU 600", len(a))
	}
	check(t, p, a, 600)
}

func TestLengthFieldBoundsTheQuote(t *testing.T) {
	p := append(v4(17, make([]byte, 12)), 0xee, 0xee) // trailing bytes beyond the IPv4 total length
	a := unreachable(p, 1420)
	if len(a) != 28+32 {
		t.Fatalf("answer of %d bytes quotes past the total length", len(a))
	}
}

func TestNoAnswer(t *testing.T) {
	echo4, err := (&icmp.Message{Type: ipv4.ICMPTypeEcho, Body: &icmp.Echo{ID: 1, Seq: 1}}).Marshal(nil)
	if err != nil {
		t.Fatal(err)
	}
	if unreachable(v4(1, echo4), 1420) == nil {
		t.Fatal("an echo request must be answered")
	}
	fragment := v4(17, make([]byte, 16))
	binary.BigEndian.PutUint16(fragment[6:], 0x2001) // more fragments, offset 8 bytes
	multicast := v4(17, nil)
	copy(multicast[16:], []byte{224, 0, 0, 1})
	broadcast := v4(17, nil)
	copy(broadcast[16:], []byte{255, 255, 255, 255})
	unspecified := v4(17, nil)
	copy(unspecified[12:], []byte{0, 0, 0, 0})
	fragment6 := v6(44, []byte{17, 0, 0, 8, 0, 0, 0, 1}) // offset 1 (×8 bytes)
	multicast6 := v6(17, nil)
	multicast6[24] = 0xff
	cases := map[string][]byte{
		"empty":                   nil,
		"short v4":                v4(17, nil)[:19],
		"v4 length past the data": v4(17, make([]byte, 8))[:24],
		"v5":                      append([]byte{0x50}, make([]byte, 39)...),
		"icmp4 error":             v4(1, []byte{3, 1, 0, 0, 0, 0, 0, 0}),
		"icmp4 time exceeded":     v4(1, []byte{11, 0, 0, 0, 0, 0, 0, 0}),
		"icmp4 without a type":    v4(1, nil),
		"non-first fragment":      fragment,
		"multicast destination":   multicast,
		"broadcast destination":   broadcast,
		"unspecified source":      unspecified,
		"short v6":                v6(17, nil)[:39],
		"icmp6 error":             v6(58, []byte{1, 3, 0, 0, 0, 0, 0, 0}),
		"icmp6 packet too big":    v6(58, []byte{2, 0, 0, 0, 0, 0, 5, 0}),
		"icmp6 after hop-by-hop":  v6(0, []byte{58, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0}),
		"non-first fragment6":     fragment6,
		"multicast6 destination":  multicast6,
		"cut extension header":    v6(60, []byte{17, 4, 0, 0}),
	}
	for name, p := range cases {
		if a := unreachable(p, 1420); a != nil {
			t.Errorf("%s: answered with %x", name, a)
		}
	}
	if unreachable(v6(58, []byte{128, 0, 0, 0, 0, 1, 0, 1}), 1420) == nil {
		t.Fatal("an ICMPv6 echo request must be answered")
	}
}

// unreachable is Append's answer alone, nil for none.
func unreachable(p []byte, mtu int) []byte {
	a, ok := Append(nil, p, mtu)
	if ok != (a != nil) {
		panic("Append's answer and ok disagree")
	}
	return a
}

func TestAppendKeepsWhatBHolds(t *testing.T) {
	head := []byte{1, 2, 3}
	b, ok := Append(head, v4(17, nil), 1420)
	if !ok || !bytes.Equal(b[:3], head) || len(b) != 3+28+20 {
		t.Fatalf("Append gave %x, %v", b, ok)
	}
	if b, ok := Append(head, v4(1, []byte{3, 1}), 1420); ok || !bytes.Equal(b, head) {
		t.Fatalf("Append of no answer gave %x, %v", b, ok)
	}
}

func TestNoAnswerBelowTheLeastQuote(t *testing.T) {
	for _, mtu := range []int{0, 55} {
		if unreachable(v4(17, make([]byte, 100)), mtu) != nil {
			t.Fatalf("answered IPv4 with MTU %d", mtu)
		}
	}
	for _, mtu := range []int{0, 75} {
		if unreachable(v6(17, make([]byte, 100)), mtu) != nil {
			t.Fatalf("answered IPv6 with MTU %d", mtu)
		}
	}
	if unreachable(v4(17, make([]byte, 100)), 56) == nil || unreachable(v6(17, make([]byte, 100)), 76) == nil {
		t.Fatal("no answer with room for a least quote")
	}
}

func FuzzUnreachable(f *testing.F) {
	f.Add(v4(17, []byte("hello")), 1420)
	f.Add(v6(6, make([]byte, 1300)), 1280)
	f.Add(v6(0, []byte{58, 0, 0, 0, 0, 0, 0, 0, 128, 0, 0, 0}), 576)
	f.Fuzz(func(t *testing.T, p []byte, mtu int) {
		if mtu < 0 || mtu > 65535 {
			return
		}
		if a := unreachable(p, mtu); a != nil {
			check(t, p, a, mtu)
		}
	})
}
