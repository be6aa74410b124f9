// Package pace lets background work (anomaly scoring, flushing the
// telemetry head to blocks) give the CPU to work that someone waits for
// (ingest, acknowledgements, queries).
//
// A Pacer looks at the Go scheduler's count of runnable goroutines
// (runtime/metrics). While other goroutines wait for the CPU, Pace pauses
// until none waits, but at most so long that the background work keeps
// its share of one core (and never longer than Max): under CPU overload
// it takes about that share, under a load that leaves the CPU idle at
// times it runs in those times, and with the CPU to spare it never pauses.
// The decision is the scheduler's state, not a clock, so a pacer costs
// about 0.1 us a call (BenchmarkPace).
package pace

import (
	"runtime/metrics"
	"time"
)

// Max bounds one pause.
const Max = 5 * time.Millisecond

// step is how often a pause looks again at whether goroutines still wait.
const step = 50 * time.Microsecond

// Pacer paces one goroutine's background work. It is not safe for
// concurrent use: give each goroutine its own.
type Pacer struct {
	runnable []metrics.Sample
	ratio    float64   // longest pause per unit of work: (1-share)/share
	since    time.Time // start of the work since the last pause
	pauses   int
}

// New returns a Pacer whose work starts now and keeps share (0 < share
// ≤ 1) of one core while other goroutines wait for the CPU all the time.
func New(share float64) *Pacer {
	share = min(max(share, 0.01), 1)
	return &Pacer{runnable: []metrics.Sample{{Name: "/sched/goroutines/runnable:goroutines"}}, ratio: (1 - share) / share, since: time.Now()}
}

// Start marks the beginning of a run of work (the caller was idle before).
func (p *Pacer) Start() { p.since = time.Now() }

// Pace pauses the caller if other goroutines are waiting for the CPU, and
// says whether it did.
func (p *Pacer) Pace() bool {
	if !p.waiting() {
		return false
	}
	pause(min(time.Duration(float64(time.Since(p.since))*p.ratio), Max), p.waiting, sleep)
	p.pauses++
	p.since = time.Now()
	return true
}

// pause sleeps in steps until limit has passed or nothing waits any more
// (at least one step, up to limit), and returns the time it slept; sleep
// sleeps about d and returns how long it did.
func pause(limit time.Duration, waiting func() bool, sleep func(d time.Duration) time.Duration) time.Duration {
	var slept time.Duration
	for {
		slept += sleep(min(step, limit-slept))
		if slept >= limit || !waiting() {
			return slept
		}
	}
}

func sleep(d time.Duration) time.Duration {
	t0 := time.Now()
	time.Sleep(d)
	return time.Since(t0)
}

// waiting reports whether goroutines wait for the CPU.
func (p *Pacer) waiting() bool {
	metrics.Read(p.runnable)
	v := p.runnable[0].Value
	return v.Kind() == metrics.KindUint64 && v.Uint64() > 0
}

// Pauses returns how many times Pace paused.
func (p *Pacer) Pauses() int { return p.pauses }
