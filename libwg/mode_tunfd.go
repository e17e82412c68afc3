package main

import (
	"golang.zx2c4.com/wireguard/tun"

	"wgcore/libwg/internal/hostgate"
	"wgcore/libwg/internal/udpbind"
)

// tunFDMode is a tunnel over a kernel TUN device (mode "tun", wgTurnOn)
// with UDP sockets: the kernel carries both sides, the host has no queue.
type tunFDMode struct {
	dev tun.Device
	udpWire
}

func init() {
	registerMode("tun", modeSpec{tunFD: tunFDRequired, start: func(r *turnOn) (int32, int32) {
		dev, code := r.openTun(int(r.mtu))
		if code != 0 {
			return -1, code
		}
		return r.startSingle(func(*hostgate.Gate) mode { return newTunFDMode(dev) })
	}})
}

func newTunFDMode(dev tun.Device) *tunFDMode {
	return &tunFDMode{dev: dev, udpWire: udpWire{&udpbind.Bind{}}}
}

func (m *tunFDMode) tun() tun.Device { return m.dev }

func (m *tunFDMode) hostQueue(kind int32) (*hostQueue, error) {
	if kind == kindDatagrams {
		return nil, notSupported(`this tunnel was turned on over a kernel TUN: it has no datagram queue; ` +
			`use Tunnel.in_memory with transport="host"`)
	}
	return nil, notSupported("this tunnel was turned on over a kernel TUN: it has no in-memory packet queue; " +
		"use Tunnel.in_memory")
}

func (m *tunFDMode) close() {}
