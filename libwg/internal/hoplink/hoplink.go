//go:build !upstream

// Package hoplink joins the two devices of a multihop tunnel through the
// fork's tun/multihoptun: the exit device's bind sends each datagram as an
// IPv4/UDP packet the entry device reads from its TUN, and the UDP payload
// of each packet the entry device writes to its TUN is a datagram the exit
// device receives.
//
// Link guards the entry side of multihoptun, which at the fork's commit
// panics on a malformed packet (it trusts the IP and UDP lengths), never
// closes its event channel (the device's event reader would wait for ever)
// and panics when closed twice: only well-formed UDP packets from the exit
// endpoint to the local address reach it, and Close is idempotent.
package hoplink

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"

	"golang.zx2c4.com/wireguard/conn"
	"golang.zx2c4.com/wireguard/tun"
	"golang.zx2c4.com/wireguard/tun/multihoptun"
)

// Overhead is what the link adds around each exit datagram: an IPv4 and
// a UDP header. The exit device's WireGuard header (32 bytes) comes on top.
const Overhead = 20 + 8

// Link is the entry device's TUN; Bind is the exit device's bind.
type Link struct {
	hop     *multihoptun.MultihopTun
	local   netip.Addr
	remote  netip.AddrPort
	bind    conn.Bind
	events  chan tun.Event
	once    sync.Once
	dropped atomic.Uint64
}

var _ tun.Device = (*Link)(nil)

// New links a local address (the exit device's address inside the entry
// tunnel) to the exit endpoint; mtu is the entry device's MTU. Both
// addresses must be IPv4: the fork builds IPv6 headers with an IPv4-only
// routine that panics.
func New(local netip.Addr, remote netip.AddrPort, mtu int) (*Link, error) {
	if !local.Is4() || !remote.Addr().Is4() {
		return nil, fmt.Errorf("the hop between the exit and entry devices is IPv4 only: %v and %v", local, remote.Addr())
	}
	hop := multihoptun.NewMultihopTun(local, remote.Addr(), remote.Port(), mtu)
	return &Link{hop: &hop, local: local, remote: remote, bind: hop.Binder(), events: make(chan tun.Event)}, nil
}

// Bind is the exit device's bind: what it sends goes to the entry device.
func (l *Link) Bind() conn.Bind { return l.bind }

// Dropped is how many packets the entry device wrote that were not a
// datagram from the exit endpoint to the local address.
func (l *Link) Dropped() uint64 { return l.dropped.Load() }

func (l *Link) Read(buf []byte, offset int) (int, error) { return l.hop.Read(buf, offset) }

// Write hands the UDP payload of a packet to the exit device, or drops
// the packet (reporting it written) if Check refuses it.
func (l *Link) Write(buf []byte, offset int) (int, error) {
	if Check(buf[offset:], l.remote, l.local) != nil {
		l.dropped.Add(1)
		return len(buf) - offset, nil
	}
	return l.hop.Write(buf, offset)
}

// CarriesDatagrams marks the link as another device's wire, not an
// application's TUN: it gets no ICMP errors (see traffic.Tun).
func (l *Link) CarriesDatagrams() {}

func (l *Link) File() *os.File           { return nil }
func (l *Link) Flush() error             { return nil }
func (l *Link) MTU() (int, error)        { return l.hop.MTU() }
func (l *Link) Name() (string, error)    { return "hoplink", nil }
func (l *Link) Events() <-chan tun.Event { return l.events }

// Close ends every Read and Write waiting on the link, once.
func (l *Link) Close() error {
	l.once.Do(func() {
		l.hop.Close()
		close(l.events)
	})
	return nil
}

// Check accepts a whole IPv4/UDP packet from src to dst whose header
// lengths fit the packet.
func Check(p []byte, src netip.AddrPort, dst netip.Addr) error {
	if len(p) < Overhead || p[0]>>4 != 4 {
		return fmt.Errorf("not an IPv4 packet of at least %d bytes", Overhead)
	}
	ihl := int(p[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(p[2:4]))
	switch {
	case ihl < 20 || total != len(p) || ihl+8 > total:
		return fmt.Errorf("IPv4 header lengths (%d, %d) do not fit %d bytes", ihl, total, len(p))
	case p[9] != 17:
		return fmt.Errorf("protocol %d is not UDP", p[9])
	case netip.AddrFrom4([4]byte(p[12:16])) != src.Addr() || binary.BigEndian.Uint16(p[ihl:]) != src.Port():
		return fmt.Errorf("not from the exit endpoint %v", src)
	case netip.AddrFrom4([4]byte(p[16:20])) != dst:
		return fmt.Errorf("not to the local address %v", dst)
	case int(binary.BigEndian.Uint16(p[ihl+4:])) != total-ihl:
		return fmt.Errorf("the UDP length does not match the packet")
	}
	return nil
}
