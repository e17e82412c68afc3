package main

/*
#include <stdlib.h>
#include "log_sink.h"

static void call_log_sink(wg_log_sink sink, uint32_t level, const char *msg, uint64_t ctx) {
	sink(level, msg, ctx);
}
*/
import "C"

import (
	"fmt"
	"sync"
	"unsafe"

	"golang.zx2c4.com/wireguard/device"
)

// Log levels passed to a log sink.
const (
	logLevelError   = 1
	logLevelVerbose = 2
)

// sinkGate lets wgDisableLogging wait out callbacks in flight and stop new
// ones, so nothing calls into a host that is shutting down.
var sinkGate = struct {
	sync.RWMutex
	disabled bool
}{}

// logSink forwards log lines to a C callback; a nil callback discards them.
type logSink struct {
	fn     C.wg_log_sink
	ctx    C.uint64_t
	prefix string // before every line, e.g. which hop of a multihop tunnel logs it
}

func (s logSink) emit(level uint32, format string, args ...any) {
	if s.fn == nil {
		return
	}
	msg := C.CString(s.prefix + fmt.Sprintf(format, args...))
	defer C.free(unsafe.Pointer(msg))
	sinkGate.RLock()
	defer sinkGate.RUnlock()
	if !sinkGate.disabled {
		C.call_log_sink(s.fn, C.uint32_t(level), msg, s.ctx)
	}
}

// pausedPaddingLine is the fork's error line for a padding action of a size
// outside 4..MTU. Machines are checked to never ask for one, so size 0
// comes from the no-op actions of a paused framework (pauseDaita): no error.
const pausedPaddingLine = "DAITA padding action contained invalid size %v bytes"

func (s logSink) deviceLogger() *device.Logger {
	return &device.Logger{
		Verbosef: func(format string, args ...any) { s.emit(logLevelVerbose, format, args...) },
		Errorf: func(format string, args ...any) {
			if format == pausedPaddingLine && len(args) == 1 && args[0] == uint16(0) {
				s.emit(logLevelVerbose, "DAITA: dropped the padding a paused machine had pending")
				return
			}
			s.emit(logLevelError, "%s", redact(fmt.Sprintf(format, args...)))
		},
	}
}

func disableLogSinks() {
	sinkGate.Lock()
	sinkGate.disabled = true
	sinkGate.Unlock()
}
