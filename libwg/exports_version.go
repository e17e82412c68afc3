package main

/*
#include <stdint.h>
*/
import "C"

import "unsafe"

//export wgVersion
func wgVersion() *C.char {
	return C.CString(versionText())
}

//export wgDerivePublicKey
func wgDerivePublicKey(privateKey *C.uint8_t, publicKeyOut *C.uint8_t) C.int32_t {
	if privateKey == nil || publicKeyOut == nil {
		return C.int32_t(fail(errInvalidArgument, "key pointers must not be NULL"))
	}
	pub, err := publicKey(unsafe.Slice((*byte)(unsafe.Pointer(privateKey)), keyLen))
	if err != nil {
		return C.int32_t(fail(errInvalidArgument, "%v", err))
	}
	copy(unsafe.Slice((*byte)(unsafe.Pointer(publicKeyOut)), keyLen), pub)
	return 0
}
