package pace

import (
	"math"
	"slices"
	"time"

	"testing"

	"github.com/tsingma/tsingma/internal/testenv"
)

// TestPausesOnlyWhenOthersWait: alone, Pace never pauses; with more
// busy goroutines than Ps, it does.
func TestPausesOnlyWhenOthersWait(t *testing.T) {
	p := New(0.5)
	for range 1000 {
		p.Pace()
	}
	if p.Pauses() > 10 {
		// A pause or two for the runtime's own goroutines (a GC cycle)
		// is possible; a pacer that pauses regardless is not.
		t.Fatalf("paused %d times in 1000 calls with nothing else to run", p.Pauses())
	}
	p = New(0.5)
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
	p := New(0.5)
	for b.Loop() {
		p.Pace()
	}
}

// TestPauseEndsWhenNothingWaits: a pause looks again every step and ends
// as soon as no goroutine waits, or at its limit.
func TestPauseEndsWhenNothingWaits(t *testing.T) {
	var steps []time.Duration
	fake := func(d time.Duration) time.Duration { steps = append(steps, d); return d }
	waits := 3 // goroutines wait for the first three looks
	got := pause(time.Second, func() bool { waits--; return waits > 0 }, fake)
	if want := 3 * step; got != want || len(steps) != 3 {
		t.Fatalf("paused %v in %d steps, want %v in 3", got, len(steps), want)
	}
	steps = nil
	got = pause(2*step+step/2, func() bool { return true }, fake)
	if want := []time.Duration{step, step, step / 2}; got != 2*step+step/2 || !slices.Equal(steps, want) {
		t.Fatalf("paused %v in steps %v, want the limit %v in %v", got, steps, 2*step+step/2, want)
	}
	// A limit below a step is one short sleep, even if others still wait.
	steps = nil
	if got = pause(step/5, func() bool { return true }, fake); got != step/5 || len(steps) != 1 {
		t.Fatalf("paused %v in %d steps, want %v in 1", got, len(steps), step/5)
	}
}

// TestShareSetsTheLongestPause: while others wait, a pause is at most
// the work since the last one times (1-share)/share.
func TestShareSetsTheLongestPause(t *testing.T) {
	for _, c := range []struct{ share, ratio float64 }{{0.5, 1}, {0.1, 9}, {1, 0}, {0, 99}, {2, 0}} {
		if got := New(c.share).ratio; math.Abs(got-c.ratio) > 1e-9 {
			t.Errorf("New(%v).ratio = %v, want %v", c.share, got, c.ratio)
		}
	}
}
