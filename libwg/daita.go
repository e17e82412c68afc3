package main

import (
	"encoding/hex"
	"fmt"

	"golang.zx2c4.com/wireguard/device"
)

// daitaLimits are the framework-wide bounds and queue sizes of one peer's
// maybenot instance.
type daitaLimits struct {
	maxPaddingFrac, maxBlockingFrac float64 // fractions in [0, 1], 0 = no limit
	eventsCapacity, actionsCapacity uint
}

func (l daitaLimits) check() error {
	switch {
	case !(l.maxPaddingFrac >= 0 && l.maxPaddingFrac <= 1):
		return fmt.Errorf("max_padding_frac must be in [0, 1], got %v", l.maxPaddingFrac)
	case !(l.maxBlockingFrac >= 0 && l.maxBlockingFrac <= 1):
		return fmt.Errorf("max_blocking_frac must be in [0, 1], got %v", l.maxBlockingFrac)
	case l.eventsCapacity == 0 || l.actionsCapacity == 0:
		return fmt.Errorf("events_capacity and actions_capacity must be positive")
	}
	return nil
}

func lookupPeer(t *tunnel, key []byte) (*device.Peer, int32) {
	var pk device.NoisePublicKey
	copy(pk[:], key)
	peer := t.dev.LookupPeer(pk)
	if peer == nil {
		return nil, fail(errUnknownPeer, "no peer with public key %s", hex.EncodeToString(pk[:]))
	}
	return peer, 0
}
