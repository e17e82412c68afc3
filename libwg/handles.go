package main

import (
	"math"
	"sync"
)

// handleTable hands out the non-negative int32 handles C callers hold and
// maps them back to values. Every method is safe from any thread.
type handleTable[T any] struct {
	mu    sync.Mutex
	next  int32
	items map[int32]T
}

// insert stores v under a free handle; ok is false only when all 2^31
// handles are taken.
func (t *handleTable[T]) insert(v T) (handle int32, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.items == nil {
		t.items = make(map[int32]T)
	}
	if len(t.items) == math.MaxInt32 {
		return -1, false
	}
	for {
		handle = t.next
		if t.next == math.MaxInt32 {
			t.next = 0
		} else {
			t.next++
		}
		if _, used := t.items[handle]; !used {
			t.items[handle] = v
			return handle, true
		}
	}
}

func (t *handleTable[T]) get(handle int32) (T, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	v, ok := t.items[handle]
	return v, ok
}

// remove deletes handle and returns what it held, so exactly one caller
// wins a race to close the same handle.
func (t *handleTable[T]) remove(handle int32) (T, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	v, ok := t.items[handle]
	delete(t.items, handle)
	return v, ok
}

func (t *handleTable[T]) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.items)
}
