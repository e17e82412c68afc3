package main

/*
#include <stdint.h>
*/
import "C"

//export wgGetSocketV4
func wgGetSocketV4(handle C.int32_t) C.int32_t { return C.int32_t(socketFD(int32(handle), false)) }

//export wgGetSocketV6
func wgGetSocketV6(handle C.int32_t) C.int32_t { return C.int32_t(socketFD(int32(handle), true)) }
