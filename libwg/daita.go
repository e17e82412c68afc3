package main

/*
#include <stdint.h>
*/
import "C"

import (
	"encoding/hex"
	"fmt"
	"unsafe"

	"golang.zx2c4.com/wireguard/device"
)

//export wgActivateDaita
func wgActivateDaita(handle C.int32_t, peerPubkey *C.uint8_t, machines *C.char, maxPaddingFrac C.double, maxBlockingFrac C.double, eventsCapacity C.uint32_t, actionsCapacity C.uint32_t) C.int32_t {
	t, code := lookupTunnel(handle)
	if code != 0 {
		return C.int32_t(code)
	}
	if peerPubkey == nil || machines == nil {
		return C.int32_t(fail(errInvalidArgument, "peer key and machines must not be NULL"))
	}
	peer, code := lookupPeer(t, peerPubkey)
	if code != 0 {
		return C.int32_t(code)
	}
	limits := daitaLimits{
		maxPaddingFrac:  float64(maxPaddingFrac),
		maxBlockingFrac: float64(maxBlockingFrac),
		eventsCapacity:  uint(eventsCapacity),
		actionsCapacity: uint(actionsCapacity),
	}
	if err := limits.check(); err != nil {
		return C.int32_t(fail(errInvalidArgument, "%v", err))
	}
	return C.int32_t(enableDaita(t, peer, C.GoString(machines), limits))
}

// daitaLimits are the framework-wide bounds and queue sizes of one peer's
// maybenot instance.
type daitaLimits struct {
	maxPaddingFrac, maxBlockingFrac float64 // fractions in [0, 1], 0 = no limit
	eventsCapacity, actionsCapacity uint
}

func (l daitaLimits) check() error {
	switch {
	case !(l.maxPaddingFrac >= 0 && l.maxPaddingFrac <= 1):
		return fmt.Errorf("max_padding_frac must be in [0, 1], got %v", l.maxPaddingFrac)
	case !(l.maxBlockingFrac >= 0 && l.maxBlockingFrac <= 1):
		return fmt.Errorf("max_blocking_frac must be in [0, 1], got %v", l.maxBlockingFrac)
	case l.eventsCapacity == 0 || l.actionsCapacity == 0:
		return fmt.Errorf("events_capacity and actions_capacity must be positive")
	}
	return nil
}

func lookupPeer(t *tunnel, key *C.uint8_t) (*device.Peer, int32) {
	var pk device.NoisePublicKey
	copy(pk[:], unsafe.Slice((*byte)(unsafe.Pointer(key)), keyLen))
	peer := t.dev.LookupPeer(pk)
	if peer == nil {
		return nil, fail(errUnknownPeer, "no peer with public key %s", hex.EncodeToString(pk[:]))
	}
	return peer, 0
}
