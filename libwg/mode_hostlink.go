package main

import "golang.zx2c4.com/wireguard/conn"

// memHostMode is an in-memory tunnel whose datagrams the host carries too
// (WG_TRANSPORT_HOST): one point-to-point link, no sockets.
type memHostMode struct {
	memApp
	link      *memBind
	datagrams hostQueue
}

func init() {
	registerInMemoryMode(transportHost, func(mtu int, gate *hostGate) mode {
		link := newMemBind(mtu, queueCapacity, gate)
		limit := maxDatagram(mtu)
		check := func(d []byte) error {
			if len(d) == 0 || len(d) > limit {
				return errDatagramSize(len(d), limit)
			}
			return nil
		}
		return &memHostMode{newMemApp(mtu, gate), link, hostQueue{write: link.inbound, read: link.outbound, check: check}}
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
func (m *memHostMode) close() { m.link.closeQueues() }
