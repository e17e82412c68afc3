package packetqueue

// The consumer's side: Take and TakeOne.

import (
	"sync/atomic"
	"time"
)

// Take copies waiting packets back to back into dst while they fit,
// writing each length to lens, waiting up to timeout for the first. It
// fails with ErrTooBig if the first packet does not fit dst (the
// packet stays queued).
func (q *Queue) Take(dst []byte, lens []uint32, timeout time.Duration, cancel <-chan struct{}) (int, error) {
	return q.retry(true, timeout, cancel, func() (int, bool, error) {
		taken, err := q.take(dst, lens)
		return taken, taken > 0 || err != nil || len(lens) == 0, err
	})
}

// take is wg_ring_take in Go.
func (q *Queue) take(dst []byte, lens []uint32) (int, error) {
	r := q.ring
	lock(q.word(&r.take_lock))
	head := uint32(r.head)
	tail := atomic.LoadUint32(q.word(&r.tail))
	taken, offset := 0, 0
	for taken < len(lens) && head+uint32(taken) != tail {
		slot := int((head + uint32(taken)) & (q.capacity() - 1))
		size := int(q.lens[slot])
		if size > len(dst)-offset {
			break
		}
		copy(dst[offset:], q.data[slot*q.slotSize:slot*q.slotSize+size])
		lens[taken] = uint32(size)
		offset += size
		taken++
	}
	if taken > 0 {
		atomic.StoreUint32(q.word(&r.head), head+uint32(taken))
	}
	unlock(q.word(&r.take_lock))
	if taken > 0 {
		q.signal(q.word(&r.room_wanted), false)
		if q.readyFD() >= 0 && q.used() == 0 {
			w := newWaiter(0) // empty now: the eventfd goes unreadable
			w.wait(q, true, nil)
		}
		return taken, nil
	}
	if head != tail && len(lens) > 0 {
		return 0, ErrTooBig
	}
	if q.closed() {
		return 0, ErrClosed
	}
	return 0, nil
}

// TakeOne blocks until one packet is copied into dst (or the wait ends).
func (q *Queue) TakeOne(dst []byte, cancel <-chan struct{}) (int, error) {
	var length [1]uint32
	if _, err := q.Take(dst, length[:], -1, cancel); err != nil {
		return 0, err
	}
	return int(length[0]), nil
}
