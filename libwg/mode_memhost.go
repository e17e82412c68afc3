package main

import (
	"golang.zx2c4.com/wireguard/conn"

	"wgcore/libwg/internal/hostgate"
	"wgcore/libwg/internal/membind"
)

// memHostMode is an in-memory tunnel whose datagrams the host carries too
// (WG_TRANSPORT_HOST): one point-to-point link, no sockets.
type memHostMode struct {
	memApp
	link      *membind.Bind
	datagrams hostQueue
}

func init() {
	registerInMemoryMode(transportHost, func(mtu int, gate *hostgate.Gate) mode {
		link := membind.New(mtu, queueCapacity, gate)
		check := func(d []byte) error { return membind.CheckDatagram(d, mtu) }
		return &memHostMode{newMemApp(mtu, gate), link, hostQueue{write: link.Inbound, read: link.Outbound, check: check}}
	})
}

func (m *memHostMode) bind() conn.Bind { return m.link }

func (m *memHostMode) hostQueue(kind int32) (*hostQueue, error) {
	if kind == kindPackets {
		return &m.packets, nil
	}
	return &m.datagrams, nil
}

func (m *memHostMode) socketFD(bool) (int, error) {
	return -1, notSupported(`this tunnel's datagrams are carried by the host (transport="host"): it has no UDP socket`)
}

// close ends the host's side of the link for good.
func (m *memHostMode) close() { m.link.CloseQueues() }
