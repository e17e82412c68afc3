package traffic

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"

	"golang.zx2c4.com/wireguard/tun"

	"wgcore/libwg/internal/hostgate"
	"wgcore/libwg/internal/membind"
	"wgcore/libwg/internal/memtun"
	"wgcore/libwg/internal/packetqueue"
	"wgcore/libwg/internal/packettest"
	"wgcore/libwg/internal/routes"
)

// message builds a datagram of size bytes with WireGuard message type typ.
func message(typ uint32, size int) []byte {
	d := make([]byte, size)
	if size >= 4 {
		binary.LittleEndian.PutUint32(d, typ)
	}
	return d
}

func TestWireCountsSplitByMessageType(t *testing.T) {
	var w wireCounts
	for _, d := range [][]byte{
		message(1, 148), message(2, 92), message(3, 64), message(4, 32), message(4, 33), message(4, 1452),
		message(1, 147), message(2, 148), message(3, 63), message(4, 31), message(5, 100), message(0, 2), nil,
	} {
		w.add(d)
	}
	want := Wire{
		Initiation: Count{1, 148}, Response: Count{1, 92}, Cookie: Count{1, 64},
		Keepalive: Count{1, 32}, Data: Count{2, 33 + 1452},
		Other: Count{7, 147 + 148 + 63 + 31 + 100 + 2},
	}
	if got := w.load(); got != want {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
}

func mustRoutes(t testing.TB, text string) *routes.Table {
	t.Helper()
	r, err := routes.FromUAPI(text)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func putAll(q *packetqueue.Queue, packets ...[]byte) (int, error) {
	return q.Put(len(packets), func(i int) []byte { return packets[i] }, 0, nil)
}

func TestCountingTunCountsBothWaysAndNoRoute(t *testing.T) {
	gate := hostgate.New()
	mem := memtun.New(1420, 4, gate)
	counts := &Counters{}
	counts.SetRoutes(mustRoutes(t, "public_key=aa\nallowed_ip=198.51.100.2/32\n"), nil)
	tun := CountTun(mem, counts, 1420)

	routed, unrouted := packettest.IPv4(packettest.AddrA, packettest.AddrB, make([]byte, 10)), packettest.IPv4(packettest.AddrB, packettest.AddrA, make([]byte, 50))
	putAll(mem.Outbound, routed, unrouted, routed)
	buf := make([]byte, 1500)
	for range 3 {
		if _, err := tun.Read(buf, 16); err != nil {
			t.Fatal(err)
		}
	}
	if got := counts.Load(); got.FromApp != (Count{3, 30 + 70 + 30}) || got.NoRoute != (Count{1, 70}) {
		t.Fatalf("from app %+v, no route %+v", got.FromApp, got.NoRoute)
	}
	// The unrouted packet was answered: an ICMP error from its destination
	// quoting it, counted apart from what the device delivered.
	var length [1]uint32
	if n, err := mem.Inbound.Take(buf, length[:], 0, nil); n != 1 || err != nil {
		t.Fatalf("no ICMP error: %d, %v", n, err)
	}
	answer := buf[:length[0]]
	if len(answer) != 28+70 || answer[9] != 1 || answer[20] != 3 || answer[21] != 1 ||
		!bytes.Equal(answer[12:16], packettest.AddrA) || !bytes.Equal(answer[28:], unrouted) {
		t.Fatalf("answer %x", answer)
	}
	if got := counts.Load(); got.UnreachableSent != (Count{1, 98}) || got.ToApp != (Count{}) {
		t.Fatalf("unreachable sent %+v, to app %+v", got.UnreachableSent, got.ToApp)
	}

	for range 4 {
		if _, err := tun.Write(append(make([]byte, 16), routed...), 16); err != nil {
			t.Fatal(err)
		}
	}
	if got := counts.Load().ToApp; got != (Count{4, 4 * 30}) {
		t.Fatalf("to app %+v", got)
	}
	// The inbound queue (4 slots) is full: a write waits until turn-off,
	// then reports success without counting a delivery.
	done := make(chan error)
	go func() {
		_, err := tun.Write(append(make([]byte, 16), routed...), 16)
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	gate.TurnOff()
	if err := <-done; err != nil {
		t.Fatalf("write cut off by turn-off: %v", err)
	}
	if got := counts.Load().ToApp; got.Packets != 4 {
		t.Fatalf("a packet discarded at turn-off counted as delivered: %+v", got)
	}
}

func TestCountingBindCountsWhatCrosses(t *testing.T) {
	gate := hostgate.New()
	link := membind.New(1420, 4, gate)
	counts := &Counters{}
	bind := CountBind(link, counts)
	receive, _, err := bind.Open(0)
	if err != nil {
		t.Fatal(err)
	}
	defer bind.Close()
	for _, d := range [][]byte{message(1, 148), message(4, 32)} {
		if err := bind.Send(d, membind.LinkEndpoint); err != nil {
			t.Fatal(err)
		}
	}
	putAll(link.Inbound, message(2, 92), message(4, 200), []byte("junk"))
	buf := make([]byte, 1500)
	for range 3 {
		if _, _, err := receive[0](buf); err != nil {
			t.Fatal(err)
		}
	}
	got := counts.Load()
	if got.Sent != (Wire{Initiation: Count{1, 148}, Keepalive: Count{1, 32}}) {
		t.Fatalf("sent %+v", got.Sent)
	}
	if got.Received != (Wire{Response: Count{1, 92}, Data: Count{1, 200}, Other: Count{1, 4}}) {
		t.Fatalf("received %+v", got.Received)
	}
	// Once outbound (4 slots) is full, a send waits until turn-off, then
	// reports success without counting.
	for range 2 {
		if err := bind.Send(message(4, 100), membind.LinkEndpoint); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan error)
	go func() { done <- bind.Send(message(4, 100), membind.LinkEndpoint) }()
	time.Sleep(20 * time.Millisecond)
	gate.TurnOff()
	if err := <-done; err != nil {
		t.Fatalf("send cut off by turn-off: %v", err)
	}
	if got := counts.Load().Sent.Data; got != (Count{2, 200}) {
		t.Fatalf("a datagram discarded at turn-off counted as sent: %+v", got)
	}
}

// carrier is a TUN that carries another device's datagrams.
type carrier struct{ *memtun.Device }

func (carrier) CarriesDatagrams() {}

func TestAnAnswerNeverWaitsAndACarrierGetsNone(t *testing.T) {
	unrouted := packettest.IPv4(packettest.AddrB, packettest.AddrA, make([]byte, 8))
	buf := make([]byte, 1500)
	for _, c := range []struct {
		name   string
		full   bool
		wrap   func(*memtun.Device) tun.Device
		answer bool
	}{
		{"room", false, func(m *memtun.Device) tun.Device { return m }, true},
		{"full inbound", true, func(m *memtun.Device) tun.Device { return m }, false},
		{"carrier", false, func(m *memtun.Device) tun.Device { return carrier{m} }, false},
	} {
		mem := memtun.New(1420, 2, hostgate.New())
		counts := &Counters{}
		tun := CountTun(c.wrap(mem), counts, 1420)
		if c.full {
			putAll(mem.Inbound, unrouted, unrouted)
		}
		putAll(mem.Outbound, unrouted)
		if _, err := tun.Read(buf, 16); err != nil {
			t.Fatal(err)
		}
		waiting := 0
		if c.full {
			waiting = 2
		}
		if c.answer {
			waiting++
		}
		got := counts.Load()
		if got.NoRoute.Packets != 1 || (got.UnreachableSent.Packets == 1) != c.answer || mem.Inbound.Len() != waiting {
			t.Errorf("%s: no route %+v, unreachable sent %+v, %d waiting", c.name, got.NoRoute, got.UnreachableSent, mem.Inbound.Len())
		}
	}
}
