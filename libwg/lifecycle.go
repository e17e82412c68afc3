package main

/*
#include "log_sink.h"
*/
import "C"

import (
	"errors"
	"sync"
	"syscall"

	"golang.zx2c4.com/wireguard/conn"
	"golang.zx2c4.com/wireguard/device"
	"golang.zx2c4.com/wireguard/ipc"
	"golang.zx2c4.com/wireguard/tun"
)

// tunnel is one running WireGuard device and what it was built from.
type tunnel struct {
	dev    *device.Device
	mtu    int // the device's MTU, read at turn-on
	bind   conn.Bind
	log    logSink
	mem    *memTun  // in-memory TUN, nil for a kernel TUN
	link   *memBind // host-carried transport, nil for UDP
	counts *traffic
	gate   *hostGate  // how the device waits for room in the host's queues
	setMu  sync.Mutex // one config set (and the route refresh after it) at a time
}

func newTunnel(log logSink) *tunnel {
	return &tunnel{log: log, counts: &traffic{}, gate: newHostGate()}
}

var tunnels handleTable[*tunnel]

const (
	minMTU = 576
	maxMTU = 65535
)

// startTunnel builds a device over tunDev and t.bind, seen through the
// counting wrappers, applies settings and brings it up; on failure
// everything it was given is closed.
func startTunnel(t *tunnel, tunDev tun.Device, settings string) (int32, int32) {
	t.mtu, _ = tunDev.MTU()
	t.dev = device.NewDevice(countingTun{tunDev, t.counts}, countingBind{t.bind, t.counts}, t.log.deviceLogger())
	if err := t.setConfig(settings); err != nil {
		t.turnOff()
		return -1, fail(ipcErrorCode(err), "applying settings: %v", err)
	}
	if err := t.dev.Up(); err != nil {
		t.turnOff()
		code := int32(errGeneral)
		if errors.Is(err, syscall.EADDRINUSE) {
			code = errIntermittent
		}
		return -1, fail(code, "bringing the device up: %v", err)
	}
	handle, ok := tunnels.insert(t)
	if !ok {
		t.turnOff()
		return -1, fail(errGeneral, "no free tunnel handle")
	}
	return handle, 0
}

// setConfig applies UAPI "set" text, then refreshes the route table from
// what the device now holds (also after an error: a set applies line by
// line, so part of it may have taken effect). While the set runs, the
// device does not wait for room in the host's queues (see hostGate).
func (t *tunnel) setConfig(settings string) error {
	t.setMu.Lock()
	defer t.setMu.Unlock()
	t.gate.setSetting(true)
	err := t.dev.IpcSet(settings)
	t.gate.setSetting(false)
	text, getErr := t.dev.IpcGet()
	var routes *routeTable
	if getErr == nil {
		routes, getErr = routesFromUAPI(text)
	}
	if getErr != nil {
		t.log.emit(logLevelError, "reading allowed IPs back for the traffic counters: %v", getErr)
	} else {
		t.counts.routes.Store(routes)
	}
	return err
}

// turnOff first ends every wait of the device on the host's queues, then
// closes the device, then the host's queues. The order matters:
// wireguard-go holds the device's net lock while a send waits for room in
// a host-carried queue, and closing the device needs that lock, so a host
// that stopped reading would otherwise block the close for ever.
func (t *tunnel) turnOff() {
	t.gate.turnOff()
	t.dev.Close()
	if t.link != nil {
		t.link.closeQueues()
	}
}

func lookupTunnel(handle C.int32_t) (*tunnel, int32) {
	t, ok := tunnels.get(int32(handle))
	if !ok {
		return nil, fail(errUnknownTunnel, "unknown tunnel handle %d", int32(handle))
	}
	return t, 0
}

func validMTU(mtu C.int32_t) bool {
	return mtu >= minMTU && mtu <= maxMTU
}

//export wgTurnOn
func wgTurnOn(mtu C.int32_t, settings *C.char, tunFD C.int32_t, logSinkFn C.wg_log_sink, logCtx C.uint64_t) C.int32_t {
	log := logSink{fn: logSinkFn, ctx: logCtx}
	if !validMTU(mtu) || settings == nil || tunFD < 0 {
		closeFD(int(tunFD))
		return C.int32_t(fail(errInvalidArgument, "need %d <= mtu <= %d, settings and a TUN fd", minMTU, maxMTU))
	}
	tunDev, err := tunFromFD(int(tunFD), int(mtu))
	if err != nil {
		closeFD(int(tunFD))
		log.emit(logLevelError, "wgTurnOn: %v", err)
		return C.int32_t(fail(errInvalidArgument, "%v", err))
	}
	t := newTunnel(log)
	t.bind = &udpBind{}
	handle, code := startTunnel(t, tunDev, C.GoString(settings))
	if code != 0 {
		return C.int32_t(code)
	}
	return C.int32_t(handle)
}

//export wgTurnOff
func wgTurnOff(handle C.int32_t) C.int32_t {
	t, ok := tunnels.remove(int32(handle))
	if !ok {
		return C.int32_t(fail(errUnknownTunnel, "unknown tunnel handle %d", int32(handle)))
	}
	t.turnOff()
	return 0
}

func socketFD(handle C.int32_t, v6 bool) C.int32_t {
	t, code := lookupTunnel(handle)
	if code != 0 {
		return C.int32_t(code)
	}
	b, ok := t.bind.(*udpBind)
	if !ok {
		return C.int32_t(fail(errNotSupported, "tunnel %d has no UDP socket", int32(handle)))
	}
	fd, err := b.socketFD(v6)
	if err != nil {
		return C.int32_t(fail(errGeneral, "%v", err))
	}
	return C.int32_t(fd)
}

//export wgGetSocketV4
func wgGetSocketV4(handle C.int32_t) C.int32_t { return socketFD(handle, false) }

//export wgGetSocketV6
func wgGetSocketV6(handle C.int32_t) C.int32_t { return socketFD(handle, true) }

//export wgDisableLogging
func wgDisableLogging() { disableLogSinks() }

func ipcErrorCode(err error) int32 {
	var ipcErr *device.IPCError
	if errors.As(err, &ipcErr) {
		switch ipcErr.ErrorCode() {
		case ipc.IpcErrorInvalid, ipc.IpcErrorProtocol:
			return errInvalidArgument
		case ipc.IpcErrorPortInUse:
			return errIntermittent
		}
	}
	return errGeneral
}

//export wgTunnelCount
func wgTunnelCount() C.int32_t { return C.int32_t(tunnels.len()) }
