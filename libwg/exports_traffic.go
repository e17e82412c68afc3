package main

/*
#include "traffic.h"
*/
import "C"

func cCount(c counted) C.wg_count {
	return C.wg_count{packets: C.uint64_t(c.packets), bytes: C.uint64_t(c.bytes)}
}

func cWire(w wireSnapshot) C.wg_wire_counts {
	return C.wg_wire_counts{
		initiation: cCount(w.initiation), response: cCount(w.response), cookie: cCount(w.cookie),
		data: cCount(w.data), keepalive: cCount(w.keepalive), other: cCount(w.other),
	}
}

//export wgGetTraffic
func wgGetTraffic(handle C.int32_t, out *C.wg_traffic) C.int32_t {
	t, code := lookupTunnel(int32(handle))
	if code == 0 && out == nil {
		code = fail(errInvalidArgument, "out must not be NULL")
	}
	if code != 0 {
		return C.int32_t(code)
	}
	s := t.counts.load()
	*out = C.wg_traffic{
		from_app: cCount(s.fromApp), to_app: cCount(s.toApp), no_route: cCount(s.noRoute),
		sent: cWire(s.sent), received: cWire(s.received),
	}
	return 0
}
