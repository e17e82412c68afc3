package main

import (
	"golang.zx2c4.com/wireguard/tun"

	"wgcore/libwg/internal/hostgate"
	"wgcore/libwg/internal/memtun"
	"wgcore/libwg/internal/udpbind"
)

// Mode "memory": an in-memory tunnel, no kernel TUN and no root. The host
// writes and reads its IP packets (WG_KIND_PACKETS); params transport=udp
// (the default) sends the datagrams over UDP sockets (mode_memudp.go),
// transport=host has the host carry them too (mode_memhost.go).
func init() {
	registerMode("memory", modeSpec{params: []string{"transport"}, start: func(r *turnOn) (int32, int32) {
		host, code := r.hostCarried()
		if code != 0 {
			return -1, code
		}
		mtu := int(r.mtu)
		return r.startSingle(func(gate *hostgate.Gate) mode {
			if host {
				return &memHostMode{newMemApp(mtu, gate), newHostWire(mtu, gate)}
			}
			return &memUDPMode{newMemApp(mtu, gate), udpWire{&udpbind.Bind{}}}
		})
	}})
}

// memApp is the application side of in-memory modes: an in-memory TUN
// whose packets the host writes and reads.
type memApp struct {
	mem     *memtun.Device
	packets hostQueue
}

func newMemApp(mtu int, gate *hostgate.Gate) memApp {
	mem := memtun.New(mtu, queueCapacity, gate)
	return memApp{mem, hostQueue{write: mem.Outbound, read: mem.Inbound}}
}

func (a *memApp) tun() tun.Device { return a.mem }
