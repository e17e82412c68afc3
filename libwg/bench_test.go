package main

// The native-Go baseline of benchmarks/packet_path.py: the same work as the
// Python driver, done in Go: ipPacketProblem (the rules the host
// checks before writing), then Put and Take on the tunnel's packet queue
// (Go's side of the rings Python reads and writes in C), so the difference
// between the two is Cython plus Python.
//
//	GOTOOLCHAIN=local go test -run '^$' -bench PacketPath -benchtime 1s
//
// Sub-benchmark names, all transport/kind/parameters, are the case names
// the Python script prints; keep the constants below in step with it.

import (
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"
)

var (
	benchSizes   = []int{64, 512, 1420}
	benchBatches = []int{1, 8, 32, 256}
	benchSenders = []int{1, 2, 4}
)

const (
	benchMTU             = 1420
	benchLatencySize     = 64
	benchConcurrentSize  = 512
	benchConcurrentBatch = 8
	benchWait            = time.Second            // a longer wait for a packet counts as a stall
	benchPumpWait        = 100 * time.Millisecond // how long a pump waits before checking stop
)

// benchWindow bounds the packets in flight: the kernel's UDP buffers drop
// what a deeper pipeline would push.
func benchWindow(batch int) int { return max(256, 4*batch) }

// benchPacket is an IPv4 packet of exactly size bytes from src to dst.
func benchPacket(size int, src, dst []byte) []byte {
	return ipv4PacketFrom(src, dst, make([]byte, size-20))
}

// write checks every packet and queues what fits, again until all are
// queued, as the Python driver does with partial sends. It panics on
// failure, as senders run in goroutines of their own.
func write(tun *tunnel, packets [][]byte) {
	for i, p := range packets {
		if err := ipPacketProblem(p, benchMTU); err != nil {
			panic(fmt.Sprintf("packet %d: %v", i, err))
		}
	}
	for queued := 0; queued < len(packets); {
		n, err := tun.queues(kindPackets).write.Put(len(packets)-queued, func(i int) []byte { return packets[queued+i] }, -1, nil)
		if err != nil {
			panic(fmt.Sprintf("put: %d of %d, %v", queued, len(packets), err))
		}
		queued += n
	}
}

// read takes up to len(lens) packets, waiting up to benchWait for the
// first; 0 means none came.
func read(tb testing.TB, tun *tunnel, buf []byte, lens []uint32) int {
	n, err := tun.queues(kindPackets).read.Take(buf, lens, benchWait, nil)
	if err != nil {
		tb.Fatalf("take: %v", err)
	}
	return n
}

// drain discards whatever a previous case left in flight.
func drain(tb testing.TB, tun *tunnel) {
	buf := make([]byte, 256*benchMTU)
	lens := make([]uint32, 256)
	for {
		n, err := tun.queues(kindPackets).read.Take(buf, lens, 50*time.Millisecond, nil)
		if err != nil {
			tb.Fatalf("drain: %v", err)
		}
		if n == 0 {
			return
		}
	}
}

// benchPump carries ciphertext between host-transport tunnels the way the
// Python driver's pump threads do: take a batch, put all of it.
func benchPump(from, to *tunnel, stop chan struct{}, done *sync.WaitGroup) {
	defer done.Done()
	buf := make([]byte, 256*(benchMTU+datagramOverhead))
	lens := make([]uint32, 256)
	for {
		n, err := from.queues(kindDatagrams).read.Take(buf, lens, benchPumpWait, stop)
		if err != nil {
			return
		}
		offset := 0
		for queued := 0; queued < n; {
			k, err := to.queues(kindDatagrams).write.Put(n-queued, func(i int) []byte {
				size := int(lens[queued+i])
				p := buf[offset : offset+size]
				offset += size
				return p
			}, -1, stop)
			if err != nil {
				return
			}
			queued += k
		}
	}
}

// benchPair starts two peered tunnels (pumped if host-carried) and does one
// round trip, so the handshake is done before timing starts.
func benchPair(b *testing.B, transport string) memPair {
	pair := newMemPair(b, transport)
	if transport == "host" {
		stop := make(chan struct{})
		pumps := pair.pump(stop)
		b.Cleanup(func() { close(stop); pumps.Wait() })
	}
	buf := make([]byte, benchMTU)
	lens := make([]uint32, 1)
	for _, dir := range []struct {
		from, to *tunnel
		src, dst []byte
	}{{pair.a, pair.b, addrA, addrB}, {pair.b, pair.a, addrB, addrA}} {
		write(dir.from, [][]byte{benchPacket(64, dir.src, dir.dst)})
		if dir.to.queues(kindPackets).read.Take(buf, lens, 10*time.Second, nil); lens[0] != 64 {
			b.Fatal("no handshake within 10 s")
		}
	}
	return pair
}

func BenchmarkPacketPath(b *testing.B) {
	for _, transport := range []string{"udp", "host"} {
		b.Run(transport, func(b *testing.B) {
			pair := benchPair(b, transport)
			for _, size := range benchSizes {
				for _, batch := range benchBatches {
					b.Run(fmt.Sprintf("throughput/size=%d,batch=%d", size, batch), func(b *testing.B) {
						benchThroughput(b, pair, size, batch)
					})
				}
			}
			b.Run(fmt.Sprintf("roundtrip/size=%d", benchLatencySize), func(b *testing.B) {
				benchRoundTrip(b, pair, benchLatencySize)
			})
			for _, senders := range benchSenders {
				b.Run(fmt.Sprintf("senders/n=%d", senders), func(b *testing.B) {
					benchSendersCase(b, pair, senders)
				})
			}
			b.Run("poll/empty", func(b *testing.B) { benchPoll(b, pair) })
		})
	}
}

// benchThroughput: one thread sends batches from A while the window has
// room for a whole batch and reads up to a batch at B, until b.N arrived.
func benchThroughput(b *testing.B, pair memPair, size, batch int) {
	packets := make([][]byte, batch)
	for i := range packets {
		packets[i] = benchPacket(size, addrA, addrB)
	}
	buf := make([]byte, batch*benchMTU)
	lens := make([]uint32, batch)
	window := benchWindow(batch)
	drain(b, pair.b)
	b.ResetTimer()
	start := time.Now()
	sent, received, stalls := 0, 0, 0
	for received < b.N {
		if sent-received <= window-batch {
			write(pair.a, packets)
			sent += batch
		}
		n := read(b, pair.b, buf, lens)
		if n == 0 {
			stalls++ // lost in the kernel: forget what is in flight
			sent = received
		}
		received += n
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(received)/elapsed.Seconds(), "pkt/s")
	b.ReportMetric(float64(stalls), "stalls")
}

// benchRoundTrip: A sends, B reads and sends back, A reads; one at a time.
func benchRoundTrip(b *testing.B, pair memPair, size int) {
	ping := [][]byte{benchPacket(size, addrA, addrB)}
	pong := [][]byte{benchPacket(size, addrB, addrA)}
	buf := make([]byte, benchMTU)
	lens := make([]uint32, 1)
	samples := make([]time.Duration, b.N)
	drain(b, pair.b)
	b.ResetTimer()
	for i := range samples {
		start := time.Now()
		write(pair.a, ping)
		if read(b, pair.b, buf, lens) != 1 {
			b.Fatal("ping lost")
		}
		write(pair.b, pong)
		if read(b, pair.a, buf, lens) != 1 {
			b.Fatal("pong lost")
		}
		samples[i] = time.Since(start)
	}
	b.StopTimer()
	sort.Slice(samples, func(i, j int) bool { return samples[i] < samples[j] })
	b.ReportMetric(float64(samples[len(samples)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(samples[len(samples)*99/100].Nanoseconds()), "p99-ns")
}

// benchSendersCase: several goroutines send batches from A, each taking a
// token per batch; one reader at B returns a token per batch that arrived.
func benchSendersCase(b *testing.B, pair memPair, senders int) {
	batch := benchConcurrentBatch
	tokens := make(chan struct{}, benchWindow(batch)/batch)
	refill := func() {
		for len(tokens) < cap(tokens) {
			tokens <- struct{}{}
		}
	}
	refill()
	stop := make(chan struct{})
	var running sync.WaitGroup
	drain(b, pair.b)
	b.ResetTimer()
	start := time.Now()
	for range senders {
		running.Add(1)
		go func() {
			defer running.Done()
			packets := make([][]byte, batch)
			for i := range packets {
				packets[i] = benchPacket(benchConcurrentSize, addrA, addrB)
			}
			for {
				select {
				case <-stop:
					return
				case <-tokens:
				}
				write(pair.a, packets)
			}
		}()
	}
	buf := make([]byte, batch*benchMTU)
	lens := make([]uint32, batch)
	received, pending, stalls := 0, 0, 0
	for received < b.N {
		n := read(b, pair.b, buf, lens)
		if n == 0 {
			stalls++
			pending = 0
			refill()
		}
		received += n
		for pending += n; pending >= batch; pending -= batch {
			select {
			case tokens <- struct{}{}:
			default: // a late packet after a stall
			}
		}
	}
	elapsed := time.Since(start)
	close(stop)
	running.Wait()
	b.StopTimer()
	b.ReportMetric(float64(received)/elapsed.Seconds(), "pkt/s")
	b.ReportMetric(float64(stalls), "stalls")
}

// benchPoll: a read of an empty queue that does not wait, i.e. the fixed
// cost of one call with no device work behind it.
func benchPoll(b *testing.B, pair memPair) {
	buf := make([]byte, benchMTU)
	lens := make([]uint32, 1)
	drain(b, pair.b)
	b.ResetTimer()
	for range b.N {
		if n, err := pair.b.queues(kindPackets).read.Take(buf, lens, 0, nil); n != 0 || err != nil {
			b.Fatalf("poll: %d, %v", n, err)
		}
	}
}
