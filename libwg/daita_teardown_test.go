//go:build daita && !upstream

package main

import (
	"encoding/hex"
	"fmt"
	"math/rand"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"golang.zx2c4.com/wireguard/device"
)

// hangMachine is the machine of issue 20's second defect: one state,
// NonPaddingSent -> itself with p = 0.18, padding allowed without bound.
const hangMachine = "789c6364f80f050c380023232e19b280833306bf47d54aa330f930c82e524d5be95977a3bbfbb83d951c473100009f701011"

// slowMachine pads to the MTU 60 s after every packet either way.
func slowMachine() testMachine {
	return testMachine{states: []testState{{
		action:  testDist{code: distUniform, param1: 1420, param2: 1420},
		timeout: testDist{code: distUniform, param1: 60e6, param2: 60e6},
		limit:   testDist{code: distUniform},
		next:    map[int]map[int]float64{evNonPaddingSent: {0: 1}, evNonPaddingRecv: {0: 1}},
	}}}
}

// fastMachine pads to the MTU a random 0-200 us after every packet either way.
func fastMachine() testMachine {
	return testMachine{states: []testState{{
		action:  testDist{code: distUniform, param1: 100, param2: 1420},
		timeout: testDist{code: distUniform, param1: 0, param2: 200},
		limit:   testDist{code: distUniform},
		next:    map[int]map[int]float64{evNonPaddingSent: {0: 1}, evNonPaddingRecv: {0: 1}, evPaddingSent: {0: 0.5}},
	}}}
}

// flow sends packets through pair and drains the receiving ends until
// stop: both ways, or from A to B only under the race detector. The
// fork's per-peer receiver reads Peer.daita with no lock, racing the
// fork's Peer.Stop, and nothing outside the fork can order the two (it is
// safe in the compiled code: ARCHITECTURE.md, "DAITA teardown"), so the
// race run keeps A's receiver off DAITA's path.
func flow(pair memPair, stop chan struct{}) *sync.WaitGroup {
	var wg sync.WaitGroup
	dirs := []struct {
		from, to *tunnel
		packet   []byte
	}{{pair.a, pair.b, ipv4PacketFrom(addrA, addrB, make([]byte, 100))}, {pair.b, pair.a, ipv4PacketFrom(addrB, addrA, make([]byte, 100))}}
	if raceEnabled {
		dirs = dirs[:1]
	}
	for _, dir := range dirs {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for {
				if _, err := dir.from.queues(kindPackets).write.Put(16, func(int) []byte { return dir.packet }, 50*time.Millisecond, stop); err != nil {
					select {
					case <-stop:
						return
					default:
					}
				}
			}
		}()
		go func() {
			defer wg.Done()
			buf := make([]byte, 64*1500)
			lens := make([]uint32, 64)
			for {
				if _, err := dir.to.queues(kindPackets).read.Take(buf, lens, 50*time.Millisecond, stop); err != nil {
					select {
					case <-stop:
						return
					default:
					}
				}
			}
		}()
	}
	return &wg
}

func TestDaitaTeardownUnderTraffic(t *testing.T) {
	for name, machines := range map[string]string{
		"fast": fastMachine().String() + "\n" + fastMachine().String() + "\n" + goodMachine().String(),
		"hang": hangMachine,
		"slow": slowMachine().String(),
	} {
		t.Run(name, func(t *testing.T) {
			pair := newMemPair(t, "udp")
			exchange(t, pair, [][]byte{ipv4Packet([]byte("handshake"))}, 1)
			stop := make(chan struct{})
			wg := flow(pair, stop)
			defer func() { close(stop); wg.Wait() }()
			pubB, _ := publicKey(testKey(2))
			var key device.NoisePublicKey
			copy(key[:], pubB)
			readd := fmt.Sprintf("public_key=%s\nendpoint=127.0.0.1:%s\nallowed_ip=198.51.100.2/32\n", hex.EncodeToString(pubB), listenPort.FindStringSubmatch(must(pair.b.dev.IpcGet()))[1])
			limits := daitaLimits{eventsCapacity: 2048, actionsCapacity: 1024}
			worst := time.Duration(0)
			for round := range teardownRounds(200 / map[bool]int{false: 1, true: 4}[raceEnabled]) {
				if code := enableDaita(pair.a, key, machines, limits); code != 0 {
					e, _ := takeLastError()
					t.Fatalf("round %d: enable: %d %s", round, code, e.message)
				}
				time.Sleep(time.Duration(rand.Intn(12000)) * time.Microsecond)
				start := time.Now()
				if err := pair.a.setConfig("public_key=" + hex.EncodeToString(pubB) + "\nremove=true\n"); err != nil {
					t.Fatal(err)
				}
				if d := time.Since(start); d > worst {
					worst = d
				}
				if err := pair.a.setConfig(readd); err != nil {
					t.Fatal(err)
				}
			}
			t.Logf("longest remove: %v", worst)
		})
	}
}

// teardownRounds is WGCORE_TEARDOWN_ROUNDS, or otherwise n: the long run
// (benchmarks/teardown_stress.py) sets it.
func teardownRounds(n int) int {
	if v, err := strconv.Atoi(os.Getenv("WGCORE_TEARDOWN_ROUNDS")); err == nil && v > 0 {
		return v
	}
	return n
}

func must(s string, err error) string {
	if err != nil {
		panic(err)
	}
	return s
}
