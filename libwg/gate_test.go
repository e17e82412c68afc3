package main

import (
	"bytes"
	"testing"
	"time"
)

func TestPutAlwaysGoesPastCapacityInOrder(t *testing.T) {
	q := newPacketQueue(2, 8)
	putAll(q, []byte("a"), []byte("b"))
	for _, p := range []string{"c", "d", "e"} {
		if err := q.putAlways([]byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	if n, _ := putAll(q, []byte("x")); n != 0 || q.len() != 5 {
		t.Fatalf("a put into a queue over capacity took %d (len %d)", n, q.len())
	}
	buf, lens := make([]byte, 16), make([]uint32, 4)
	if n, _ := q.take(buf, lens, 0, nil); n != 4 || !bytes.Equal(buf[:4], []byte("abcd")) {
		t.Fatalf("took %d: %q", n, buf[:4])
	}
	if n, _ := putAll(q, []byte("f")); n != 1 {
		t.Fatal("a put below capacity again was refused")
	}
	if n, _ := q.take(buf, lens, 0, nil); n != 2 || !bytes.Equal(buf[:2], []byte("ef")) {
		t.Fatalf("took %d: %q", n, buf[:2])
	}
	q.close()
	if err := q.putAlways([]byte("g")); err != errQueueClosed {
		t.Fatalf("putAlways into a closed queue: %v", err)
	}
}

func TestHostGateReleasesWaitsDuringASetAndAtTurnOff(t *testing.T) {
	g := newHostGate()
	q := newPacketQueue(1, 8)
	if err := g.put(q, []byte("a")); err != nil {
		t.Fatal(err)
	}
	putInBackground := func() chan error {
		done := make(chan error, 1)
		go func() { done <- g.put(q, []byte("b")) }()
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
	g.setSetting(true)
	if err := <-done; err != nil || q.len() != 2 {
		t.Fatalf("during a set: %v, len %d", err, q.len())
	}
	g.setSetting(false)
	done = putInBackground()
	stillWaiting(done)
	g.turnOff()
	if err := <-done; err != errTurnedOff || q.len() != 2 {
		t.Fatalf("at turn-off: %v, len %d", err, q.len())
	}
	g.setSetting(true)
	g.setSetting(false)
	if err := g.put(q, []byte("c")); err != errTurnedOff {
		t.Fatalf("after turn-off and a set: %v", err)
	}
}
