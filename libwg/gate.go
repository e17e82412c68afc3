package main

import (
	"errors"
	"sync"
)

// errTurnedOff ends a device's wait on a host queue when the tunnel is
// turned off.
var errTurnedOff = errors.New("tunnel turned off")

// hostGate decides how the device's goroutines put packets and datagrams
// into the queues the host reads. Normally they wait for room: a host
// that reads slowly slows the sender down, and nothing is lost. But
// wireguard-go holds locks and waits for those goroutines when the
// tunnel is reconfigured or closed, so a host that stopped reading would
// block set_config and close for ever. Hence, while a config set runs,
// puts go past the queue's capacity (nothing is lost; later puts wait
// until the host catches up), and from turn-off on they end with
// errTurnedOff (the queues are about to be discarded).
type hostGate struct {
	mu      sync.Mutex
	wake    chan struct{} // closed when waiting puts must stop waiting
	setting bool          // a config set runs
	off     bool          // the tunnel is being turned off
}

func newHostGate() *hostGate { return &hostGate{wake: make(chan struct{})} }

// put queues packet in q for the host, waiting for room as the gate says.
func (g *hostGate) put(q *packetQueue, packet []byte) error {
	for {
		g.mu.Lock()
		wake, setting, off := g.wake, g.setting, g.off
		g.mu.Unlock()
		switch {
		case off:
			return errTurnedOff
		case setting:
			return q.putAlways(packet)
		}
		if _, err := q.put(1, func(int) []byte { return packet }, -1, wake); err != errCancelled {
			return err
		}
	}
}

// setSetting marks the start (true) or end (false) of a config set.
func (g *hostGate) setSetting(on bool) {
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

// turnOff ends every wait for good.
func (g *hostGate) turnOff() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.off && !g.setting {
		close(g.wake)
	}
	g.off = true
}
