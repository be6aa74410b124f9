// Package landslide measures the slope-stability engine of
// internal/landslide on a synthetic 60,000-slope territory: the cost of an
// update when a new hour of rainfall arrives (saturated and unsaturated
// models, infinite and finite depth) and full runs configured like the
// staged TRIGRS cases d04 (saturated, finite depth) and d06 (unsaturated,
// finite depth) scaled to the same number of cells, for comparison with
// TRIGRS's serial run times.
package landslide

import (
	"context"
	"fmt"
	"io"
	"math"
	"runtime"
	"sort"
	"time"

	"github.com/tsingma/tsingma/internal/landslide"
)

// Config sizes the benchmark.
type Config struct {
	Rows, Cols int // grid of slopes (Rows·Cols slopes)
	Hours      int // storm length: one update per hour
	Nodes      int // depth intervals per column
	Workers    int
}

// DefaultConfig is 200 × 300 = 60,000 slopes, a 24-h storm, 20 intervals.
func DefaultConfig() Config {
	return Config{Rows: 200, Cols: 300, Hours: 24, Nodes: 20, Workers: runtime.GOMAXPROCS(0)}
}

// Zones after the staged cases (README of the trigrs dataset): colluvium,
// completely decomposed granite, loose fill.
var zones = []landslide.Soil{
	{Cohesion: 6000, FrictionDeg: 36, UnitWeight: 19500, Diffusivity: 5e-5, Ksat: 5e-6, ThetaSat: 0.42, ThetaRes: 0.05, Alpha: 3},
	{Cohesion: 8000, FrictionDeg: 40, UnitWeight: 19000, Diffusivity: 1e-4, Ksat: 1e-5, ThetaSat: 0.40, ThetaRes: 0.06, Alpha: 2},
	{Cohesion: 2000, FrictionDeg: 34, UnitWeight: 18500, Diffusivity: 2e-4, Ksat: 2e-5, ThetaSat: 0.38, ThetaRes: 0.05, Alpha: 4},
}

// Territory returns the synthetic slopes: smooth deterministic fields of
// slope, depth, water table and zone, like the staged cases.
func Territory(cfg Config, unsat, finite bool) []landslide.Params {
	out := make([]landslide.Params, 0, cfg.Rows*cfg.Cols)
	for r := 0; r < cfg.Rows; r++ {
		for c := 0; c < cfg.Cols; c++ {
			fr, fc := float64(r), float64(c)
			soil := zones[(c*3)/cfg.Cols]
			if !unsat {
				soil.Alpha = -1
			}
			zmax := 2.5 + 1.2*math.Sin(fr/11+fc/29)
			out = append(out, landslide.Params{
				SlopeDeg:        math.Round((32+10*math.Sin(fr/17)*math.Cos(fc/23))*10) / 10,
				DepthToBase:     math.Round(zmax*100) / 100,
				WaterTableDepth: math.Round(zmax*(0.6+0.2*math.Cos(fr/7-fc/13))*100) / 100,
				SteadyFlux:      1e-8 * (1 + 0.5*math.Sin(fc/31)),
				Soil:            soil,
				FiniteDepth:     finite,
				WaterTableRise:  true, BackgroundFlux: true, AnalyticFillable: true, IgnoreNegativePressure: true,
			})
		}
	}
	return out
}

// stormRate is the rainfall (m/s) of hour h at column c: a 24-h storm
// peaking at 40 mm/h, 60–140 % across the territory.
func stormRate(h, hours, c, cols int) float64 {
	mid := float64(hours) / 2
	x := (float64(h) + 0.5 - mid) / (float64(hours) / 5)
	return 40e-3 / 3600 * math.Exp(-x*x) * (0.6 + 0.8*float64(c)/float64(cols))
}

// Result of one scenario.
type Result struct {
	Name     string
	Slopes   int
	Setup    time.Duration
	Updates  []time.Duration // per hourly update (AddPeriod + Evaluate), wall
	CPU      []time.Duration // the same, process CPU time (all threads)
	Total    time.Duration   // full runs: setup + all outputs, wall
	TotalCPU time.Duration   // the same, CPU
	MinFS    float64         // smallest min FS over the territory at the end
	Unstable int             // slopes with min FS < 1 at the end
}

func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func summarize(r *Result, out []landslide.Summary) {
	r.MinFS = math.Inf(1)
	for _, s := range out {
		r.MinFS = math.Min(r.MinFS, s.MinFS)
		if s.MinFS < 1 {
			r.Unstable++
		}
	}
}

// Storm measures hourly updates through a storm.
func Storm(ctx context.Context, cfg Config, unsat, finite bool) (*Result, error) {
	name := map[[2]bool]string{{false, false}: "saturated infinite", {false, true}: "saturated finite",
		{true, false}: "unsaturated infinite", {true, true}: "unsaturated finite"}[[2]bool{unsat, finite}]
	params := Territory(cfg, unsat, finite)
	r := &Result{Name: name + " storm", Slopes: len(params)}
	t0 := time.Now()
	e, err := landslide.NewEngine(landslide.EngineConfig{Nodes: cfg.Nodes, Workers: cfg.Workers, Step: 3600}, params)
	if err != nil {
		return nil, err
	}
	r.Setup = time.Since(t0)
	out := make([]landslide.Summary, len(params))
	rates := make([]float64, len(params))
	for h := 0; h < cfg.Hours; h++ {
		for i := range rates {
			rates[i] = stormRate(h, cfg.Hours, i%cfg.Cols, cfg.Cols)
		}
		t, c := time.Now(), cpuTime()
		if err := e.AddPeriod(float64(h)*3600, float64(h+1)*3600, rates); err != nil {
			return nil, err
		}
		if err := e.Evaluate(ctx, float64(h+1)*3600, out, nil); err != nil {
			return nil, err
		}
		r.Updates = append(r.Updates, time.Since(t))
		r.CPU = append(r.CPU, cpuTime()-c)
	}
	summarize(r, out)
	return r, nil
}

// TRIGRSLike runs a staged case's configuration on the whole territory:
// d04 (saturated, finite depth: 0–12 h 1e-6 m/s, 12–24 h a rainfall field,
// 24–72 h 2e-6 m/s; outputs 0, 12, 24, 48, 72 h) or d06 (unsaturated,
// finite depth: 0–12 h 2e-6, 12–18 h 8e-6, 18–36 h 5e-7 m/s; outputs 0, 12,
// 18, 24, 36 h; 1-h steps as TRIGRS uses for d06). Setup is included.
func TRIGRSLike(ctx context.Context, cfg Config, unsat bool) (*Result, error) {
	t0, c0 := time.Now(), cpuTime()
	params := Territory(cfg, unsat, true)
	name := "d04-like saturated finite, 5 outputs"
	type per struct {
		end  float64
		rate func(c int) float64
	}
	var periods []per
	var outs []float64
	if unsat {
		name = "d06-like unsaturated finite, 5 outputs"
		periods = []per{{12, func(int) float64 { return 2e-6 }}, {18, func(int) float64 { return 8e-6 }}, {36, func(int) float64 { return 5e-7 }}}
		outs = []float64{0, 12, 18, 24, 36}
	} else {
		periods = []per{{12, func(int) float64 { return 1e-6 }}, {24, func(c int) float64 { return 2e-6 + 8e-6*float64(c)/float64(cfg.Cols) }}, {72, func(int) float64 { return 2e-6 }}}
		outs = []float64{0, 12, 24, 48, 72}
	}
	e, err := landslide.NewEngine(landslide.EngineConfig{Nodes: cfg.Nodes, Workers: cfg.Workers, Step: 3600}, params)
	if err != nil {
		return nil, err
	}
	r := &Result{Name: name, Slopes: len(params)}
	r.Setup = time.Since(t0)
	start := 0.0
	rates := make([]float64, len(params))
	for _, p := range periods {
		for i := range rates {
			rates[i] = p.rate(i % cfg.Cols)
		}
		if err := e.AddPeriod(start*3600, p.end*3600, rates); err != nil {
			return nil, err
		}
		start = p.end
	}
	out := make([]landslide.Summary, len(params))
	for _, h := range outs {
		if err := e.Evaluate(ctx, h*3600, out, nil); err != nil {
			return nil, err
		}
	}
	r.Total, r.TotalCPU = time.Since(t0), cpuTime()-c0
	summarize(r, out)
	return r, nil
}

// Run measures every scenario and writes a report; the last line is
// "bench landslide slopes=N sat_update_s=.. unsat_update_s=.. ..." with the
// worst (over the models) median wall and CPU time of an hourly update.
func Run(ctx context.Context, cfg Config, w io.Writer) error {
	fmt.Fprintf(w, "landslide engine: %d slopes (%dx%d), %d nodes each, workers=%d, GOMAXPROCS=%d, %s/%s\n",
		cfg.Rows*cfg.Cols, cfg.Rows, cfg.Cols, cfg.Nodes+1, cfg.Workers, runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH)
	var satWorst, unsWorst, satCPU, unsCPU time.Duration
	for _, m := range [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}} {
		r, err := Storm(ctx, cfg, m[0], m[1])
		if err != nil {
			return err
		}
		mx := time.Duration(0)
		for _, d := range r.Updates {
			mx = max(mx, d)
		}
		fmt.Fprintf(w, "%-28s setup %6.2fs  hourly update (%d): wall median %6.3fs max %6.3fs, CPU median %6.3fs  end: min FS %.3f, %d slopes FS<1\n",
			r.Name, r.Setup.Seconds(), len(r.Updates), median(r.Updates).Seconds(), mx.Seconds(), median(r.CPU).Seconds(), r.MinFS, r.Unstable)
		if m[0] {
			unsWorst, unsCPU = max(unsWorst, median(r.Updates)), max(unsCPU, median(r.CPU))
		} else {
			satWorst, satCPU = max(satWorst, median(r.Updates)), max(satCPU, median(r.CPU))
		}
	}
	for _, unsat := range []bool{false, true} {
		r, err := TRIGRSLike(ctx, cfg, unsat)
		if err != nil {
			return err
		}
		ref := "TRIGRS reference only quoted for 60,000 cells"
		if cfg.Rows*cfg.Cols == 60000 {
			ref = "TRIGRS 2.1 serial on 60,000 cells: ~8-10 s CPU (lead's figure, not measured here)"
			if unsat {
				ref = "TRIGRS 2.1 serial on 60,000 cells: ~210 s CPU (lead's figure, not measured here)"
			}
		}
		fmt.Fprintf(w, "%-40s total wall %6.2fs CPU %6.2fs (setup %.2fs)  end: min FS %.3f, %d slopes FS<1   [%s]\n",
			r.Name, r.Total.Seconds(), r.TotalCPU.Seconds(), r.Setup.Seconds(), r.MinFS, r.Unstable, ref)
	}
	fmt.Fprintf(w, "bench landslide slopes=%d sat_update_s=%.3f unsat_update_s=%.3f sat_update_cpu_s=%.3f unsat_update_cpu_s=%.3f\n",
		cfg.Rows*cfg.Cols, satWorst.Seconds(), unsWorst.Seconds(), satCPU.Seconds(), unsCPU.Seconds())
	return nil
}
