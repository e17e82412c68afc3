// Package traffic counts what crosses a tunnel's two edges, seen through
// the wrappers the device reads and writes.
package traffic

import (
	"encoding/binary"
	"fmt"
	"sync/atomic"

	"golang.zx2c4.com/wireguard/conn"
	"golang.zx2c4.com/wireguard/device"
	"golang.zx2c4.com/wireguard/tun"

	"wgcore/libwg/internal/hostgate"
	"wgcore/libwg/internal/icmperr"
	"wgcore/libwg/internal/routes"
)

// Counters count what crosses a tunnel's two edges: the IP packets
// between the application and the device, and the datagrams between the
// device and the wire. The device only ever sees a tunnel's TUN and bind
// through Tun and Bind, so every tunnel mode is counted the same way.
//
// Of the packets from the application, the device drops without a word
// those no peer's allowed IPs cover (noRoute), those for a peer that does
// not run (peerStopped), and, while a peer has no session, the oldest of
// its staged packets once 128 wait (stagingDropped); Tun sees each coming.
type Counters struct {
	fromApp, toApp, noRoute     count
	peerStopped, stagingDropped count
	unreachableSent             count // ICMP errors written back for no-route packets (not in toApp)
	sent, received              wireCounts
	routes                      atomic.Pointer[routeState]
}

// routeState is the device's allowed IPs and a view of each of their
// peers (in table.Peers' order; nil for one the device does not have),
// as of the last config set.
type routeState struct {
	table *routes.Table
	peers []*peerView
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
	FromApp, ToApp, NoRoute     Count
	PeerStopped, StagingDropped Count
	UnreachableSent             Count
	Sent, Received              Wire
}

// Load reads every counter.
func (t *Counters) Load() Snapshot {
	return Snapshot{
		t.fromApp.load(), t.toApp.load(), t.noRoute.load(),
		t.peerStopped.load(), t.stagingDropped.load(), t.unreachableSent.load(),
		t.sent.load(), t.received.load(),
	}
}

// SetRoutes gives the counters the device's allowed IPs, to tell which
// packets from the application have no route, and dev's peers they route
// to (none if dev is nil), to tell which of those the device drops. On an
// error the routes are set, the peers not.
func (t *Counters) SetRoutes(table *routes.Table, dev *device.Device) error {
	var peers []*peerView
	var err error
	if dev != nil {
		if peers, err = viewPeers(dev, table.Peers()); err != nil {
			err = fmt.Errorf("staging drops are not counted: %w", err)
		}
	}
	t.routes.Store(&routeState{table, peers})
	return err
}

// fate counts a packet from the application and, if the device is about
// to drop it (or drop one it staged before), why; it reports whether the
// packet has no route.
func (t *Counters) fate(packet []byte) (noRoute bool) {
	t.fromApp.add(len(packet))
	r := t.routes.Load()
	if r == nil {
		r = &routeState{}
	}
	peer, noRoute := r.table.Route(packet)
	if noRoute {
		t.noRoute.add(len(packet))
		return true
	}
	if peer >= 0 && peer < len(r.peers) && r.peers[peer] != nil {
		view := r.peers[peer]
		switch stopped, staging := view.dropsNext(); {
		case stopped:
			t.peerStopped.add(len(packet))
		case staging:
			t.stagingDropped.add(len(packet))
		}
	}
	return false
}

// Tun is the tun.Device the device reads and writes: packets it
// reads come from the application, packets it writes go to it. It
// answers each packet without a route with an ICMP destination
// unreachable (see icmperr), written back to the application.
type Tun struct {
	tun.Device
	counts  *Counters
	self    bool // dev counts what it hands over (handoverCounter)
	answers bool // dev is an application's TUN (not a datagramCarrier)
	mtu     int  // the device's MTU at turn-on, which bounds an answer's size
}

// datagramCarrier is a TUN whose application is another device's wire
// (a multihop link): it gets no ICMP errors.
type datagramCarrier interface{ CarriesDatagrams() }

// nowWriter is a TUN that can hand the application a packet without
// waiting (the device's own writes wait for room), counting it with count
// just before the application can read it.
type nowWriter interface {
	WriteNow(packet []byte, count func(packet []byte)) bool
}

// handoverCounter is a device or bind that hands packets to the host
// through a queue and can count each just before the host sees it (so a
// host never reads a packet its counters do not show yet).
type handoverCounter interface {
	CountHandover(count func(packet []byte))
}

// CountTun is dev, of MTU mtu, counted into c. (The MTU is given, not
// asked: a kernel TUN's MTU() looks its name up in the network namespace
// of whichever thread asks, not necessarily the TUN's.)
func CountTun(dev tun.Device, c *Counters, mtu int) Tun {
	h, self := dev.(handoverCounter)
	if self {
		h.CountHandover(func(p []byte) { c.toApp.add(len(p)) })
	}
	_, carrier := dev.(datagramCarrier)
	return Tun{dev, c, self, !carrier, mtu}
}

func (c Tun) Read(buf []byte, offset int) (int, error) {
	n, err := c.Device.Read(buf, offset)
	if err == nil && n > 0 && c.counts.fate(buf[offset:offset+n]) && c.answers {
		c.answer(buf[offset : offset+n])
	}
	return n, err
}

// answer writes the ICMP error answering packet (if it gets one) back to
// the application, without waiting: a TUN that has no room for it now
// (an in-memory queue the application does not read) does not get it.
func (c Tun) answer(packet []byte) {
	const headroom = device.MessageTransportHeaderSize // as the device writes
	b, ok := icmperr.Append(make([]byte, headroom, headroom+1280), packet, c.mtu)
	if !ok {
		return
	}
	if w, ok := c.Device.(nowWriter); ok {
		w.WriteNow(b[headroom:], func(p []byte) { c.counts.unreachableSent.add(len(p)) })
	} else if _, err := c.Device.Write(b, headroom); err == nil {
		c.counts.unreachableSent.add(len(b) - headroom)
	}
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
