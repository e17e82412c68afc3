package readergate

import (
	"errors"
	"os"
	"testing"
	"time"

	"golang.zx2c4.com/wireguard/tun"
)

// chanTun reads the packets sent on its channel, and fails once closed.
type chanTun struct {
	tun.Device // only Read is called
	packets    chan []byte
}

func (c chanTun) Read(buf []byte, offset int) (int, error) {
	p, ok := <-c.packets
	if !ok {
		return 0, os.ErrClosed
	}
	return copy(buf[offset:], p), nil
}

// A packet read while the gate is held is handed over only after Release;
// a failed read does not wait for the gate.
func TestHeldGateParksTheReader(t *testing.T) {
	var g Gate
	inner := chanTun{packets: make(chan []byte)}
	dev := g.Wrap(inner)
	got := make(chan error, 1)
	read := func() {
		_, err := dev.Read(make([]byte, 1500), 0)
		got <- err
	}
	go read()
	inner.packets <- []byte{0x45, 1, 2, 3}
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	go read() // releases the gate, then waits for a packet
	g.Hold()
	inner.packets <- []byte{0x45, 4, 5, 6}
	select {
	case err := <-got:
		t.Fatalf("a read returned while the gate was held: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	g.Release()
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	go read()
	g.Hold()
	close(inner.packets)
	select {
	case err := <-got:
		if !errors.Is(err, os.ErrClosed) {
			t.Fatalf("read after close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a failed read waited for the held gate")
	}
	g.Release()
}
