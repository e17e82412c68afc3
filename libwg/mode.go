package main

import (
	"golang.zx2c4.com/wireguard/conn"
	"golang.zx2c4.com/wireguard/tun"

	"wgcore/libwg/internal/packetqueue"
	"wgcore/libwg/internal/udpbind"
)

// A mode is how a tunnel meets the world: the TUN and the bind its device
// runs over, and what the host can do with it besides. Each mode lives in
// a mode_*.go file of its own (mode_tunfd.go, mode_memory.go with
// mode_memudp.go and mode_memhost.go, mode_netstack.go, mode_multihop.go),
// which registers its name with wgTurnOnMode (modes.go); a new way to
// turn a tunnel on is a new mode, not a new field of tunnel or a new export.
type mode interface {
	// tun and bind are what the device reads and writes; the tunnel sees
	// them through its traffic counters.
	tun() tun.Device
	bind() conn.Bind
	// hostQueue is where the host writes and reads traffic of kind
	// (kindPackets or kindDatagrams), or a notSupported error saying why
	// this mode has none.
	hostQueue(kind int32) (*hostQueue, error)
	// socketFD is the fd of the mode's UDP socket of one address family.
	socketFD(v6 bool) (int, error)
	// close releases what closing the device does not, after it closed.
	close()
}

// What a host reads and writes on an in-memory tunnel (libwg.h WG_KIND_*).
const (
	kindPackets   = 0 // plaintext IP packets: written ones are sent, read ones arrived
	kindDatagrams = 1 // ciphertext datagrams of a host-carried transport
)

// queueCapacity is how many packets each host queue holds.
const queueCapacity = 1024

// hostQueue is one kind of traffic the host exchanges with a tunnel.
type hostQueue struct {
	write *packetqueue.Queue // the host writes, the device reads
	read  *packetqueue.Queue // the device writes, the host reads (what the host may write, it checks: wg_rules.h)
}

// release drops libwg's reference to both rings, once the device closed.
func (h *hostQueue) release() {
	h.write.Release()
	h.read.Release()
}

// notSupported is an operation the tunnel's mode does not offer, in the
// user's terms (WG_ERR_NOT_SUPPORTED).
type notSupported string

func (e notSupported) Error() string { return string(e) }

// udpWire is the wire side of modes whose datagrams go over UDP sockets.
type udpWire struct{ udp *udpbind.Bind }

func (w udpWire) bind() conn.Bind               { return w.udp }
func (w udpWire) socketFD(v6 bool) (int, error) { return w.udp.SocketFD(v6) }
