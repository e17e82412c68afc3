//go:build daita

package main

/*
const char *maybenot_version(void);
*/
import "C"

import "golang.zx2c4.com/wireguard/device"

// daitaCompiledIn is true: the fork's DAITA and maybenot are linked in.
const daitaCompiledIn = true

func maybenotVersion() string { return C.GoString(C.maybenot_version()) }

// enableDaita starts maybenot for peer once every machine has been checked:
// the fork panics, killing the host process, on any action but padding.
func enableDaita(t *tunnel, peer *device.Peer, machines string, limits daitaLimits) int32 {
	if err := checkMachines(machines, t.mtu); err != nil {
		return fail(errDaita, "%v", err)
	}
	if !peer.EnableDaita(machines, limits.eventsCapacity, limits.actionsCapacity, limits.maxPaddingFrac, limits.maxBlockingFrac) {
		return fail(errDaita, "the fork refused to enable DAITA for this peer (already active, or the peer is stopping; see the wgcore.go log)")
	}
	return 0
}
