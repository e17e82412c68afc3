package main

/*
#include <stdint.h>
*/
import "C"

import (
	"unsafe"

	"golang.zx2c4.com/wireguard/device"
)

//export wgActivateDaita
func wgActivateDaita(handle C.int32_t, peerPubkey *C.uint8_t, machines *C.char, maxPaddingFrac C.double, maxBlockingFrac C.double, eventsCapacity C.uint32_t, actionsCapacity C.uint32_t) C.int32_t {
	t, code := lookupTunnel(int32(handle))
	if code != 0 {
		return C.int32_t(code)
	}
	if peerPubkey == nil || machines == nil {
		return C.int32_t(fail(errInvalidArgument, "peer key and machines must not be NULL"))
	}
	key := device.NoisePublicKey(C.GoBytes(unsafe.Pointer(peerPubkey), keyLen))
	limits := daitaLimits{
		maxPaddingFrac:  float64(maxPaddingFrac),
		maxBlockingFrac: float64(maxBlockingFrac),
		eventsCapacity:  uint(eventsCapacity),
		actionsCapacity: uint(actionsCapacity),
	}
	if err := limits.check(); err != nil {
		return C.int32_t(fail(errInvalidArgument, "%v", err))
	}
	return C.int32_t(enableDaita(t, key, C.GoString(machines), limits))
}

//export wgDaitaDescribeMachines
func wgDaitaDescribeMachines(machines *C.char, mtu C.int32_t) *C.char {
	if machines == nil {
		fail(errInvalidArgument, "machines must not be NULL")
		return nil
	}
	if mtu < 0 || mtu > maxMTU {
		fail(errInvalidArgument, "mtu must be 1..%d (0: not known), got %d", maxMTU, mtu)
		return nil
	}
	json, code := describeMachines(C.GoString(machines), uint16(mtu))
	if code != 0 {
		return nil
	}
	return C.CString(json)
}
