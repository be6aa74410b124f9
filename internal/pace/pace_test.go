package pace

import (
	"testing"

	"github.com/tsingma/tsingma/internal/testenv"
)

// TestPausesOnlyWhenOthersWait: alone, Pace never pauses; with more
// busy goroutines than Ps, it does.
func TestPausesOnlyWhenOthersWait(t *testing.T) {
	p := New()
	for range 1000 {
		p.Pace()
	}
	if p.Pauses() > 10 {
		// A pause or two for the runtime's own goroutines (a GC cycle)
		// is possible; a pacer that pauses regardless is not.
		t.Fatalf("paused %d times in 1000 calls with nothing else to run", p.Pauses())
	}
	p = New()
	stop := testenv.BusyCPU()
	for i := 0; i < 100_000 && p.Pauses() == 0; i++ {
		p.Pace()
	}
	stop()
	if p.Pauses() == 0 {
		t.Fatal("never paused while other goroutines were runnable")
	}
}

func BenchmarkPace(b *testing.B) {
	p := New()
	for b.Loop() {
		p.Pace()
	}
}
