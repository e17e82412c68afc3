package main

import (
	"math"
	"sync"
	"testing"
)

func TestHandleTableConcurrentInsertRemove(t *testing.T) {
	var table handleTable[int]
	var wg sync.WaitGroup
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 1000; i++ {
				h, ok := table.insert(g)
				if !ok || h < 0 {
					t.Errorf("insert gave %d, %v", h, ok)
					return
				}
				if v, ok := table.get(h); !ok || v != g {
					t.Errorf("get(%d) = %d, %v; want %d", h, v, ok, g)
					return
				}
				if _, ok := table.remove(h); !ok {
					t.Errorf("remove(%d) failed", h)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	if n := table.len(); n != 0 {
		t.Fatalf("%d handles leaked", n)
	}
}

func TestHandleTableRemoveTwice(t *testing.T) {
	var table handleTable[string]
	h, _ := table.insert("x")
	if _, ok := table.remove(h); !ok {
		t.Fatal("first remove failed")
	}
	if _, ok := table.remove(h); ok {
		t.Fatal("second remove succeeded")
	}
}

func TestHandleTableWrapsAndSkipsUsed(t *testing.T) {
	table := handleTable[int]{next: math.MaxInt32}
	first, _ := table.insert(1)
	if first != math.MaxInt32 {
		t.Fatalf("first handle %d", first)
	}
	second, _ := table.insert(2)
	if second != 0 {
		t.Fatalf("handle after MaxInt32 is %d, want 0", second)
	}
	table.next = 0
	third, _ := table.insert(3)
	if third != 1 {
		t.Fatalf("handle 0 is used, got %d want 1", third)
	}
}
