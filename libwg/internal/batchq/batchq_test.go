package batchq

import (
	"bytes"
	"errors"
	"os"
	"testing"
	"time"
)

func TestTakeGetsEverythingQueuedInOrder(t *testing.T) {
	q := New[int](4)
	for i := range 3 {
		if err := q.Put(2, []byte{byte(i)}, i, false); err != nil {
			t.Fatal(err)
		}
	}
	got := q.Take(nil)
	if len(got) != 3 {
		t.Fatalf("took %d items", len(got))
	}
	for i, it := range got {
		if it.Meta != i || !bytes.Equal(it.Buf, []byte{0, 0, byte(i)}) {
			t.Fatalf("item %d is %+v", i, it)
		}
	}
	// the next Take waits for the next Put, and no longer
	go func() { time.Sleep(10 * time.Millisecond); q.Put(0, []byte("x"), 9, true) }()
	if next := q.Take(got); len(next) != 1 || next[0].Meta != 9 {
		t.Fatalf("then took %+v", next)
	}
}

func TestFullQueueRefusesOrWaits(t *testing.T) {
	q := New[int](1)
	q.Put(0, []byte("a"), 0, true)
	if err := q.Put(0, []byte("b"), 1, false); !errors.Is(err, ErrFull) {
		t.Fatalf("full queue: %v", err)
	}
	put := make(chan error)
	go func() { put <- q.Put(0, []byte("b"), 1, true) }()
	select {
	case err := <-put:
		t.Fatalf("Put did not wait for room: %v", err)
	case <-time.After(20 * time.Millisecond):
	}
	q.Take(nil)
	if err := <-put; err != nil {
		t.Fatal(err)
	}
	q.Close()
	if err := q.Put(0, []byte("c"), 2, true); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("closed queue: %v", err)
	}
	if q.Take(nil) != nil {
		t.Fatal("a closed queue gave items")
	}
}
