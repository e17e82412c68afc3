package membind

import (
	"bytes"
	"errors"
	"net"
	"testing"

	"wgcore/libwg/internal/hostgate"
)

func TestBindCarriesDatagramsThroughTheHostsQueues(t *testing.T) {
	b := New(1420+32, 2, hostgate.New())
	receive, _, err := b.Open(0)
	if err != nil || len(receive) != 1 {
		t.Fatalf("Open: %d receivers, %v", len(receive), err)
	}
	if err := b.Send([]byte("out"), LinkEndpoint); err != nil {
		t.Fatal(err)
	}
	buf, lens := make([]byte, 16), make([]uint32, 1)
	if n, _ := b.Outbound.Take(buf, lens, 0, nil); n != 1 || !bytes.Equal(buf[:lens[0]], []byte("out")) {
		t.Fatalf("the host took %d: %q", n, buf[:lens[0]])
	}
	b.Inbound.Put(1, func(int) []byte { return []byte("in") }, 0, nil)
	n, ep, err := receive[0](buf)
	if err != nil || ep != LinkEndpoint || !bytes.Equal(buf[:n], []byte("in")) {
		t.Fatalf("received %q from %v, %v", buf[:n], ep, err)
	}
	b.Close()
	if _, _, err := receive[0](buf); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("receive after Close: %v", err)
	}
	if err := b.Send([]byte("late"), LinkEndpoint); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Send after Close: %v", err)
	}
}
