// Package handles maps the int32 handles C callers hold to Go values.
package handles

import (
	"math"
	"sync"
	"testing"
)

func TestHandleTableConcurrentInsertRemove(t *testing.T) {
	var table Table[int]
	var wg sync.WaitGroup
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 1000; i++ {
				h, ok := table.Insert(g)
				if !ok || h < 0 {
					t.Errorf("insert gave %d, %v", h, ok)
					return
				}
				if v, ok := table.Get(h); !ok || v != g {
					t.Errorf("get(%d) = %d, %v; want %d", h, v, ok, g)
					return
				}
				if _, ok := table.Remove(h); !ok {
					t.Errorf("remove(%d) failed", h)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	if n := table.Len(); n != 0 {
		t.Fatalf("%d handles leaked", n)
	}
}

func TestHandleTableRemoveTwice(t *testing.T) {
	var table Table[string]
	h, _ := table.Insert("x")
	if _, ok := table.Remove(h); !ok {
		t.Fatal("first remove failed")
	}
	if _, ok := table.Remove(h); ok {
		t.Fatal("second remove succeeded")
	}
}

func TestHandleTableWrapsAndSkipsUsed(t *testing.T) {
	table := Table[int]{next: math.MaxInt32}
	first, _ := table.Insert(1)
	if first != math.MaxInt32 {
		t.Fatalf("first handle %d", first)
	}
	second, _ := table.Insert(2)
	if second != 0 {
		t.Fatalf("handle after MaxInt32 is %d, want 0", second)
	}
	table.next = 0
	third, _ := table.Insert(3)
	if third != 1 {
		t.Fatalf("handle 0 is used, got %d want 1", third)
	}
}
