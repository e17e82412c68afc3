package packetqueue

// The producers' side: Put, PutNow, and PutAlways with the goroutine that
// drains what did not fit.

import (
	"sync/atomic"
	"time"
)

// Put copies packets 0..n-1 (from packet(i)) in order while there is room,
// waiting up to timeout (negative: forever, zero: not at all) for room for
// the first. It returns how many it queued.
func (q *Queue) Put(n int, packet func(i int) []byte, timeout time.Duration, cancel <-chan struct{}) (int, error) {
	return q.retry(false, timeout, cancel, func() (int, bool, error) {
		queued, err := q.put(n, packet, q.OnPublish)
		return queued, queued > 0 || err != nil || n == 0 || timeout == 0, err
	})
}

// PutNow queues packet if there is room right now, with publish (not
// OnPublish) seeing it; it reports whether it did.
func (q *Queue) PutNow(packet []byte, publish func(packet []byte)) bool {
	queued, _ := q.retry(false, 0, nil, func() (int, bool, error) {
		queued, err := q.put(1, func(int) []byte { return packet }, publish)
		return queued, true, err
	})
	return queued == 1
}

// lockPut takes the producers' locks; false (and not locked) once closed.
func (q *Queue) lockPut() bool {
	q.putMu.Lock()
	lock(q.word(&q.ring.put_lock))
	if q.closed() {
		q.unlockPut()
		return false
	}
	return true
}

func (q *Queue) unlockPut() {
	unlock(q.word(&q.ring.put_lock))
	q.putMu.Unlock()
}

// put is wg_ring_put in Go; it queues nothing while PutAlways's packets wait.
func (q *Queue) put(n int, packet func(i int) []byte, publish func([]byte)) (int, error) {
	if !q.lockPut() {
		return 0, ErrClosed
	}
	queued, tooBig := 0, false
	if len(q.overflow) == 0 {
		queued, tooBig = q.fillLocked(n, packet, publish)
	}
	q.unlockPut()
	if queued > 0 {
		q.published()
	} else if tooBig {
		return 0, ErrTooBig
	}
	return queued, nil
}

// fillLocked copies packets into free slots (put_lock held), calling
// packet(i) once for each it queues and publish (if not nil) on each;
// tooBig says it stopped at one larger than a slot.
func (q *Queue) fillLocked(n int, packet func(i int) []byte, publish func([]byte)) (queued int, tooBig bool) {
	r := q.ring
	tail := uint32(r.tail)
	room := int(q.capacity() - (tail - atomic.LoadUint32(q.word(&r.head))))
	for ; queued < n && queued < room; queued++ {
		p := packet(queued)
		if len(p) > q.slotSize {
			tooBig = true
			break
		}
		slot := int((tail + uint32(queued)) & (q.capacity() - 1))
		copy(q.data[slot*q.slotSize:], p)
		q.lens[slot] = uint32(len(p))
		if publish != nil {
			publish(p)
		}
	}
	if queued > 0 {
		atomic.StoreUint32(q.word(&r.tail), tail+uint32(queued))
	}
	return queued, tooBig
}

// fillLockedCount is fillLocked for packets known to fit a slot.
func (q *Queue) fillLockedCount(n int, packet func(i int) []byte) int {
	queued, _ := q.fillLocked(n, packet, q.OnPublish)
	return queued
}

// PutAlways queues packet even when the ring is full: it then waits in Go,
// in order, and a goroutine moves it into the ring as room appears; later
// puts wait until all such packets are in the ring.
func (q *Queue) PutAlways(packet []byte) error {
	q.freeing.RLock()
	defer q.freeing.RUnlock()
	if q.released {
		return ErrClosed
	}
	if len(packet) > q.slotSize {
		return ErrTooBig
	}
	if !q.lockPut() {
		return ErrClosed
	}
	one := func(int) []byte { return packet }
	if len(q.overflow) > 0 || q.fillLockedCount(1, one) == 0 {
		q.overflow = append(q.overflow, append([]byte(nil), packet...))
		if !q.draining {
			q.draining = true
			go q.drain()
		}
		q.unlockPut()
		return nil
	}
	q.unlockPut()
	q.published()
	return nil
}

// drain moves PutAlways's waiting packets into the ring as room appears,
// until none are left or the queue closes.
func (q *Queue) drain() {
	q.freeing.RLock()
	defer q.freeing.RUnlock()
	r := q.ring
	w := newWaiter(-1)
	for {
		q.putMu.Lock()
		lock(q.word(&r.put_lock))
		moved := q.fillLockedCount(len(q.overflow), func(i int) []byte { return q.overflow[i] })
		q.overflow = q.overflow[moved:]
		done := len(q.overflow) == 0 || q.closed()
		if done {
			q.overflow, q.draining = nil, false
		}
		q.unlockPut()
		if moved > 0 {
			q.published()
		}
		if done || w.wait(q, false, nil) == ErrClosed {
			return
		}
	}
}
