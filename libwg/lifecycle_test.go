package main

import (
	"encoding/hex"
	"testing"
	"time"
)

// handshake carries one packet A->B and one B->A (pumping datagrams for a
// host-carried transport).
func handshake(t *testing.T, pair memPair) {
	t.Helper()
	if _, hostCarried := pair.a.mode.(*memHostMode); hostCarried {
		stop := make(chan struct{})
		pumps := pair.pump(stop)
		defer func() { close(stop); pumps.Wait() }()
	}
	exchange(t, pair, [][]byte{ipv4Packet([]byte("hello"))}, 1)
	exchange(t, memPair{pair.b, pair.a}, [][]byte{ipv4PacketFrom(addrB, addrA, []byte("hello"))}, 1)
}

// fillUntilStuck writes packets into tun's outbound queue until no room
// appears for 300 ms: the whole send pipeline behind it is full.
func fillUntilStuck(t *testing.T, tun *tunnel, packet []byte) int {
	t.Helper()
	total := 0
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		n, err := tun.queues(kindPackets).write.Put(64, func(int) []byte { return packet }, 300*time.Millisecond, nil)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return total
		}
		total += n
	}
	t.Fatal("the send pipeline never filled")
	return 0
}

// turnOffWithin turns tun off (as wgTurnOff does) and fails if that takes
// longer than limit.
func turnOffWithin(t *testing.T, tun *tunnel, limit time.Duration) {
	t.Helper()
	if h, ok := startedHandles.Load(tun); ok {
		tunnels.Remove(h.(int32))
	}
	done := make(chan struct{})
	go func() {
		tun.turnOff()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(limit):
		t.Fatalf("turning the tunnel off blocked for %v", limit)
	}
}

func TestTurnOffWhileTheHostStopsCarryingDatagrams(t *testing.T) {
	pair := newMemPair(t, "host")
	handshake(t, pair)
	if n := fillUntilStuck(t, pair.a, ipv4Packet(make([]byte, 1000))); n <= queueCapacity {
		t.Fatalf("only %d packets accepted: the datagram queue cannot be full", n)
	}
	turnOffWithin(t, pair.a, 10*time.Second)
}

func TestTurnOffWhileTheHostStopsReadingPackets(t *testing.T) {
	for _, transport := range []string{"udp", "host"} {
		pair := newMemPair(t, transport)
		handshake(t, pair)
		// B's application never reads: its inbound queue fills and the
		// device's writes to it wait.
		stop := make(chan struct{})
		if transport == "host" {
			pumps := pair.pump(stop)
			defer func() { pumps.Wait() }()
		}
		packet := ipv4Packet(make([]byte, 1000))
		deadline := time.Now().Add(30 * time.Second)
		for pair.b.queues(kindPackets).read.Len() < queueCapacity {
			if time.Now().After(deadline) {
				t.Fatalf("transport %s: B's inbound queue never filled (%d)", transport, pair.b.queues(kindPackets).read.Len())
			}
			pair.a.queues(kindPackets).write.Put(64, func(int) []byte { return packet }, 10*time.Millisecond, nil)
		}
		time.Sleep(100 * time.Millisecond) // let the device block on the full queue
		turnOffWithin(t, pair.b, 10*time.Second)
		close(stop)
	}
}

// TestSetConfigWhileTheHostStopsCarryingDatagrams: wireguard-go waits for
// the device's goroutines to change the listen port or remove a peer; a
// host that stopped reading must not make that wait for ever, and the
// datagrams queued meanwhile must all still reach the other side.
func TestSetConfigWhileTheHostStopsCarryingDatagrams(t *testing.T) {
	pair := newMemPair(t, "host")
	handshake(t, pair)
	accepted := fillUntilStuck(t, pair.a, ipv4Packet(make([]byte, 1000)))
	setWithin := func(settings string) {
		t.Helper()
		done := make(chan error, 1)
		go func() { done <- pair.a.setConfig(settings) }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("set %q blocked", settings)
		}
	}
	setWithin("listen_port=4444\n")
	stop := make(chan struct{})
	pumps := pair.pump(stop)
	buf := make([]byte, 64*1500)
	lens := make([]uint32, 64)
	for received := 0; received < accepted; {
		n, err := pair.b.queues(kindPackets).read.Take(buf, lens, 10*time.Second, nil)
		if n == 0 || err != nil {
			close(stop)
			t.Fatalf("%d of %d accepted packets arrived (%v)", received, accepted, err)
		}
		received += n
	}
	close(stop)
	pumps.Wait()
	fillUntilStuck(t, pair.a, ipv4Packet(make([]byte, 1000)))
	pubB, _ := publicKey(testKey(2))
	setWithin("public_key=" + hex.EncodeToString(pubB) + "\nremove=true\n")
}
