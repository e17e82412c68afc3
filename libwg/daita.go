package main

/*
#include <stdint.h>
*/
import "C"

import (
	"encoding/hex"
	"unsafe"

	"golang.zx2c4.com/wireguard/device"
)

// daitaCompiledIn is false: this build links upstream wireguard-go, which
// has no Peer.EnableDaita (see README, "DAITA").
const daitaCompiledIn = false

//export wgActivateDaita
func wgActivateDaita(handle C.int32_t, peerPubkey *C.uint8_t, machines *C.char, maxPaddingFrac C.double, maxBlockingFrac C.double, eventsCapacity C.uint32_t, actionsCapacity C.uint32_t) C.int32_t {
	t, code := lookupTunnel(handle)
	if code != 0 {
		return C.int32_t(code)
	}
	if peerPubkey == nil || machines == nil {
		return C.int32_t(fail(errInvalidArgument, "peer key and machines must not be NULL"))
	}
	if code := lookupPeer(t, peerPubkey); code != 0 {
		return C.int32_t(code)
	}
	return C.int32_t(fail(errDaita, "DAITA is not compiled into this libwg"))
}

func lookupPeer(t *tunnel, key *C.uint8_t) int32 {
	var pk device.NoisePublicKey
	copy(pk[:], unsafe.Slice((*byte)(unsafe.Pointer(key)), keyLen))
	if t.dev.LookupPeer(pk) == nil {
		return fail(errUnknownPeer, "no peer with public key %s", hex.EncodeToString(pk[:]))
	}
	return 0
}
