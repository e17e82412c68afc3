//go:build daita

// Package daitaview reads, without changing anything, the two things of
// the fork's DAITA that libwg must see to stop a peer safely: the peer's
// DAITA instance (Peer.daita, to hand its event loop an event) and how
// many padding timers of it have not finished (MaybenotDaita.stopping, a
// WaitGroup counting the event loop plus each pending or running timer).
// The fork exports neither; reflect finds them by name once, and Resolve
// fails if a future fork or Go renames or retypes them.
package daitaview

import (
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.zx2c4.com/wireguard/device"
)

// offsets of Peer.daita, MaybenotDaita.stopping and WaitGroup.state.
type offsets struct{ daita, stopping, state uintptr }

// Resolve finds the fields once; its error says which one moved.
var Resolve = sync.OnceValues(func() (offsets, error) {
	var o offsets
	for _, f := range []struct {
		owner, want reflect.Type
		name        string
		offset      *uintptr
	}{
		{reflect.TypeFor[device.Peer](), reflect.TypeFor[device.Daita](), "daita", &o.daita},
		{reflect.TypeFor[device.MaybenotDaita](), reflect.TypeFor[sync.WaitGroup](), "stopping", &o.stopping},
		{reflect.TypeFor[sync.WaitGroup](), reflect.TypeFor[atomic.Uint64](), "state", &o.state},
	} {
		field, ok := f.owner.FieldByName(f.name)
		if !ok || field.Type != f.want {
			return o, fmt.Errorf("%v has no field %s of type %v: libwg cannot stop DAITA safely on this wireguard-go or Go", f.owner, f.name, f.want)
		}
		*f.offset = field.Offset
	}
	return o, nil
})

// Of is p's DAITA instance, nil if it has none. The caller makes sure no
// one enables or stops DAITA on p meanwhile (libwg does both itself).
func Of(p *device.Peer) device.Daita {
	o, err := Resolve()
	if err != nil {
		return nil
	}
	return *(*device.Daita)(unsafe.Add(unsafe.Pointer(p), o.daita))
}

// PendingTimers is how many padding timers of d are scheduled or running;
// false if d is not the fork's maybenot DAITA.
func PendingTimers(d device.Daita) (int, bool) {
	m, ok := d.(*device.MaybenotDaita)
	o, err := Resolve()
	if !ok || m == nil || err != nil {
		return 0, false
	}
	stopping := (*sync.WaitGroup)(unsafe.Add(unsafe.Pointer(m), o.stopping))
	return counter(stopping, o) - 1, true // one is the event loop's
}

// counter is wg's counter: the top 32 bits of its state.
func counter(wg *sync.WaitGroup, o offsets) int {
	return int(int32((*atomic.Uint64)(unsafe.Add(unsafe.Pointer(wg), o.state)).Load() >> 32))
}
