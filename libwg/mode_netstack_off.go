//go:build upstream

package main

import "wgcore/libwg/internal/netsock"

// netstackMode is never made on upstream wireguard-go: the gVisor its
// tun/netstack pins builds with go1.13..go1.20 only.
type netstackMode struct {
	mode
	stack *netsock.Stack
}

func init() {
	registerMode("netstack", modeSpec{missing: "netstack tunnels need Mullvad's wireguard-go fork; this libwg was built on upstream wireguard-go, " +
		"whose pinned gVisor does not build with this Go"})
}
