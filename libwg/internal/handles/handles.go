// Package handles maps the int32 handles C callers hold to Go values.
package handles

import (
	"math"
	"sync"
	"sync/atomic"
)

// Table hands out the non-negative int32 handles C callers hold and
// maps them back to values. Every method is safe from any thread. Lookups,
// which the packet path makes on every call, read an immutable snapshot
// without locking; inserts and removes copy it under a mutex.
type Table[T any] struct {
	mu       sync.Mutex // serialises writers
	next     int32
	snapshot atomic.Pointer[map[int32]T]
}

func (t *Table[T]) current() map[int32]T {
	if m := t.snapshot.Load(); m != nil {
		return *m
	}
	return nil
}

// publish replaces the snapshot with a copy of the current one changed by edit.
func (t *Table[T]) publish(edit func(map[int32]T)) {
	old := t.current()
	next := make(map[int32]T, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	edit(next)
	t.snapshot.Store(&next)
}

// Insert stores v under a free handle; ok is false only when all 2^31
// handles are taken.
func (t *Table[T]) Insert(v T) (handle int32, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	items := t.current()
	if len(items) == math.MaxInt32 {
		return -1, false
	}
	for {
		handle = t.next
		if t.next == math.MaxInt32 {
			t.next = 0
		} else {
			t.next++
		}
		if _, used := items[handle]; !used {
			t.publish(func(m map[int32]T) { m[handle] = v })
			return handle, true
		}
	}
}

// Get is the value under handle.
func (t *Table[T]) Get(handle int32) (T, bool) {
	v, ok := t.current()[handle]
	return v, ok
}

// Remove deletes handle and returns what it held, so exactly one caller
// wins a race to close the same handle.
func (t *Table[T]) Remove(handle int32) (T, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	v, ok := t.current()[handle]
	if ok {
		t.publish(func(m map[int32]T) { delete(m, handle) })
	}
	return v, ok
}

// Len is how many handles are in use.
func (t *Table[T]) Len() int {
	return len(t.current())
}
