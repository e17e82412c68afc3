package packetqueue

import (
	"bytes"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func putAll(q *Queue, packets ...[]byte) (int, error) {
	return q.Put(len(packets), func(i int) []byte { return packets[i] }, 0, nil)
}

func TestQueueKeepsOrderAndReportsFull(t *testing.T) {
	q := New(3, 8) // rounded up to 4 slots
	n, err := putAll(q, []byte("a"), []byte("bb"), []byte("ccc"), []byte("dddd"), []byte("e"))
	if err != nil || n != 4 {
		t.Fatalf("put = %d, %v; want 4 accepted (queue full)", n, err)
	}
	buf := make([]byte, 100)
	lens := make([]uint32, 8)
	got, err := q.Take(buf, lens, 0, nil)
	if err != nil || got != 4 {
		t.Fatalf("take = %d, %v", got, err)
	}
	if !bytes.Equal(buf[:6], []byte("abbccc")) || lens[0] != 1 || lens[1] != 2 || lens[2] != 3 {
		t.Fatalf("took %q with lens %v", buf[:6], lens[:3])
	}
}

func TestQueueTakeStopsAtBufferEnd(t *testing.T) {
	q := New(4, 8)
	putAll(q, []byte("1234"), []byte("5678"))
	lens := make([]uint32, 4)
	if n, _ := q.Take(make([]byte, 6), lens, 0, nil); n != 1 {
		t.Fatalf("took %d packets into 6 bytes, want 1", n)
	}
	if _, err := q.Take(make([]byte, 3), lens, 0, nil); err != ErrTooBig {
		t.Fatalf("err = %v, want ErrTooBig", err)
	}
	if q.Len() != 1 {
		t.Fatalf("a packet that did not fit was lost")
	}
}

func TestQueueRefusesPacketsLargerThanASlot(t *testing.T) {
	q := New(2, 4)
	if n, err := putAll(q, []byte("12345")); n != 0 || err != ErrTooBig {
		t.Fatalf("put of 5 bytes into 4-byte slots = %d, %v", n, err)
	}
	if err := q.PutAlways([]byte("12345")); err != ErrTooBig {
		t.Fatalf("PutAlways of 5 bytes into 4-byte slots: %v", err)
	}
}

func TestQueueTimeoutsAndWakeups(t *testing.T) {
	q := New(1, 8)
	start := time.Now()
	n, err := q.Take(make([]byte, 8), make([]uint32, 1), 30*time.Millisecond, nil)
	if n != 0 || err != nil || time.Since(start) < 25*time.Millisecond {
		t.Fatalf("empty take returned %d, %v after %v", n, err, time.Since(start))
	}
	go func() {
		time.Sleep(20 * time.Millisecond)
		putAll(q, []byte("x"))
	}()
	if n, err := q.Take(make([]byte, 8), make([]uint32, 1), -1, nil); n != 1 || err != nil {
		t.Fatalf("blocking take = %d, %v", n, err)
	}
	putAll(q, []byte("y"))
	if n, _ := q.Put(1, func(int) []byte { return []byte("z") }, 20*time.Millisecond, nil); n != 0 {
		t.Fatalf("put into a full queue accepted %d", n)
	}
	done := make(chan error)
	go func() {
		_, err := q.Put(1, func(int) []byte { return []byte("z") }, -1, nil)
		done <- err
	}()
	time.Sleep(10 * time.Millisecond)
	q.Close()
	if err := <-done; err != ErrClosed {
		t.Fatalf("close did not wake the blocked producer: %v", err)
	}
}

func TestQueueReadinessFollowsContent(t *testing.T) {
	q := New(4, 8)
	defer q.Close()
	fd, err := q.ReadinessFD()
	if err != nil {
		t.Fatal(err)
	}
	readable := func() bool {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, _ := unix.Poll(fds, 0)
		return n == 1
	}
	if readable() {
		t.Fatal("empty queue is readable")
	}
	putAll(q, []byte("a"), []byte("b"))
	if !readable() {
		t.Fatal("queue with packets is not readable")
	}
	q.Take(make([]byte, 8), make([]uint32, 1), 0, nil)
	if !readable() {
		t.Fatal("queue with one packet left is not readable")
	}
	q.Take(make([]byte, 8), make([]uint32, 1), 0, nil)
	if readable() {
		t.Fatal("drained queue is still readable")
	}
}

func TestPutAlwaysGoesPastCapacityInOrder(t *testing.T) {
	q := New(2, 8)
	putAll(q, []byte("a"), []byte("b"))
	for _, p := range []string{"c", "d", "e"} {
		if err := q.PutAlways([]byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	if n, _ := putAll(q, []byte("x")); n != 0 || q.Len() != 5 {
		t.Fatalf("a put into a queue over capacity took %d (len %d)", n, q.Len())
	}
	var got []byte
	buf, lens := make([]byte, 16), make([]uint32, 4)
	for len(got) < 5 {
		n, err := q.Take(buf, lens, 5*time.Second, nil)
		if n == 0 || err != nil {
			t.Fatalf("took %q, then %d, %v", got, n, err)
		}
		got = append(got, buf[:n]...)
	}
	if string(got) != "abcde" || q.Len() != 0 {
		t.Fatalf("took %q, %d left", got, q.Len())
	}
	if n, _ := putAll(q, []byte("f")); n != 1 {
		t.Fatal("a put below capacity again was refused")
	}
	q.Close()
	if err := q.PutAlways([]byte("g")); err != ErrClosed {
		t.Fatalf("PutAlways into a closed queue: %v", err)
	}
}

func TestConcurrentProducersLoseNothingAndKeepEachOnesOrder(t *testing.T) {
	q := New(16, 8)
	const producers, each = 4, 20000
	for p := range producers {
		go func() {
			for i := 0; i < each; {
				packet := []byte{byte(p), byte(i), byte(i >> 8), byte(i >> 16)}
				n, err := q.Put(1, func(int) []byte { return packet }, -1, nil)
				if err != nil {
					t.Error(err)
					return
				}
				i += n
			}
		}()
	}
	next := make([]int, producers)
	buf, lens := make([]byte, 8*32), make([]uint32, 32)
	for got := 0; got < producers*each; {
		n, err := q.Take(buf, lens, 10*time.Second, nil)
		if err != nil || n == 0 {
			t.Fatalf("take after %d packets: %d, %v", got, n, err)
		}
		for k := range n {
			p := buf[4*k : 4*k+4]
			if i := int(p[1]) | int(p[2])<<8 | int(p[3])<<16; i != next[p[0]] {
				t.Fatalf("producer %d: got packet %d, want %d", p[0], i, next[p[0]])
			}
			next[p[0]]++
		}
		got += n
	}
}

func TestABusyStreamWakesNobody(t *testing.T) {
	q := New(8, 8)
	putAll(q, []byte("a"), []byte("b"))
	buf, lens := make([]byte, 8), make([]uint32, 1)
	for range 10000 {
		putAll(q, []byte("c"))
		if n, err := q.Take(buf, lens, -1, nil); n != 1 || err != nil {
			t.Fatalf("take = %d, %v", n, err)
		}
	}
	if w := q.Wakeups(); w != 0 {
		t.Fatalf("a stream that never emptied nor filled the ring woke a side %d times", w)
	}
	go func() {
		time.Sleep(20 * time.Millisecond)
		putAll(q, []byte("d"))
	}()
	for q.Len() > 0 {
		q.Take(buf, lens, 0, nil)
	}
	if n, _ := q.Take(buf, lens, -1, nil); n != 1 || q.Wakeups() != 1 {
		t.Fatalf("a consumer waiting on an empty ring: took %d, woken %d times, want once", n, q.Wakeups())
	}
}

func TestCloseWakesEveryWaiterAndReleaseWaitsForThem(t *testing.T) {
	full, empty := New(1, 8), New(1, 8)
	putAll(full, []byte("x"))
	done := make(chan error, 6)
	for range 3 {
		go func() { _, err := full.Put(1, func(int) []byte { return []byte("y") }, -1, nil); done <- err }()
		go func() { _, err := empty.Take(make([]byte, 8), make([]uint32, 1), -1, nil); done <- err }()
	}
	time.Sleep(20 * time.Millisecond)
	full.Release()
	empty.Release()
	for range 6 {
		select {
		case err := <-done:
			if err != ErrClosed {
				t.Fatalf("a waiter ended with %v, want ErrClosed", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("closing left a waiter asleep")
		}
	}
	if _, err := full.Take(make([]byte, 8), make([]uint32, 1), 0, nil); err != ErrClosed {
		t.Fatalf("take from a released queue: %v", err)
	}
}

func TestAStoppedConsumerNeverBlocksACancelledProducer(t *testing.T) {
	q := New(1, 8)
	putAll(q, []byte("x"))
	cancel := make(chan struct{})
	done := make(chan error, 1)
	go func() { _, err := q.Put(1, func(int) []byte { return []byte("y") }, -1, cancel); done <- err }()
	time.Sleep(20 * time.Millisecond)
	close(cancel)
	select {
	case err := <-done:
		if err != ErrCancelled {
			t.Fatalf("cancelled put: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a cancel did not wake a producer waiting for room")
	}
}

func TestPutNowNeverWaitsAndPublishesThroughItsOwnCallback(t *testing.T) {
	q := New(2, 8)
	var onPublish, own []string
	q.OnPublish = func(p []byte) { onPublish = append(onPublish, string(p)) }
	mine := func(p []byte) { own = append(own, string(p)) }
	putAll(q, []byte("a"))
	if !q.PutNow([]byte("b"), mine) {
		t.Fatal("PutNow refused a packet with room for it")
	}
	if q.PutNow([]byte("c"), mine) || q.Len() != 2 {
		t.Fatalf("PutNow into a full queue queued it (len %d)", q.Len())
	}
	if q.PutNow([]byte("123456789"), mine) {
		t.Fatal("PutNow queued a packet larger than a slot")
	}
	if len(onPublish) != 1 || onPublish[0] != "a" || len(own) != 1 || own[0] != "b" {
		t.Fatalf("OnPublish saw %q, PutNow's callback %q", onPublish, own)
	}
	q.Close()
	q.Take(make([]byte, 16), make([]uint32, 2), 0, nil)
	if q.PutNow([]byte("d"), mine) {
		t.Fatal("PutNow into a closed queue queued it")
	}
}

// hostReaderSleeps marks q as a host (C) reader does before it sleeps,
// wanting up to want packets, and returns its futex word's value.
func hostReaderSleeps(q *Queue, want uint32) uint32 {
	atomic.StoreUint32(q.word(&q.ring.data_want), want)
	atomic.OrUint32(q.word(&q.ring.data_wanted), waiterC)
	return atomic.LoadUint32(q.word(&q.ring.data_seq))
}

func TestAHostReaderIsWokenOnceItsReadIsFilledOrTheProducerYields(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1)) // wakeHost runs only when this goroutine yields
	// Go may still preempt this goroutine (sysmon, when a loaded machine
	// deschedules its thread for 10 ms), and that yield runs wakeHost
	// early. So each attempt is a fresh queue; a wrong wake-up rule fails
	// every attempt, a preemption only one.
	var failures []string
	for range 5 {
		failure := hostReaderWakeUps()
		if failure == "" {
			return
		}
		failures = append(failures, failure)
	}
	t.Fatalf("every attempt failed: %q", failures)
}

// hostReaderWakeUps checks when a sleeping host reader is woken: why not
// as it should be, or "".
func hostReaderWakeUps() string {
	q := New(16, 8)
	defer q.Release()
	woken := func(seen uint32) bool { return atomic.LoadUint32(q.word(&q.ring.data_seq)) != seen }

	seen := hostReaderSleeps(q, 4)
	for i := range 3 {
		putAll(q, []byte{byte(i)})
	}
	if woken(seen) {
		return "a reader taking 4 was woken at the first packet"
	}
	putAll(q, []byte("d"))
	if !woken(seen) {
		return "a reader taking 4 still sleeps with 4 packets queued"
	}

	q.Take(make([]byte, 64), make([]uint32, 16), 0, nil)
	seen = hostReaderSleeps(q, 4)
	putAll(q, []byte("e"))
	deadline := time.Now().Add(time.Second)
	for !woken(seen) && time.Now().Before(deadline) {
		runtime.Gosched()
	}
	if !woken(seen) {
		return "a reader with fewer packets than it takes was not woken once the producer yielded"
	}
	if seq := atomic.LoadUint32(q.word(&q.ring.data_seq)); seq != seen+1 {
		return fmt.Sprintf("woken %d times for one packet, want once", seq-seen)
	}
	return ""
}

func TestAnExpectedReplyIsSeenWithoutAWakeUp(t *testing.T) {
	q := New(4, 8)
	defer q.Release()
	q.replyWindow = 10 * time.Second // however slowly this test runs
	got := make(chan int)
	go func() {
		n, _ := q.Take(make([]byte, 8), make([]uint32, 1), -1, nil)
		got <- n
	}()
	goWaits := func() bool { return atomic.LoadUint32(q.word(&q.ring.data_wanted))&waiterGo != 0 }
	for !goWaits() {
		time.Sleep(time.Millisecond)
	}
	q.ExpectReply()
	if goWaits() {
		t.Fatal("a consumer watching for a reply is still marked as waiting (the host would write go_fd)")
	}
	putAll(q, []byte("r"))
	if n := <-got; n != 1 || q.Wakeups() != 0 {
		t.Fatalf("took %d, wake-ups %d: want the reply seen by the watching consumer, no wake-up", n, q.Wakeups())
	}
}

func TestMissedRepliesStopTheWatching(t *testing.T) {
	q := New(4, 8)
	defer q.Release()
	go q.Take(make([]byte, 8), make([]uint32, 1), -1, nil)
	goWaits := func() bool { return atomic.LoadUint32(q.word(&q.ring.data_wanted))&waiterGo != 0 }
	watchUntilMissed := func() time.Duration {
		for !goWaits() {
			time.Sleep(100 * time.Microsecond)
		}
		q.replyQuiet.Store(0)
		before := time.Now().UnixNano()
		q.ExpectReply()
		for !goWaits() {
			time.Sleep(10 * time.Microsecond)
		}
		gap := q.replyGap.Load()
		if quiet := q.replyQuiet.Load(); quiet < before+gap {
			t.Fatalf("expectations ignored until %d ns after the window began, want at least the gap, %d", quiet-before, gap)
		}
		return time.Duration(gap)
	}
	for i, want := range []time.Duration{leastReplyGap, 2 * leastReplyGap, 4 * leastReplyGap} {
		if gap := watchUntilMissed(); gap != want {
			t.Fatalf("miss %d: expectations ignored for %v, want %v", i+1, gap, want)
		}
	}
	q.replyGap.Store(int64(mostReplyGap))
	if gap := watchUntilMissed(); gap != mostReplyGap {
		t.Fatalf("gap grew past its bound: %v", gap)
	}
	q.replyQuiet.Store(time.Now().Add(time.Hour).UnixNano())
	q.ExpectReply()
	if !goWaits() {
		t.Fatal("an expectation while they are ignored woke the consumer")
	}
}
