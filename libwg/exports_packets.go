package main

/*
#include <stddef.h>
#include <stdint.h>
#include "wg_ring.h"
*/
import "C"

//export wgReadyFd
func wgReadyFd(handle C.int32_t, kind C.int32_t) C.int32_t {
	q, code := lookupHostQueue(handle, kind)
	if code != 0 {
		return C.int32_t(code)
	}
	fd, err := q.read.ReadinessFD()
	if err != nil {
		return C.int32_t(fail(errGeneral, "eventfd: %v", err))
	}
	return C.int32_t(fd)
}

//export wgPacketRing
func wgPacketRing(handle C.int32_t, kind C.int32_t, hostWrites **C.wg_ring, hostReads **C.wg_ring) C.int32_t {
	if hostWrites == nil || hostReads == nil {
		return C.int32_t(fail(errInvalidArgument, "host_writes and host_reads must not be NULL"))
	}
	q, code := lookupHostQueue(handle, kind)
	if code != 0 {
		return C.int32_t(code)
	}
	write, read := q.write.HostRing(), q.read.HostRing()
	if write == nil || read == nil {
		if write != nil {
			C.wg_ring_release((*C.wg_ring)(write))
		}
		if read != nil {
			C.wg_ring_release((*C.wg_ring)(read))
		}
		return C.int32_t(fail(errUnknownTunnel, "tunnel %d was turned off", int32(handle)))
	}
	*hostWrites, *hostReads = (*C.wg_ring)(write), (*C.wg_ring)(read)
	return 0
}

func lookupHostQueue(handle, kind C.int32_t) (*hostQueue, int32) {
	t, code := lookupTunnel(int32(handle))
	if code != 0 {
		return nil, code
	}
	return t.hostQueue(int32(kind))
}
