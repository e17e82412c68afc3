package main

import (
	"os"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"wgcore/libwg/internal/tuntest"
)

// startMode turns a tunnel on as wgTurnOnMode does (settings and, for
// two hops, entry settings given) and turns it off at cleanup.
func startMode(t testing.TB, r *turnOn) int32 {
	t.Helper()
	runtime.LockOSThread() // the last error is kept per thread
	defer runtime.UnlockOSThread()
	handle, code := turnOnMode(r, true, r.entrySettings != "")
	if code != 0 {
		e, _ := takeLastError()
		t.Fatalf("turning on mode %q: %d %s", r.mode, code, e.message)
	}
	t.Cleanup(func() {
		if t, ok := tunnels.Remove(handle); ok {
			t.turnOff()
		}
	})
	return handle
}

// turnOnFails turns on r, which must fail with code and a message holding
// each of want.
func turnOnFails(t *testing.T, r *turnOn, haveEntry bool, code int32, want ...string) {
	t.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	before := tunnels.Len()
	if _, got := turnOnMode(r, true, haveEntry); got != code {
		t.Errorf("mode %q, params %v: code %d, want %d", r.mode, r.params, got, code)
	}
	e, _ := takeLastError()
	for _, w := range want {
		if !strings.Contains(e.message, w) {
			t.Errorf("mode %q, params %v: message %q does not say %q", r.mode, r.params, e.message, w)
		}
	}
	if tunnels.Len() != before {
		t.Errorf("a failed turn-on left %d handles in use", tunnels.Len()-before)
	}
}

func TestTurnOnModeRefusesWhatTheModeDoesNotTake(t *testing.T) {
	p := func(kv ...string) map[string]string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	for _, c := range []struct {
		r         turnOn
		haveEntry bool
		want      []string
	}{
		{turnOn{mode: "nope"}, false, []string{`unknown mode "nope"`, "memory, multihop, netstack, tun"}},
		{turnOn{mode: "memory", params: p("colour", "red")}, false, []string{`mode "memory" takes no parameter "colour"`, "it takes: transport"}},
		{turnOn{mode: "memory", params: p("addresses", "10.0.0.1")}, false, []string{`mode "memory" takes no parameter "addresses"`}},
		{turnOn{mode: "memory", params: p("transport", "tcp")}, false, []string{`transport must be udp or host, got "tcp"`}},
		{turnOn{mode: "memory", params: p("transport", "")}, false, []string{`transport must be udp or host, got ""`}},
		{turnOn{mode: "memory"}, true, []string{`mode "memory" has one hop: entry_settings must be NULL`}},
		{turnOn{mode: "netstack", params: p("transport", "host")}, false, []string{`mode "netstack" takes no parameter "transport"`, "it takes: addresses, dns"}},
		{turnOn{mode: "netstack", params: p("dns", "")}, false, []string{"at least one interface address"}},
		{turnOn{mode: "netstack", params: p("addresses", "10.0.0.1", "dns", "nope")}, false, []string{`DNS server "nope"`}},
		{turnOn{mode: "tun"}, false, []string{`tun_fd -1 is not a file descriptor: mode "tun" runs over a kernel TUN`}},
		{turnOn{mode: "multihop", params: p("private_ip", "10.64.0.2")}, false, []string{`mode "multihop" needs entry_settings`}},
		{turnOn{mode: "multihop"}, true, []string{`mode "multihop" needs private_ip=<IPv4>`}},
		{turnOn{mode: "multihop", params: p("private_ip", "10.64.0.2", "dns", "")}, true, []string{`mode "multihop" takes no parameter "dns" (it takes: private_ip, transport)`}},
	} {
		r := c.r
		r.mtu, r.tunFD = 1420, -1
		turnOnFails(t, &r, c.haveEntry, errInvalidArgument, c.want...)
	}
}

func TestTurnOnModeChecksTheMTUOfEveryMode(t *testing.T) {
	for _, mode := range []string{"memory", "netstack", "multihop"} {
		turnOnFails(t, &turnOn{mode: mode, mtu: 100, tunFD: -1}, mode == "multihop", errInvalidArgument, "mtu 100 is outside 576..65475")
	}
}

// A tun fd is libwg's whatever the result: a mode that takes none, or a
// turn-on that fails, closes it.
func TestTurnOnModeClosesAnUnusedTunFD(t *testing.T) {
	for _, c := range []struct {
		mode, want string
		params     map[string]string
	}{
		{"memory", `mode "memory" takes no TUN: tun_fd must be -1`, nil},
		{"nope", `unknown mode "nope"`, nil},
		{"tun", `mode "tun" takes no parameter "transport" (it takes: none)`, map[string]string{"transport": "udp"}},
	} {
		var pipe [2]int
		if err := unix.Pipe2(pipe[:], unix.O_CLOEXEC); err != nil {
			t.Fatal(err)
		}
		defer unix.Close(pipe[1])
		turnOnFails(t, &turnOn{mode: c.mode, mtu: 1420, params: c.params, tunFD: pipe[0]}, false, errInvalidArgument, c.want)
		if _, err := unix.FcntlInt(uintptr(pipe[0]), unix.F_GETFD, 0); err != unix.EBADF {
			t.Errorf("mode %q: the tun fd is still open (%v)", c.mode, err)
			unix.Close(pipe[0])
		}
	}
}

func TestParseParams(t *testing.T) {
	got, err := parseParams("transport=host\n\naddresses=10.0.0.1,fd00::1\ndns=\n")
	if err != nil || len(got) != 3 || got["transport"] != "host" || got["addresses"] != "10.0.0.1,fd00::1" || got["dns"] != "" {
		t.Errorf("got %v, %v", got, err)
	}
	if got, err := parseParams(""); err != nil || len(got) != 0 {
		t.Errorf("empty params: %v, %v", got, err)
	}
	for text, want := range map[string]string{
		"transport":                    `params line "transport" is not key=value`,
		"=udp":                         `params line "=udp" is not key=value`,
		"transport=udp\ntransport=udp": `params give "transport" twice`,
	} {
		if _, err := parseParams(text); err == nil || err.Error() != want {
			t.Errorf("%q: %v, want %q", text, err, want)
		}
	}
}

// Mode "tun" (wgTurnOn) runs over the kernel TUN it is given, whose MTU
// it sets; turning it off frees the interface.
func TestTurnOnModeTunSetsTheInterfaceMTU(t *testing.T) {
	tuntest.InTestNetns(t, func() {
		fd, name := tuntest.Open(t, unix.IFF_TUN|unix.IFF_NO_PI)
		handle := startMode(t, &turnOn{mode: "tun", mtu: 1400, tunFD: fd})
		mtu, err := os.ReadFile("/sys/class/net/" + name + "/mtu")
		if err != nil || strings.TrimSpace(string(mtu)) != "1400" {
			t.Errorf("interface MTU %q (%v), want 1400", mtu, err)
		}
		if code := turnOffHandle(handle); code != 0 {
			t.Fatalf("turn off: %d", code)
		}
		if _, err := os.Stat("/sys/class/net/" + name); err == nil {
			t.Error("the TUN interface outlived its tunnel")
		}
	})
}
