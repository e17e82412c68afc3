package main

/*
#include "traffic.h"
*/
import "C"

import "wgcore/libwg/internal/traffic"

func cCount(c traffic.Count) C.wg_count {
	return C.wg_count{packets: C.uint64_t(c.Packets), bytes: C.uint64_t(c.Bytes)}
}

func cWire(w traffic.Wire) C.wg_wire_counts {
	return C.wg_wire_counts{
		initiation: cCount(w.Initiation), response: cCount(w.Response), cookie: cCount(w.Cookie),
		data: cCount(w.Data), keepalive: cCount(w.Keepalive), other: cCount(w.Other),
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
	s := t.counts.Load()
	*out = C.wg_traffic{
		from_app: cCount(s.FromApp), to_app: cCount(s.ToApp), no_route: cCount(s.NoRoute),
		peer_stopped: cCount(s.PeerStopped), staging_dropped: cCount(s.StagingDropped),
		unreachable_sent: cCount(s.UnreachableSent),
		sent:             cWire(s.Sent), received: cWire(s.Received),
	}
	return 0
}
