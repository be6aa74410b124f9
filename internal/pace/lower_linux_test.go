package pace

import (
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tsingma/tsingma/internal/testenv"
)

func threadNice(t *testing.T) int {
	t.Helper()
	n, err := testenv.ThreadNice()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestLower: the goroutine's thread runs at the process's nice value plus
// the asked levels (at most 19), and no other goroutine ever runs on it.
func TestLower(t *testing.T) {
	for _, levels := range []int{5, 10, 40} {
		got := make(chan [2]int)
		go func() {
			before := threadNice(t)
			if err := Lower(levels); err != nil {
				t.Error(err)
			}
			got <- [2]int{before, threadNice(t)}
			// Exiting while locked ends the thread with its priority.
		}()
		g := <-got
		if want := min(g[0]+levels, 19); g[1] != want {
			t.Errorf("Lower(%d): nice %d -> %d, want %d", levels, g[0], g[1], want)
		}
	}
	// The lowered threads end with their goroutines (the main thread,
	// which cannot end, parks for good instead): no other goroutine runs
	// at the lowered priority. Goroutines that sleep and wake run on
	// whatever threads the scheduler has.
	own := threadNice(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	seen := map[int]bool{}
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				n := threadNice(t)
				mu.Lock()
				seen[syscall.Gettid()] = true
				mu.Unlock()
				if n != own {
					t.Errorf("a goroutine ran on a thread at nice %d (the process's %d)", n, own)
					return
				}
				time.Sleep(time.Millisecond)
			}
		}()
	}
	wg.Wait()
	t.Logf("checked %d threads", len(seen))
}
