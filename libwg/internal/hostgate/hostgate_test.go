package hostgate

import (
	"testing"
	"time"

	"wgcore/libwg/internal/packetqueue"
)

func TestHostGateReleasesWaitsDuringASetAndAtTurnOff(t *testing.T) {
	g := New()
	q := packetqueue.New(1, 8)
	if err := g.Put(q, []byte("a")); err != nil {
		t.Fatal(err)
	}
	putInBackground := func() chan error {
		done := make(chan error, 1)
		go func() { done <- g.Put(q, []byte("b")) }()
		return done
	}
	stillWaiting := func(done chan error) {
		select {
		case err := <-done:
			t.Fatalf("a put into a full queue returned %v", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
	done := putInBackground()
	stillWaiting(done)
	g.SetSetting(true)
	if err := <-done; err != nil || q.Len() != 2 {
		t.Fatalf("during a set: %v, len %d", err, q.Len())
	}
	g.SetSetting(false)
	done = putInBackground()
	stillWaiting(done)
	g.TurnOff()
	if err := <-done; err != ErrTurnedOff || q.Len() != 2 {
		t.Fatalf("at turn-off: %v, len %d", err, q.Len())
	}
	g.SetSetting(true)
	g.SetSetting(false)
	if err := g.Put(q, []byte("c")); err != ErrTurnedOff {
		t.Fatalf("after turn-off and a set: %v", err)
	}
}
