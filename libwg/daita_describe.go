package main

/*
#include <stdint.h>
*/
import "C"

//export wgDaitaDescribeMachines
func wgDaitaDescribeMachines(machines *C.char, mtu C.int32_t) *C.char {
	if machines == nil {
		fail(errInvalidArgument, "machines must not be NULL")
		return nil
	}
	if mtu < 0 || mtu > maxMTU {
		fail(errInvalidArgument, "mtu must be 0 (unknown) to %d, got %d", maxMTU, mtu)
		return nil
	}
	json, code := describeMachines(C.GoString(machines), uint16(mtu))
	if code != 0 {
		return nil
	}
	return C.CString(json)
}
