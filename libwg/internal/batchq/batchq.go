// Package batchq is the queue between libwg's single-packet callers and
// a goroutine that writes in batches: a caller queues a copy and
// returns, the writer takes everything queued since its last take and
// never waits for more, so a lone packet leaves at once and a burst
// leaves in few system calls, in the order it was queued.
package batchq

import (
	"errors"
	"os"
	"sync"
)

// ErrFull is Put's answer, when it may not wait, to a full queue.
var ErrFull = errors.New("batchq: queue full")

// Item is a queued copy (after the headroom Put left) and what the
// caller attached to it.
type Item[M any] struct {
	Buf  []byte
	Meta M
}

// Queue holds up to a fixed number of items for one taker.
type Queue[M any] struct {
	mu     sync.Mutex
	ready  sync.Cond // an item came, or closed
	room   sync.Cond // items went, or closed
	items  []Item[M]
	max    int
	closed bool
	free   [][]byte // buffers of taken items, for reuse
}

// New is a queue of up to max items.
func New[M any](max int) *Queue[M] {
	q := &Queue[M]{max: max}
	q.ready.L, q.room.L = &q.mu, &q.mu
	return q
}

// Put queues a copy of p behind headroom zero bytes, waiting for room
// if wait (else ErrFull); os.ErrClosed once the queue is closed.
func (q *Queue[M]) Put(headroom int, p []byte, meta M, wait bool) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.items) >= q.max && !q.closed {
		if !wait {
			return ErrFull
		}
		q.room.Wait()
	}
	if q.closed {
		return os.ErrClosed
	}
	var b []byte
	if n := len(q.free); n > 0 {
		b, q.free = q.free[n-1], q.free[:n-1]
	}
	b = append(b[:0], make([]byte, headroom)...)
	q.items = append(q.items, Item[M]{append(b, p...), meta})
	q.ready.Signal()
	return nil
}

// Take waits for items and returns all of them; done are the items of
// the last Take, whose buffers may now be reused. It returns nil once
// the queue is closed (what was queued is dropped).
func (q *Queue[M]) Take(done []Item[M]) []Item[M] {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, it := range done {
		if len(q.free) < q.max {
			q.free = append(q.free, it.Buf)
		}
	}
	for len(q.items) == 0 && !q.closed {
		q.ready.Wait()
	}
	if q.closed {
		return nil
	}
	taken := q.items
	q.items = done[:0]
	q.room.Broadcast()
	return taken
}

// Close wakes everyone: Put fails and Take returns nil from now on.
func (q *Queue[M]) Close() {
	q.mu.Lock()
	q.closed = true
	q.ready.Broadcast()
	q.room.Broadcast()
	q.mu.Unlock()
}
