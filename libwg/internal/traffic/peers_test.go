package traffic

import (
	"strings"
	"testing"
	"time"

	"golang.zx2c4.com/wireguard/device"

	"wgcore/libwg/internal/hostgate"
	"wgcore/libwg/internal/membind"
	"wgcore/libwg/internal/memtun"
	"wgcore/libwg/internal/packettest"
)

// TestPeerFieldsResolve fails if wireguard-go (the fork, or upstream with
// -modfile=go.upstream.mod -tags upstream) renamed or retyped the peer
// fields staging drops are counted from.
func TestPeerFieldsResolve(t *testing.T) {
	if _, err := peerFields(); err != nil {
		t.Fatal(err)
	}
}

// TestStagingDropsAreCountedExactly hands packets to a peer that does not
// run yet (the device is down): each is skipped, and counted. Then it
// hands a peer that never completes a handshake (its link is never read)
// more packets than it stages: every one beyond 128 pushes out an older
// one, and is counted.
func TestStagingDropsAreCountedExactly(t *testing.T) {
	gate := hostgate.New()
	mem := memtun.New(1420, 2048, gate)
	counts := &Counters{}
	dev := device.NewDevice(CountTun(mem, counts, 1420), CountBind(membind.New(1420, 64, gate), counts), device.NewLogger(device.LogLevelSilent, ""))
	t.Cleanup(func() { gate.TurnOff(); dev.Close() })
	key := strings.Repeat("ab", 32)
	conf := "private_key=" + strings.Repeat("08", 32) + "\npublic_key=" + key + "\nendpoint=127.0.0.1:9\nallowed_ip=198.51.100.2/32\n"
	if err := dev.IpcSet(conf); err != nil {
		t.Fatal(err)
	}
	text, _ := dev.IpcGet()
	if err := counts.SetRoutes(mustRoutes(t, text), dev); err != nil {
		t.Fatal(err)
	}
	view := counts.routes.Load().peers[0]
	if view == nil || view.staged.Cap() != device.QueueStagedSize {
		t.Fatalf("no view of peer %s, or a staging queue of another size", key)
	}
	if counts.fate([]byte{0x45, 0}) || counts.Load().PeerStopped != (Count{}) {
		t.Fatal("a packet too short for an IP header has a fate")
	}
	packet := packettest.IPv4(packettest.AddrA, packettest.AddrB, make([]byte, 20))
	if n, err := mem.Outbound.Put(5, func(int) []byte { return packet }, time.Second, nil); n != 5 {
		t.Fatalf("queued %d packets: %v", n, err)
	}
	waitFor(t, func() bool { return counts.Load().FromApp.Packets == 1+5 })
	if got := counts.Load(); got.PeerStopped != (Count{5, 5 * 40}) || got.StagingDropped != (Count{}) || view.staged.Len() != 0 {
		t.Fatalf("device down: peer stopped %+v, staging dropped %+v", got.PeerStopped, got.StagingDropped)
	}
	if err := dev.Up(); err != nil {
		t.Fatal(err)
	}
	const sent = 1000
	if n, err := mem.Outbound.Put(sent, func(int) []byte { return packet }, time.Second, nil); n != sent {
		t.Fatalf("queued %d packets: %v", n, err)
	}
	waitFor(t, func() bool {
		return counts.Load().FromApp.Packets == 1+5+sent && view.staged.Len() == device.QueueStagedSize
	})
	got := counts.Load()
	if want := (Count{sent - device.QueueStagedSize, (sent - device.QueueStagedSize) * 40}); got.StagingDropped != want || got.PeerStopped.Packets != 5 {
		t.Fatalf("staging dropped %+v (want %+v), peer stopped %+v", got.StagingDropped, want, got.PeerStopped)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
	}
}

// BenchmarkFate is the per-packet cost of Tun.Read's counting: the route
// lookup alone (no device, as before staging drops were counted) and with
// the peer's view (running? staging queue full?).
func BenchmarkFate(b *testing.B) {
	gate := hostgate.New()
	counts := &Counters{}
	dev := device.NewDevice(CountTun(memtun.New(1420, 16, gate), counts, 1420), CountBind(membind.New(1420, 64, gate), counts), device.NewLogger(device.LogLevelSilent, ""))
	b.Cleanup(func() { gate.TurnOff(); dev.Close() })
	conf := "private_key=" + strings.Repeat("08", 32) + "\npublic_key=" + strings.Repeat("ab", 32) + "\nallowed_ip=198.51.100.2/32\n"
	if err := dev.IpcSet(conf); err != nil {
		b.Fatal(err)
	}
	if err := dev.Up(); err != nil { // the peer runs: the packet is not dropped
		b.Fatal(err)
	}
	text, _ := dev.IpcGet()
	packet := packettest.IPv4(packettest.AddrA, packettest.AddrB, make([]byte, 1400))
	for _, c := range []struct {
		name string
		dev  *device.Device
	}{{"routes only", nil}, {"routes and peer", dev}} {
		b.Run(c.name, func(b *testing.B) {
			if err := counts.SetRoutes(mustRoutes(b, text), c.dev); err != nil {
				b.Fatal(err)
			}
			for range b.N {
				counts.fate(packet)
			}
			if counts.Load().PeerStopped.Packets+counts.Load().StagingDropped.Packets != 0 {
				b.Fatal("the packet was counted as dropped")
			}
		})
	}
}
