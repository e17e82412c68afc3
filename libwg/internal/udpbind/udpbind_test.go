package udpbind

import (
	"bytes"
	"net/netip"
	"testing"

	"golang.org/x/sys/unix"
)

func TestUDPBindCarriesDatagramsAndReportsFds(t *testing.T) {
	var a, b Bind
	recvA, portA, err := a.Open(0)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	_, portB, err := b.Open(0)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if portA == 0 || portA == portB {
		t.Fatalf("ports %d and %d", portA, portB)
	}

	to, _ := b.ParseEndpoint(netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), portA).String())
	if err := b.Send([]byte("hello"), to); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	n, from, err := recvA[0](buf)
	if err != nil || !bytes.Equal(buf[:n], []byte("hello")) {
		t.Fatalf("received %q, %v", buf[:n], err)
	}
	if from.DstToString() != netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), portB).String() {
		t.Fatalf("from %s", from.DstToString())
	}

	fd, err := a.SocketFD(false)
	if err != nil {
		t.Fatal(err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	if got := sa.(*unix.SockaddrInet4).Port; got != int(portA) {
		t.Fatalf("fd is bound to %d, bind to %d", got, portA)
	}
	if size, _ := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF); size < socketBufferSize && unix.Geteuid() == 0 {
		t.Fatalf("SO_RCVBUF = %d, want at least %d", size, socketBufferSize)
	}
	if err := a.SetMark(42); err != nil {
		t.Fatal(err)
	}
	if mark, _ := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_MARK); mark != 42 {
		t.Fatalf("SO_MARK = %d", mark)
	}
}

func TestUDPBindClosedHasNoFd(t *testing.T) {
	var a Bind
	if _, err := a.SocketFD(false); err == nil {
		t.Fatal("closed bind reported an fd")
	}
}
