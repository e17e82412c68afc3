package main

/*
#include "log_sink.h"
*/
import "C"

import (
	"wgcore/libwg/internal/hostgate"
	"wgcore/libwg/internal/tunfd"
)

//export wgTurnOn
func wgTurnOn(mtu C.int32_t, settings *C.char, tunFD C.int32_t, logSinkFn C.wg_log_sink, logCtx C.uint64_t) C.int32_t {
	log := logSink{fn: logSinkFn, ctx: logCtx}
	if code := checkTurnOn(int32(mtu), settings != nil); code != 0 {
		tunfd.CloseUnused(int(tunFD))
		return C.int32_t(code)
	}
	if tunFD < 0 {
		return C.int32_t(fail(errInvalidArgument, "tun_fd %d is not a file descriptor", int32(tunFD)))
	}
	tunDev, tunPath, err := tunfd.Open(int(tunFD), int(mtu))
	if err != nil {
		tunfd.CloseUnused(int(tunFD))
		log.emit(logLevelError, "wgTurnOn: %v", err)
		return C.int32_t(fail(errInvalidArgument, "%v", err))
	}
	log.emit(logLevelVerbose, "wgTurnOn: TUN path: %s", tunPath)
	t := newTunnel(log, func(*hostgate.Gate) mode { return newTunFDMode(tunDev) })
	handle, code := t.start(C.GoString(settings))
	if code != 0 {
		return C.int32_t(code)
	}
	return C.int32_t(handle)
}

//export wgTurnOnInMemory
func wgTurnOnInMemory(mtu C.int32_t, settings *C.char, transport C.int32_t, logSinkFn C.wg_log_sink, logCtx C.uint64_t) C.int32_t {
	if code := checkTurnOn(int32(mtu), settings != nil); code != 0 {
		return C.int32_t(code)
	}
	build, ok := inMemoryModes[int32(transport)]
	if !ok {
		return C.int32_t(fail(errInvalidArgument, "transport %d is neither WG_TRANSPORT_UDP (%d) nor WG_TRANSPORT_HOST (%d)",
			int32(transport), transportUDP, transportHost))
	}
	t := newTunnel(logSink{fn: logSinkFn, ctx: logCtx}, func(gate *hostgate.Gate) mode { return build(int(mtu), gate) })
	handle, code := t.start(C.GoString(settings))
	if code != 0 {
		return C.int32_t(code)
	}
	return C.int32_t(handle)
}

//export wgTurnOff
func wgTurnOff(handle C.int32_t) C.int32_t { return C.int32_t(turnOffHandle(int32(handle))) }

//export wgTunnelCount
func wgTunnelCount() C.int32_t { return C.int32_t(tunnels.Len()) }
