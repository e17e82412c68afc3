package udpbind

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"sync"
	"testing"
	"testing/quick"
	"unsafe"

	"golang.org/x/sys/unix"
	"golang.zx2c4.com/wireguard/conn"

	"wgcore/libwg/internal/offloads"
	"wgcore/libwg/internal/tuntest"
)

// openPair opens two binds on loopback; b's datagrams go to a.
func openPair(t *testing.T) (a, b *Bind, recvA conn.ReceiveFunc, toA conn.Endpoint) {
	t.Helper()
	a, b = &Bind{}, &Bind{}
	fns, portA, err := a.Open(0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	if _, _, err := b.Open(0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	toA, _ = b.ParseEndpoint(netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), portA).String())
	return a, b, fns[0], toA
}

// burst sends n numbered datagrams of size bytes (the last one shorter)
// as fast as Send takes them and checks they arrive whole, in order,
// each counted once as sent.
func burst(t *testing.T, n, size int) {
	var mu sync.Mutex
	var counted [][]byte
	a, b := &Bind{}, &Bind{}
	b.CountHandover(func(d []byte) {
		mu.Lock()
		counted = append(counted, append([]byte(nil), d...))
		mu.Unlock()
	})
	fns, portA, err := a.Open(0)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if _, _, err := b.Open(0); err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	toA, _ := b.ParseEndpoint(netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), portA).String())
	want := make([][]byte, n)
	for i := range want {
		d := bytes.Repeat([]byte{byte(i)}, size)
		if i == n-1 {
			d = d[:size/2]
		}
		binary.BigEndian.PutUint32(d, uint32(i))
		want[i] = d
		if err := b.Send(d, toA); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 1<<16)
	for i := range want {
		m, _, err := fns[0](buf)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf[:m], want[i]) {
			t.Fatalf("datagram %d: got %d bytes starting %x, want %d starting %x", i, m, buf[:4], len(want[i]), want[i][:4])
		}
	}
	b.Close()
	mu.Lock()
	defer mu.Unlock()
	if len(counted) != n {
		t.Fatalf("counted %d sent datagrams, want %d", len(counted), n)
	}
	for i := range want {
		if !bytes.Equal(counted[i], want[i]) {
			t.Fatalf("counted datagram %d differs", i)
		}
	}
}

func TestBurstArrivesInOrderAndCounted(t *testing.T) {
	b := &Bind{}
	if _, _, err := b.Open(0); err != nil {
		t.Fatal(err)
	}
	if got := b.Offloads(); got != "udp4 gso+gro, udp6 gso+gro" {
		t.Errorf("this kernel offers UDP GSO and GRO, the bind uses %q", got)
	}
	b.Close()
	burst(t, 600, 1452)
	burst(t, 100, 120)
}

func TestBurstWithOffloadsRefused(t *testing.T) {
	t.Setenv(offloads.RefuseVar, "1")
	b := &Bind{}
	if _, _, err := b.Open(0); err != nil {
		t.Fatal(err)
	}
	if got := b.Offloads(); got != "udp4 plain, udp6 plain" {
		t.Errorf("offloads refused, yet the bind uses %q", got)
	}
	b.Close()
	burst(t, 300, 1452)
}

// A datagram the kernel refuses (no route to it in the test's network
// namespace) is dropped; the ones around it still leave, in order.
func TestRefusedDatagramDoesNotStopTheSender(t *testing.T) {
	tuntest.InTestNetns(t, func() {
		_, b, recvA, toA := openPair(t)
		unroutable, _ := b.ParseEndpoint("198.18.99.1:9")
		for i, to := range []conn.Endpoint{toA, unroutable, unroutable, toA} {
			if err := b.Send([]byte{byte(i)}, to); err != nil {
				t.Fatal(err)
			}
		}
		buf := make([]byte, 64)
		for _, want := range []byte{0, 3} {
			n, _, err := recvA(buf)
			if err != nil || n != 1 || buf[0] != want {
				t.Fatalf("received %v, %v; want [%d]", buf[:n], err, want)
			}
		}
	})
}

func TestSendAfterCloseFails(t *testing.T) {
	_, b, _, toA := openPair(t)
	b.Close()
	if err := b.Send([]byte("late"), toA); err == nil {
		t.Fatal("a closed bind took a datagram")
	}
}

// runLength never joins datagrams of different addresses, never a
// larger one after the first, nothing after a shorter one, and always
// takes at least one.
func TestRunLengthProperty(t *testing.T) {
	addrs := []netip.AddrPort{netip.MustParseAddrPort("198.18.0.1:1"), netip.MustParseAddrPort("198.18.0.2:1")}
	check := func(sizes []uint16, dests []bool) bool {
		if len(sizes) == 0 {
			return true
		}
		ds := make([]datagram, len(sizes))
		for i, s := range sizes {
			to := addrs[0]
			if i < len(dests) && dests[i] {
				to = addrs[1]
			}
			ds[i] = datagram{Buf: make([]byte, 1+int(s)%1500), Meta: to}
		}
		k := runLength(ds)
		if k < 1 || k > maxSegments {
			return false
		}
		total := 0
		for i, d := range ds[:k] {
			total += len(d.Buf)
			if d.Meta != ds[0].Meta || len(d.Buf) > len(ds[0].Buf) || i < k-1 && len(d.Buf) != len(ds[0].Buf) {
				return false
			}
		}
		return total <= maxGSOBytes
	}
	if err := quick.Check(check, &quick.Config{MaxCount: 2000}); err != nil {
		t.Fatal(err)
	}
}

func TestControlMessages(t *testing.T) {
	for _, size := range []int{1, 1452, 65000} {
		msgs, err := unix.ParseSocketControlMessage(putSegmentSize(make([]byte, 64), size))
		if err != nil || len(msgs) != 1 || msgs[0].Header.Type != unix.UDP_SEGMENT ||
			binary.NativeEndian.Uint16(msgs[0].Data) != uint16(size) {
			t.Fatalf("UDP_SEGMENT %d written as %+v, %v", size, msgs, err)
		}
		// the kernel's UDP_GRO message carries an int, after another message
		oob := append(make([]byte, 0, 64), unix.UnixRights(7)...)
		gro := make([]byte, unix.CmsgSpace(4))
		h := (*unix.Cmsghdr)(unsafe.Pointer(&gro[0]))
		h.Level, h.Type = unix.SOL_UDP, unix.UDP_GRO
		h.SetLen(unix.CmsgLen(4))
		binary.NativeEndian.PutUint32(gro[unix.CmsgLen(0):], uint32(size))
		if got := groSize(append(oob, gro...)); got != size {
			t.Fatalf("UDP_GRO %d read as %d", size, got)
		}
	}
	if groSize(nil) != 0 || groSize(make([]byte, 3)) != 0 || groSize(unix.UnixRights(7)) != 0 {
		t.Fatal("no UDP_GRO message gave a segment size")
	}
}
