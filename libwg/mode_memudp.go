package main

// memUDPMode is an in-memory tunnel over UDP sockets (mode "memory",
// transport=udp): the host carries the packets, the kernel the datagrams.
type memUDPMode struct {
	memApp
	udpWire
}

func (m *memUDPMode) hostQueue(kind int32) (*hostQueue, error) {
	if kind == kindPackets {
		return &m.packets, nil
	}
	return nil, notSupported(`this in-memory tunnel sends its datagrams over UDP: it has no datagram queue; ` +
		`turn it on with transport="host" to carry them yourself`)
}

func (m *memUDPMode) close() {}
