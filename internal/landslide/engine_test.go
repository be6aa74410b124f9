package landslide

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func randomSlope(rng *rand.Rand, unsat, finiteDepth bool) Params {
	p := Params{
		SlopeDeg: 20 + rng.Float64()*25, DepthToBase: 1.5 + rng.Float64()*3,
		SteadyFlux: rng.Float64() * 2e-8,
		Soil: Soil{Cohesion: 2000 + rng.Float64()*8000, FrictionDeg: 33 + rng.Float64()*7, UnitWeight: 18500 + rng.Float64()*1500,
			Ksat: math.Pow(10, -6+rng.Float64()*1.3), Diffusivity: math.Pow(10, -4.7+rng.Float64()*1.4),
			ThetaSat: 0.38 + rng.Float64()*0.07, ThetaRes: 0.05 + rng.Float64()*0.05, Alpha: -1},
		FiniteDepth: finiteDepth, IgnoreNegativePressure: true, WaterTableRise: true, BackgroundFlux: true, AnalyticFillable: true,
	}
	p.WaterTableDepth = p.DepthToBase * (0.4 + rng.Float64()*0.5)
	if unsat {
		p.Soil.Alpha = 1.5 + rng.Float64()*2.5
	}
	return p
}

// The Engine reproduces SaturatedProfile and UnsaturatedProfiles on random
// slopes under an hourly rainfall history.
func TestEngineMatchesProfiles(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	const nSlopes, hours, step = 40, 30, 3600.0
	for _, tc := range []struct {
		name          string
		unsat, finite bool
		tolPsi, tolFS float64
	}{
		{"saturated infinite", false, false, 1e-10, 1e-10},
		{"saturated finite", false, true, 1e-12, 1e-12},
		{"unsaturated infinite", true, false, 1e-8, 1e-8},
		{"unsaturated finite", true, true, 1e-8, 1e-8},
		{"unsaturated finite psi0=-1/alpha", true, true, 1e-8, 1e-8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			params := make([]Params, nSlopes)
			for i := range params {
				params[i] = randomSlope(rng, tc.unsat, tc.finite)
				params[i].PsiZeroAirEntry = strings.Contains(tc.name, "psi0")
			}
			e, err := NewEngine(EngineConfig{Nodes: 20, Step: step, Workers: 2}, params)
			if err != nil {
				t.Fatal(err)
			}
			rain := make([]Rainfall, nSlopes)
			for h := 0; h < hours; h++ {
				rates := make([]float64, nSlopes)
				for i := range rates {
					if rng.IntN(3) > 0 {
						rates[i] = rng.ExpFloat64() * 8e-6
					}
					rain[i] = append(rain[i], Period{Start: float64(h) * step, End: float64(h+1) * step, Rate: rates[i]})
				}
				if err := e.AddPeriod(float64(h)*step, float64(h+1)*step, rates); err != nil {
					t.Fatal(err)
				}
			}
			out := make([]Summary, nSlopes)
			got := make([]Profile, nSlopes)
			for _, at := range []int{0, 3, 10, 30} {
				if err := e.Evaluate(t.Context(), float64(at)*step, out, got); err != nil {
					t.Fatal(err)
				}
				var worstPsi, worstFS float64
				for i := range params {
					ps, err := UnsaturatedProfiles(params[i], rain[i], TimeGrid{Step: step, Steps: hours}, []int{at}, 0, 20)
					if err != nil {
						t.Fatal(err)
					}
					want := ps[0]
					for j := range want.Nodes {
						worstPsi = math.Max(worstPsi, math.Abs(got[i].Nodes[j].Psi-want.Nodes[j].Psi))
						worstFS = math.Max(worstFS, math.Abs(got[i].Nodes[j].FS-want.Nodes[j].FS))
					}
					if math.Abs(out[i].MinFS-want.MinFS) > tc.tolFS {
						t.Errorf("slope %d t=%dh: min FS %g, want %g", i, at, out[i].MinFS, want.MinFS)
					}
				}
				if worstPsi > tc.tolPsi || worstFS > tc.tolFS {
					t.Errorf("t=%dh: max |Δψ| %.3g m, |ΔFS| %.3g; want ≤ %g, %g", at, worstPsi, worstFS, tc.tolPsi, tc.tolFS)
				}
				t.Logf("t=%2dh: max |Δψ| %.3g m, |ΔFS| %.3g", at, worstPsi, worstFS)
			}
		})
	}
}

// After Reset the engine answers like a fresh one.
func TestEngineReset(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	params := []Params{randomSlope(rng, true, true), randomSlope(rng, false, false)}
	e, err := NewEngine(EngineConfig{Step: 3600}, params)
	if err != nil {
		t.Fatal(err)
	}
	add := func(r float64) {
		for h := 0; h < 5; h++ {
			if err := e.AddPeriod(float64(h)*3600, float64(h+1)*3600, []float64{r, r}); err != nil {
				t.Fatal(err)
			}
		}
	}
	add(1e-5)
	out := make([]Summary, 2)
	if err := e.Evaluate(t.Context(), 5*3600, out, nil); err != nil {
		t.Fatal(err)
	}
	e.Reset()
	add(2e-6)
	if err := e.Evaluate(t.Context(), 5*3600, out, nil); err != nil {
		t.Fatal(err)
	}
	fresh, _ := NewEngine(EngineConfig{Step: 3600}, params)
	e = fresh
	add(2e-6)
	want := make([]Summary, 2)
	if err := e.Evaluate(t.Context(), 5*3600, want, nil); err != nil {
		t.Fatal(err)
	}
	if out[0] != want[0] || out[1] != want[1] {
		t.Errorf("after Reset %+v, fresh %+v", out, want)
	}
	if err := e.Evaluate(t.Context(), 6*3600, want, nil); err == nil {
		t.Error("time beyond the history accepted")
	}
	if err := e.AddPeriod(0, 3600, []float64{1}); err == nil {
		t.Error("wrong number of rates accepted")
	}
	if err := e.AddPeriod(5*3600, 3600*5.5, []float64{1, 1}); err == nil {
		t.Error("boundary off the step grid accepted")
	}
	if err := e.AddPeriod(6*3600, 7*3600, []float64{1, 1}); err == nil {
		t.Error("gap in the history accepted")
	}
	if err := e.AddPeriod(5*3600, 6*3600, []float64{-1, 1}); err == nil {
		t.Error("negative rate accepted")
	}
}
