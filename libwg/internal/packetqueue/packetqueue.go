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
