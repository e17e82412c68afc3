package main

import (
	"errors"
	"maps"
	"slices"
	"sync"
	"syscall"

	"golang.zx2c4.com/wireguard/device"
	"golang.zx2c4.com/wireguard/ipc"

	"wgcore/libwg/internal/handles"
	"wgcore/libwg/internal/hostgate"
	"wgcore/libwg/internal/readergate"
	"wgcore/libwg/internal/routes"
	"wgcore/libwg/internal/traffic"
)

// tunnel is one running WireGuard device and the mode it runs in.
type tunnel struct {
	dev    *device.Device
	mode   mode
	mtu    int // the device's MTU, read at turn-on
	log    logSink
	counts *traffic.Counters
	gate   *hostgate.Gate                      // how the device waits for room in the host's queues
	setMu  sync.Mutex                          // one config set, DAITA activation or turn-off at a time
	daita  map[device.NoisePublicKey]daitaPeer // the peers DAITA is on for; under setMu
	reader readergate.Gate                     // held while DAITA is turned on or a DAITA peer may stop
}

var tunnels handles.Table[*tunnel]

// checkTurnOn checks what every way of turning a tunnel on takes.
func checkTurnOn(mtu int32, haveSettings bool) int32 {
	if mtu < minMTU || mtu > maxMTU {
		return fail(errInvalidArgument, "mtu %d is outside %d..%d", mtu, minMTU, maxMTU)
	}
	if !haveSettings {
		return fail(errInvalidArgument, "settings is NULL; pass UAPI text (an empty string sets nothing)")
	}
	return 0
}

// newTunnel prepares a tunnel; build makes its mode, given the gate the
// mode's host queues wait behind.
func newTunnel(log logSink, build func(gate *hostgate.Gate) mode) *tunnel {
	t := &tunnel{log: log, counts: &traffic.Counters{}, gate: hostgate.New(), daita: map[device.NoisePublicKey]daitaPeer{}}
	t.mode = build(t.gate)
	return t
}

// start builds the device over the mode's TUN and bind, seen through the
// counting wrappers, applies settings, brings it up and gives it a handle;
// on failure everything the mode holds is closed.
func (t *tunnel) start(settings string) (int32, int32) {
	t.mtu, _ = t.mode.tun().MTU()
	tun := t.reader.Wrap(traffic.CountTun(t.mode.tun(), t.counts, t.mtu))
	t.dev = device.NewDevice(tun, traffic.CountBind(t.mode.bind(), t.counts), t.log.deviceLogger())
	if err := t.setConfig(settings); err != nil {
		t.turnOff()
		return -1, fail(ipcErrorCode(err), "%s", settingsError(err, settings))
	}
	if err := t.dev.Up(); err != nil {
		t.turnOff()
		code := int32(errGeneral)
		if errors.Is(err, syscall.EADDRINUSE) {
			code = errIntermittent
		}
		return -1, fail(code, "bringing the device up: %v", err)
	}
	handle, ok := tunnels.Insert(t)
	if !ok {
		t.turnOff()
		return -1, fail(errGeneral, "no free tunnel handle")
	}
	return handle, 0
}

// setConfig applies UAPI "set" text, then refreshes the route table (and
// the peers it routes to) from what the device now holds (also after an error: a set applies line by
// line, so part of it may have taken effect). While the set runs, the
// device does not wait for room in the host's queues (see hostgate.Gate).
func (t *tunnel) setConfig(settings string) error {
	t.setMu.Lock()
	defer t.setMu.Unlock()
	t.gate.SetSetting(true)
	err := t.setPausingDaita(settings)
	t.gate.SetSetting(false)
	text, getErr := t.dev.IpcGet()
	var table *routes.Table
	if getErr == nil {
		table, getErr = routes.FromUAPI(text)
	}
	if getErr != nil {
		t.log.emit(logLevelError, "reading allowed IPs back for the traffic counters: %v", getErr)
	} else if err := t.counts.SetRoutes(table, t.dev); err != nil {
		t.log.emit(logLevelError, "%v", err)
	}
	return err
}

// turnOff first ends every wait of the device on the host's queues, then
// pauses DAITA on every peer, then closes the device, then the mode, then
// drops libwg's hold on the host's rings (a host holding one frees it with
// wg_ring_release). The order matters: wireguard-go holds the device's net
// lock while a send waits for room in a host-carried queue, and closing the
// device needs that lock, so a host that stopped reading would otherwise
// block the close for ever; a padding timer waiting there would also keep
// DAITA from pausing.
func (t *tunnel) turnOff() {
	t.gate.TurnOff()
	t.setMu.Lock()
	t.pauseDaita(slices.Collect(maps.Keys(t.daita)))
	t.dev.Close()
	t.setMu.Unlock()
	t.mode.close()
	for _, kind := range []int32{kindPackets, kindDatagrams} {
		if q, err := t.mode.hostQueue(kind); err == nil {
			q.release()
		}
	}
}

// turnOffHandle closes the tunnel of handle and frees the handle; a
// multihop tunnel's entry hop goes with its exit hop, not on its own.
func turnOffHandle(handle int32) int32 {
	if t, ok := tunnels.Get(handle); ok {
		if _, isEntry := t.mode.(entryHop); isEntry {
			return fail(errInvalidArgument, "handle %d is the entry hop of a multihop tunnel: turn off its exit handle, which turns off both", handle)
		}
	}
	t, ok := tunnels.Remove(handle)
	if !ok {
		return fail(errUnknownTunnel, "unknown tunnel handle %d (never turned on, or turned off)", handle)
	}
	t.turnOff()
	return 0
}

// hostQueue is the tunnel's queue of kind, or the code of why not.
func (t *tunnel) hostQueue(kind int32) (*hostQueue, int32) {
	if kind != kindPackets && kind != kindDatagrams {
		return nil, fail(errInvalidArgument, "kind %d is neither WG_KIND_PACKETS (%d) nor WG_KIND_DATAGRAMS (%d)",
			kind, kindPackets, kindDatagrams)
	}
	q, err := t.mode.hostQueue(kind)
	if err != nil {
		return nil, fail(modeErrorCode(err), "%v", err)
	}
	return q, 0
}

// modeErrorCode is the code of an error a mode returned.
func modeErrorCode(err error) int32 {
	var unsupported notSupported
	if errors.As(err, &unsupported) {
		return errNotSupported
	}
	return errGeneral
}

func lookupTunnel(handle int32) (*tunnel, int32) {
	t, ok := tunnels.Get(handle)
	if !ok {
		return nil, fail(errUnknownTunnel, "unknown tunnel handle %d (never turned on, or turned off)", handle)
	}
	return t, 0
}

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

// socketFD is the tunnel's UDP socket fd of one address family, or a code.
func socketFD(handle int32, v6 bool) int32 {
	t, code := lookupTunnel(handle)
	if code != 0 {
		return code
	}
	fd, err := t.mode.socketFD(v6)
	if err != nil {
		return fail(modeErrorCode(err), "%v", err)
	}
	return int32(fd)
}
