package netsock

import (
	"testing"
	"time"
)

// Close returns only once the datagram sends in flight are done, and
// refuses sends from then on: the netstack TUN is closed after it.
func TestCloseWaitsOutSendsInFlightAndRefusesNewOnes(t *testing.T) {
	s := NewStack(nil, nil)
	if !s.beginSend() {
		t.Fatal("a send on a live stack was refused")
	}
	closed := make(chan struct{})
	go func() {
		s.Close()
		close(closed)
	}()
	select {
	case <-closed:
		t.Fatal("Close returned with a send in flight")
	case <-time.After(50 * time.Millisecond):
	}
	s.endSend()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return once the send was done")
	}
	if s.beginSend() {
		t.Fatal("a send after Close was let through")
	}
	s.Close() // twice is fine
}
