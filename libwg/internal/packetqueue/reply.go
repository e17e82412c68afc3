package packetqueue

// The reply watch: a consumer goroutine looks at an empty ring for a while
// after a packet went the other way, instead of sleeping.

import (
	"runtime"
	"sync/atomic"
	"time"
)

// How long a consumer goroutine watches an empty ring after ExpectReply
// (a host answering at once takes a few µs, while waking a parked
// goroutine through go_fd costs tens of µs), and how long expectations
// are ignored after a window that saw no reply: doubling from the least
// to the most while windows keep missing.
const (
	ReplyWindow   = 50 * time.Microsecond
	leastReplyGap = 100 * time.Microsecond
	mostReplyGap  = 100 * time.Millisecond
)

// ExpectReply says a packet just went the other way (to the host), so the
// host may soon queue a reply here: a goroutine waiting on this ring
// watches it for ReplyWindow, yielding its thread between looks, rather
// than sleeping until the host wakes it. Windows that see no reply make
// expectations be ignored for a while, so one-way traffic soon stops
// watching (at most one window in mostReplyGap).
func (q *Queue) ExpectReply() {
	now := time.Now().UnixNano()
	if now < q.replyQuiet.Load() {
		return
	}
	q.freeing.RLock()
	defer q.freeing.RUnlock()
	if q.released {
		return
	}
	q.replyBy.Store(now + int64(q.replyWindow))
	if atomic.LoadUint32(q.word(&q.ring.data_wanted))&waiterGo != 0 {
		atomic.AndUint32(q.word(&q.ring.data_wanted), ^uint32(waiterGo)) // the host need not wake it
		q.wakeGo()
	}
}

// watchForReply watches the empty ring while a reply is expected; true if
// something came (or the queue closed), so the consumer tries again.
func (q *Queue) watchForReply() bool {
	by := q.replyBy.Load()
	if by == 0 {
		return false
	}
	for time.Now().UnixNano() < by {
		if q.used() > 0 || q.closed() {
			q.replyBy.Store(0)
			q.replyGap.Store(0)
			return true
		}
		runtime.Gosched()
	}
	q.replyBy.Store(0)
	gap := min(max(2*q.replyGap.Load(), int64(leastReplyGap)), int64(mostReplyGap))
	q.replyGap.Store(gap)
	q.replyQuiet.Store(time.Now().UnixNano() + gap)
	return false
}
