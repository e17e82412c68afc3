package main

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"math/rand"
	"regexp"
	"sync"
	"testing"
	"time"

	"wgcore/libwg/internal/packettest"
)

var addrA, addrB = packettest.AddrA, packettest.AddrB

// ipv4Packet wraps payload in an IPv4 header from addrA to addrB.
func ipv4Packet(payload []byte) []byte { return packettest.IPv4(addrA, addrB, payload) }

// ipv4PacketFrom wraps payload in an IPv4 header from src to dst.
func ipv4PacketFrom(src, dst, payload []byte) []byte { return packettest.IPv4(src, dst, payload) }

func testKey(seed byte) []byte {
	k := bytes.Repeat([]byte{seed}, 32)
	k[0] &= 248
	k[31] = (k[31] & 127) | 64
	return k
}

// memPair is two in-memory tunnels, A (198.51.100.1) and B (.2), peered.
type memPair struct{ a, b *tunnel }

// startedHandles maps each tunnel startMem started to its handle.
var startedHandles sync.Map

// startMem turns an in-memory tunnel on (mode "memory") over transport,
// "udp" or "host".
func startMem(t testing.TB, transport string, settings string) *tunnel {
	handle := startMode(t, &turnOn{mode: "memory", mtu: 1420, settings: settings, params: map[string]string{"transport": transport}, tunFD: -1})
	tun, _ := tunnels.Get(handle)
	startedHandles.Store(tun, handle)
	return tun
}

// queues is tun's host queue of kind, which its mode must have.
func (t *tunnel) queues(kind int32) *hostQueue {
	q, err := t.mode.hostQueue(kind)
	if err != nil {
		panic(err)
	}
	return q
}

var listenPort = regexp.MustCompile(`(?m)^listen_port=(\d+)$`)

func newMemPair(t testing.TB, transport string) memPair {
	privA, privB := testKey(1), testKey(2)
	pubA, _ := publicKey(privA)
	pubB, _ := publicKey(privB)
	a := startMem(t, transport, "private_key="+hex.EncodeToString(privA)+"\nlisten_port=0\n")
	b := startMem(t, transport, "private_key="+hex.EncodeToString(privB)+"\nlisten_port=0\n")
	port := func(x *tunnel) string {
		text, _ := x.dev.IpcGet()
		if m := listenPort.FindStringSubmatch(text); m != nil {
			return m[1]
		}
		return "1" // a host-carried link has no port; any endpoint will do
	}
	for _, side := range []struct {
		self, other *tunnel
		pub         []byte
		ip          []byte
	}{{a, b, pubB, addrB}, {b, a, pubA, addrA}} {
		conf := fmt.Sprintf("public_key=%s\nendpoint=127.0.0.1:%s\nallowed_ip=%d.%d.%d.%d/32\n",
			hex.EncodeToString(side.pub), port(side.other), side.ip[0], side.ip[1], side.ip[2], side.ip[3])
		if err := side.self.setConfig(conf); err != nil {
			t.Fatal(err)
		}
	}
	return memPair{a, b}
}

// pump carries ciphertext between two host-transport tunnels until stop;
// the returned group is done once both pumps have stopped.
func (p memPair) pump(stop chan struct{}) *sync.WaitGroup {
	var pumps sync.WaitGroup
	pumps.Add(2)
	go benchPump(p.a, p.b, stop, &pumps)
	go benchPump(p.b, p.a, stop, &pumps)
	return &pumps
}

// exchange sends packets from A to B with at most window in flight (the
// window keeps the kernel's UDP buffers from overflowing) and checks each
// arrives intact and in order.
func exchange(t *testing.T, pair memPair, packets [][]byte, window int) {
	t.Helper()
	buf := make([]byte, 1500)
	var length [1]uint32
	received := 0
	for sent := 0; received < len(packets); {
		for sent < len(packets) && sent-received < window {
			n, err := pair.a.queues(kindPackets).write.Put(1, func(int) []byte { return packets[sent] }, -1, nil)
			if err != nil || n != 1 {
				t.Fatalf("put: %d, %v", n, err)
			}
			sent++
		}
		n, err := pair.b.queues(kindPackets).read.Take(buf, length[:], 10*time.Second, nil)
		if err != nil || n != 1 {
			t.Fatalf("packet %d: took %d, %v", received, n, err)
		}
		if want := packets[received]; !bytes.Equal(buf[:length[0]], want) {
			t.Fatalf("packet %d differs: got %d bytes, want %d", received, length[0], len(want))
		}
		received++
	}
}

func TestInMemoryTunnelsCarryPacketsIntact(t *testing.T) {
	for _, transport := range []string{"udp", "host"} {
		t.Run("transport="+transport, func(t *testing.T) {
			pair := newMemPair(t, transport)
			if transport == "host" {
				stop := make(chan struct{})
				defer close(stop)
				pair.pump(stop)
			}
			rng := rand.New(rand.NewSource(1))
			packets := [][]byte{ipv4Packet([]byte("handshake first"))}
			for i := 0; i < 2000; i++ {
				payload := make([]byte, rng.Intn(1400))
				rng.Read(payload)
				packets = append(packets, ipv4Packet(payload))
			}
			exchange(t, pair, packets[:1], 1)
			exchange(t, pair, packets[1:], 64)
		})
	}
}
