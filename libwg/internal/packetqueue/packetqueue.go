// Package packetqueue is the bounded, allocation-free packet FIFO between
// a host and a device, with timed waits and an eventfd for readiness.
package packetqueue

import (
	"errors"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Why a Put or Take ended without moving a packet.
var (
	ErrClosed    = errors.New("queue closed")
	ErrCancelled = errors.New("wait cancelled")
	ErrTooBig    = errors.New("packet does not fit the buffer")
	ErrTimedOut  = errors.New("timed out")
)

// Queue is a bounded FIFO of packets. Slots are reused, so steady
// state allocates nothing; producers and consumers wait with timeouts, and
// an optional eventfd is readable exactly while packets wait. Only
// PutAlways may go past capacity (the ring then grows).
type Queue struct {
	mu       sync.Mutex
	slots    [][]byte // a ring of at least capacity slots
	capacity int
	head     int
	count    int
	readyFD  int // -1 until asked for

	notEmpty chan struct{} // poked (never blocking) when packets arrive
	notFull  chan struct{} // poked when room appears
	done     chan struct{} // closed by close()
	doneOnce sync.Once
}

// New makes a queue of capacity packets of up to slotSize bytes each.
func New(capacity, slotSize int) *Queue {
	q := &Queue{
		slots:    make([][]byte, capacity),
		capacity: capacity,
		readyFD:  -1,
		notEmpty: make(chan struct{}, 1),
		notFull:  make(chan struct{}, 1),
		done:     make(chan struct{}),
	}
	for i := range q.slots {
		q.slots[i] = make([]byte, 0, slotSize)
	}
	return q
}

func poke(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// waiter waits for a queue's pokes until a deadline (none if timeout < 0),
// reusing one timer across waits.
type waiter struct {
	deadline time.Time
	timer    *time.Timer
}

func newWaiter(timeout time.Duration) waiter {
	if timeout < 0 {
		return waiter{}
	}
	return waiter{deadline: time.Now().Add(timeout)}
}

// wait blocks until ch is poked, q closes, cancel closes or the deadline
// passes.
func (w *waiter) wait(q *Queue, ch chan struct{}, cancel <-chan struct{}) error {
	var expired <-chan time.Time
	if !w.deadline.IsZero() {
		left := time.Until(w.deadline)
		if left <= 0 {
			return ErrTimedOut
		}
		if w.timer == nil {
			w.timer = time.NewTimer(left)
		} else {
			w.timer.Reset(left)
		}
		expired = w.timer.C
	}
	select {
	case <-ch:
		return nil
	case <-q.done:
		return ErrClosed
	case <-cancel:
		return ErrCancelled
	case <-expired:
		return ErrTimedOut
	}
}

func (w *waiter) stop() {
	if w.timer != nil {
		w.timer.Stop()
	}
}

// Put copies packets 0..n-1 (from packet(i)) in order while there is room,
// waiting up to timeout (negative: forever, zero: not at all) for room for
// the first. It returns how many it queued.
func (q *Queue) Put(n int, packet func(i int) []byte, timeout time.Duration, cancel <-chan struct{}) (int, error) {
	w := newWaiter(timeout)
	defer w.stop()
	for {
		q.mu.Lock()
		select {
		case <-q.done:
			q.mu.Unlock()
			return 0, ErrClosed
		default:
		}
		queued := 0
		for queued < n && q.count < q.capacity {
			q.appendLocked(packet(queued))
			queued++
		}
		if queued > 0 {
			q.signalReadyLocked(q.count == queued)
			if q.count < q.capacity {
				poke(q.notFull)
			}
			q.mu.Unlock()
			poke(q.notEmpty)
			return queued, nil
		}
		q.mu.Unlock()
		if n == 0 || timeout == 0 {
			return 0, nil
		}
		if err := w.wait(q, q.notFull, cancel); err != nil {
			if err == ErrTimedOut {
				return 0, nil
			}
			return 0, err
		}
	}
}

// PutAlways queues packet even past capacity, growing the ring if it is
// full; later puts wait until the queue is below capacity again.
func (q *Queue) PutAlways(packet []byte) error {
	q.mu.Lock()
	select {
	case <-q.done:
		q.mu.Unlock()
		return ErrClosed
	default:
	}
	if q.count == len(q.slots) {
		grown := make([][]byte, max(1, 2*len(q.slots)))
		for i := range q.count {
			grown[i] = q.slots[(q.head+i)%len(q.slots)]
		}
		q.slots, q.head = grown, 0
	}
	q.appendLocked(packet)
	q.signalReadyLocked(q.count == 1)
	q.mu.Unlock()
	poke(q.notEmpty)
	return nil
}

func (q *Queue) appendLocked(packet []byte) {
	tail := (q.head + q.count) % len(q.slots)
	q.slots[tail] = append(q.slots[tail][:0], packet...)
	q.count++
}

// Take copies waiting packets back to back into dst while they fit,
// writing each length to lens, waiting up to timeout for the first. It
// fails with ErrTooBig if the first packet does not fit dst (the
// packet stays queued).
func (q *Queue) Take(dst []byte, lens []uint32, timeout time.Duration, cancel <-chan struct{}) (int, error) {
	w := newWaiter(timeout)
	defer w.stop()
	for {
		q.mu.Lock()
		taken, offset := 0, 0
		for taken < len(lens) && q.count > 0 {
			slot := q.slots[q.head]
			if len(slot) > len(dst)-offset {
				break
			}
			copy(dst[offset:], slot)
			lens[taken] = uint32(len(slot))
			offset += len(slot)
			q.head = (q.head + 1) % len(q.slots)
			q.count--
			taken++
		}
		if taken > 0 {
			q.signalReadyLocked(false)
			if q.count > 0 {
				poke(q.notEmpty)
			}
			q.mu.Unlock()
			poke(q.notFull)
			return taken, nil
		}
		waiting := q.count > 0
		q.mu.Unlock()
		if waiting && len(lens) > 0 {
			return 0, ErrTooBig
		}
		select {
		case <-q.done:
			return 0, ErrClosed
		default:
		}
		if len(lens) == 0 || timeout == 0 {
			return 0, nil
		}
		if err := w.wait(q, q.notEmpty, cancel); err != nil {
			if err == ErrTimedOut {
				return 0, nil
			}
			return 0, err
		}
	}
}

// TakeOne blocks until one packet is copied into dst (or the wait ends).
func (q *Queue) TakeOne(dst []byte, cancel <-chan struct{}) (int, error) {
	var length [1]uint32
	if _, err := q.Take(dst, length[:], -1, cancel); err != nil {
		return 0, err
	}
	return int(length[0]), nil
}

// signalReadyLocked keeps the eventfd readable exactly while count > 0;
// becameNonEmpty says this change took count from zero.
func (q *Queue) signalReadyLocked(becameNonEmpty bool) {
	if q.readyFD < 0 {
		return
	}
	var buf [8]byte
	if becameNonEmpty {
		buf[0] = 1
		unix.Write(q.readyFD, buf[:])
	} else if q.count == 0 {
		unix.Read(q.readyFD, buf[:])
	}
}

// ReadinessFD returns an eventfd, readable while packets wait; it is
// created on first use and closed with the queue.
func (q *Queue) ReadinessFD() (int, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.readyFD < 0 {
		fd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
		if err != nil {
			return -1, err
		}
		q.readyFD = fd
		q.signalReadyLocked(q.count > 0)
	}
	return q.readyFD, nil
}

// Len is how many packets wait.
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.count
}

// Close wakes every waiter for good and closes the eventfd.
func (q *Queue) Close() {
	q.doneOnce.Do(func() {
		close(q.done)
		q.mu.Lock()
		if q.readyFD >= 0 {
			// Wake anyone polling it (closing alone does not), then close.
			var one = [8]byte{1}
			unix.Write(q.readyFD, one[:])
			unix.Close(q.readyFD)
			q.readyFD = -1
		}
		q.mu.Unlock()
	})
}
