//go:build daita && !upstream

package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"golang.zx2c4.com/wireguard/device"
)

// The fork's packet paths test Peer.daita and then call through it, with no
// lock, while Peer.Stop may set it to nil. That is safe only if the call
// reuses the interface's type word loaded for the test (a nil receiver
// then meets MaybenotDaita.event's nil check); a second load could find
// nil and crash the process. The pause (daita_on.go) covers the timers
// that call through it unchecked; this checks, in the fork's device
// package compiled by this Go, that no call line of the packet paths loads
// the field again (ARCHITECTURE.md, "DAITA teardown").
func TestForkPacketPathsCallThroughPeerDaitaWithoutReloadingIt(t *testing.T) {
	field, ok := reflect.TypeFor[device.Peer]().FieldByName("daita")
	if !ok {
		t.Fatal("wireguard-go's Peer has no daita field")
	}
	load := fmt.Sprintf("0x%x(", field.Offset) // MOVQ <offset>(peer), reg: the type word
	dir, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "golang.zx2c4.com/wireguard").Output()
	if err != nil {
		t.Fatalf("finding the fork's source: %v", err)
	}
	calls := map[string]bool{} // "receive.go:473" for each line calling through peer.daita after testing it
	for _, file := range []string{"receive.go", "send.go"} {
		text, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(dir)), "device", file))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(text), "\n")
		for i, line := range lines {
			if strings.Contains(line, "peer.daita.") && i > 0 && strings.Contains(lines[i-1]+lines[max(i-14, 0)], "peer.daita != nil") {
				calls[fmt.Sprintf("%s:%d", file, i+1)] = true
			}
		}
	}
	if len(calls) < 4 {
		t.Fatalf("found %d checked calls through peer.daita in the fork, want 4 (receive.go 3, send.go 1): %v", len(calls), calls)
	}
	archive := filepath.Join(t.TempDir(), "device.a") // the package as libwg.so links it (go test strips its binary)
	if out, err := exec.Command("go", "build", "-tags", "daita", "-o", archive, "golang.zx2c4.com/wireguard/device").CombinedOutput(); err != nil {
		t.Fatalf("building the fork's device package: %v\n%s", err, out)
	}
	out, err := exec.Command("go", "tool", "objdump", "-s",
		`device\.\(\*Peer\)\.RoutineSequentialReceiver|device\.\(\*Device\)\.RoutineReadFromTUN`, archive).Output()
	if err != nil {
		t.Fatalf("objdump: %v %s", err, stderrOf(err))
	}
	seen := map[string]bool{}
	for _, line := range strings.Split(string(out), "\n") {
		fields := strings.Fields(line)
		if len(fields) < 4 || !calls[fields[0]] {
			continue
		}
		seen[fields[0]] = true
		if strings.Contains(line, "MOVQ "+load) {
			t.Errorf("%s loads Peer.daita again before calling through it: %s", fields[0], strings.Join(fields[3:], " "))
		}
	}
	if len(seen) != len(calls) {
		t.Fatalf("the compiled code has instructions for %v of the calls %v", seen, calls)
	}
}

func stderrOf(err error) []byte {
	if e, ok := err.(*exec.ExitError); ok {
		return e.Stderr
	}
	return nil
}
