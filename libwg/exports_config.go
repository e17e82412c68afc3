package main

/*
#include <stdint.h>
#include <stdlib.h>
*/
import "C"

import "unsafe"

//export wgGetConfig
func wgGetConfig(handle C.int32_t) *C.char {
	t, code := lookupTunnel(int32(handle))
	if code != 0 {
		return nil
	}
	text, err := t.dev.IpcGet()
	if err != nil {
		fail(errGeneral, "reading config: %v", err)
		return nil
	}
	return C.CString(text)
}

//export wgSetConfig
func wgSetConfig(handle C.int32_t, settings *C.char) C.int32_t {
	t, code := lookupTunnel(int32(handle))
	if code != 0 {
		return C.int32_t(code)
	}
	if settings == nil {
		return C.int32_t(fail(errInvalidArgument, "settings is NULL; pass UAPI text"))
	}
	text := C.GoString(settings)
	if err := t.setConfig(text); err != nil {
		return C.int32_t(fail(ipcErrorCode(err), "%s", settingsError(err, text)))
	}
	return 0
}

//export wgFreePtr
func wgFreePtr(ptr unsafe.Pointer) {
	C.free(ptr)
}

//export wgTakeLastError
func wgTakeLastError(code *C.int32_t) *C.char {
	e, ok := takeLastError()
	if !ok {
		return nil
	}
	if code != nil {
		*code = C.int32_t(e.code)
	}
	return C.CString(e.message)
}
