//go:build !upstream

package main

import (
	"golang.zx2c4.com/wireguard/conn"
	"golang.zx2c4.com/wireguard/tun"

	"wgcore/libwg/internal/hoplink"
	"wgcore/libwg/internal/hostgate"
	"wgcore/libwg/internal/udpbind"
)

// multihopExit is the mode of a multihop tunnel's exit hop: the user's
// side (a kernel TUN or in-memory packets) over a bind into the entry hop,
// which this mode owns and closes after the exit device.
type multihopExit struct {
	user    tun.Device
	packets *hostQueue // the in-memory packet queue; nil over a kernel TUN
	link    *hoplink.Link
	entry   *tunnel
	entryID int32
}

func (m *multihopExit) tun() tun.Device               { return m.user }
func (m *multihopExit) bind() conn.Bind               { return m.link.Bind() }
func (m *multihopExit) socketFD(v6 bool) (int, error) { return m.entry.mode.socketFD(v6) }
func (m *multihopExit) entryHandle() int32            { return m.entryID }

func (m *multihopExit) hostQueue(kind int32) (*hostQueue, error) {
	switch {
	case kind == kindDatagrams:
		return nil, notSupported("the exit hop's datagrams travel inside the entry hop: " +
			"the entry handle (wgEntryHandle) has the datagram queue when the host carries them")
	case m.packets == nil:
		return nil, notSupported("this multihop tunnel was turned on over a kernel TUN: it has no in-memory packet queue")
	}
	return m.packets, nil
}

// close turns the entry hop off once the exit device has closed.
func (m *multihopExit) close() {
	if _, ok := tunnels.Remove(m.entryID); ok {
		m.entry.turnOff()
	}
}

// wire is the ciphertext side of the entry hop: udpWire or *hostWire.
type wire interface {
	bind() conn.Bind
	socketFD(v6 bool) (int, error)
}

// multihopEntry is the mode of a multihop tunnel's entry hop: its TUN is
// the link from the exit hop, its bind UDP sockets or the host's link.
type multihopEntry struct {
	link *hoplink.Link
	wire
	host *hostWire // nil over UDP sockets
}

func (m *multihopEntry) tun() tun.Device { return m.link }
func (m *multihopEntry) exitOwnsMe()     {}

func (m *multihopEntry) hostQueue(kind int32) (*hostQueue, error) {
	switch {
	case kind == kindPackets:
		return nil, notSupported("the entry hop's packets are the exit hop's datagrams, which libwg carries between the hops: " +
			"write and read packets on the exit handle")
	case m.host == nil:
		return nil, notSupported(`this multihop tunnel's entry hop sends its datagrams over UDP: it has no datagram queue; ` +
			`turn it on with transport="host" to carry them yourself`)
	}
	return &m.host.datagrams, nil
}

func (m *multihopEntry) close() {
	if m.host != nil {
		m.host.close()
	}
}

func init() {
	registerMode("multihop", modeSpec{params: []string{"private_ip", "transport"}, tunFD: tunFDOptional, hops: 2, start: startMultihopMode})
}

// startMultihopMode is mode "multihop": settings are the exit hop's,
// entry_settings the entry hop's, params private_ip=<IPv4> and
// transport=udp|host (the entry hop's); over tun_fd when it is >= 0 (the
// interface gets the exit hop's MTU), else with in-memory packets.
func startMultihopMode(r *turnOn) (int32, int32) {
	host, code := r.hostCarried()
	if code != 0 {
		return -1, code
	}
	privateIP, ok := r.params["private_ip"]
	if !ok {
		return -1, fail(errInvalidArgument, "mode \"multihop\" needs private_ip=<IPv4>, the exit hop's address inside the entry tunnel")
	}
	plan, code := planMultihop(r.mtu, r.settings, privateIP)
	if code != 0 {
		return -1, code
	}
	var userTun tun.Device
	if r.tunFD >= 0 {
		if userTun, code = r.openTun(plan.exitMTU); code != 0 {
			return -1, code
		}
	}
	return startMultihop(plan, r.log, r.settings, r.entrySettings, userTun, host)
}

// startMultihop turns on the entry hop, then the exit hop over userTun
// (a kernel TUN; nil: in-memory packets); the host carries the entry's
// datagrams if host, else UDP sockets do. Returns the exit's handle.
// userTun is closed on failure.
func startMultihop(p multihopPlan, log logSink, exitSettings, entrySettings string, userTun tun.Device, host bool) (int32, int32) {
	link, err := hoplink.New(p.local, p.remote, p.entryMTU)
	if err != nil {
		closeUnused(userTun)
		return -1, fail(errInvalidArgument, "%v", err)
	}
	entryLog, exitLog := log, log
	entryLog.prefix, exitLog.prefix = "entry hop: ", "exit hop: "
	entry := newTunnel(entryLog, func(gate *hostgate.Gate) mode {
		if host {
			wire := newHostWire(p.entryMTU, gate)
			return &multihopEntry{link, wire, wire}
		}
		return &multihopEntry{link: link, wire: udpWire{&udpbind.Bind{}}}
	})
	entryID, code := entry.start(entrySettings)
	if code != 0 {
		closeUnused(userTun)
		return -1, prefixLastError(code, "entry hop: ")
	}
	exit := newTunnel(exitLog, func(gate *hostgate.Gate) mode {
		m := &multihopExit{user: userTun, link: link, entry: entry, entryID: entryID}
		if userTun == nil {
			app := newMemApp(p.exitMTU, gate)
			m.user, m.packets = app.mem, &app.packets
		}
		return m
	})
	handle, code := exit.start(exitSettings)
	if code != 0 {
		return -1, prefixLastError(code, "exit hop: ")
	}
	return handle, 0
}

func closeUnused(dev tun.Device) {
	if dev != nil {
		dev.Close()
	}
}
