//go:build !upstream

package main

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"wgcore/libwg/internal/hoplink"
	"wgcore/libwg/internal/packettest"
	"wgcore/libwg/internal/tuntest"
)

// The multihop tests run a client against two in-memory relays in this
// process. The entry relay is a plain host-transport tunnel peered with
// the client's entry hop; the test is the entry relay's host and does
// what a real entry relay's kernel does: it forwards the IP packets its
// tunnel delivers (UDP to the exit endpoint) to the exit relay's wire,
// and wraps what the exit relay sends in UDP from the exit endpoint back
// to private_ip. The exit relay is a host-transport tunnel peered with
// the client's exit hop, reachable only through that forwarding.
var (
	privateIP    = netip.MustParseAddr("203.0.113.2")
	exitEndpoint = netip.MustParseAddrPort("203.0.113.10:51820")
)

const multihopMTU = 1420

type multihopNet struct {
	handle                int32
	exit, entry           *tunnel // the client's hops
	entryRelay, exitRelay *tunnel
	seen                  chan []byte // every packet the entry relay's tunnel delivered
	stop                  chan struct{}
	running               sync.WaitGroup
}

func hex32(seed byte) string { return hex.EncodeToString(testKey(seed)) }

func pubHex(t testing.TB, seed byte) string {
	pub, err := publicKey(testKey(seed))
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(pub)
}

// multihopSettings are the client's exit and entry settings.
func multihopSettings(t testing.TB) (exit, entry string) {
	exit = fmt.Sprintf("private_key=%s\npublic_key=%s\nendpoint=%s\nallowed_ip=198.51.100.2/32\n",
		hex32(3), pubHex(t, 4), exitEndpoint)
	entry = fmt.Sprintf("private_key=%s\npublic_key=%s\nendpoint=127.0.0.1:1\nallowed_ip=%s/32\n",
		hex32(5), pubHex(t, 6), exitEndpoint.Addr())
	return exit, entry
}

// startMultihopClient turns a multihop client on in memory (mode
// "multihop", tun_fd -1) over transport, "udp" or "host".
func startMultihopClient(t testing.TB, transport string) (int32, *tunnel, *tunnel) {
	t.Helper()
	exitSettings, entrySettings := multihopSettings(t)
	handle := startMode(t, &turnOn{mode: "multihop", mtu: multihopMTU, settings: exitSettings, entrySettings: entrySettings,
		params: map[string]string{"private_ip": privateIP.String(), "transport": transport}, tunFD: -1})
	exit, _ := tunnels.Get(handle)
	entry, _ := tunnels.Get(entryHandleOf(handle))
	return handle, exit, entry
}

func startRelays(t *testing.T) (entryRelay, exitRelay *tunnel) {
	entryRelay = startMem(t, "host", fmt.Sprintf("private_key=%s\npublic_key=%s\nallowed_ip=%s/32\n",
		hex32(6), pubHex(t, 5), privateIP))
	exitRelay = startMem(t, "host", fmt.Sprintf("private_key=%s\npublic_key=%s\nallowed_ip=198.51.100.1/32\n",
		hex32(4), pubHex(t, 3)))
	return entryRelay, exitRelay
}

// carry starts moving traffic: client entry <-> entry relay datagrams, and
// the entry relay's forwarding to and from the exit relay.
func (n *multihopNet) carry() {
	n.stop, n.seen = make(chan struct{}), make(chan []byte, 4096)
	n.running.Add(4)
	go benchPump(n.entry, n.entryRelay, n.stop, &n.running)
	go benchPump(n.entryRelay, n.entry, n.stop, &n.running)
	clientPort := make(chan uint16, 1)
	go func() { // the entry relay forwards its tunnel's UDP to the exit relay
		defer n.running.Done()
		buf, lens := make([]byte, 65536), make([]uint32, 1)
		for {
			k, err := n.entryRelay.queues(kindPackets).read.Take(buf, lens, time.Second, n.stop)
			if err != nil {
				return
			}
			if k == 0 {
				continue
			}
			p := append([]byte(nil), buf[:lens[0]]...)
			n.seen <- p
			if hoplink.Check(p, netip.AddrPortFrom(privateIP, binary.BigEndian.Uint16(p[20:])), exitEndpoint.Addr()) != nil ||
				binary.BigEndian.Uint16(p[22:]) != exitEndpoint.Port() {
				continue // not for the exit relay: a router would drop it too
			}
			select {
			case clientPort <- binary.BigEndian.Uint16(p[20:]):
			default:
			}
			if _, err := n.exitRelay.queues(kindDatagrams).write.Put(1, func(int) []byte { return p[28:] }, -1, n.stop); err != nil {
				return
			}
		}
	}()
	go func() { // and wraps what the exit relay sends in UDP back to private_ip
		defer n.running.Done()
		buf, lens := make([]byte, 65536), make([]uint32, 1)
		var port uint16
		for {
			k, err := n.exitRelay.queues(kindDatagrams).read.Take(buf, lens, time.Second, n.stop)
			if err != nil {
				return
			}
			select {
			case port = <-clientPort:
			default:
			}
			if k == 0 || port == 0 {
				continue
			}
			p := packettest.UDP(exitEndpoint, netip.AddrPortFrom(privateIP, port), buf[:lens[0]])
			if _, err := n.entryRelay.queues(kindPackets).write.Put(1, func(int) []byte { return p }, -1, n.stop); err != nil {
				return
			}
		}
	}()
}

func (n *multihopNet) halt() {
	close(n.stop)
	n.running.Wait()
	close(n.seen)
}

// roundTrip sends a packet from the client's app to the exit relay's app
// and one back, checking both arrive intact.
func roundTrip(t *testing.T, n *multihopNet, size int) {
	t.Helper()
	out := ipv4Packet(bytes.Repeat([]byte("multihop-secret!"), size)[:size-20])
	back := ipv4PacketFrom(addrB, addrA, bytes.Repeat([]byte("reply-plaintext!"), size)[:size-20])
	for _, leg := range []struct {
		from, to *tunnel
		packet   []byte
	}{{n.exit, n.exitRelay, out}, {n.exitRelay, n.exit, back}} {
		if k, err := leg.from.queues(kindPackets).write.Put(1, func(int) []byte { return leg.packet }, -1, nil); k != 1 || err != nil {
			t.Fatalf("write: %d %v", k, err)
		}
		buf, lens := make([]byte, 65536), make([]uint32, 1)
		k, err := leg.to.queues(kindPackets).read.Take(buf, lens, 10*time.Second, nil)
		if k != 1 || err != nil {
			t.Fatalf("%d-byte packet did not arrive: %d %v", size, k, err)
		}
		if !bytes.Equal(buf[:lens[0]], leg.packet) {
			t.Fatalf("%d-byte packet arrived changed (%d bytes)", size, lens[0])
		}
	}
}

func TestMultihopCarriesPacketsThroughTheEntryRelayUnread(t *testing.T) {
	entryRelay, exitRelay := startRelays(t)
	handle, exit, entry := startMultihopClient(t, "host")
	n := &multihopNet{handle: handle, exit: exit, entry: entry, entryRelay: entryRelay, exitRelay: exitRelay}
	n.carry()
	exitMTU := multihopMTU - 60
	if exit.mtu != exitMTU || entry.mtu != multihopMTU {
		t.Fatalf("MTUs: exit %d entry %d, want %d and %d", exit.mtu, entry.mtu, exitMTU, multihopMTU)
	}
	roundTrip(t, n, 100)
	roundTrip(t, n, exitMTU)
	if err := ipPacketProblem(ipv4Packet(make([]byte, exitMTU-19)), exit.mtu); err == nil {
		t.Fatalf("a %d-byte packet was accepted by a tunnel whose exit MTU is %d", exitMTU+1, exitMTU)
	}
	n.halt()

	largest, count := 0, 0
	for p := range n.seen {
		count++
		largest = max(largest, len(p))
		if err := hoplink.Check(p, netip.AddrPortFrom(privateIP, binary.BigEndian.Uint16(p[20:])), exitEndpoint.Addr()); err != nil {
			t.Errorf("the entry relay got a packet that is not the exit hop's UDP: %v", err)
		}
		if bytes.Contains(p, []byte("multihop-secret!")) || bytes.Contains(p, []byte("reply-plaintext!")) {
			t.Errorf("the entry relay saw the user's plaintext")
		}
	}
	if count == 0 {
		t.Fatal("the entry relay saw no packets")
	}
	if largest != multihopMTU {
		t.Errorf("the largest packet inside the entry tunnel was %d bytes, want the entry MTU %d", largest, multihopMTU)
	}
}

func TestMultihopTurnOffClosesBothHopsWithoutLeaks(t *testing.T) {
	entryRelay, exitRelay := startRelays(t)
	before, tunnelsBefore := runtime.NumGoroutine(), tunnels.Len()
	handle, exit, entry := startMultihopClient(t, "host")
	entryHandle := entryHandleOf(handle)
	if tunnels.Len() != tunnelsBefore+2 {
		t.Fatalf("a multihop tunnel holds %d handles, want 2", tunnels.Len()-tunnelsBefore)
	}
	n := &multihopNet{handle: handle, exit: exit, entry: entry, entryRelay: entryRelay, exitRelay: exitRelay}
	n.carry()
	roundTrip(t, n, 500)
	n.halt()

	if code := turnOffHandle(entryHandle); code != errInvalidArgument {
		t.Fatalf("turning off the entry handle alone: %d, want %d", code, errInvalidArgument)
	}
	done := make(chan int32)
	go func() { done <- turnOffHandle(handle) }()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("turn off: %d", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("turning the multihop tunnel off blocked")
	}
	for _, h := range []int32{handle, entryHandle} {
		if _, ok := tunnels.Get(h); ok {
			t.Errorf("handle %d is still in use", h)
		}
	}
	for _, q := range []*hostQueue{exit.queues(kindPackets), entry.queues(kindDatagrams)} {
		if _, err := q.read.Take(make([]byte, 2048), make([]uint32, 1), time.Second, nil); err == nil {
			t.Error("a queue of a turned-off hop is still open")
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if now := runtime.NumGoroutine(); now > before {
		buf := make([]byte, 1<<16)
		t.Fatalf("%d goroutines before the client, %d after it was turned off:\n%s", before, now, buf[:runtime.Stack(buf, true)])
	}
}

func TestMultihopSocketsAreTheEntrys(t *testing.T) {
	handle, _, _ := startMultihopClient(t, "udp")
	entryHandle := entryHandleOf(handle)
	for _, v6 := range []bool{false, true} {
		fd, entryFD := socketFD(handle, v6), socketFD(entryHandle, v6)
		if fd != entryFD {
			t.Errorf("v6=%v: the exit handle gives fd %d, the entry handle %d", v6, fd, entryFD)
		}
	}
	if fd := socketFD(handle, false); fd < 0 {
		t.Errorf("no IPv4 socket: %d", fd)
	}
}

func TestMultihopHandleErrors(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if code := entryHandleOf(1 << 30); code != errUnknownTunnel {
		t.Errorf("unknown handle: %d, want %d", code, errUnknownTunnel)
	}
	single := startMem(t, "host", "")
	h, _ := startedHandles.Load(single)
	if code := entryHandleOf(h.(int32)); code != errNotSupported {
		t.Errorf("single-hop handle: %d, want %d", code, errNotSupported)
	}
	handle, exit, _ := startMultihopClient(t, "host")
	entryHandle := entryHandleOf(handle)
	if entryHandle < 0 || entryHandle == handle || entryHandleOf(entryHandle) != entryHandle {
		t.Errorf("entry handle %d of exit handle %d", entryHandle, handle)
	}
	if _, err := exit.mode.hostQueue(kindDatagrams); err == nil {
		t.Error("the exit hop offers a datagram queue")
	}
	takeLastError()
}

func TestMultihopRefusesBadArguments(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	exit, _ := multihopSettings(t)
	withEndpoints := func(e ...string) string {
		s := "private_key=" + hex32(3) + "\n"
		for i, ep := range e {
			s += fmt.Sprintf("public_key=%s\nendpoint=%s\n", pubHex(t, byte(10+i)), ep)
		}
		return s
	}
	for _, c := range []struct {
		mtu       int32
		exit, ip  string
		inMessage string
	}{
		{multihopMTU, exit, "nope", `private_ip "nope"`},
		{multihopMTU, exit, "2001:db8::2", `private_ip "2001:db8::2"`},
		{multihopMTU, exit, "", `private_ip ""`},
		{635, exit, "203.0.113.2", "give at least 636"},
		{multihopMTU, withEndpoints(), "203.0.113.2", "exactly one"},
		{multihopMTU, withEndpoints("203.0.113.10:1", "203.0.113.11:1"), "203.0.113.2", "exactly one"},
		{multihopMTU, withEndpoints("[2001:db8::1]:51820"), "203.0.113.2", "not an IPv4 address and port"},
	} {
		if _, code := planMultihop(c.mtu, c.exit, c.ip); code != errInvalidArgument {
			t.Errorf("%q, mtu %d: code %d, want %d", c.ip, c.mtu, code, errInvalidArgument)
			continue
		}
		e, _ := takeLastError()
		if !strings.Contains(e.message, c.inMessage) || strings.Contains(e.message, hex32(3)) {
			t.Errorf("message %q should say %q and hold no key", e.message, c.inMessage)
		}
	}
}

func TestMultihopSettingsErrorsNameTheHop(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	exit, entry := multihopSettings(t)
	plan, _ := planMultihop(multihopMTU, exit, privateIP.String())
	before := tunnels.Len()
	for _, c := range []struct{ exit, entry, prefix string }{
		{exit, entry + "bogus_key=1\n", "entry hop: "},
		{exit + "bogus_key=1\n", entry, "exit hop: "},
	} {
		if _, code := startMultihop(plan, logSink{}, c.exit, c.entry, nil, true); code != errInvalidArgument {
			t.Errorf("code %d, want %d", code, errInvalidArgument)
		}
		if e, _ := takeLastError(); !strings.HasPrefix(e.message, c.prefix) {
			t.Errorf("message %q does not start with %q", e.message, c.prefix)
		}
		if tunnels.Len() != before {
			t.Errorf("a failed turn-on left %d handles in use", tunnels.Len()-before)
		}
	}
}

// Over a kernel TUN (mode "multihop" with a tun_fd, wgTurnOnMultihop)
// the interface gets the exit hop's MTU, and turning the tunnel off frees
// both handles and the interface.
func TestMultihopOverAKernelTUNSetsTheExitMTU(t *testing.T) {
	tuntest.InTestNetns(t, func() {
		fd, name := tuntest.Open(t, unix.IFF_TUN|unix.IFF_NO_PI)
		exitSettings, entrySettings := multihopSettings(t)
		handle := startMode(t, &turnOn{mode: "multihop", mtu: multihopMTU, settings: exitSettings, entrySettings: entrySettings,
			params: map[string]string{"private_ip": privateIP.String()}, tunFD: fd})
		mtu, err := os.ReadFile("/sys/class/net/" + name + "/mtu")
		if err != nil || strings.TrimSpace(string(mtu)) != strconv.Itoa(multihopMTU-60) {
			t.Errorf("interface MTU %q (%v), want %d", mtu, err, multihopMTU-60)
		}
		entryHandle := entryHandleOf(handle)
		if code := turnOffHandle(handle); code != 0 {
			t.Fatalf("turn off: %d", code)
		}
		if _, ok := tunnels.Get(entryHandle); ok {
			t.Error("the entry hop outlived its tunnel")
		}
		if _, err := os.Stat("/sys/class/net/" + name); err == nil {
			t.Error("the TUN interface outlived its tunnel")
		}
	})
}
