// Package pace lets background work (anomaly scoring, flushing the
// telemetry head to blocks) give the CPU to work that someone waits for
// (ingest, acknowledgements, queries).
//
// A Pacer looks at the Go scheduler's count of runnable goroutines
// (runtime/metrics). While other goroutines wait for the CPU, Pace pauses
// as long as the caller has worked since its last pause (at most Max), so
// that under CPU overload the background work takes at most about half of
// one core's time; with the CPU to spare it never pauses. The decision is
// the scheduler's state, not a clock, so a pacer costs about 0.1 us a call
// (BenchmarkPace).
package pace

import (
	"runtime/metrics"
	"time"
)

// Max bounds one pause.
const Max = 5 * time.Millisecond

// Pacer paces one goroutine's background work. It is not safe for
// concurrent use: give each goroutine its own.
type Pacer struct {
	runnable []metrics.Sample
	since    time.Time // start of the work since the last pause
	pauses   int
}

// New returns a Pacer whose work starts now.
func New() *Pacer {
	return &Pacer{runnable: []metrics.Sample{{Name: "/sched/goroutines/runnable:goroutines"}}, since: time.Now()}
}

// Start marks the beginning of a run of work (the caller was idle before).
func (p *Pacer) Start() { p.since = time.Now() }

// Pace pauses the caller if other goroutines are waiting for the CPU, and
// says whether it did.
func (p *Pacer) Pace() bool {
	metrics.Read(p.runnable)
	if v := p.runnable[0].Value; v.Kind() != metrics.KindUint64 || v.Uint64() == 0 {
		return false
	}
	time.Sleep(min(time.Since(p.since), Max))
	p.pauses++
	p.since = time.Now()
	return true
}

// Pauses returns how many times Pace paused.
func (p *Pacer) Pauses() int { return p.pauses }
