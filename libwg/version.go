package main

import "C"

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// wgcoreVersion is set at build time with -ldflags "-X main.wgcoreVersion=...".
var wgcoreVersion = "unknown"

const wireguardModule = "golang.zx2c4.com/wireguard"

// versionText describes this build as "key=value" lines.
func versionText() string {
	var b strings.Builder
	fmt.Fprintf(&b, "wgcore=%s\n", wgcoreVersion)
	fmt.Fprintf(&b, "go=%s\n", runtime.Version())
	fmt.Fprintf(&b, "wireguard_go=%s\n", wireguardGoVersion())
	fmt.Fprintf(&b, "daita=%t\n", daitaCompiledIn)
	return b.String()
}

// wireguardGoVersion names the wireguard-go module linked in, with the
// module that replaces it if go.mod has a replace directive.
func wireguardGoVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	for _, dep := range info.Deps {
		if dep.Path != wireguardModule {
			continue
		}
		if dep.Replace != nil {
			return dep.Replace.Path + "@" + dep.Replace.Version
		}
		return dep.Path + "@" + dep.Version
	}
	return "unknown"
}

//export wgVersion
func wgVersion() *C.char {
	return C.CString(versionText())
}
