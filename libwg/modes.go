package main

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"golang.zx2c4.com/wireguard/tun"

	"wgcore/libwg/internal/hostgate"
	"wgcore/libwg/internal/tunfd"
)

// Every turn-on goes through turnOnMode (wgTurnOnMode, and wgTurnOn and
// wgTurnOnMultihop over it): the mode's name picks its modeSpec, which its
// mode_*.go file registers. A new mode is a new mode_*.go file and its
// tests: no new export, no change to libwg.h.

// modeSpec is what a mode takes at turn-on and how it starts.
type modeSpec struct {
	params []string  // the keys of params it takes (each optional: its builder says what is missing)
	tunFD  tunFDRule // whether it runs over a kernel TUN fd
	hops   int       // 2: settings are the exit hop's, entry_settings the entry hop's; else 1
	// start turns the tunnel on and returns its handle, or -1 and the
	// code of a fail. It calls r.openTun to use r.tunFD; a tun fd it did
	// not open is closed after it returns.
	start func(r *turnOn) (int32, int32)
	// missing, if set, says why this build of libwg lacks the mode
	// (WG_ERR_NOT_SUPPORTED).
	missing string
}

// tunFDRule is whether a mode runs over a kernel TUN fd.
type tunFDRule int

const (
	tunFDNone     tunFDRule = iota // tun_fd must be -1
	tunFDRequired                  // tun_fd must be >= 0
	tunFDOptional                  // either: a TUN, or in-memory packets
)

var modes = map[string]modeSpec{}

// registerMode adds a mode; each mode_*.go file registers its own in init.
func registerMode(name string, spec modeSpec) {
	if _, taken := modes[name]; taken {
		panic(fmt.Sprintf("mode %q registered twice", name))
	}
	modes[name] = spec
}

// turnOn is one turn-on call: the arguments of wgTurnOnMode, in Go.
type turnOn struct {
	mode          string
	mtu           int32
	settings      string
	entrySettings string // a multihop tunnel's entry hop's
	params        map[string]string
	tunFD         int // -1: none
	tunOpened     bool
	log           logSink
}

// turnOnMode checks what every mode shares, then starts the mode. The tun
// fd, if any, is libwg's whatever the result: closed on failure.
func turnOnMode(r *turnOn, haveSettings, haveEntry bool) (int32, int32) {
	defer func() {
		if !r.tunOpened {
			tunfd.CloseUnused(r.tunFD)
		}
	}()
	spec, ok := modes[r.mode]
	if !ok {
		return -1, fail(errInvalidArgument, "unknown mode %q: the modes are %s", r.mode, strings.Join(slices.Sorted(maps.Keys(modes)), ", "))
	}
	if spec.missing != "" {
		return -1, fail(errNotSupported, "%s", spec.missing)
	}
	if code := checkTurnOn(r.mtu, haveSettings); code != 0 {
		return -1, code
	}
	switch {
	case spec.hops == 2 && !haveEntry:
		return -1, fail(errInvalidArgument, "mode %q needs entry_settings, the entry hop's UAPI text (settings are the exit hop's)", r.mode)
	case spec.hops != 2 && haveEntry:
		return -1, fail(errInvalidArgument, "mode %q has one hop: entry_settings must be NULL", r.mode)
	case spec.tunFD == tunFDRequired && r.tunFD < 0:
		return -1, fail(errInvalidArgument, "tun_fd %d is not a file descriptor: mode %q runs over a kernel TUN", r.tunFD, r.mode)
	case spec.tunFD == tunFDNone && r.tunFD >= 0:
		return -1, fail(errInvalidArgument, "mode %q takes no TUN: tun_fd must be -1, got %d", r.mode, r.tunFD)
	}
	for _, key := range slices.Sorted(maps.Keys(r.params)) {
		if !slices.Contains(spec.params, key) {
			takes := "none"
			if len(spec.params) > 0 {
				takes = strings.Join(spec.params, ", ")
			}
			return -1, fail(errInvalidArgument, "mode %q takes no parameter %q (it takes: %s)", r.mode, key, takes)
		}
	}
	return spec.start(r)
}

// parseParams reads "key=value" lines separated by "\n" (blank lines are
// skipped); a key given twice, or a line with no "=", is an error.
func parseParams(text string) (map[string]string, error) {
	params := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		if line == "" {
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok || key == "" {
			return nil, fmt.Errorf("params line %q is not key=value", line)
		}
		if _, twice := params[key]; twice {
			return nil, fmt.Errorf("params give %q twice", key)
		}
		params[key] = value
	}
	return params, nil
}

// openTun opens the turn-on's kernel TUN with the interface's MTU. On
// failure the fd is closed and the code of the fail returned.
func (r *turnOn) openTun(mtu int) (tun.Device, int32) {
	r.tunOpened = true
	dev, path, err := tunfd.Open(r.tunFD, mtu)
	if err != nil {
		tunfd.CloseUnused(r.tunFD)
		r.log.emit(logLevelError, "turning on mode %q: %v", r.mode, err)
		return nil, fail(errInvalidArgument, "%v", err)
	}
	r.log.emit(logLevelVerbose, "turning on mode %q: TUN path: %s", r.mode, path)
	return dev, 0
}

// hostCarried reads the transport parameter of the modes that take one:
// "udp" (the default: UDP sockets) or "host" (the host carries the
// datagrams, WG_KIND_DATAGRAMS).
func (r *turnOn) hostCarried() (bool, int32) {
	transport, given := r.params["transport"]
	switch {
	case !given || transport == "udp":
		return false, 0
	case transport == "host":
		return true, 0
	default:
		return false, fail(errInvalidArgument, "mode %q: transport must be udp or host, got %q", r.mode, transport)
	}
}

// startSingle starts a one-hop tunnel whose mode build makes.
func (r *turnOn) startSingle(build func(gate *hostgate.Gate) mode) (int32, int32) {
	return newTunnel(r.log, build).start(r.settings)
}
