package packetqueue

import (
	"bytes"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func putAll(q *Queue, packets ...[]byte) (int, error) {
	return q.Put(len(packets), func(i int) []byte { return packets[i] }, 0, nil)
}

func TestQueueKeepsOrderAndReportsFull(t *testing.T) {
	q := New(3, 8)
	n, err := putAll(q, []byte("a"), []byte("bb"), []byte("ccc"), []byte("dddd"))
	if err != nil || n != 3 {
		t.Fatalf("put = %d, %v; want 3 accepted (queue full)", n, err)
	}
	buf := make([]byte, 100)
	lens := make([]uint32, 8)
	got, err := q.Take(buf, lens, 0, nil)
	if err != nil || got != 3 {
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

func TestQueueGrowsSlotsForLargePackets(t *testing.T) {
	q := New(1, 2)
	big := bytes.Repeat([]byte{7}, 100)
	putAll(q, big)
	buf := make([]byte, 100)
	if n, err := q.TakeOne(buf, nil); err != nil || n != 100 || !bytes.Equal(buf, big) {
		t.Fatalf("TakeOne = %d, %v", n, err)
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
	buf, lens := make([]byte, 16), make([]uint32, 4)
	if n, _ := q.Take(buf, lens, 0, nil); n != 4 || !bytes.Equal(buf[:4], []byte("abcd")) {
		t.Fatalf("took %d: %q", n, buf[:4])
	}
	if n, _ := putAll(q, []byte("f")); n != 1 {
		t.Fatal("a put below capacity again was refused")
	}
	if n, _ := q.Take(buf, lens, 0, nil); n != 2 || !bytes.Equal(buf[:2], []byte("ef")) {
		t.Fatalf("took %d: %q", n, buf[:2])
	}
	q.Close()
	if err := q.PutAlways([]byte("g")); err != ErrClosed {
		t.Fatalf("PutAlways into a closed queue: %v", err)
	}
}
