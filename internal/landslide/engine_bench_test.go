package landslide

import (
	"math/rand/v2"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the process's user+system CPU time: on a shared machine it
// is steadier than wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func benchEngine(b *testing.B, unsat, finite bool, slopes, hours int) {
	rng := rand.New(rand.NewPCG(1, 1))
	params := make([]Params, slopes)
	for i := range params {
		params[i] = randomSlope(rng, unsat, finite)
	}
	e, err := NewEngine(EngineConfig{Nodes: 20, Step: 3600}, params)
	if err != nil {
		b.Fatal(err)
	}
	rates := make([]float64, slopes)
	for h := 0; h < hours; h++ {
		for i := range rates {
			rates[i] = rng.ExpFloat64() * 8e-6
		}
		if err := e.AddPeriod(float64(h)*3600, float64(h+1)*3600, rates); err != nil {
			b.Fatal(err)
		}
	}
	out := make([]Summary, slopes)
	if err := e.Evaluate(b.Context(), float64(hours)*3600, out, nil); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	c0 := cpuTime()
	h := hours
	for b.Loop() { // one update: a new hour of rain, then every slope at its end
		for i := range rates {
			rates[i] = rng.ExpFloat64() * 8e-6
		}
		if err := e.AddPeriod(float64(h)*3600, float64(h+1)*3600, rates); err != nil {
			b.Fatal(err)
		}
		h++
		if err := e.Evaluate(b.Context(), float64(h)*3600, out, nil); err != nil {
			b.Fatal(err)
		}
	}
	cpu := cpuTime() - c0
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N)/float64(slopes), "cpu-ns/slope")
	b.ReportMetric(cpu.Seconds()/float64(b.N)*60000/float64(slopes), "cpu-s/60k-slopes")
}

// BenchmarkEngineUpdate measures one update (a new hour of rainfall on
// every slope, then every slope evaluated at its end) after a 24-hour
// history of hourly rainfall, per model; cpu-s/60k-slopes scales the CPU
// time to 60,000 slopes.
func BenchmarkEngineUpdate(b *testing.B) {
	for _, m := range []struct {
		name          string
		unsat, finite bool
	}{{"sat-infinite", false, false}, {"sat-finite", false, true}, {"unsat-infinite", true, false}, {"unsat-finite", true, true}} {
		b.Run(m.name, func(b *testing.B) { benchEngine(b, m.unsat, m.finite, 2000, 24) })
	}
}
