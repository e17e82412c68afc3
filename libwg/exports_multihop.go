package main

/*
#include "log_sink.h"
*/
import "C"

import "wgcore/libwg/internal/tunfd"

//export wgTurnOnMultihop
func wgTurnOnMultihop(mtu C.int32_t, exitSettings *C.char, entrySettings *C.char, privateIP *C.char, tunFD C.int32_t, logSinkFn C.wg_log_sink, logCtx C.uint64_t) C.int32_t {
	switch {
	case privateIP == nil:
		tunfd.CloseUnused(int(tunFD))
		return C.int32_t(fail(errInvalidArgument, "private_ip is NULL; pass the exit hop's IPv4 address inside the entry tunnel"))
	case tunFD < 0: // mode "multihop" would turn on in memory
		return C.int32_t(fail(errInvalidArgument, "tun_fd %d is not a file descriptor", int32(tunFD)))
	}
	r := &turnOn{mode: "multihop", mtu: int32(mtu), params: map[string]string{"private_ip": C.GoString(privateIP)}, tunFD: int(tunFD)}
	return turnOnC(r, exitSettings, entrySettings, logSinkFn, logCtx)
}

//export wgEntryHandle
func wgEntryHandle(handle C.int32_t) C.int32_t { return C.int32_t(entryHandleOf(int32(handle))) }
