package trigrs

import (
	"math"
	"path/filepath"
	"sort"
	"testing"

	"github.com/tsingma/tsingma/internal/landslide"
	"github.com/tsingma/tsingma/internal/testenv"
)

// The many-slope Engine (the fast path the platform uses) reproduces
// TRIGRS too: every case whose nodes start at the surface, run through
// landslide.Engine, within 1e-5 m and 1e-5 in FS at every node.
func TestEngineAgainstTRIGRS(t *testing.T) {
	dir := testenv.Dataset(t, "trigrs")
	prof, _, err := loadReference(dir)
	if err != nil {
		t.Fatal(err)
	}
	cases, _ := filepath.Glob(filepath.Join(dir, "*", "*", "tr_in.txt"))
	tested := 0
	for _, f := range cases {
		cd := filepath.Dir(f)
		name := filepath.Base(cd)
		cfg, in, err := loadCase(cd)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(in) == 0 || in[0].zminS != 0 {
			continue // the engine's nodes start at the surface
		}
		step := 0.0
		unsat := false
		for _, c := range in {
			unsat = unsat || c.unsatZone
		}
		if unsat {
			step = unsatTimeGrid(cfg).Step
		}
		var params []landslide.Params
		var cells []int
		for i, c := range in {
			if !c.skipped {
				params = append(params, c.params)
				cells = append(cells, i+1)
			}
		}
		e, err := landslide.NewEngine(landslide.EngineConfig{Nodes: cfg.NZs, Step: step}, params)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for k := 0; k < cfg.NPer; k++ {
			rates := make([]float64, len(cells))
			for j, cell := range cells {
				rates[j] = in[cell-1].rain[k].Rate
			}
			if err := e.AddPeriod(cfg.Capt[k], cfg.Capt[k+1], rates); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
		times := map[int]float64{}
		rows := map[key][]ProfileRow{}
		for _, p := range prof[name] {
			times[p.OutIndex] = p.Time
			rows[key{p.Cell, p.OutIndex}] = append(rows[key{p.Cell, p.OutIndex}], p)
		}
		outs := make([]int, 0, len(times))
		for o := range times {
			outs = append(outs, o)
		}
		sort.Ints(outs)
		var worstPsi, worstFS float64
		sum := make([]landslide.Summary, len(params))
		pr := make([]landslide.Profile, len(params))
		for _, o := range outs {
			if times[o] > cfg.Capt[cfg.NPer] {
				continue // the engine stops at the last period
			}
			if err := e.Evaluate(t.Context(), times[o], sum, pr); err != nil {
				t.Fatalf("%s t=%g: %v", name, times[o], err)
			}
			for j, cell := range cells {
				for n, r := range rows[key{cell, o}] {
					if in[cell-1].params.FiniteDepth && lateSeriesDefect(&in[cell-1], times[o]) {
						continue
					}
					worstPsi = math.Max(worstPsi, math.Abs(pr[j].Nodes[n].Psi-r.P))
					worstFS = math.Max(worstFS, math.Abs(pr[j].Nodes[n].FS-r.FS))
				}
			}
		}
		t.Logf("%s: engine vs TRIGRS max |Δψ| %.3g m, |ΔFS| %.3g", name, worstPsi, worstFS)
		if worstPsi > 1e-5 || worstFS > 1e-5 {
			t.Errorf("%s: engine vs TRIGRS max |Δψ| %.3g m, |ΔFS| %.3g, want ≤ 1e-5", name, worstPsi, worstFS)
		}
		tested++
	}
	if tested < 8 {
		t.Errorf("only %d cases ran through the engine", tested)
	}
}
