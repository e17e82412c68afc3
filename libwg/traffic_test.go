package main

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	"wgcore/libwg/internal/traffic"
)

// tallyPump carries datagrams from one host-transport tunnel to another,
// counting what it carried with its own reading of the message type.
func tallyPump(t *testing.T, from, to *tunnel, tally map[string]traffic.Count) int {
	t.Helper()
	buf := make([]byte, 64*(1420+datagramOverhead))
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
		tally[kind] = traffic.Count{Packets: c.Packets + 1, Bytes: c.Bytes + uint64(len(d))}
		if k, err := to.queues(kindDatagrams).write.Put(1, func(int) []byte { return d }, time.Second, nil); k != 1 {
			t.Fatalf("delivering: %d, %v", k, err)
		}
	}
	return n
}

func asTally(w traffic.Wire) map[string]traffic.Count {
	out := map[string]traffic.Count{}
	for kind, c := range map[string]traffic.Count{
		"initiation": w.Initiation, "response": w.Response, "cookie": w.Cookie,
		"data": w.Data, "keepalive": w.Keepalive, "other": w.Other,
	} {
		if c.Packets > 0 {
			out[kind] = c
		}
	}
	return out
}

func TestCountersMatchWhatTheHostCarried(t *testing.T) {
	pair := newMemPair(t, "host")
	aToB, bToA := map[string]traffic.Count{}, map[string]traffic.Count{}
	buf := make([]byte, 1500)
	var length [1]uint32
	var sent, delivered traffic.Count
	// One packet first (it waits for the handshake), then batches of 50.
	for i, batch := range []int{1, 50, 50, 50, 50, 50, 50} {
		var packets [][]byte
		for j := range batch {
			p := ipv4Packet(make([]byte, 10*i+j))
			packets = append(packets, p)
			sent = traffic.Count{Packets: sent.Packets + 1, Bytes: sent.Bytes + uint64(len(p))}
		}
		write(pair.a, packets)
		deadline := time.Now().Add(20 * time.Second)
		for delivered.Packets < sent.Packets {
			if time.Now().After(deadline) {
				t.Fatalf("%d of %d arrived", delivered.Packets, sent.Packets)
			}
			tallyPump(t, pair.a, pair.b, aToB)
			tallyPump(t, pair.b, pair.a, bToA)
			if n, _ := pair.b.queues(kindPackets).read.Take(buf, length[:], time.Millisecond, nil); n == 1 {
				delivered = traffic.Count{Packets: delivered.Packets + 1, Bytes: delivered.Bytes + uint64(length[0])}
			}
		}
	}
	unrouted := ipv4PacketFrom(addrA, []byte{203, 0, 113, 9}, nil) // no peer for it
	write(pair.a, [][]byte{unrouted})
	// Carry until nothing moves and the counters stand still, then compare.
	for quiet := 0; quiet < 3; {
		before := [2]traffic.Snapshot{pair.a.counts.Load(), pair.b.counts.Load()}
		moved := tallyPump(t, pair.a, pair.b, aToB) + tallyPump(t, pair.b, pair.a, bToA)
		time.Sleep(20 * time.Millisecond)
		if moved == 0 && before == [2]traffic.Snapshot{pair.a.counts.Load(), pair.b.counts.Load()} {
			quiet++
		} else {
			quiet = 0
		}
	}
	a, b := pair.a.counts.Load(), pair.b.counts.Load()
	for _, c := range []struct {
		name      string
		got, want map[string]traffic.Count
	}{
		{"A sent", asTally(a.Sent), aToB}, {"B received", asTally(b.Received), aToB},
		{"B sent", asTally(b.Sent), bToA}, {"A received", asTally(a.Received), bToA},
	} {
		if fmt.Sprint(c.got) != fmt.Sprint(c.want) {
			t.Errorf("%s %v, carried %v", c.name, c.got, c.want)
		}
	}
	if a.Sent.Data.Packets != sent.Packets {
		t.Errorf("A sent %d data messages for %d packets", a.Sent.Data.Packets, sent.Packets)
	}
	noRoute := traffic.Count{Packets: 1, Bytes: uint64(len(unrouted))}
	if a.FromApp != (traffic.Count{Packets: sent.Packets + 1, Bytes: sent.Bytes + noRoute.Bytes}) || a.NoRoute != noRoute || b.ToApp != delivered {
		t.Errorf("A from app %+v, no route %+v; B to app %+v (delivered %+v)", a.FromApp, a.NoRoute, b.ToApp, delivered)
	}
	if a.StagingDropped != (traffic.Count{}) || a.PeerStopped != (traffic.Count{}) {
		t.Errorf("A dropped %+v staging, %+v for a stopped peer", a.StagingDropped, a.PeerStopped)
	}
	// A's application got an ICMP host unreachable for the unrouted packet.
	if n, _ := pair.a.queues(kindPackets).read.Take(buf, length[:], time.Second, nil); n != 1 {
		t.Fatal("no ICMP error for the unrouted packet")
	}
	answer := buf[:length[0]]
	if answer[9] != 1 || answer[20] != 3 || answer[21] != 1 || !bytes.Equal(answer[28:], unrouted) || !bytes.Equal(answer[12:16], unrouted[16:20]) {
		t.Errorf("answer %x", answer)
	}
	if a.UnreachableSent != (traffic.Count{Packets: 1, Bytes: uint64(len(answer))}) || a.ToApp != (traffic.Count{}) {
		t.Errorf("A unreachable sent %+v, to app %+v", a.UnreachableSent, a.ToApp)
	}
}

func TestSetConfigRefreshesTheRoutes(t *testing.T) {
	pair := newMemPair(t, "udp")
	// noRouteOf sends one packet A->B and returns how many the device
	// counted as having no route.
	noRouteOf := func() uint64 {
		t.Helper()
		before := pair.a.counts.Load()
		write(pair.a, [][]byte{ipv4Packet(nil)})
		deadline := time.Now().Add(10 * time.Second)
		for pair.a.counts.Load().FromApp.Packets == before.FromApp.Packets {
			if time.Now().After(deadline) {
				t.Fatal("the device never read the packet")
			}
			time.Sleep(time.Millisecond)
		}
		return pair.a.counts.Load().NoRoute.Packets - before.NoRoute.Packets
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
