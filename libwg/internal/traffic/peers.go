package traffic

import (
	"encoding/hex"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.zx2c4.com/wireguard/device"
)

// peerView reads, without changing anything, the two things of a
// wireguard-go peer that decide whether a packet handed to it is dropped:
// whether it runs, and how full its staging queue is. wireguard-go does
// not export them; reflect finds them by name once (peerFields), and a
// test fails if a future wireguard-go renames or retypes them.
type peerView struct {
	running  *atomic.Bool  // Peer.isRunning
	staged   reflect.Value // Peer.queue.staged, a chan *QueueOutboundElement
	capacity int           // its capacity (QueueStagedSize)
}

// dropsNext reports whether the device drops a packet it hands to the
// peer, or one it staged before it: a stopped peer skips the packet; a
// full staging queue (no session yet) drops its oldest packet to stage
// this one. Only the device's TUN reader adds to the queue, so a queue
// seen not full stays so until this packet is staged; one seen full may
// be drained in between by a handshake completing at that instant.
func (p *peerView) dropsNext() (stopped, staging bool) {
	if !p.running.Load() {
		return true, false
	}
	return false, p.staged.Len() == p.capacity
}

// peerFields are the field indexes of Peer.isRunning and
// Peer.queue.staged, resolved once.
var peerFields = sync.OnceValues(func() (fields [2][]int, err error) {
	peer := reflect.TypeFor[device.Peer]()
	wants := []struct {
		path []string
		typ  reflect.Type
	}{
		{[]string{"isRunning"}, reflect.TypeFor[atomic.Bool]()},
		{[]string{"queue", "staged"}, reflect.TypeFor[chan *device.QueueOutboundElement]()},
	}
	for i, want := range wants {
		typ := peer
		for _, name := range want.path {
			f, ok := typ.FieldByName(name)
			if !ok {
				return fields, fmt.Errorf("wireguard-go's Peer has no field %v", want.path)
			}
			fields[i] = append(fields[i], f.Index...)
			typ = f.Type
		}
		if typ != want.typ {
			return fields, fmt.Errorf("wireguard-go's Peer field %v is a %v, not a %v", want.path, typ, want.typ)
		}
	}
	return fields, nil
})

// viewPeer is the view of p.
func viewPeer(p *device.Peer) (*peerView, error) {
	fields, err := peerFields()
	if err != nil {
		return nil, err
	}
	v := reflect.ValueOf(p).Elem()
	running := (*atomic.Bool)(unsafe.Pointer(v.FieldByIndex(fields[0]).UnsafeAddr())) // only ever Load-ed
	staged := v.FieldByIndex(fields[1])
	return &peerView{running: running, staged: staged, capacity: staged.Cap()}, nil
}

// viewPeers views the device's peer of each public key (hex) in keys,
// in order; nil for a key the device has no peer for.
func viewPeers(dev *device.Device, keys []string) ([]*peerView, error) {
	views := make([]*peerView, len(keys))
	for i, key := range keys {
		var pk device.NoisePublicKey
		if b, err := hex.DecodeString(key); err != nil || len(b) != len(pk) {
			return nil, fmt.Errorf("public key %q is not %d bytes of hex", key, len(pk))
		} else {
			copy(pk[:], b)
		}
		if p := dev.LookupPeer(pk); p != nil {
			view, err := viewPeer(p)
			if err != nil {
				return nil, err
			}
			views[i] = view
		}
	}
	return views, nil
}
