// Package main is libwg: wireguard-go behind a plain C ABI (see libwg.h).
//
// The //export functions live in exports_*.go, one file per section of
// libwg.h and in its order: lifecycle (wgTurnOnMode and its wrappers,
// wgTurnOff), packets (wgReadyFd, wgPacketRing), traffic, config (and
// wgFreePtr, wgTakeLastError), daita, sockets, logging, version (and keys). They are
// thin: they check C arguments, look the tunnel up and ask it, or its
// mode (mode.go, mode_*.go, turned on through modes.go), to act.
package main

import "C"

func main() {}
