package main

import (
	"net/netip"
	"regexp"
	"slices"
)

// A multihop tunnel is two devices: the exit hop, on the user's side,
// whose datagrams travel as IPv4/UDP packets inside the entry hop, whose
// datagrams go over UDP sockets or the host's link. The exit tunnel's mode
// owns the entry tunnel (mode_multihop.go); the entry has a handle of its
// own so every per-handle function works on either hop.

// multihopPlan is what a multihop turn-on takes beyond a single hop's.
type multihopPlan struct {
	entryMTU, exitMTU int
	local             netip.Addr     // private_ip: the exit device's address inside the entry tunnel
	remote            netip.AddrPort // the exit endpoint, from the exit settings
}

// exitHop is the mode of a multihop tunnel's exit hop.
type exitHop interface{ entryHandle() int32 }

// entryHop is the mode of a multihop tunnel's entry hop.
type entryHop interface{ exitOwnsMe() }

var endpointLine = regexp.MustCompile(`(?m)^endpoint=(.*)$`)

// planMultihop checks what a multihop turn-on takes beyond checkTurnOn.
func planMultihop(mtu int32, exitSettings, privateIP string) (multihopPlan, int32) {
	p := multihopPlan{entryMTU: int(mtu), exitMTU: int(mtu) - hopOverhead}
	if mtu < multihopMinMTU {
		return p, fail(errInvalidArgument, "mtu %d leaves the exit hop %d bytes (mtu - %d), less than %d: give at least %d",
			mtu, p.exitMTU, hopOverhead, minMTU, multihopMinMTU)
	}
	local, err := netip.ParseAddr(privateIP)
	if err != nil || !local.Is4() {
		return p, fail(errInvalidArgument, "private_ip %q is not an IPv4 address: give the exit hop's IPv4 address inside the entry tunnel (the fork's hop is IPv4 only)", privateIP)
	}
	p.local = local
	var endpoints []string
	for _, m := range endpointLine.FindAllStringSubmatch(exitSettings, -1) {
		if !slices.Contains(endpoints, m[1]) {
			endpoints = append(endpoints, m[1])
		}
	}
	if len(endpoints) != 1 {
		return p, fail(errInvalidArgument, "the exit settings name %d peer endpoints %q: a multihop exit needs exactly one, the exit relay's", len(endpoints), endpoints)
	}
	remote, err := netip.ParseAddrPort(endpoints[0])
	if err != nil || !remote.Addr().Unmap().Is4() {
		return p, fail(errInvalidArgument, "the exit endpoint %q is not an IPv4 address and port (the fork's hop is IPv4 only)", endpoints[0])
	}
	p.remote = netip.AddrPortFrom(remote.Addr().Unmap(), remote.Port())
	return p, 0
}

// entryHandleOf is the entry hop's handle of the multihop tunnel handle.
func entryHandleOf(handle int32) int32 {
	t, code := lookupTunnel(handle)
	if code != 0 {
		return code
	}
	if _, isEntry := t.mode.(entryHop); isEntry {
		return handle
	}
	exit, ok := t.mode.(exitHop)
	if !ok {
		return fail(errNotSupported, "tunnel %d is a single-hop tunnel: it has no entry hop", handle)
	}
	return exit.entryHandle()
}

// prefixLastError puts prefix before the message of the last failure.
func prefixLastError(code int32, prefix string) int32 {
	e, _ := takeLastError()
	return fail(code, "%s%s", prefix, e.message)
}
