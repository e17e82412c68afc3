//go:build upstream

package main

func init() {
	registerMode("multihop", modeSpec{missing: "multihop needs Mullvad's wireguard-go fork (tun/multihoptun); this libwg was built on upstream wireguard-go"})
}
