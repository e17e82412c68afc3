package packetqueue

// The ring's locks, wake-ups and waits: futexes for host threads, a channel
// (woken through go_fd) for goroutines, the readiness eventfd.

import (
	"math"
	"os"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The host's wake-ups a Go side leaves to wakeHost.
const (
	hostWakeData = 1 << iota // a host thread waits for packets
	hostWakeRoom             // a host thread waits for room
)

// wakeHost does the host's wake-ups that signal leaves to it. A Go
// producer (or consumer) only readies this goroutine, which runs once that
// one blocks or yields: what it queued meanwhile is then there for the
// host thread, woken once for a batch instead of once a packet (as a
// goroutine waiting on a channel would be).
func (q *Queue) wakeHost() {
	defer close(q.hostEnd)
	r := q.ring
	for range q.hostKick {
		due := q.hostDue.Swap(0)
		if due&hostWakeData != 0 {
			wakeFutex(q.word(&r.data_seq))
		}
		if due&hostWakeRoom != 0 {
			wakeFutex(q.word(&r.room_seq))
		}
	}
}

// published wakes the consumer side after a Go producer queued packets:
// signal, and a sleeping host reader at once, rather than when wakeHost
// runs, once the ring holds as many packets as its read takes (it can
// take no more, and that host thread may be the one that sends more).
func (q *Queue) published() {
	q.signal(q.word(&q.ring.data_wanted), true)
	if q.hostDue.Load()&hostWakeData == 0 || q.used() < atomic.LoadUint32(q.word(&q.ring.data_want)) {
		return
	}
	if q.hostDue.And(^uint32(hostWakeData))&hostWakeData != 0 {
		wakeFutex(q.word(&q.ring.data_seq))
	}
}

// wakeFutex wakes every host thread sleeping on seq.
func wakeFutex(seq *uint32) {
	atomic.AddUint32(seq, 1)
	futex(seq, futexWakePrivate, math.MaxInt32, nil)
}

// wakeFromC wakes the waiting goroutines each time C code writes go_fd,
// until Release. It reads a duplicate: go_fd itself lives with the ring.
func (q *Queue) wakeFromC() {
	defer close(q.wakerEnd)
	fd, err := unix.FcntlInt(uintptr(q.ring.go_fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		panic("packetqueue: dup: " + err.Error())
	}
	f := os.NewFile(uintptr(fd), "wg_ring go_fd") // non-blocking: Go's poller waits
	defer f.Close()
	var count [8]byte
	for {
		if _, err := f.Read(count[:]); err != nil || q.stopping.Load() {
			return
		}
		q.wakeGo()
	}
}

// wakeGo wakes every goroutine waiting on the ring.
func (q *Queue) wakeGo() {
	q.wakeMu.Lock()
	close(q.wakeCh)
	q.wakeCh = make(chan struct{})
	q.wakeMu.Unlock()
}

func (q *Queue) goWaiters() chan struct{} {
	q.wakeMu.Lock()
	defer q.wakeMu.Unlock()
	return q.wakeCh
}

func futex(word *uint32, op, val uintptr, timeout *unix.Timespec) {
	unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(word)), op, val, uintptr(unsafe.Pointer(timeout)), 0, 0)
}

const (
	futexWaitPrivate = 0 | 128
	futexWakePrivate = 1 | 128
)

// lock and unlock are wg_ring_lock and wg_ring_unlock in Go.
func lock(word *uint32) {
	if atomic.CompareAndSwapUint32(word, 0, 1) {
		return
	}
	c := atomic.SwapUint32(word, 2)
	for c != 0 {
		futex(word, futexWaitPrivate, 2, nil)
		c = atomic.SwapUint32(word, 2)
	}
}

func unlock(word *uint32) {
	if atomic.SwapUint32(word, 0) == 2 {
		futex(word, futexWakePrivate, 1, nil)
	}
}

// Who waits, in a *_wanted word (WG_RING_WAITER_*).
const (
	waiterC  = 1
	waiterGo = 2
)

// signal is wg_ring_signal for a Go side: wake the other side if it
// waits: the eventfd and goroutines at once, host threads through
// wakeHost (after the eventfd: a consumer woken then drains it, no stale
// readiness). consumer says whether the other side waits for packets
// (else for room).
func (q *Queue) signal(wanted *uint32, consumer bool) {
	if atomic.LoadUint32(wanted) == 0 {
		return
	}
	who := atomic.SwapUint32(wanted, 0)
	if who == 0 {
		return
	}
	q.wakeups.Add(1)
	if fd := q.readyFD(); consumer && fd >= 0 {
		one := [8]byte{1}
		unix.Write(fd, one[:])
	}
	if who&waiterC != 0 {
		due := uint32(hostWakeRoom)
		if consumer {
			due = hostWakeData
		}
		q.hostDue.Or(due)
		select {
		case q.hostKick <- struct{}{}:
		default: // already kicked: it will see due
		}
	}
	if who&waiterGo != 0 {
		q.wakeGo()
	}
}

// waiter waits for a ring's wake-ups until a deadline (none if timeout
// < 0), reusing one timer across waits.
type waiter struct {
	deadline time.Time
	forever  bool
	timer    *time.Timer
}

func newWaiter(timeout time.Duration) waiter {
	return waiter{deadline: time.Now().Add(timeout), forever: timeout < 0}
}

func (w *waiter) stop() {
	if w.timer != nil {
		w.timer.Stop()
	}
}

// wait is wg_ring_wait for a goroutine, with a deadline and a cancel
// channel: it returns nil when the side may try again.
func (w *waiter) wait(q *Queue, consumer bool, cancel <-chan struct{}) error {
	wanted := q.word(&q.ring.room_wanted)
	if consumer {
		wanted = q.word(&q.ring.data_wanted)
	}
	woken := q.goWaiters()
	atomic.OrUint32(wanted, waiterGo)
	fd := q.readyFD()
	var count [8]byte
	if consumer && fd >= 0 {
		unix.Read(fd, count[:])
	}
	if used := q.used(); consumer && used > 0 || !consumer && used < q.capacity() {
		if consumer && fd >= 0 {
			count[0] = 1
			unix.Write(fd, count[:])
		}
		return nil
	}
	if q.closed() {
		return ErrClosed
	}
	var expired <-chan time.Time
	if !w.forever {
		// A wait whose time is up still set wanted and looked once more
		// (so the eventfd keeps its promise), as wg_ring_read does.
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
	case <-woken:
		return nil
	case <-cancel:
		return ErrCancelled
	case <-expired:
		return nil // the next look reports the time up
	}
}

// retry runs attempt until it says it is done, waiting between attempts
// (up to timeout in all) for room, or for packets if consumer; a timeout
// returns 0 and no error.
func (q *Queue) retry(consumer bool, timeout time.Duration, cancel <-chan struct{},
	attempt func() (n int, done bool, err error)) (int, error) {
	q.freeing.RLock()
	defer q.freeing.RUnlock()
	if q.released {
		return 0, ErrClosed
	}
	w := newWaiter(timeout)
	defer w.stop()
	for {
		n, done, err := attempt()
		if done {
			return n, err
		}
		if consumer && q.watchForReply() {
			continue
		}
		if err := w.wait(q, consumer, cancel); err != nil {
			if err == ErrTimedOut {
				return 0, nil
			}
			return 0, err
		}
	}
}
