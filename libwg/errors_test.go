package main

import (
	"runtime"
	"sync"
	"testing"
)

func TestLastErrorIsPerThread(t *testing.T) {
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			want := string(rune('a' + i))
			if code := fail(errUnknownPeer, "%s", want); code != errUnknownPeer {
				t.Errorf("fail returned %d", code)
			}
			runtime.Gosched()
			got, ok := takeLastError()
			if !ok || got != (callError{errUnknownPeer, want}) {
				t.Errorf("thread %d took %q, %v; want %q", i, got, ok, want)
			}
			if _, ok := takeLastError(); ok {
				t.Errorf("second take still had a message")
			}
		}(i)
	}
	wg.Wait()
}
