// Package traffic counts what crosses a tunnel's two edges, seen through
// the wrappers the device reads and writes.
package traffic

import (
	"encoding/binary"
	"sync/atomic"

	"golang.zx2c4.com/wireguard/conn"
	"golang.zx2c4.com/wireguard/device"
	"golang.zx2c4.com/wireguard/tun"

	"wgcore/libwg/internal/hostgate"
	"wgcore/libwg/internal/routes"
)

// Counters count what crosses a tunnel's two edges: the IP packets
// between the application and the device, and the datagrams between the
// device and the wire. The device only ever sees a tunnel's TUN and bind
// through Tun and Bind, so every tunnel mode is counted the same way.
type Counters struct {
	fromApp, toApp, noRoute count
	sent, received          wireCounts
	routes                  atomic.Pointer[routes.Table] // the device's allowed IPs, as of the last config set
}

// count is a packet and byte counter; adds are atomic.
type count struct{ packets, bytes atomic.Uint64 }

func (c *count) add(size int) {
	c.packets.Add(1)
	c.bytes.Add(uint64(size))
}

// Count is a snapshot of a count.
type Count struct{ Packets, Bytes uint64 }

func (c *count) load() Count { return Count{c.packets.Load(), c.bytes.Load()} }

// wireCounts splits datagrams by WireGuard message type. A transport data
// message of exactly 32 bytes carries no packet: a keepalive. Anything
// that is not a well-formed message of a known type (wrong size, unknown
// type) is other; the device discards it unread.
type wireCounts struct {
	initiation, response, cookie, data, keepalive, other count
}

func (w *wireCounts) add(datagram []byte) { w.of(datagram).add(len(datagram)) }

func (w *wireCounts) of(d []byte) *count {
	if len(d) < 4 {
		return &w.other
	}
	switch binary.LittleEndian.Uint32(d) {
	case device.MessageInitiationType:
		if len(d) == device.MessageInitiationSize {
			return &w.initiation
		}
	case device.MessageResponseType:
		if len(d) == device.MessageResponseSize {
			return &w.response
		}
	case device.MessageCookieReplyType:
		if len(d) == device.MessageCookieReplySize {
			return &w.cookie
		}
	case device.MessageTransportType:
		switch {
		case len(d) == device.MessageKeepaliveSize:
			return &w.keepalive
		case len(d) > device.MessageKeepaliveSize:
			return &w.data
		}
	}
	return &w.other
}

// Wire is a snapshot of wireCounts.
type Wire struct {
	Initiation, Response, Cookie, Data, Keepalive, Other Count
}

func (w *wireCounts) load() Wire {
	return Wire{w.initiation.load(), w.response.load(), w.cookie.load(), w.data.load(), w.keepalive.load(), w.other.load()}
}

// Snapshot is every counter of a tunnel, each read atomically (the
// set as a whole is not one atomic read).
type Snapshot struct {
	FromApp, ToApp, NoRoute Count
	Sent, Received          Wire
}

// Load reads every counter.
func (t *Counters) Load() Snapshot {
	return Snapshot{t.fromApp.load(), t.toApp.load(), t.noRoute.load(), t.sent.load(), t.received.load()}
}

// SetRoutes gives the counters the device's allowed IPs, to tell which
// packets from the application have no route.
func (t *Counters) SetRoutes(table *routes.Table) { t.routes.Store(table) }

// Tun is the tun.Device the device reads and writes: packets it
// reads come from the application, packets it writes go to it.
type Tun struct {
	tun.Device
	counts *Counters
	self   bool // dev counts what it hands over (handoverCounter)
}

// handoverCounter is a device or bind that hands packets to the host
// through a queue and can count each just before the host sees it (so a
// host never reads a packet its counters do not show yet).
type handoverCounter interface {
	CountHandover(count func(packet []byte))
}

// CountTun is dev counted into c.
func CountTun(dev tun.Device, c *Counters) Tun {
	h, self := dev.(handoverCounter)
	if self {
		h.CountHandover(func(p []byte) { c.toApp.add(len(p)) })
	}
	return Tun{dev, c, self}
}

func (c Tun) Read(buf []byte, offset int) (int, error) {
	n, err := c.Device.Read(buf, offset)
	if err == nil && n > 0 {
		c.counts.fromApp.add(n)
		if c.counts.routes.Load().NoRoute(buf[offset : offset+n]) {
			c.counts.noRoute.add(n)
		}
	}
	return n, err
}

// Write counts a packet the application now has; a write cut off by
// turning the tunnel off is dropped quietly (the device would log it).
func (c Tun) Write(buf []byte, offset int) (int, error) {
	n, err := c.Device.Write(buf, offset)
	switch err {
	case nil:
		if !c.self {
			c.counts.toApp.add(len(buf) - offset)
		}
	case hostgate.ErrTurnedOff:
		return 0, nil
	}
	return n, err
}

// Bind is the conn.Bind the device sends and receives through.
type Bind struct {
	conn.Bind
	counts *Counters
	self   bool // b counts what it hands over (handoverCounter)
}

// CountBind is b counted into c.
func CountBind(b conn.Bind, c *Counters) Bind {
	h, self := b.(handoverCounter)
	if self {
		h.CountHandover(c.sent.add)
	}
	return Bind{b, c, self}
}

func (c Bind) Open(port uint16) ([]conn.ReceiveFunc, uint16, error) {
	fns, actual, err := c.Bind.Open(port)
	for i, fn := range fns {
		fns[i] = c.countReceived(fn)
	}
	return fns, actual, err
}

func (c Bind) countReceived(receive conn.ReceiveFunc) conn.ReceiveFunc {
	return func(buf []byte) (int, conn.Endpoint, error) {
		n, ep, err := receive(buf)
		if err == nil {
			c.counts.received.add(buf[:n])
		}
		return n, ep, err
	}
}

// Send counts a datagram that left; one cut off by turning the tunnel off
// is dropped quietly (the device would log it).
func (c Bind) Send(buf []byte, ep conn.Endpoint) error {
	err := c.Bind.Send(buf, ep)
	switch err {
	case nil:
		if !c.self {
			c.counts.sent.add(buf)
		}
	case hostgate.ErrTurnedOff:
		return nil
	}
	return err
}
