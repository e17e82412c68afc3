//go:build !daita

package main

import "golang.zx2c4.com/wireguard/device"

// daitaCompiledIn is false: this libwg was built without the daita tag
// (no maybenot), on the fork or on upstream wireguard-go.
const daitaCompiledIn = false

func maybenotVersion() string { return "none" }

// enableDaita reports an unknown peer as a DAITA build does, else that
// DAITA is missing.
func enableDaita(t *tunnel, key device.NoisePublicKey, _ string, _ daitaLimits) int32 {
	if _, code := lookupPeer(t, key[:]); code != 0 {
		return code
	}
	return fail(errDaita, "DAITA is not compiled into this libwg")
}

// pauseDaita has nothing to pause without DAITA.
func (t *tunnel) pauseDaita([]device.NoisePublicKey) []device.NoisePublicKey { return nil }

func (t *tunnel) resumeDaita([]device.NoisePublicKey) {}
