//go:build upstream

package main

import "golang.zx2c4.com/wireguard/tun"

// startMultihop refuses: upstream wireguard-go has no tun/multihoptun.
func startMultihop(_ multihopPlan, _ logSink, _, _ string, userTun tun.Device, _ int32) (int32, int32) {
	if userTun != nil {
		userTun.Close()
	}
	return -1, fail(errNotSupported, "multihop needs Mullvad's wireguard-go fork (tun/multihoptun); this libwg was built on upstream wireguard-go")
}
