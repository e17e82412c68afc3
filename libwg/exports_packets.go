package main

/*
#include <stddef.h>
#include <stdint.h>
#include "wg_ring.h"
*/
import "C"

import (
	"time"
	"unsafe"

	"wgcore/libwg/internal/packetqueue"
)

//export wgWrite
func wgWrite(handle C.int32_t, kind C.int32_t, packets **C.uint8_t, lens *C.uint32_t, count C.uint32_t, timeoutMs C.int32_t) C.int32_t {
	q, code := lookupHostQueue(handle, kind)
	if code != 0 {
		return C.int32_t(code)
	}
	if count > 0 && (packets == nil || lens == nil) {
		return C.int32_t(fail(errInvalidArgument, "packets and lens must not be NULL"))
	}
	ptrs := unsafe.Slice(packets, int(count))
	sizes := unsafe.Slice(lens, int(count))
	packet := func(i int) []byte {
		return unsafe.Slice((*byte)(unsafe.Pointer(ptrs[i])), int(sizes[i]))
	}
	for i := range ptrs {
		if err := q.check(packet(i)); err != nil {
			return C.int32_t(fail(errInvalidArgument, "packet %d: %v", i, err))
		}
	}
	n, err := q.write.Put(int(count), packet, timeoutOf(timeoutMs), nil)
	if err != nil {
		return C.int32_t(queueErrorCode(err, handle))
	}
	return C.int32_t(n)
}

//export wgRead
func wgRead(handle C.int32_t, kind C.int32_t, buf *C.uint8_t, bufLen C.size_t, lens *C.uint32_t, maxCount C.uint32_t, timeoutMs C.int32_t) C.int32_t {
	q, code := lookupHostQueue(handle, kind)
	if code != 0 {
		return C.int32_t(code)
	}
	if maxCount > 0 && (buf == nil || lens == nil) {
		return C.int32_t(fail(errInvalidArgument, "buf and lens must not be NULL"))
	}
	dst := unsafe.Slice((*byte)(unsafe.Pointer(buf)), int(bufLen))
	n, err := q.read.Take(dst, unsafe.Slice((*uint32)(unsafe.Pointer(lens)), int(maxCount)), timeoutOf(timeoutMs), nil)
	if err == packetqueue.ErrTooBig {
		return C.int32_t(fail(errBufferTooSmall, "the next packet does not fit %d bytes", int(bufLen)))
	}
	if err != nil {
		return C.int32_t(queueErrorCode(err, handle))
	}
	return C.int32_t(n)
}

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

func timeoutOf(ms C.int32_t) time.Duration {
	if ms < 0 {
		return -1
	}
	return time.Duration(ms) * time.Millisecond
}

func queueErrorCode(err error, handle C.int32_t) int32 {
	if err == packetqueue.ErrClosed {
		return fail(errUnknownTunnel, "tunnel %d was turned off", int32(handle))
	}
	return fail(errGeneral, "%v", err)
}
