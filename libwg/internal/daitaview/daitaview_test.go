//go:build daita

package daitaview

import (
	"sync"
	"testing"
)

func TestFieldsResolve(t *testing.T) {
	if _, err := Resolve(); err != nil {
		t.Fatal(err)
	}
}

// The counter read from a WaitGroup's state is the one Add and Done move.
func TestWaitGroupCounterIsRead(t *testing.T) {
	o, _ := Resolve()
	var wg sync.WaitGroup
	for want := range 5 {
		if got := counter(&wg, o); got != want {
			t.Fatalf("after %d Adds the counter reads %d", want, got)
		}
		wg.Add(1)
	}
	wg.Add(-5)
	if got := counter(&wg, o); got != 0 {
		t.Fatalf("after the Dones the counter reads %d", got)
	}
}
