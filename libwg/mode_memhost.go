package main

import (
	"golang.zx2c4.com/wireguard/conn"

	"wgcore/libwg/internal/hostgate"
	"wgcore/libwg/internal/membind"
)

// memHostMode is an in-memory tunnel whose datagrams the host carries too
// (mode "memory", transport=host): one point-to-point link, no sockets.
type memHostMode struct {
	memApp
	*hostWire
}

func (m *memHostMode) hostQueue(kind int32) (*hostQueue, error) {
	if kind == kindPackets {
		return &m.packets, nil
	}
	return &m.datagrams, nil
}

// hostWire is the wire side of modes whose datagrams the host carries.
type hostWire struct {
	link      *membind.Bind
	datagrams hostQueue
}

func newHostWire(mtu int, gate *hostgate.Gate) *hostWire {
	link := membind.New(mtu+datagramOverhead, queueCapacity, gate)
	return &hostWire{link, hostQueue{write: link.Inbound, read: link.Outbound}}
}

func (w *hostWire) bind() conn.Bind { return w.link }

func (w *hostWire) socketFD(bool) (int, error) {
	return -1, notSupported(`this tunnel's datagrams are carried by the host (transport="host"): it has no UDP socket`)
}

// close ends the host's side of the link for good.
func (w *hostWire) close() { w.link.CloseQueues() }
