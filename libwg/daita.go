package main

/*
#include <stdint.h>
*/
import "C"

// daitaCompiledIn is false: this build links upstream wireguard-go, which
// has no Peer.EnableDaita (see README, "DAITA").
const daitaCompiledIn = false

//export wgActivateDaita
func wgActivateDaita(handle C.int32_t, peerPubkey *C.uint8_t, machines *C.char, maxPaddingFrac C.double, maxBlockingFrac C.double, eventsCapacity C.uint32_t, actionsCapacity C.uint32_t) C.int32_t {
	if _, code := lookupTunnel(handle); code != 0 {
		return C.int32_t(code)
	}
	return C.int32_t(fail(errDaita, "DAITA is not compiled into this libwg"))
}
