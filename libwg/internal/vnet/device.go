package vnet

import (
	"errors"
	"os"
	"sync/atomic"

	"golang.org/x/sys/unix"
	"golang.zx2c4.com/wireguard/tun"

	"wgcore/libwg/internal/batchq"
)

const (
	tunFCSUM = 0x01
	tunFTSO4 = 0x02
	tunFTSO6 = 0x04
	tunFUSO4 = 0x20
	tunFUSO6 = 0x40

	maxQueued  = 1024    // packets waiting for the writer; Write waits beyond
	bufferSize = 1 << 16 // a super-packet
)

// Device is a tun.Device over a TUN fd opened with IFF_VNET_HDR. The
// device above it still reads and writes one packet a call: Read hands
// out a super-packet's segments one by one, Write queues a copy for a
// writer goroutine that coalesces whatever has queued since its last
// write and never waits for more.
type Device struct {
	tun.Device // the fork's NativeTun: name, MTU, events, close
	file       *os.File
	offloads   string
	coalesce   bool

	split, coalesced atomic.Uint64 // segments cut from super-packets, written in one

	// read side: one goroutine (the device's TUN reader) uses these
	raw     []byte
	pending superPacket
	next    int

	// write side
	queue   *batchq.Queue[func([]byte)] // each packet's counter, nil for count
	count   func([]byte)
	stopped chan struct{}
}

// New wraps dev, a TUN opened with IFF_VNET_HDR whose fd is file. It
// asks the kernel for checksum and segmentation offloads (TSO4/6, and
// USO4/6 where it has them); refuse (a test switch) or a kernel that
// refuses them leaves the vnet header with no offload: every packet
// whole, nothing coalesced.
func New(dev tun.Device, file *os.File, refuse bool) *Device {
	d := &Device{Device: dev, file: file, raw: make([]byte, HeaderLen+bufferSize),
		queue: batchq.New[func([]byte)](maxQueued), count: func([]byte) {}, stopped: make(chan struct{}),
		offloads: "vnet-hdr, no offload"}
	// the header is struct virtio_net_hdr whatever size the opener chose
	control(file, func(fd int) error { return unix.IoctlSetPointerInt(fd, unix.TUNSETVNETHDRSZ, HeaderLen) })
	if !refuse {
		if setOffload(file, tunFCSUM|tunFTSO4|tunFTSO6|tunFUSO4|tunFUSO6) == nil {
			d.offloads, d.coalesce = "vnet-hdr, csum+tso4+tso6+uso4+uso6", true
		} else if setOffload(file, tunFCSUM|tunFTSO4|tunFTSO6) == nil {
			d.offloads, d.coalesce = "vnet-hdr, csum+tso4+tso6", true
		}
	}
	go d.run()
	return d
}

func setOffload(file *os.File, flags int) error {
	return control(file, func(fd int) error { return unix.IoctlSetInt(fd, unix.TUNSETOFFLOAD, flags) })
}

// control runs ioctl on file's fd.
func control(file *os.File, ioctl func(fd int) error) error {
	raw, err := file.SyscallConn()
	if err != nil {
		return err
	}
	var ioErr error
	err = raw.Control(func(fd uintptr) { ioErr = ioctl(int(fd)) })
	return errors.Join(err, ioErr)
}

// Counts are the segments cut from super-packets read so far and the
// packets written as parts of coalesced ones.
func (d *Device) Counts() (split, coalesced uint64) { return d.split.Load(), d.coalesced.Load() }

// Offloads describes the path in use.
func (d *Device) Offloads() string { return d.offloads }

// Read hands out the next segment of the last super-packet read, or
// reads the next packet (into a buffer of its own: the caller's, behind
// its offset, may be too short for a 64 KiB super-packet).
func (d *Device) Read(buf []byte, offset int) (int, error) {
	for d.next >= d.pending.count {
		n, err := d.file.Read(d.raw)
		if err != nil {
			return 0, err
		}
		if n < HeaderLen || d.setPending(d.raw[:n]) != nil {
			continue // not a packet its header describes: dropped
		}
	}
	n := d.pending.segment(d.next, buf[offset:])
	d.next++
	if d.pending.proto != 0 {
		d.split.Add(1)
	}
	return n, nil
}

func (d *Device) setPending(b []byte) error {
	sp, err := parse(decodeHeader(b), b[HeaderLen:])
	if err != nil {
		return err
	}
	d.pending, d.next = sp, 0
	return nil
}

// CountHandover makes the device call count with each packet just
// before it goes to the kernel (Write only queues it).
func (d *Device) CountHandover(count func([]byte)) { d.count = count }

// Write queues packet buf[offset:], waiting for room.
func (d *Device) Write(buf []byte, offset int) (int, error) {
	return len(buf) - offset, d.queue.Put(HeaderLen, buf[offset:], nil, true)
}

// WriteNow queues packet p if there is room, counted with count.
func (d *Device) WriteNow(p []byte, count func([]byte)) bool {
	return d.queue.Put(HeaderLen, p, count, false) == nil
}

// queued is a packet behind HeaderLen bytes of headroom, and its counter.
type queued = batchq.Item[func([]byte)]

func (d *Device) run() {
	defer close(d.stopped)
	var taken []queued
	var pl planner
	out := make([]byte, HeaderLen+maxSuper)
	for {
		if taken = d.queue.Take(taken); taken == nil {
			return
		}
		d.write(&pl, taken, out)
	}
}

// write writes the packets of qs, coalescing runs of TCP segments, each
// counted just before it goes. A failed write drops what it carried, as
// a failed write of the plain TUN did.
func (d *Device) write(pl *planner, qs []queued, out []byte) {
	for _, q := range qs {
		if q.Meta != nil {
			q.Meta(q.Buf[HeaderLen:])
		} else {
			d.count(q.Buf[HeaderLen:])
		}
	}
	if !d.coalesce {
		for _, q := range qs {
			d.file.Write(q.Buf) // headroom: a zero header
		}
		return
	}
	pl.reset()
	for _, q := range qs {
		pl.add(q.Buf[HeaderLen:])
	}
	for i := range pl.groups {
		g := &pl.groups[i]
		n := g.build(out)
		d.file.Write(out[:n])
		if len(g.packets) > 1 {
			d.coalesced.Add(uint64(len(g.packets)))
		}
	}
}

// Close stops the writer (dropping what it has not written) and closes
// the TUN.
func (d *Device) Close() error {
	d.queue.Close()
	<-d.stopped
	return d.Device.Close()
}
