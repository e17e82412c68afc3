package udpbind

import (
	"errors"
	"net"
	"net/netip"

	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"

	"wgcore/libwg/internal/batchq"
)

const (
	// maxQueued datagrams wait for the sender; Send blocks beyond, as a
	// socket with a full send buffer would.
	maxQueued = 1024
	// maxSegments and maxGSOBytes bound one UDP_SEGMENT send (the kernel
	// takes up to 64 segments and a datagram's 64 KiB).
	maxSegments = 64
	maxGSOBytes = 65000
	// sendBatch is how many messages one sendmmsg carries at most.
	sendBatch = 64
)

// datagram is one queued Send.
type datagram = batchq.Item[netip.AddrPort]

// sender owns one socket's outgoing datagrams: Send queues a copy, and
// one goroutine sends whatever has queued since its last sendmmsg (see
// batchq), in the order it was queued.
type sender struct {
	pc       batchConn
	offloads *path // gso is cleared if the kernel refuses a send
	count    func([]byte)
	queue    *batchq.Queue[netip.AddrPort]
	stopped  chan struct{}
}

func newSender(pc batchConn, o *path, count func([]byte)) *sender {
	s := &sender{pc: pc, offloads: o, count: count, queue: batchq.New[netip.AddrPort](maxQueued),
		stopped: make(chan struct{})}
	go s.run()
	return s
}

// enqueue copies buf for sending to to, waiting for room.
func (s *sender) enqueue(buf []byte, to netip.AddrPort) error {
	return s.queue.Put(0, buf, to, true)
}

// close stops the sender; queued datagrams are dropped.
func (s *sender) close() {
	s.queue.Close()
	<-s.stopped
}

func (s *sender) run() {
	defer close(s.stopped)
	w := newWriter()
	var taken []datagram
	for {
		if taken = s.queue.Take(taken); taken == nil {
			return
		}
		w.send(s, taken)
	}
}

// writer builds sendmmsg batches; only the sender's goroutine uses it.
type writer struct {
	msgs   []ipv4.Message
	groups [][]datagram // the datagrams of each message, to count them
	gso    [][]byte     // a contiguous buffer per message, for GSO runs
	oob    [][]byte
}

func newWriter() *writer {
	w := &writer{msgs: make([]ipv4.Message, sendBatch), groups: make([][]datagram, sendBatch),
		gso: make([][]byte, sendBatch), oob: make([][]byte, sendBatch)}
	for i := range w.oob {
		w.oob[i] = make([]byte, unix.CmsgSpace(2))
	}
	return w
}

// send sends ds in order, as few messages as GSO allows.
func (w *writer) send(s *sender, ds []datagram) {
	for len(ds) > 0 {
		n := 0
		for n < sendBatch && len(ds) > 0 {
			k := 1
			if s.offloads.gso {
				k = runLength(ds)
			}
			w.fill(n, ds[:k])
			ds = ds[k:]
			n++
		}
		w.flush(s, n)
	}
}

// runLength is how many datagrams from ds[0] can go as one GSO send:
// same address, the same size but for a shorter last one.
func runLength(ds []datagram) int {
	size, total := len(ds[0].Buf), len(ds[0].Buf)
	k := 1
	for k < len(ds) && k < maxSegments && ds[k].Meta == ds[0].Meta && len(ds[k].Buf) <= size &&
		total+len(ds[k].Buf) <= maxGSOBytes {
		total += len(ds[k].Buf)
		k++
		if len(ds[k-1].Buf) < size {
			break
		}
	}
	return k
}

func (w *writer) fill(i int, run []datagram) {
	m := &w.msgs[i]
	w.groups[i] = run
	m.Addr = net.UDPAddrFromAddrPort(run[0].Meta)
	m.OOB = nil
	if len(run) == 1 {
		m.Buffers = [][]byte{run[0].Buf}
		return
	}
	b := w.gso[i][:0]
	for _, d := range run {
		b = append(b, d.Buf...)
	}
	w.gso[i] = b
	m.Buffers = [][]byte{b}
	m.OOB = putSegmentSize(w.oob[i], len(run[0].Buf))
}

// flush sends the first n messages, counting their datagrams just
// before (so no peer ever sees one the counters do not show yet). A
// message the kernel refuses is dropped, as a failed sendto was; if it
// refuses GSO itself (EIO), GSO is turned off and the run goes again
// one datagram a message.
func (w *writer) flush(s *sender, n int) {
	msgs := w.msgs[:n]
	groups := w.groups[:n]
	for _, g := range groups {
		for _, d := range g {
			s.count(d.Buf)
		}
	}
	w.write(s, msgs, groups)
}

func (w *writer) write(s *sender, msgs []ipv4.Message, groups [][]datagram) {
	for len(msgs) > 0 {
		sent, err := s.pc.WriteBatch(msgs, 0)
		sent = max(sent, 0) // -1 when the first message failed
		msgs, groups = msgs[sent:], groups[sent:]
		if len(msgs) == 0 || err == nil && sent > 0 {
			continue
		}
		if errors.Is(err, unix.EIO) && len(groups[0]) > 1 && s.offloads.gso {
			s.offloads.gso = false
			run := groups[0]
			for _, d := range run {
				w.fill(0, []datagram{d})
				w.write(s, w.msgs[:1], w.groups[:1])
			}
		}
		msgs, groups = msgs[1:], groups[1:]
	}
}
