package main

/*
#include "wg_rules.h"
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// The rules libwg shares with its host have one owner, wg_rules.h: Go
// takes its numbers from there through cgo, and the host's checks of what
// it writes into the rings are the header's static inline C.
const (
	minMTU           = C.WG_MIN_MTU
	maxMTU           = C.WG_MAX_MTU
	defaultMTU       = C.WG_DEFAULT_MTU
	datagramOverhead = C.WG_DATAGRAM_OVERHEAD
	hopOverhead      = C.WG_MULTIHOP_OVERHEAD
	multihopMinMTU   = C.WG_MULTIHOP_MIN_MTU
)

// ipPacketProblem is wg_ip_packet_problem in the words the host's error
// gives (wgcore/_packets.pxi), or nil: why p cannot be an IP packet a
// tunnel of mtu bytes sends. libwg does not check what the host writes
// (the host does, in C); Go's tests hold libwg's packets to the rule.
func ipPacketProblem(p []byte, mtu int) error {
	var version, stated C.uint32_t
	var data *C.uint8_t
	if len(p) > 0 {
		data = (*C.uint8_t)(unsafe.Pointer(&p[0]))
	}
	switch C.wg_ip_packet_problem(data, C.size_t(len(p)), C.uint32_t(mtu), &version, &stated) {
	case C.WG_PACKET_OK:
		return nil
	case C.WG_PACKET_TOO_BIG:
		return fmt.Errorf("%d bytes is more than the MTU (%d)", len(p), mtu)
	case C.WG_PACKET_EMPTY:
		return fmt.Errorf("empty packet")
	case C.WG_PACKET_BAD_VERSION:
		return fmt.Errorf("IP version %d is neither 4 nor 6", version)
	case C.WG_PACKET_TOO_SHORT:
		return fmt.Errorf("%d bytes is too short for IPv%d", len(p), version)
	default:
		return fmt.Errorf("the IP header says %d bytes, the packet has %d", stated, len(p))
	}
}

// datagramSizeOK is wg_datagram_size_ok: whether n bytes can be a datagram
// of a host-carried tunnel of mtu bytes (1..mtu + WG_DATAGRAM_OVERHEAD).
func datagramSizeOK(n, mtu int) bool {
	return C.wg_datagram_size_ok(C.size_t(n), C.uint32_t(mtu)) != 0
}
