//go:build !upstream

package main

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"wgcore/libwg/internal/netsock"
)

// netstackPair is two netstack tunnels peered over loopback UDP:
// A is 10.99.0.1, B 10.99.0.2.
type netstackPair struct{ a, b *tunnel }

var stackA, stackB = netip.MustParseAddr("10.99.0.1"), netip.MustParseAddr("10.99.0.2")

func startNetstack(t *testing.T, addr netip.Addr, seed byte) *tunnel {
	handle := startMode(t, &turnOn{mode: "netstack", mtu: 1420, settings: "private_key=" + hex32(seed) + "\nlisten_port=0\n",
		params: map[string]string{"addresses": addr.String(), "dns": ""}, tunFD: -1})
	tun, _ := tunnels.Get(handle)
	return tun
}

func newNetstackPair(t *testing.T) netstackPair {
	a, b := startNetstack(t, stackA, 1), startNetstack(t, stackB, 2)
	for _, side := range []struct {
		self, other *tunnel
		seed        byte
		ip          netip.Addr
	}{{a, b, 2, stackB}, {b, a, 1, stackA}} {
		text, _ := side.other.dev.IpcGet()
		port := listenPort.FindStringSubmatch(text)[1]
		conf := fmt.Sprintf("public_key=%s\nendpoint=127.0.0.1:%s\nallowed_ip=10.99.0.0/24\n", pubHex(t, side.seed), port)
		if err := side.self.setConfig(conf); err != nil {
			t.Fatal(err)
		}
	}
	return netstackPair{a, b}
}

func (t *tunnel) socket(tb testing.TB, stream bool) *netsock.Socket {
	s, e := netsock.New(t.mode.(*netstackMode).stack, false, stream)
	if e != nil {
		tb.Fatal(e)
	}
	tb.Cleanup(s.Close)
	return s
}

// waitReady polls one of s's ready fds for up to limit.
func waitReady(t *testing.T, s *netsock.Socket, writable bool, limit time.Duration) {
	t.Helper()
	fds := []unix.PollFd{{Fd: int32(s.ReadyFD(writable)), Events: unix.POLLIN}}
	n, err := unix.Poll(fds, int(limit/time.Millisecond))
	if err != nil || n != 1 {
		t.Fatalf("not ready (writable=%t) within %v: %d %v", writable, limit, n, err)
	}
}

func connect(t *testing.T, s *netsock.Socket, addr string, timeout time.Duration) *netsock.Error {
	t.Helper()
	if e := s.Connect(netip.MustParseAddrPort(addr), timeout); e != nil {
		t.Fatalf("connect: %v", e)
	}
	waitReady(t, s, true, timeout+5*time.Second)
	return s.Err()
}

// readAll reads from s until it has n bytes or EOF.
func readAll(t *testing.T, s *netsock.Socket, n int) []byte {
	t.Helper()
	var got []byte
	buf := make([]byte, 32<<10)
	for len(got) < n {
		waitReady(t, s, false, 10*time.Second)
		k, e := s.Read(buf)
		if e != nil && e.Errno == syscall.EAGAIN {
			continue
		}
		if e != nil {
			t.Fatalf("read: %v", e)
		}
		if k == 0 {
			break
		}
		got = append(got, buf[:k]...)
	}
	return got
}

func writeAll(t *testing.T, s *netsock.Socket, data []byte) {
	t.Helper()
	for len(data) > 0 {
		waitReady(t, s, true, 10*time.Second)
		n, e := s.Write(data)
		if e != nil && e.Errno != syscall.EAGAIN {
			t.Fatalf("write: %v", e)
		}
		data = data[n:]
	}
}

func errnoOf(e *netsock.Error) syscall.Errno {
	if e == nil {
		return 0
	}
	return e.Errno
}

func TestNetstackTCPCarriesBytesBothWaysAndEOF(t *testing.T) {
	p := newNetstackPair(t)
	l := p.b.socket(t, true)
	if e := l.Bind(netip.MustParseAddrPort("0.0.0.0:7000")); e != nil {
		t.Fatal(e)
	}
	if e := l.Listen(0); e != nil {
		t.Fatal(e)
	}
	c := p.a.socket(t, true)
	if e := connect(t, c, "10.99.0.2:7000", 5*time.Second); e != nil {
		t.Fatalf("connect: %v", e)
	}
	waitReady(t, l, false, 5*time.Second)
	srv, e := l.Accept()
	if e != nil {
		t.Fatal(e)
	}
	defer srv.Close()
	if got, want := srv.LocalAddr().String(), "10.99.0.2:7000"; got != want {
		t.Errorf("accepted socket's address %s, want %s", got, want)
	}
	if peer, _ := srv.RemoteAddr(); peer != c.LocalAddr() {
		t.Errorf("accepted peer %v, client is %v", peer, c.LocalAddr())
	}
	data := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB: more than the buffers hold
	go func() {
		for len(data) > 0 {
			n, _ := c.Write(data)
			data = data[n:]
			time.Sleep(time.Millisecond)
		}
		c.Shutdown(false, true)
	}()
	got := readAll(t, srv, 2<<20)
	if !bytes.Equal(got, bytes.Repeat([]byte("0123456789abcdef"), 1<<16)) {
		t.Fatalf("got %d bytes, not the 1 MiB sent", len(got))
	}
	writeAll(t, srv, []byte("reply"))
	srv.Shutdown(false, true)
	if got := readAll(t, c, 100); string(got) != "reply" {
		t.Fatalf("client read %q", got)
	}
}

func TestNetstackConnectRefusedAndTimeout(t *testing.T) {
	p := newNetstackPair(t)
	if e := connect(t, p.a.socket(t, true), "10.99.0.2:7001", 5*time.Second); errnoOf(e) != syscall.ECONNREFUSED {
		t.Errorf("connect to a closed port: %v, want ECONNREFUSED", e)
	}
	// 10.99.0.3 is routed to B, which is not it: nothing answers.
	if e := connect(t, p.a.socket(t, true), "10.99.0.3:80", 300*time.Millisecond); errnoOf(e) != syscall.ETIMEDOUT {
		t.Errorf("connect to a silent address: %v, want ETIMEDOUT", e)
	}
}

func TestNetstackCloseWakesPollersAndTurnOffFailsSockets(t *testing.T) {
	p := newNetstackPair(t)
	l := p.b.socket(t, true)
	if e := l.Listen(0); e != nil {
		t.Fatal(e)
	}
	c := p.a.socket(t, true)
	if e := connect(t, c, l.LocalAddr().String(), 5*time.Second); e != nil {
		t.Fatal(e)
	}
	// Closing a listener that a poller waits on wakes it.
	woke := make(chan error, 1)
	fd := l.ReadyFD(false)
	go func() {
		_, err := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, 10000)
		woke <- err
	}()
	time.Sleep(50 * time.Millisecond)
	l.Close()
	select {
	case <-woke:
	case <-time.After(2 * time.Second):
		t.Fatal("closing the listener did not wake its poller")
	}
	// Turning the tunnel off fails its open socket.
	p.a.turnOff()
	waitReady(t, c, false, 2*time.Second)
	if _, e := c.Read(make([]byte, 10)); errnoOf(e) != syscall.ECONNRESET {
		t.Errorf("read after turn-off: %v, want ECONNRESET", e)
	}
	if _, e := netsock.New(p.a.mode.(*netstackMode).stack, false, true); errnoOf(e) != syscall.ENETDOWN {
		t.Errorf("new socket after turn-off: %v, want ENETDOWN", e)
	}
}

func TestNetstackUDPEchoAndConnectedPeerFilter(t *testing.T) {
	p := newNetstackPair(t)
	srv := p.b.socket(t, false)
	if e := srv.Bind(netip.MustParseAddrPort("10.99.0.2:5353")); e != nil {
		t.Fatal(e)
	}
	c := p.a.socket(t, false)
	if e := c.Connect(netip.MustParseAddrPort("10.99.0.2:5353"), 0); e != nil {
		t.Fatal(e)
	}
	if _, e := c.Write([]byte("ping")); e != nil {
		t.Fatal(e)
	}
	waitReady(t, srv, false, 5*time.Second)
	buf := make([]byte, 100)
	n, from, e := srv.RecvFrom(buf)
	if e != nil || string(buf[:n]) != "ping" || from != c.LocalAddr() {
		t.Fatalf("server got %q from %v (%v), want ping from %v", buf[:n], from, e, c.LocalAddr())
	}
	// A datagram from another port is not the connected peer's: dropped.
	other := p.b.socket(t, false)
	if _, e := other.SendTo([]byte("stranger"), from); e != nil {
		t.Fatal(e)
	}
	if _, e := srv.SendTo([]byte("pong"), from); e != nil {
		t.Fatal(e)
	}
	waitReady(t, c, false, 5*time.Second)
	if n, e := c.Read(buf); e != nil || string(buf[:n]) != "pong" {
		t.Fatalf("client got %q (%v), want pong", buf[:n], e)
	}
	if _, e := c.Read(buf); errnoOf(e) != syscall.EAGAIN {
		t.Fatalf("after pong: %v, want EAGAIN (the stranger's datagram dropped)", e)
	}
}

func TestNetstackModeRefusesBadAddresses(t *testing.T) {
	for _, bad := range [][2]string{{"", ""}, {"10.0.0.1/24", ""}, {"0.0.0.0", ""}, {"10.0.0.1", "dns.example"}} {
		if _, err := newNetstackMode(bad[0], bad[1], 1420); err == nil {
			t.Errorf("addresses %q dns %q: no error", bad[0], bad[1])
		}
	}
	var unsupported notSupported
	m, _ := newNetstackMode("10.0.0.1", "", 1420)
	if _, err := m.hostQueue(kindPackets); !errors.As(err, &unsupported) {
		t.Errorf("hostQueue: %v, want notSupported", err)
	}
	m.dev.Close()
}
