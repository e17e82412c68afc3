package main

import (
	"fmt"
	"sync"

	"golang.org/x/sys/unix"
)

// Error codes returned by the exported functions; libwg.h documents them.
const (
	errGeneral         = -1
	errIntermittent    = -2
	errInvalidArgument = -3
	errUnknownTunnel   = -4
	errUnknownPeer     = -5
	errDaita           = -6
	errBufferTooSmall  = -7
	errNotSupported    = -8
)

// callError is the code and detail of a failed call.
type callError struct {
	code    int32
	message string
}

// A C call from a foreign thread runs its Go code on that same OS thread,
// so the last failure is kept per thread id until the caller takes it with
// wgTakeLastError.
var lastErrors = struct {
	sync.Mutex
	byThread map[int]callError
}{byThread: make(map[int]callError)}

// fail records code and a message for the calling thread and returns code.
func fail(code int32, format string, args ...any) int32 {
	lastErrors.Lock()
	lastErrors.byThread[unix.Gettid()] = callError{code, fmt.Sprintf(format, args...)}
	lastErrors.Unlock()
	return code
}

// takeLastError returns and forgets the calling thread's last failure.
func takeLastError() (callError, bool) {
	tid := unix.Gettid()
	lastErrors.Lock()
	defer lastErrors.Unlock()
	e, ok := lastErrors.byThread[tid]
	delete(lastErrors.byThread, tid)
	return e, ok
}
