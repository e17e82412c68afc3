package main

import (
	"encoding/hex"
	"os"
	"runtime"
	"strings"
	"testing"
)

// refusal is the message settingsError gives for settings applied to a
// fresh in-memory tunnel; the set must fail.
func refusal(t *testing.T, settings string) string {
	t.Helper()
	tun := startMem(t, "udp", "")
	err := tun.setConfig(settings)
	if err == nil {
		t.Fatalf("%q was accepted", settings)
	}
	return settingsError(err, settings)
}

func TestSettingsErrorsSpeakTheUsersTerms(t *testing.T) {
	key := hex.EncodeToString(testKey(7))
	for _, c := range []struct {
		settings string
		want     []string
	}{
		{"[Interface]\nPrivateKey = abc\n", []string{".conf file ([Interface])", "Interface.from_conf"}},
		{"private_key=zz\n", []string{"private_key is not a key", "64 hex digits"}},
		{"private_key " + key + "\n", []string{`failed to parse line "private_key (hidden)"`, "key=value"}},
		{"public_key=" + key + "\npreshared_key=" + key[:60] + "\n", []string{"preshared_key is not a key"}},
		{"listen_port " + key + "\n", []string{`"listen_port (hidden)"`}},
		{"listen_port=x\n", []string{"listen_port"}},
	} {
		got := refusal(t, c.settings)
		for _, w := range c.want {
			if !strings.Contains(got, w) {
				t.Errorf("%q: %q does not say %q", c.settings, got, w)
			}
		}
		if strings.Contains(got, "IPC error") || strings.Contains(got, key[:43]) {
			t.Errorf("%q: %q shows wireguard-go's code or a key", c.settings, got)
		}
	}
}

func TestModesSayWhatTheyLack(t *testing.T) {
	_, err := newTunFDMode(nil).hostQueue(kindPackets)
	if err == nil || !strings.Contains(err.Error(), "kernel TUN") || !strings.Contains(err.Error(), "Tunnel.in_memory") {
		t.Errorf("kernel TUN mode: %v", err)
	}
	udp := startMem(t, "udp", "")
	if _, err := udp.mode.hostQueue(kindDatagrams); err == nil || !strings.Contains(err.Error(), `transport="host"`) {
		t.Errorf("in-memory UDP mode, datagrams: %v", err)
	}
	if _, code := udp.hostQueue(kindDatagrams); code != errNotSupported {
		t.Errorf("in-memory UDP mode, datagrams: code %d", code)
	}
	if _, code := udp.hostQueue(7); code != errInvalidArgument {
		t.Errorf("kind 7: code %d", code)
	}
	host := startMem(t, "host", "")
	if _, err := host.mode.socketFD(false); err == nil || modeErrorCode(err) != errNotSupported {
		t.Errorf("host-carried mode, socket: %v", err)
	}
}

func TestTurnOnChecksMTUInTheUsersTerms(t *testing.T) {
	runtime.LockOSThread() // the last error is kept per thread
	defer runtime.UnlockOSThread()
	if code := checkTurnOn(70, true); code != errInvalidArgument {
		t.Fatalf("mtu 70: code %d", code)
	}
	if e, _ := takeLastError(); e.message != "mtu 70 is outside 576..65475" {
		t.Errorf("mtu 70: %q", e.message)
	}
	if code := checkTurnOn(minMTU, true); code != 0 {
		t.Errorf("mtu %d refused", minMTU)
	}
}

// TestRedactFollowsTheCorpus holds redact to testdata/redaction.txt, the
// corpus tests/test_secrets.py holds wgcore.errors.redact to.
func TestRedactFollowsTheCorpus(t *testing.T) {
	text, err := os.ReadFile("testdata/redaction.txt")
	if err != nil {
		t.Fatal(err)
	}
	unescape := strings.NewReplacer(`\\`, `\`, `\n`, "\n", `\t`, "\t")
	var lines []string
	for _, line := range strings.Split(string(text), "\n") {
		if line != "" && !strings.HasPrefix(line, "#") {
			lines = append(lines, line)
		}
	}
	if len(lines) < 20 || len(lines)%2 != 0 {
		t.Fatalf("malformed corpus: %d lines", len(lines))
	}
	for i := 0; i < len(lines); i += 2 {
		in, ok1 := strings.CutPrefix(lines[i], "in: ")
		want, ok2 := strings.CutPrefix(lines[i+1], "out: ")
		if !ok1 || !ok2 {
			t.Fatalf("malformed corpus at %q", lines[i])
		}
		in, want = unescape.Replace(in), unescape.Replace(want)
		if got := redact(in); got != want {
			t.Errorf("redact(%q) = %q, want %q", in, got, want)
		}
		if got := redact(want); got != want {
			t.Errorf("redact(%q) = %q: not idempotent", want, got)
		}
	}
}
