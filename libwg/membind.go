package main

import (
	"net"
	"net/netip"
	"sync"

	"golang.zx2c4.com/wireguard/conn"
)

// memBind is a conn.Bind whose datagrams the host carries: what the device
// sends lands in outbound, what the host puts in inbound the device
// receives. It is one point-to-point link, so datagrams carry no address;
// every received datagram comes from linkEndpoint.
type memBind struct {
	outbound *packetQueue
	inbound  *packetQueue
	gate     *hostGate // how Send waits for room in outbound

	mu   sync.Mutex
	stop chan struct{} // closed by Close; receivers then return net.ErrClosed
}

var (
	_            conn.Bind = (*memBind)(nil)
	linkEndpoint           = conn.StdNetEndpoint(netip.AddrPortFrom(netip.IPv4Unspecified(), 0))
)

// maxDatagram bounds a WireGuard datagram: an MTU-sized packet plus the
// 32 bytes of transport header and authentication tag.
func maxDatagram(mtu int) int { return mtu + 32 }

func newMemBind(mtu, capacity int, gate *hostGate) *memBind {
	return &memBind{
		outbound: newPacketQueue(capacity, maxDatagram(mtu)),
		inbound:  newPacketQueue(capacity, maxDatagram(mtu)),
		gate:     gate,
	}
}

func (b *memBind) Open(port uint16) ([]conn.ReceiveFunc, uint16, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.stop != nil {
		return nil, 0, conn.ErrBindAlreadyOpen
	}
	stop := make(chan struct{})
	b.stop = stop
	receive := func(buf []byte) (int, conn.Endpoint, error) {
		n, err := b.inbound.takeOne(buf, stop)
		if err != nil {
			return 0, nil, net.ErrClosed
		}
		return n, linkEndpoint, nil
	}
	return []conn.ReceiveFunc{receive}, port, nil
}

func (b *memBind) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.stop != nil {
		close(b.stop)
		b.stop = nil
	}
	return nil
}

func (b *memBind) SetMark(uint32) error { return nil }

// Send queues a datagram for the host, waiting while outbound is full
// (see hostGate; wireguard-go calls it holding the device's net lock).
func (b *memBind) Send(buf []byte, _ conn.Endpoint) error {
	b.mu.Lock()
	open := b.stop != nil
	b.mu.Unlock()
	if !open {
		return net.ErrClosed
	}
	switch err := b.gate.put(b.outbound, buf); err {
	case nil, errTurnedOff:
		return err
	}
	return net.ErrClosed
}

func (b *memBind) ParseEndpoint(s string) (conn.Endpoint, error) {
	ap, err := netip.ParseAddrPort(s)
	return conn.StdNetEndpoint(ap), err
}

// closeQueues ends the host's side for good (tunnel turned off).
func (b *memBind) closeQueues() {
	b.outbound.close()
	b.inbound.close()
}
