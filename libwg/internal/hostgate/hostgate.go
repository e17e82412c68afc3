// Package hostgate decides how a device waits for room in the queues a
// host reads, so a host that stops reading cannot block reconfiguring
// or closing the tunnel.
package hostgate

import (
	"errors"
	"sync"

	"wgcore/libwg/internal/packetqueue"
)

// ErrTurnedOff ends a device's wait on a host queue when the tunnel is
// turned off.
var ErrTurnedOff = errors.New("tunnel turned off")

// Gate decides how the device's goroutines put packets and datagrams
// into the queues the host reads. Normally they wait for room: a host
// that reads slowly slows the sender down, and nothing is lost. But
// wireguard-go holds locks and waits for those goroutines when the
// tunnel is reconfigured or closed, so a host that stopped reading would
// block set_config and close for ever. Hence, while a config set runs,
// puts go past the queue's capacity (nothing is lost; later puts wait
// until the host catches up), and from turn-off on they end with
// ErrTurnedOff (the queues are about to be discarded).
type Gate struct {
	mu      sync.Mutex
	wake    chan struct{} // closed when waiting puts must stop waiting
	setting bool          // a config set runs
	off     bool          // the tunnel is being turned off
}

// New makes a gate for one tunnel.
func New() *Gate { return &Gate{wake: make(chan struct{})} }

// Put queues packet in q for the host, waiting for room as the gate says.
func (g *Gate) Put(q *packetqueue.Queue, packet []byte) error {
	for {
		g.mu.Lock()
		wake, setting, off := g.wake, g.setting, g.off
		g.mu.Unlock()
		switch {
		case off:
			return ErrTurnedOff
		case setting:
			return q.PutAlways(packet)
		}
		if _, err := q.Put(1, func(int) []byte { return packet }, -1, wake); err != packetqueue.ErrCancelled {
			return err
		}
	}
}

// SetSetting marks the start (true) or end (false) of a config set.
func (g *Gate) SetSetting(on bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if on && !g.setting && !g.off {
		close(g.wake)
	}
	if !on && g.setting && !g.off {
		g.wake = make(chan struct{})
	}
	g.setting = on
}

// TurnOff ends every wait for good.
func (g *Gate) TurnOff() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.off && !g.setting {
		close(g.wake)
	}
	g.off = true
}
