package main

import (
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"

	"golang.zx2c4.com/wireguard/device"
)

// daitaMaxCapacity bounds the fork's DAITA queues (WG_DAITA_MAX_CAPACITY):
// each event queued is answered before a peer stops, and a channel of
// billions of events would not even be made.
const daitaMaxCapacity = 65536

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
	case l.eventsCapacity < 1 || l.eventsCapacity > daitaMaxCapacity:
		return fmt.Errorf("events_capacity must be 1..%d, got %d", daitaMaxCapacity, l.eventsCapacity)
	case l.actionsCapacity < 1 || l.actionsCapacity > daitaMaxCapacity:
		return fmt.Errorf("actions_capacity must be 1..%d, got %d", daitaMaxCapacity, l.actionsCapacity)
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

// daitaPeer is a peer libwg turned DAITA on for, and the id of its
// maybenot framework (subprojects/maybenot/src/pause.rs).
type daitaPeer struct {
	peer *device.Peer
	id   uint64
}

// setPausingDaita applies settings to the device, with DAITA paused on
// every peer they may stop and the TUN reader parked while they do.
func (t *tunnel) setPausingDaita(settings string) error {
	stopping := t.daitaPeersStoppedBy(settings)
	if len(stopping) == 0 {
		return t.dev.IpcSet(settings)
	}
	t.reader.Hold()
	defer t.reader.Release()
	paused := t.pauseDaita(stopping)
	defer t.resumeDaita(paused)
	return t.dev.IpcSet(settings)
}

// daitaPeersStoppedBy are the peers with DAITA that settings may stop.
func (t *tunnel) daitaPeersStoppedBy(settings string) []device.NoisePublicKey {
	all, keys := peersASetRemoves(settings)
	if all {
		return slices.Collect(maps.Keys(t.daita))
	}
	return keys
}

// peersASetRemoves reads which peers UAPI "set" text may stop: every peer
// if it replaces them, a peer it removes, and a peer whose key is that of
// a new private key (wireguard-go drops it). Malformed lines are left to
// the set itself to refuse.
func peersASetRemoves(settings string) (all bool, keys []device.NoisePublicKey) {
	var section *device.NoisePublicKey
	for _, line := range strings.Split(settings, "\n") {
		key, value, _ := strings.Cut(line, "=")
		switch key {
		case "replace_peers":
			all = all || value == "true"
		case "private_key":
			if private, err := hex.DecodeString(value); err == nil && len(private) == keyLen {
				public, _ := publicKey(private)
				keys = append(keys, device.NoisePublicKey(public))
			}
		case "public_key":
			section = nil
			if public, err := hex.DecodeString(value); err == nil && len(public) == keyLen {
				section = (*device.NoisePublicKey)(public)
			}
		case "remove":
			if value == "true" && section != nil {
				keys = append(keys, *section)
			}
		}
	}
	return all, keys
}
