package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"wgcore/libwg/internal/offloads"
	"wgcore/libwg/internal/udpbind"
)

// wgcoreVersion is set at build time with -ldflags "-X main.wgcoreVersion=...".
var wgcoreVersion = "unknown"

const (
	wireguardModule = "golang.zx2c4.com/wireguard"
	gvisorModule    = "gvisor.dev/gvisor" // netstack tunnels' TCP/IP stack
)

// versionText describes this build as "key=value" lines.
func versionText() string {
	var b strings.Builder
	fmt.Fprintf(&b, "wgcore=%s\n", wgcoreVersion)
	fmt.Fprintf(&b, "go=%s\n", runtime.Version())
	module := moduleVersion(wireguardModule)
	fmt.Fprintf(&b, "wireguard_go=%s\n", module)
	fmt.Fprintf(&b, "wireguard_go_commit=%s\n", pseudoVersionCommit(module))
	fmt.Fprintf(&b, "daita=%t\n", daitaCompiledIn)
	fmt.Fprintf(&b, "maybenot=%s\n", maybenotVersion())
	fmt.Fprintf(&b, "gvisor=%s\n", moduleVersion(gvisorModule))
	fmt.Fprintf(&b, "offloads=%s\n", offloadsText())
	return b.String()
}

// offloadsText says which fast paths tunnels take on this kernel: the UDP
// sockets' (probed), and the TUN's for fds opened with IFF_VNET_HDR.
func offloadsText() string {
	if offloads.Refused() {
		return "refused (" + offloads.RefuseVar + "=1): plain UDP and TUN"
	}
	return "udp " + udpbind.Probe() + ", tun vnet-hdr (tso+csum, as the kernel allows)"
}

// moduleVersion names the module at path linked in, with the module
// that replaces it if go.mod has a replace directive.
func moduleVersion(path string) string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	for _, dep := range info.Deps {
		if dep.Path != path {
			continue
		}
		if dep.Replace != nil {
			return dep.Replace.Path + "@" + dep.Replace.Version
		}
		return dep.Path + "@" + dep.Version
	}
	return "unknown"
}

// pseudoVersionCommit is the commit a "path@v0.0.0-date-commit" names.
func pseudoVersionCommit(module string) string {
	i := strings.LastIndexByte(module, '-')
	if i < 0 || len(module)-i-1 != 12 {
		return "unknown"
	}
	return module[i+1:]
}
