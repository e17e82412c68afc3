package main

/*
#include "log_sink.h"
*/
import "C"

import "wgcore/libwg/internal/tunfd"

// turnOnC runs one turn-on with C arguments (modes.go); params are given
// as a map by the wrappers, parsed from paramsText by wgTurnOnMode.
func turnOnC(r *turnOn, settings, entrySettings *C.char, logSinkFn C.wg_log_sink, logCtx C.uint64_t) C.int32_t {
	r.settings, r.entrySettings = C.GoString(settings), C.GoString(entrySettings)
	r.log = logSink{fn: logSinkFn, ctx: logCtx}
	handle, code := turnOnMode(r, settings != nil, entrySettings != nil)
	if code != 0 {
		return C.int32_t(code)
	}
	return C.int32_t(handle)
}

//export wgTurnOnMode
func wgTurnOnMode(mode *C.char, mtu C.int32_t, settings *C.char, entrySettings *C.char, params *C.char, tunFD C.int32_t, logSinkFn C.wg_log_sink, logCtx C.uint64_t) C.int32_t {
	parsed, err := parseParams(C.GoString(params))
	if mode == nil || err != nil {
		tunfd.CloseUnused(int(tunFD))
		if err != nil {
			return C.int32_t(fail(errInvalidArgument, "%v", err))
		}
		return C.int32_t(fail(errInvalidArgument, "mode is NULL; name one (tun, memory, netstack, multihop)"))
	}
	r := &turnOn{mode: C.GoString(mode), mtu: int32(mtu), params: parsed, tunFD: int(tunFD)}
	return turnOnC(r, settings, entrySettings, logSinkFn, logCtx)
}

//export wgTurnOn
func wgTurnOn(mtu C.int32_t, settings *C.char, tunFD C.int32_t, logSinkFn C.wg_log_sink, logCtx C.uint64_t) C.int32_t {
	r := &turnOn{mode: "tun", mtu: int32(mtu), tunFD: int(tunFD)}
	return turnOnC(r, settings, nil, logSinkFn, logCtx)
}

//export wgTurnOff
func wgTurnOff(handle C.int32_t) C.int32_t { return C.int32_t(turnOffHandle(int32(handle))) }

//export wgTunnelCount
func wgTunnelCount() C.int32_t { return C.int32_t(tunnels.Len()) }
