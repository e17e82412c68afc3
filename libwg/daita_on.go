//go:build daita

package main

/*
#cgo LDFLAGS: -Wl,--wrap=maybenot_start -Wl,--wrap=maybenot_num_machines -Wl,--wrap=maybenot_on_events -Wl,--wrap=maybenot_stop
#include <stdlib.h>
#include "wgcore_maybenot.h"
// found under -I, as the fork's device/daita.go finds it
#include "../maybenot/crates/maybenot-ffi/maybenot.h"
*/
import "C"

import (
	"sync"
	"time"
	"unsafe"

	"golang.zx2c4.com/wireguard/device"

	"wgcore/libwg/internal/daitaview"
)

// daitaCompiledIn is true: the fork's DAITA and maybenot are linked in.
const daitaCompiledIn = true

// daitaPauseBound is how long pausing DAITA before a peer stops may take
// (normally well under a millisecond: the event loop answers the no-ops,
// the timers they leave fire at once).
const daitaPauseBound = 500 * time.Millisecond

// daitaStarts keeps the fork's EnableDaita and the reading of the id of
// the framework it started together.
var daitaStarts sync.Mutex

func maybenotVersion() string { return C.GoString(C.maybenot_version()) }

// enableDaita starts maybenot for the peer of key once every machine has
// been checked (the fork panics, killing the host process, on any action
// but padding), and records its framework so the peer can be stopped
// safely (pauseDaita).
func enableDaita(t *tunnel, key device.NoisePublicKey, machines string, limits daitaLimits) int32 {
	t.setMu.Lock()
	defer t.setMu.Unlock()
	peer, code := lookupPeer(t, key[:])
	if code != 0 {
		return code
	}
	if err := checkMachines(machines, t.mtu); err != nil {
		return fail(errDaita, "%v", err)
	}
	if _, err := daitaview.Resolve(); err != nil {
		return fail(errDaita, "%v", err)
	}
	if !pausable() {
		return fail(errDaita, "libwg was linked without -Wl,--wrap=maybenot_*: DAITA could not be stopped safely")
	}
	daitaStarts.Lock()
	defer daitaStarts.Unlock()
	t.reader.Hold()
	defer t.reader.Release()
	if !peer.EnableDaita(machines, limits.eventsCapacity, limits.actionsCapacity, limits.maxPaddingFrac, limits.maxBlockingFrac) {
		return fail(errDaita, "the fork refused to enable DAITA for this peer (already active, or the peer is stopping; see the wgcore.go log)")
	}
	t.daita[key] = daitaPeer{peer: peer, id: uint64(C.wgcore_maybenot_last_started())}
	return 0
}

// pauseDaita pauses the DAITA of the peers of keys before the device may
// stop them, and returns those it paused: afterwards no padding timer of
// theirs is pending or running, and their event loops hand out no more
// actions, so the fork's teardown neither races its timer map nor calls
// through a peer's DAITA after setting it to nil (ARCHITECTURE.md, "DAITA
// teardown"). The caller holds t.setMu.
func (t *tunnel) pauseDaita(keys []device.NoisePublicKey) []device.NoisePublicKey {
	var paused []device.NoisePublicKey
	for _, key := range keys {
		p, ok := t.daita[key]
		if !ok {
			continue
		}
		if C.wgcore_maybenot_pause(C.uint64_t(p.id)) != 0 {
			delete(t.daita, key) // its framework stopped with its peer
			continue
		}
		paused = append(paused, key)
	}
	deadline := time.Now().Add(daitaPauseBound)
	for _, key := range paused {
		p := t.daita[key]
		d := daitaview.Of(p.peer)
		for C.wgcore_maybenot_paused(C.uint64_t(p.id)) == 0 {
			if d != nil {
				d.NonpaddingReceived(p.peer, 0) // an event for the loop to answer
			}
			if !waitUntil(deadline) {
				t.log.emit(logLevelError, "DAITA of peer %v did not pause within %v", p.peer, daitaPauseBound)
				break
			}
		}
		for n, ok := daitaview.PendingTimers(d); ok && n > 0; n, ok = daitaview.PendingTimers(d) {
			if !waitUntil(deadline) {
				t.log.emit(logLevelError, "%d DAITA padding timers of peer %v still running after %v", n, p.peer, daitaPauseBound)
				break
			}
		}
	}
	return paused
}

// resumeDaita lets the paused peers that are still there pad again and
// forgets the others.
func (t *tunnel) resumeDaita(paused []device.NoisePublicKey) {
	for _, key := range paused {
		p := t.daita[key]
		if t.dev.LookupPeer(key) == p.peer {
			C.wgcore_maybenot_resume(C.uint64_t(p.id))
		} else {
			delete(t.daita, key)
		}
	}
}

// pausable reports whether the frameworks the fork starts are the pausable
// ones: a framework of no machines, started as the fork starts one, must
// get a new id.
var pausable = sync.OnceValue(func() bool {
	daitaStarts.Lock()
	defer daitaStarts.Unlock()
	before := C.wgcore_maybenot_last_started()
	none := C.CString("")
	defer C.free(unsafe.Pointer(none))
	var framework *C.MaybenotFramework
	if C.maybenot_start(none, 0, 0, defaultMTU, &framework) != 0 {
		return false
	}
	C.maybenot_stop(framework)
	return C.wgcore_maybenot_last_started() != before
})

// waitUntil sleeps a moment; false once deadline has passed.
func waitUntil(deadline time.Time) bool {
	time.Sleep(50 * time.Microsecond)
	return time.Now().Before(deadline)
}
