package main

/*
#include "log_sink.h"
*/
import "C"

import "wgcore/libwg/internal/tunfd"

// checkMultihop checks the arguments every multihop turn-on takes.
func checkMultihop(mtu C.int32_t, exitSettings, entrySettings, privateIP *C.char) (multihopPlan, int32) {
	if code := checkTurnOn(int32(mtu), exitSettings != nil && entrySettings != nil); code != 0 {
		return multihopPlan{}, code
	}
	if privateIP == nil {
		return multihopPlan{}, fail(errInvalidArgument, "private_ip is NULL; pass the exit hop's IPv4 address inside the entry tunnel")
	}
	return planMultihop(int32(mtu), C.GoString(exitSettings), C.GoString(privateIP))
}

//export wgTurnOnMultihop
func wgTurnOnMultihop(mtu C.int32_t, exitSettings *C.char, entrySettings *C.char, privateIP *C.char, tunFD C.int32_t, logSinkFn C.wg_log_sink, logCtx C.uint64_t) C.int32_t {
	log := logSink{fn: logSinkFn, ctx: logCtx}
	plan, code := checkMultihop(mtu, exitSettings, entrySettings, privateIP)
	if code != 0 {
		tunfd.CloseUnused(int(tunFD))
		return C.int32_t(code)
	}
	if tunFD < 0 {
		return C.int32_t(fail(errInvalidArgument, "tun_fd %d is not a file descriptor", int32(tunFD)))
	}
	tunDev, tunPath, err := tunfd.Open(int(tunFD), plan.exitMTU)
	if err != nil {
		tunfd.CloseUnused(int(tunFD))
		log.emit(logLevelError, "wgTurnOnMultihop: %v", err)
		return C.int32_t(fail(errInvalidArgument, "%v", err))
	}
	log.emit(logLevelVerbose, "wgTurnOnMultihop: TUN path: %s", tunPath)
	handle, code := startMultihop(plan, log, C.GoString(exitSettings), C.GoString(entrySettings), tunDev, transportUDP)
	if code != 0 {
		return C.int32_t(code)
	}
	return C.int32_t(handle)
}

//export wgTurnOnMultihopInMemory
func wgTurnOnMultihopInMemory(mtu C.int32_t, exitSettings *C.char, entrySettings *C.char, privateIP *C.char, transport C.int32_t, logSinkFn C.wg_log_sink, logCtx C.uint64_t) C.int32_t {
	plan, code := checkMultihop(mtu, exitSettings, entrySettings, privateIP)
	if code != 0 {
		return C.int32_t(code)
	}
	if transport != transportUDP && transport != transportHost {
		return C.int32_t(fail(errInvalidArgument, "transport %d is neither WG_TRANSPORT_UDP (%d) nor WG_TRANSPORT_HOST (%d)",
			int32(transport), transportUDP, transportHost))
	}
	handle, code := startMultihop(plan, logSink{fn: logSinkFn, ctx: logCtx}, C.GoString(exitSettings), C.GoString(entrySettings), nil, int32(transport))
	if code != 0 {
		return C.int32_t(code)
	}
	return C.int32_t(handle)
}

//export wgEntryHandle
func wgEntryHandle(handle C.int32_t) C.int32_t { return C.int32_t(entryHandleOf(int32(handle))) }
