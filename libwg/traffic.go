package main

import (
	"encoding/binary"
	"sync/atomic"

	"golang.zx2c4.com/wireguard/conn"
	"golang.zx2c4.com/wireguard/device"
	"golang.zx2c4.com/wireguard/tun"

	"wgcore/libwg/internal/hostgate"
)

// traffic counts what crosses a tunnel's two edges: the IP packets between
// the application and the device, and the datagrams between the device and
// the wire. The device only ever sees a tunnel's TUN and bind through
// countingTun and countingBind, so every tunnel kind is counted the same way.
type traffic struct {
	fromApp, toApp, noRoute count
	sent, received          wireCounts
	routes                  atomic.Pointer[routeTable] // the device's allowed IPs, as of the last config set
}

// count is a packet and byte counter; adds are atomic.
type count struct{ packets, bytes atomic.Uint64 }

func (c *count) add(size int) {
	c.packets.Add(1)
	c.bytes.Add(uint64(size))
}

// counted is a snapshot of a count.
type counted struct{ packets, bytes uint64 }

func (c *count) load() counted { return counted{c.packets.Load(), c.bytes.Load()} }

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

type wireSnapshot struct {
	initiation, response, cookie, data, keepalive, other counted
}

func (w *wireCounts) load() wireSnapshot {
	return wireSnapshot{w.initiation.load(), w.response.load(), w.cookie.load(), w.data.load(), w.keepalive.load(), w.other.load()}
}

// trafficSnapshot is every counter of a tunnel, each read atomically (the
// set as a whole is not one atomic read).
type trafficSnapshot struct {
	fromApp, toApp, noRoute counted
	sent, received          wireSnapshot
}

func (t *traffic) load() trafficSnapshot {
	return trafficSnapshot{t.fromApp.load(), t.toApp.load(), t.noRoute.load(), t.sent.load(), t.received.load()}
}

// countingTun is the tun.Device the device reads and writes: packets it
// reads come from the application, packets it writes go to it.
type countingTun struct {
	tun.Device
	counts *traffic
}

func (c countingTun) Read(buf []byte, offset int) (int, error) {
	n, err := c.Device.Read(buf, offset)
	if err == nil && n > 0 {
		c.counts.fromApp.add(n)
		if c.counts.routes.Load().noRoute(buf[offset : offset+n]) {
			c.counts.noRoute.add(n)
		}
	}
	return n, err
}

// Write counts a packet the application now has; a write cut off by
// turning the tunnel off is dropped quietly (the device would log it).
func (c countingTun) Write(buf []byte, offset int) (int, error) {
	n, err := c.Device.Write(buf, offset)
	switch err {
	case nil:
		c.counts.toApp.add(len(buf) - offset)
	case hostgate.ErrTurnedOff:
		return 0, nil
	}
	return n, err
}

// countingBind is the conn.Bind the device sends and receives through.
type countingBind struct {
	conn.Bind
	counts *traffic
}

func (c countingBind) Open(port uint16) ([]conn.ReceiveFunc, uint16, error) {
	fns, actual, err := c.Bind.Open(port)
	for i, fn := range fns {
		fns[i] = c.counted(fn)
	}
	return fns, actual, err
}

func (c countingBind) counted(receive conn.ReceiveFunc) conn.ReceiveFunc {
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
func (c countingBind) Send(buf []byte, ep conn.Endpoint) error {
	err := c.Bind.Send(buf, ep)
	switch err {
	case nil:
		c.counts.sent.add(buf)
	case hostgate.ErrTurnedOff:
		return nil
	}
	return err
}
