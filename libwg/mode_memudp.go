package main

import (
	"wgcore/libwg/internal/hostgate"
	"wgcore/libwg/internal/udpbind"
)

// memUDPMode is an in-memory tunnel over UDP sockets
// (WG_TRANSPORT_UDP): the host carries the packets, the kernel the
// datagrams.
type memUDPMode struct {
	memApp
	udpWire
}

func init() {
	registerInMemoryMode(transportUDP, func(mtu int, gate *hostgate.Gate) mode {
		return &memUDPMode{newMemApp(mtu, gate), udpWire{&udpbind.Bind{}}}
	})
}

func (m *memUDPMode) hostQueue(kind int32) (*hostQueue, error) {
	if kind == kindPackets {
		return &m.packets, nil
	}
	return nil, notSupported(`this in-memory tunnel sends its datagrams over UDP: it has no datagram queue; ` +
		`turn it on with transport="host" to carry them yourself`)
}

func (m *memUDPMode) close() {}
