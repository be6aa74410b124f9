// Package anomalybench measures the throughput and state size of tsingma's
// streaming anomaly detector (internal/anomaly) on real series: the NAB
// corpus values, replayed round-robin over many channels, one goroutine,
// so that samples/s is per core.
package anomalybench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"runtime"
	"syscall"
	"time"

	"github.com/tsingma/tsingma/internal/anomaly"
	"github.com/tsingma/tsingma/internal/eval/nab"
)

// Config is one benchmark run.
type Config struct {
	Data     string        // NAB folder whose series are replayed
	Channels int           // detectors fed round-robin
	Duration time.Duration // measured time per variant
	Out      io.Writer     // report; the last line is the headline
}

// Result is the measurement of one detector configuration.
type Result struct {
	Name           string
	Samples        int64
	Elapsed        time.Duration
	SamplesPerSec  float64 // over wall-clock time
	SamplesPerCPU  float64 // over the process's CPU time (user+system): robust to a loaded machine
	CheckpointSize int     // bytes of MarshalBinary per channel
	MemorySize     int     // bytes of one Detector value in memory
}

// Run measures the default detector and, for reference, the variant with
// every view enabled, and prints one line each and the headline.
func Run(ctx context.Context, cfg Config) ([]Result, error) {
	if cfg.Channels < 1 {
		return nil, errors.New("channels must be at least 1")
	}
	if cfg.Duration <= 0 {
		return nil, errors.New("duration must be positive")
	}
	c, err := nab.LoadCorpus(cfg.Data)
	if err != nil {
		return nil, err
	}
	all := anomaly.DefaultConfig()
	all.Views = 0
	variants := []struct {
		name string
		cfg  anomaly.Config
	}{{"default", anomaly.DefaultConfig()}, {"all-views", all}}
	fmt.Fprintf(cfg.Out, "anomaly detector: %d channels fed round-robin from the %d NAB series (%d rows), 1 goroutine, GOMAXPROCS=%d, %s per variant\n",
		cfg.Channels, len(c.Series), rows(c), runtime.GOMAXPROCS(0), cfg.Duration)
	var out []Result
	for _, v := range variants {
		r, err := measure(ctx, c, v.name, v.cfg, cfg)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(cfg.Out, "%-10s %10.0f samples/s wall  %10.0f samples/CPU-s  %6.0f ns/sample wall  %d samples  state %d B/channel (checkpoint), %d B in memory\n",
			r.Name, r.SamplesPerSec, r.SamplesPerCPU, float64(r.Elapsed.Nanoseconds())/float64(r.Samples), r.Samples, r.CheckpointSize, r.MemorySize)
		out = append(out, r)
	}
	fmt.Fprintf(cfg.Out, "bench anomaly samples_per_cpu_s=%.0f samples_per_wall_s=%.0f state_bytes=%d channels=%d\n",
		out[0].SamplesPerCPU, out[0].SamplesPerSec, out[0].CheckpointSize, cfg.Channels)
	return out, nil
}

func rows(c *nab.Corpus) int {
	n := 0
	for _, s := range c.Series {
		n += len(s.Values)
	}
	return n
}

// measure feeds channel k the series k mod 58 from its start, cycling,
// until the duration has passed (checked every 4096 samples).
func measure(ctx context.Context, c *nab.Corpus, name string, dc anomaly.Config, cfg Config) (Result, error) {
	dets := make([]*anomaly.Detector, cfg.Channels)
	pos := make([]int, cfg.Channels)
	for k := range dets {
		d, err := anomaly.New(dc)
		if err != nil {
			return Result{}, err
		}
		dets[k] = d
		pos[k] = (k / len(c.Series)) * 97 // channels on one series start at different rows
	}
	var n int64
	cpu0, err := cpuTime()
	if err != nil {
		return Result{}, err
	}
	start := time.Now()
	deadline := start.Add(cfg.Duration)
	sink := 0.0
	for {
		for range 4096 {
			k := int(n % int64(cfg.Channels))
			s := c.Series[k%len(c.Series)]
			i := pos[k] % len(s.Values)
			sink += dets[k].Update(s.Millis[i], s.Values[i])
			pos[k]++
			n++
		}
		if time.Now().After(deadline) {
			break
		}
		if err := ctx.Err(); err != nil {
			return Result{}, err
		}
	}
	el := time.Since(start)
	cpu1, err := cpuTime()
	if err != nil {
		return Result{}, err
	}
	b, err := dets[0].MarshalBinary()
	if err != nil {
		return Result{}, err
	}
	if sink < 0 {
		return Result{}, errors.New("negative score") // keeps sink alive; scores are never negative
	}
	return Result{
		Name: name, Samples: n, Elapsed: el, SamplesPerSec: float64(n) / el.Seconds(), SamplesPerCPU: float64(n) / (cpu1 - cpu0).Seconds(),
		CheckpointSize: len(b), MemorySize: int(reflect.TypeFor[anomaly.Detector]().Size()),
	}, nil
}

// cpuTime is the CPU time (user + system) used by the process so far.
func cpuTime() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, fmt.Errorf("getrusage: %w", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}
