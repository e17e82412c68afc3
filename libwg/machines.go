//go:build daita

package main

/*
#cgo LDFLAGS: -lmaybenot -lm
#include <stdlib.h>
#include "wgcore_maybenot.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"unsafe"
)

// checkMachines returns why Mullvad's fork cannot run the LF-separated
// maybenot machines safely on a tunnel of mtu bytes (naming the machine),
// or nil. The checks are wgcore's, in libmaybenot.a (subprojects/maybenot).
func checkMachines(machines string, mtu int) error {
	if mtu < 1 || mtu > maxMTU {
		return fmt.Errorf("the tunnel's MTU, %d, is outside 1..%d", mtu, maxMTU)
	}
	text := C.CString(machines)
	defer C.free(unsafe.Pointer(text))
	reason := C.wgcore_maybenot_check(text, C.uint16_t(mtu))
	if reason == nil {
		return nil
	}
	defer C.wgcore_maybenot_free(reason)
	return errors.New(C.GoString(reason))
}

// describeMachines is the JSON wgDaitaDescribeMachines returns, for an mtu
// of 0 (unknown) to maxMTU.
func describeMachines(machines string, mtu uint16) (string, int32) {
	text := C.CString(machines)
	defer C.free(unsafe.Pointer(text))
	json := C.wgcore_maybenot_describe(text, C.uint16_t(mtu))
	defer C.wgcore_maybenot_free(json)
	return C.GoString(json), 0
}
