package main

/*
#include <stddef.h>
#include "log_sink.h"
*/
import "C"

import (
	"time"
	"unsafe"
)

// What a host reads and writes on an in-memory tunnel (libwg.h WG_KIND_*).
const (
	kindPackets   = 0 // plaintext IP packets: written ones are sent, read ones arrived
	kindDatagrams = 1 // ciphertext datagrams of a host-carried transport
)

// Transports of an in-memory tunnel (libwg.h WG_TRANSPORT_*).
const (
	transportUDP  = 0
	transportHost = 1
)

const queueCapacity = 1024

//export wgTurnOnInMemory
func wgTurnOnInMemory(mtu C.int32_t, settings *C.char, transport C.int32_t, logSinkFn C.wg_log_sink, logCtx C.uint64_t) C.int32_t {
	if !validMTU(mtu) || settings == nil || (transport != transportUDP && transport != transportHost) {
		return C.int32_t(fail(errInvalidArgument, "need %d <= mtu <= %d, settings and a known transport", minMTU, maxMTU))
	}
	t := newInMemoryTunnel(logSink{fn: logSinkFn, ctx: logCtx}, int(mtu), int(transport))
	handle, code := startTunnel(t, t.mem, C.GoString(settings))
	if code != 0 {
		return C.int32_t(code)
	}
	return C.int32_t(handle)
}

// newInMemoryTunnel builds (but does not start) a tunnel on an in-memory
// TUN over transport.
func newInMemoryTunnel(log logSink, mtu, transport int) *tunnel {
	t := newTunnel(log)
	t.mem = newMemTun(mtu, queueCapacity, t.gate)
	if transport == transportHost {
		t.link = newMemBind(mtu, queueCapacity, t.gate)
		t.bind = t.link
	} else {
		t.bind = &udpBind{}
	}
	return t
}

// hostQueues returns the queue a host writes kind into and the one it
// reads kind from.
func hostQueues(handle, kind C.int32_t) (t *tunnel, write, read *packetQueue, code int32) {
	t, code = lookupTunnel(handle)
	if code != 0 {
		return nil, nil, nil, code
	}
	switch {
	case kind == kindPackets && t.mem != nil:
		return t, t.mem.outbound, t.mem.inbound, 0
	case kind == kindDatagrams && t.link != nil:
		return t, t.link.inbound, t.link.outbound, 0
	case kind == kindPackets || kind == kindDatagrams:
		return nil, nil, nil, fail(errNotSupported, "tunnel %d has no in-memory queue of kind %d", int32(handle), int32(kind))
	}
	return nil, nil, nil, fail(errInvalidArgument, "unknown kind %d", int32(kind))
}

func timeoutOf(ms C.int32_t) time.Duration {
	if ms < 0 {
		return -1
	}
	return time.Duration(ms) * time.Millisecond
}

func queueErrorCode(err error, handle C.int32_t) int32 {
	if err == errQueueClosed {
		return fail(errUnknownTunnel, "tunnel %d was turned off", int32(handle))
	}
	return fail(errGeneral, "%v", err)
}

//export wgWrite
func wgWrite(handle C.int32_t, kind C.int32_t, packets **C.uint8_t, lens *C.uint32_t, count C.uint32_t, timeoutMs C.int32_t) C.int32_t {
	t, write, _, code := hostQueues(handle, kind)
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
		if err := checkWritable(packet(i), kind, t.mem.mtu); err != nil {
			return C.int32_t(fail(errInvalidArgument, "packet %d: %v", i, err))
		}
	}
	n, err := write.put(int(count), packet, timeoutOf(timeoutMs), nil)
	if err != nil {
		return C.int32_t(queueErrorCode(err, handle))
	}
	return C.int32_t(n)
}

func checkWritable(p []byte, kind C.int32_t, mtu int) error {
	if kind == kindPackets {
		return checkIPPacket(p, mtu)
	}
	if len(p) == 0 || len(p) > maxDatagram(mtu) {
		return errDatagramSize(len(p), maxDatagram(mtu))
	}
	return nil
}

//export wgRead
func wgRead(handle C.int32_t, kind C.int32_t, buf *C.uint8_t, bufLen C.size_t, lens *C.uint32_t, maxCount C.uint32_t, timeoutMs C.int32_t) C.int32_t {
	_, _, read, code := hostQueues(handle, kind)
	if code != 0 {
		return C.int32_t(code)
	}
	if maxCount > 0 && (buf == nil || lens == nil) {
		return C.int32_t(fail(errInvalidArgument, "buf and lens must not be NULL"))
	}
	dst := unsafe.Slice((*byte)(unsafe.Pointer(buf)), int(bufLen))
	n, err := read.take(dst, unsafe.Slice((*uint32)(unsafe.Pointer(lens)), int(maxCount)), timeoutOf(timeoutMs), nil)
	if err == errPacketTooBig {
		return C.int32_t(fail(errBufferTooSmall, "the next packet does not fit %d bytes", int(bufLen)))
	}
	if err != nil {
		return C.int32_t(queueErrorCode(err, handle))
	}
	return C.int32_t(n)
}

//export wgReadyFd
func wgReadyFd(handle C.int32_t, kind C.int32_t) C.int32_t {
	_, _, read, code := hostQueues(handle, kind)
	if code != 0 {
		return C.int32_t(code)
	}
	fd, err := read.readinessFD()
	if err != nil {
		return C.int32_t(fail(errGeneral, "eventfd: %v", err))
	}
	return C.int32_t(fd)
}
