//go:build daita && !upstream

package main

import (
	"encoding/hex"
	"testing"
	"time"

	"golang.zx2c4.com/wireguard/device"
)

// DAITA on the entry hop (as Mullvad runs it) pads between the client and
// the entry relay only: the entry relay takes more data messages than it
// delivers, the exit relay exactly as many.
func TestMultihopDaitaOnTheEntryHopPadsToTheEntryRelayOnly(t *testing.T) {
	entryRelay, exitRelay := startRelays(t)
	handle, exit, entry := startMultihopClient(t, "host")
	n := &multihopNet{handle: handle, exit: exit, entry: entry, entryRelay: entryRelay, exitRelay: exitRelay}
	n.carry()
	defer n.halt()
	var key device.NoisePublicKey
	pub, _ := hex.DecodeString(pubHex(t, 6))
	copy(key[:], pub)
	limits := daitaLimits{eventsCapacity: 64, actionsCapacity: 64}
	if code := enableDaita(entry, key, goodMachine().String(), limits); code != 0 {
		e, _ := takeLastError()
		t.Fatalf("enabling DAITA on the entry hop: %d %s", code, e.message)
	}
	roundTrip(t, n, 200)
	padding := func(r *tunnel) uint64 {
		c := r.counts.Load()
		return c.Received.Data.Packets - c.ToApp.Packets
	}
	deadline := time.Now().Add(5 * time.Second)
	for padding(entryRelay) < 5 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := padding(entryRelay); got < 5 {
		t.Errorf("the entry relay got %d data messages it did not deliver, want the machine's 5 paddings", got)
	}
	if got := padding(exitRelay); got != 0 {
		t.Errorf("the exit relay got %d undelivered data messages: padding leaked past the entry hop", got)
	}
}
