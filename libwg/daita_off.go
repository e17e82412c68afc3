//go:build !daita

package main

import "golang.zx2c4.com/wireguard/device"

// daitaCompiledIn is false: this libwg was built without the daita tag
// (no maybenot), on the fork or on upstream wireguard-go.
const daitaCompiledIn = false

func maybenotVersion() string { return "none" }

func enableDaita(*tunnel, device.NoisePublicKey, string, daitaLimits) int32 {
	return fail(errDaita, "DAITA is not compiled into this libwg")
}

// pauseDaita has nothing to pause without DAITA.
func (t *tunnel) pauseDaita([]device.NoisePublicKey) []device.NoisePublicKey { return nil }

func (t *tunnel) resumeDaita([]device.NoisePublicKey) {}
