package main

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	"wgcore/libwg/internal/hostgate"
	"wgcore/libwg/internal/membind"
	"wgcore/libwg/internal/memtun"
	"wgcore/libwg/internal/packetqueue"
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
	want := wireSnapshot{
		initiation: counted{1, 148}, response: counted{1, 92}, cookie: counted{1, 64},
		keepalive: counted{1, 32}, data: counted{2, 33 + 1452},
		other: counted{7, 147 + 148 + 63 + 31 + 100 + 2},
	}
	if got := w.load(); got != want {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
}

func putAll(q *packetqueue.Queue, packets ...[]byte) (int, error) {
	return q.Put(len(packets), func(i int) []byte { return packets[i] }, 0, nil)
}

func TestCountingTunCountsBothWaysAndNoRoute(t *testing.T) {
	gate := hostgate.New()
	mem := memtun.New(1420, 4, gate)
	counts := &traffic{}
	counts.routes.Store(mustRoutes(t, "public_key=aa\nallowed_ip=198.51.100.2/32\n"))
	tun := countingTun{mem, counts}

	routed, unrouted := ipv4PacketFrom(addrA, addrB, make([]byte, 10)), ipv4PacketFrom(addrB, addrA, make([]byte, 50))
	putAll(mem.Outbound, routed, unrouted, routed)
	buf := make([]byte, 1500)
	for range 3 {
		if _, err := tun.Read(buf, 16); err != nil {
			t.Fatal(err)
		}
	}
	if got := counts.load(); got.fromApp != (counted{3, 30 + 70 + 30}) || got.noRoute != (counted{1, 70}) {
		t.Fatalf("from app %+v, no route %+v", got.fromApp, got.noRoute)
	}

	for range 4 {
		if _, err := tun.Write(append(make([]byte, 16), routed...), 16); err != nil {
			t.Fatal(err)
		}
	}
	if got := counts.load().toApp; got != (counted{4, 4 * 30}) {
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
	if got := counts.load().toApp; got.packets != 4 {
		t.Fatalf("a packet discarded at turn-off counted as delivered: %+v", got)
	}
}

func TestCountingBindCountsWhatCrosses(t *testing.T) {
	gate := hostgate.New()
	link := membind.New(1420, 3, gate)
	counts := &traffic{}
	bind := countingBind{link, counts}
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
	got := counts.load()
	if got.sent != (wireSnapshot{initiation: counted{1, 148}, keepalive: counted{1, 32}}) {
		t.Fatalf("sent %+v", got.sent)
	}
	if got.received != (wireSnapshot{response: counted{1, 92}, data: counted{1, 200}, other: counted{1, 4}}) {
		t.Fatalf("received %+v", got.received)
	}
	// Once outbound (3 slots) is full, a send waits until turn-off, then
	// reports success without counting.
	if err := bind.Send(message(4, 100), membind.LinkEndpoint); err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() { done <- bind.Send(message(4, 100), membind.LinkEndpoint) }()
	time.Sleep(20 * time.Millisecond)
	gate.TurnOff()
	if err := <-done; err != nil {
		t.Fatalf("send cut off by turn-off: %v", err)
	}
	if got := counts.load().sent.data; got != (counted{1, 100}) {
		t.Fatalf("a datagram discarded at turn-off counted as sent: %+v", got)
	}
}

// tallyPump carries datagrams from one host-transport tunnel to another,
// counting what it carried with its own reading of the message type.
func tallyPump(t *testing.T, from, to *tunnel, tally map[string]counted) int {
	t.Helper()
	buf := make([]byte, 64*membind.MaxDatagram(1420))
	lens := make([]uint32, 64)
	n, err := from.queues(kindDatagrams).read.Take(buf, lens, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	offset := 0
	for _, size := range lens[:n] {
		d := buf[offset : offset+int(size)]
		offset += int(size)
		kind := map[byte]string{1: "initiation", 2: "response", 3: "cookie", 4: "data"}[d[0]]
		if kind == "data" && len(d) == 32 {
			kind = "keepalive"
		}
		c := tally[kind]
		tally[kind] = counted{c.packets + 1, c.bytes + uint64(len(d))}
		if k, err := to.queues(kindDatagrams).write.Put(1, func(int) []byte { return d }, time.Second, nil); k != 1 {
			t.Fatalf("delivering: %d, %v", k, err)
		}
	}
	return n
}

func asTally(w wireSnapshot) map[string]counted {
	out := map[string]counted{}
	for kind, c := range map[string]counted{
		"initiation": w.initiation, "response": w.response, "cookie": w.cookie,
		"data": w.data, "keepalive": w.keepalive, "other": w.other,
	} {
		if c.packets > 0 {
			out[kind] = c
		}
	}
	return out
}

func TestCountersMatchWhatTheHostCarried(t *testing.T) {
	pair := newMemPair(t, transportHost)
	aToB, bToA := map[string]counted{}, map[string]counted{}
	buf := make([]byte, 1500)
	var length [1]uint32
	var sent, delivered counted
	// One packet first (it waits for the handshake), then batches of 50.
	for i, batch := range []int{1, 50, 50, 50, 50, 50, 50} {
		var packets [][]byte
		for j := range batch {
			p := ipv4Packet(make([]byte, 10*i+j))
			packets = append(packets, p)
			sent = counted{sent.packets + 1, sent.bytes + uint64(len(p))}
		}
		write(pair.a, packets)
		deadline := time.Now().Add(20 * time.Second)
		for delivered.packets < sent.packets {
			if time.Now().After(deadline) {
				t.Fatalf("%d of %d arrived", delivered.packets, sent.packets)
			}
			tallyPump(t, pair.a, pair.b, aToB)
			tallyPump(t, pair.b, pair.a, bToA)
			if n, _ := pair.b.queues(kindPackets).read.Take(buf, length[:], time.Millisecond, nil); n == 1 {
				delivered = counted{delivered.packets + 1, delivered.bytes + uint64(length[0])}
			}
		}
	}
	unrouted := ipv4PacketFrom(addrA, []byte{203, 0, 113, 9}, nil) // no peer for it
	write(pair.a, [][]byte{unrouted})
	// Carry until nothing moves and the counters stand still, then compare.
	for quiet := 0; quiet < 3; {
		before := [2]trafficSnapshot{pair.a.counts.load(), pair.b.counts.load()}
		moved := tallyPump(t, pair.a, pair.b, aToB) + tallyPump(t, pair.b, pair.a, bToA)
		time.Sleep(20 * time.Millisecond)
		if moved == 0 && before == [2]trafficSnapshot{pair.a.counts.load(), pair.b.counts.load()} {
			quiet++
		} else {
			quiet = 0
		}
	}
	a, b := pair.a.counts.load(), pair.b.counts.load()
	for _, c := range []struct {
		name      string
		got, want map[string]counted
	}{
		{"A sent", asTally(a.sent), aToB}, {"B received", asTally(b.received), aToB},
		{"B sent", asTally(b.sent), bToA}, {"A received", asTally(a.received), bToA},
	} {
		if fmt.Sprint(c.got) != fmt.Sprint(c.want) {
			t.Errorf("%s %v, carried %v", c.name, c.got, c.want)
		}
	}
	if a.sent.data.packets != sent.packets {
		t.Errorf("A sent %d data messages for %d packets", a.sent.data.packets, sent.packets)
	}
	noRoute := counted{1, uint64(len(unrouted))}
	if a.fromApp != (counted{sent.packets + 1, sent.bytes + noRoute.bytes}) || a.noRoute != noRoute || b.toApp != delivered {
		t.Errorf("A from app %+v, no route %+v; B to app %+v (delivered %+v)", a.fromApp, a.noRoute, b.toApp, delivered)
	}
}

func TestSetConfigRefreshesTheRoutes(t *testing.T) {
	pair := newMemPair(t, transportUDP)
	// noRouteOf sends one packet A->B and returns how many the device
	// counted as having no route.
	noRouteOf := func() uint64 {
		t.Helper()
		before := pair.a.counts.load()
		write(pair.a, [][]byte{ipv4Packet(nil)})
		deadline := time.Now().Add(10 * time.Second)
		for pair.a.counts.fromApp.packets.Load() == before.fromApp.packets {
			if time.Now().After(deadline) {
				t.Fatal("the device never read the packet")
			}
			time.Sleep(time.Millisecond)
		}
		return pair.a.counts.noRoute.packets.Load() - before.noRoute.packets
	}
	if n := noRouteOf(); n != 0 {
		t.Fatalf("a routed packet counted as no route")
	}
	pubB, _ := publicKey(testKey(2))
	peer := "public_key=" + hex.EncodeToString(pubB) + "\n"
	if err := pair.a.setConfig(peer + "remove=true\n"); err != nil {
		t.Fatal(err)
	}
	if n := noRouteOf(); n != 1 {
		t.Fatalf("after removing the peer, no route = %d, want 1", n)
	}
	if err := pair.a.setConfig(peer + "allowed_ip=198.51.100.0/24\nbogus=1\n"); err == nil {
		t.Fatal("bad settings accepted")
	}
	if n := noRouteOf(); n != 0 {
		t.Fatal("the route a failed set added before its error was not seen")
	}
}

func TestGetTrafficRejectsAnUnknownHandle(t *testing.T) {
	if rc := wgGetTraffic(-1, nil); rc != errUnknownTunnel {
		t.Errorf("unknown handle: %d", rc)
	}
}
