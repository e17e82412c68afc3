// Package packetqueue is the bounded packet FIFO between a host and a
// device: a ring in C memory (libwg/wg_ring.h) that Go and the host's C
// code share, with futex waits, timeouts and an eventfd for readiness.
package packetqueue

/*
#cgo CFLAGS: -I${SRCDIR}/../..
#include "wg_ring.h"
*/
import "C"

import (
	"errors"
	"math"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Why a Put or Take ended without moving a packet.
var (
	ErrClosed    = errors.New("queue closed")
	ErrCancelled = errors.New("wait cancelled")
	ErrTooBig    = errors.New("packet does not fit the buffer")
	ErrTimedOut  = errors.New("timed out")
)

// Queue is a bounded FIFO of packets in a C ring. Slots are reused, so
// steady state allocates nothing; producers and consumers, in Go or in the
// host's C code, wait with timeouts. Only PutAlways may go past capacity:
// what does not fit waits in Go, in order, until there is room.
type Queue struct {
	// OnPublish, if set before use, sees each packet a Go producer queues
	// just before the consumer can (so a count of it is never late).
	OnPublish func(packet []byte)

	ring     *C.wg_ring
	lens     []uint32 // the ring's lens, as Go sees them
	data     []byte   // the ring's slots
	slotSize int
	freeing  sync.RWMutex // held for reading by every Go call, for writing by Release
	released bool
	fdOnce   sync.Mutex
	putMu    sync.Mutex // Go's producers hold it around put_lock (the race detector sees it)
	overflow [][]byte   // PutAlways's packets waiting for room (under putMu)
	draining bool       // a goroutine moves overflow into the ring

	wakeMu      sync.Mutex
	wakeCh      chan struct{} // closed (and replaced) to wake the goroutines waiting
	replyWindow time.Duration // how long it watches (ReplyWindow; tests lengthen it)
	replyBy     atomic.Int64  // until when (UnixNano) a consumer goroutine watches for a reply (ExpectReply)
	replyQuiet  atomic.Int64  // until when (UnixNano) expectations are ignored, after windows that saw no reply
	replyGap    atomic.Int64  // how long (ns) the last miss made them ignored (0 after a hit)
	hostDue     atomic.Uint32 // the host's wake-ups signal left to wakeHost (hostWake*)
	hostKick    chan struct{} // tells wakeHost some are due; closed by Release
	hostEnd     chan struct{} // closed when wakeHost has returned
	stopping    atomic.Bool   // Release ran: the waker goroutine ends
	wakerEnd    chan struct{} // closed when it has
	wakeups     atomic.Uint32 // signals that found a waiter (see Wakeups)
}

// New makes a queue of capacity packets (rounded up to a power of two)
// of up to slotSize bytes each.
func New(capacity, slotSize int) *Queue {
	capacity = 1 << bitsFor(capacity)
	header := int(unsafe.Sizeof(C.wg_ring{}))
	size := header + 4*capacity + capacity*slotSize
	block := C.calloc(1, C.size_t(size))
	if block == nil {
		panic("packetqueue: out of memory")
	}
	r := (*C.wg_ring)(block)
	r.capacity = C.uint32_t(capacity)
	r.slot_size = C.uint32_t(slotSize)
	r.lens = (*C.uint32_t)(unsafe.Add(block, header))
	r.data = (*C.uint8_t)(unsafe.Add(block, header+4*capacity))
	r.refs = 1
	r.ready_fd = -1
	goFD, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		panic("packetqueue: eventfd: " + err.Error())
	}
	r.go_fd = C.int32_t(goFD)
	q := &Queue{
		ring:        r,
		lens:        unsafe.Slice((*uint32)(unsafe.Pointer(r.lens)), capacity),
		data:        unsafe.Slice((*byte)(unsafe.Pointer(r.data)), capacity*slotSize),
		slotSize:    slotSize,
		wakeCh:      make(chan struct{}),
		wakerEnd:    make(chan struct{}),
		hostKick:    make(chan struct{}, 1),
		replyWindow: ReplyWindow,
		hostEnd:     make(chan struct{}),
	}
	go q.wakeFromC()
	go q.wakeHost()
	return q
}

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

func bitsFor(n int) int {
	bits := 0
	for 1<<bits < n {
		bits++
	}
	return bits
}

func (q *Queue) word(p *C.uint32_t) *uint32 { return (*uint32)(unsafe.Pointer(p)) }

func (q *Queue) capacity() uint32 { return uint32(q.ring.capacity) }

// used is how many packets the ring holds.
func (q *Queue) used() uint32 {
	return atomic.LoadUint32(q.word(&q.ring.tail)) - atomic.LoadUint32(q.word(&q.ring.head))
}

func (q *Queue) readyFD() int {
	return int(atomic.LoadInt32((*int32)(unsafe.Pointer(&q.ring.ready_fd))))
}

// Wakeups is how many times a side was woken from a wait so far (a busy
// stream, never empty nor full, makes none).
func (q *Queue) Wakeups() uint32 { return q.wakeups.Load() }

func (q *Queue) closed() bool { return atomic.LoadUint32(q.word(&q.ring.closed)) != 0 }

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

// ReadinessFD returns an eventfd, readable while packets wait; it is
// created on first use and closed with the ring.
func (q *Queue) ReadinessFD() (int, error) {
	q.freeing.RLock()
	defer q.freeing.RUnlock()
	q.fdOnce.Lock()
	defer q.fdOnce.Unlock()
	if q.released || q.closed() {
		return -1, ErrClosed
	}
	if fd := int(q.ring.ready_fd); fd >= 0 {
		return fd, nil
	}
	fd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		return -1, err
	}
	atomic.StoreInt32((*int32)(unsafe.Pointer(&q.ring.ready_fd)), int32(fd))
	atomic.StoreUint32(q.word(&q.ring.data_wanted), 1)
	if q.used() > 0 {
		one := [8]byte{1}
		unix.Write(fd, one[:])
	}
	return fd, nil
}

// Len is how many packets wait (in the ring, and for room after PutAlways).
func (q *Queue) Len() int {
	q.putMu.Lock()
	defer q.putMu.Unlock()
	return int(q.used()) + len(q.overflow)
}

// Close wakes every waiter for good and makes the eventfd readable.
func (q *Queue) Close() {
	r := q.ring
	if atomic.SwapUint32(q.word(&r.closed), 1) == 1 {
		return
	}
	wakeFutex(q.word(&r.data_seq))
	wakeFutex(q.word(&r.room_seq))
	q.wakeGo()
	if fd := q.readyFD(); fd >= 0 {
		one := [8]byte{1}
		unix.Write(fd, one[:])
	}
}

// HostRing is the ring for a host's C code, with a reference it must drop
// with wg_ring_release; nil once released.
func (q *Queue) HostRing() unsafe.Pointer {
	q.freeing.RLock()
	defer q.freeing.RUnlock()
	if q.released {
		return nil
	}
	atomic.AddUint32(q.word(&q.ring.refs), 1)
	return unsafe.Pointer(q.ring)
}

// Release closes the queue and drops Go's reference to the ring, after
// any Go call in progress returns; the last reference frees it.
func (q *Queue) Release() {
	q.Close()
	q.freeing.Lock()
	defer q.freeing.Unlock()
	if !q.released {
		q.released = true
		q.stopping.Store(true)
		one := [8]byte{1}
		unix.Write(int(q.ring.go_fd), one[:])
		<-q.wakerEnd // its duplicate of go_fd is closed
		close(q.hostKick)
		<-q.hostEnd // it touches the ring no more
		C.wg_ring_release(q.ring)
	}
}
