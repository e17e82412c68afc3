// Package readergate lets libwg change a device's peers only while the
// device's TUN reader is between packets.
//
// wireguard-go's TUN reader (RoutineReadFromTUN) reads the peer's DAITA
// field after handing each packet to the peer, with no lock; the fork's
// EnableDaita and Peer.Stop write that field. A Gate wraps the device's TUN
// and parks the reader inside Read while it is held: a packet Read returns
// meanwhile waits, in the reader's hands, until the gate is released. So
// holding the gate orders every write of libwg's making after the reader's
// last access, which the race detector checks.
package readergate

import (
	"sync"

	"golang.zx2c4.com/wireguard/tun"
)

// Gate is held by libwg around what may change a peer's DAITA; the device
// reads its TUN through Wrap.
type Gate struct {
	busy sync.Mutex // held by the reader while it handles a packet, or by a holder
}

// Hold waits until the reader is inside Read (or has not started, or has
// stopped) and keeps it from handling a packet until Release.
func (g *Gate) Hold() { g.busy.Lock() }

// Release lets the reader go on.
func (g *Gate) Release() { g.busy.Unlock() }

// Wrap is dev with its reads passing g.
func (g *Gate) Wrap(dev tun.Device) tun.Device { return &gated{Device: dev, gate: g} }

type gated struct {
	tun.Device
	gate    *Gate
	holding bool // the reader holds gate.busy: touched by the one reader goroutine only
}

// Read releases the gate while it waits for a packet and takes it back
// before returning one. A read that fails returns at once: the device
// stops reading then, and a holder closing the device must not wait for it.
func (d *gated) Read(buf []byte, offset int) (int, error) {
	if d.holding {
		d.holding = false
		d.gate.busy.Unlock()
	}
	n, err := d.Device.Read(buf, offset)
	if err == nil {
		d.gate.busy.Lock()
		d.holding = true
	}
	return n, err
}
