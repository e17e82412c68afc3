// Package membind is a conn.Bind whose datagrams the host carries.
package membind

import (
	"net"
	"net/netip"
	"sync"

	"golang.zx2c4.com/wireguard/conn"

	"wgcore/libwg/internal/hostgate"
	"wgcore/libwg/internal/packetqueue"
)

// Bind is a conn.Bind whose datagrams the host carries: what the device
// sends lands in outbound, what the host puts in inbound the device
// receives. It is one point-to-point link, so datagrams carry no address;
// every received datagram comes from LinkEndpoint.
type Bind struct {
	Outbound *packetqueue.Queue
	Inbound  *packetqueue.Queue
	gate     *hostgate.Gate // how Send waits for room in outbound

	mu   sync.Mutex
	stop chan struct{} // closed by Close; receivers then return net.ErrClosed
}

var (
	_            conn.Bind = (*Bind)(nil)
	LinkEndpoint           = conn.StdNetEndpoint(netip.AddrPortFrom(netip.IPv4Unspecified(), 0))
)

// New makes a bind whose queues hold capacity datagrams of up to
// maxDatagram bytes (a tunnel's mtu + WG_DATAGRAM_OVERHEAD).
func New(maxDatagram, capacity int, gate *hostgate.Gate) *Bind {
	return &Bind{
		Outbound: packetqueue.New(capacity, maxDatagram),
		Inbound:  packetqueue.New(capacity, maxDatagram),
		gate:     gate,
	}
}

func (b *Bind) Open(port uint16) ([]conn.ReceiveFunc, uint16, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.stop != nil {
		return nil, 0, conn.ErrBindAlreadyOpen
	}
	stop := make(chan struct{})
	b.stop = stop
	receive := func(buf []byte) (int, conn.Endpoint, error) {
		n, err := b.Inbound.TakeOne(buf, stop)
		if err != nil {
			return 0, nil, net.ErrClosed
		}
		return n, LinkEndpoint, nil
	}
	return []conn.ReceiveFunc{receive}, port, nil
}

func (b *Bind) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.stop != nil {
		close(b.stop)
		b.stop = nil
	}
	return nil
}

// CountHandover has count see each datagram as the host can first read it.
func (b *Bind) CountHandover(count func(datagram []byte)) { b.Outbound.OnPublish = count }

func (b *Bind) SetMark(uint32) error { return nil }

// Send queues a datagram for the host, waiting while outbound is full
// (see hostgate.Gate; wireguard-go calls it holding the device's net lock).
func (b *Bind) Send(buf []byte, _ conn.Endpoint) error {
	b.mu.Lock()
	open := b.stop != nil
	b.mu.Unlock()
	if !open {
		return net.ErrClosed
	}
	switch err := b.gate.Put(b.Outbound, buf); err {
	case nil, hostgate.ErrTurnedOff:
		return err
	}
	return net.ErrClosed
}

func (b *Bind) ParseEndpoint(s string) (conn.Endpoint, error) {
	ap, err := netip.ParseAddrPort(s)
	return conn.StdNetEndpoint(ap), err
}

// CloseQueues ends the host's side for good (tunnel turned off).
func (b *Bind) CloseQueues() {
	b.Outbound.Close()
	b.Inbound.Close()
}
