package anomaly

import (
	"math"
	"math/rand/v2"
	"testing"
)

func recalModes() map[string]RecalConfig {
	report := func(rc RecalConfig) RecalConfig { rc.ReportOnly = true; return rc }
	return map[string]RecalConfig{
		"likelihood":        DefaultRecalConfig(RecalLikelihood),
		"likelihood-report": report(DefaultRecalConfig(RecalLikelihood)),
		"rank":              DefaultRecalConfig(RecalRank),
		"rank-report":       report(DefaultRecalConfig(RecalRank)),
		"budget":            DefaultRecalConfig(RecalBudget),
	}
}

func runRecal(t *testing.T, rc RecalConfig, ts []int64, vs []float64) []float64 {
	t.Helper()
	r, err := NewRecalibrated(DefaultConfig(), rc)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float64, len(vs))
	for i := range vs {
		out[i] = r.Update(ts[i], vs[i])
	}
	return out
}

// spiky is series with a spike of 8σ every 97 samples from sample 1500:
// far more reports than a channel's budget allows.
func spiky(n int) (ts []int64, vs []float64) {
	ts, vs = series(n, -1, 0, 21)
	for i := 1500; i < n; i += 97 {
		vs[i] += 8
	}
	return ts, vs
}

// TestRecalibratedStreaming: every recalibration stage is deterministic,
// scores in [0, 1), and does not look ahead.
func TestRecalibratedStreaming(t *testing.T) {
	ts, vs := spiky(5000)
	for name, rc := range recalModes() {
		t.Run(name, func(t *testing.T) {
			a := runRecal(t, rc, ts, vs)
			b := runRecal(t, rc, ts, vs)
			reports := 0
			for i := range a {
				if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
					t.Fatalf("score[%d] = %v, then %v", i, a[i], b[i])
				}
				if !(a[i] >= 0 && a[i] < 1) {
					t.Fatalf("score[%d] = %v, want in [0, 1)", i, a[i])
				}
				if a[i] > 0 {
					reports++
				}
			}
			if reports == 0 {
				t.Fatal("no report on a series with 36 spikes of 8σ")
			}
			for _, cut := range []int{200, 2600, 4999} {
				future := append([]float64(nil), vs...)
				for i := cut; i < len(future); i++ {
					future[i] = -3 * future[i]
				}
				c := runRecal(t, rc, ts, future)
				for i := range cut {
					if c[i] != a[i] {
						t.Fatalf("cut %d: score[%d] changed from %v to %v when only the future changed", cut, i, a[i], c[i])
					}
				}
			}
		})
	}
}

// TestRecalibratedReportOnly: with ReportOnly, the stage reports on exactly
// the samples the default detector reports (it only rescores them), and
// the budget never raises a score and reports on the same samples too.
func TestRecalibratedReportOnly(t *testing.T) {
	ts, vs := spiky(6000)
	base := run(t, DefaultConfig(), ts, vs)
	for name, rc := range recalModes() {
		if !rc.ReportOnly && rc.Mode != RecalBudget {
			continue
		}
		got := runRecal(t, rc, ts, vs)
		discounted := 0
		for i := range base {
			if (got[i] > 0) != (base[i] > 0) {
				t.Fatalf("%s: sample %d scored %v, the default detector %v: the reports must be the same samples", name, i, got[i], base[i])
			}
			if rc.Mode == RecalBudget {
				if got[i] > base[i] {
					t.Fatalf("budget raised sample %d from %v to %v", i, base[i], got[i])
				}
				if got[i] < base[i] {
					discounted++
				}
			}
		}
		if rc.Mode == RecalBudget && discounted == 0 {
			t.Errorf("budget: no report discounted on a series reporting far beyond one per %v samples", 1/rc.BudgetRate)
		}
	}
}

// TestRankOfCalibratedSurprise: a surprise that is already calibrated (the
// −log10 of a uniform variable) is mapped to about itself, in the body and
// in the fitted exponential tail.
func TestRankOfCalibratedSurprise(t *testing.T) {
	r, err := NewRecalibrated(DefaultConfig(), DefaultRecalConfig(RecalRank))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 50000 {
		r.n++
		r.rankSurprise(-math.Log10(1 - rng.Float64()))
	}
	for _, s := range []float64{0.5, 1, 2, 3, 5} {
		saved := *r
		got := r.rankSurprise(s)
		*r = saved
		if math.Abs(got-s) > 0.25+0.1*s {
			t.Errorf("calibrated surprise %v recalibrated to %.3f, want about %v", s, got, s)
		}
	}
}

// TestLikelihood: the likelihood of a short average far above the long-term
// mean is large, of one at the mean about zero.
func TestLikelihood(t *testing.T) {
	r, err := NewRecalibrated(DefaultConfig(), DefaultRecalConfig(RecalLikelihood))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for range 20000 {
		r.n++
		r.likelihood(0.1 + 0.01*rng.NormFloat64())
	}
	if l := r.likelihood(0.1); l > 0.5 {
		t.Errorf("raw score at the long-term mean: likelihood surprise %.2f, want about 0", l)
	}
	var l float64
	for range 40 { // the short average (span 10) converges to 0.2
		r.n++
		l = r.likelihood(0.2)
	}
	// The short average is 10 former deviations above the mean, but the
	// long-term variance learns the 40 high values too (σ: 0.010 → 0.013),
	// so z ≈ 7.4 and −log10 P(Z > z) ≈ 13.
	if l < 10 || l > 17 {
		t.Errorf("short average 10σ above the former mean: likelihood surprise %.2f, want about 13", l)
	}
}

func TestNegLog10NormalTail(t *testing.T) {
	for _, c := range []struct{ z, want float64 }{
		{-1, 0}, {0, 0}, {1.6448536269514722, -math.Log10(0.05)}, {3.090232306167813, 3},
	} {
		if got := negLog10NormalTail(c.z); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("z = %v: %v, want %v", c.z, got, c.want)
		}
	}
	// The asymptotic form takes over at 30 without a visible step, and the
	// function keeps increasing.
	if lo, hi := negLog10NormalTail(math.Nextafter(30, 0)), negLog10NormalTail(30); math.Abs(hi-lo) > 1e-3 {
		t.Errorf("step at z = 30: %v then %v", lo, hi)
	}
	prev := 0.0
	for z := 0.5; z < 60; z += 0.5 {
		v := negLog10NormalTail(z)
		if !(v > prev) || math.IsInf(v, 0) {
			t.Fatalf("z = %v: %v after %v, want increasing and finite", z, v, prev)
		}
		prev = v
	}
}

func TestRecalConfigValidation(t *testing.T) {
	bad := map[string]RecalConfig{
		"no mode":      {Memory: 5000, Short: 10},
		"unknown mode": {Mode: numRecal, Memory: 5000, Short: 10},
		"memory":       func() RecalConfig { rc := DefaultRecalConfig(RecalRank); rc.Memory = 1; return rc }(),
		"short NaN":    func() RecalConfig { rc := DefaultRecalConfig(RecalLikelihood); rc.Short = math.NaN(); return rc }(),
		"budget rate":  func() RecalConfig { rc := DefaultRecalConfig(RecalBudget); rc.BudgetRate = 0; return rc }(),
		"budget cap":   func() RecalConfig { rc := DefaultRecalConfig(RecalBudget); rc.BudgetCap = 0.5; return rc }(),
	}
	for name, rc := range bad {
		if _, err := NewRecalibrated(DefaultConfig(), rc); err == nil {
			t.Errorf("%s: accepted %+v", name, rc)
		}
	}
	raw := DefaultConfig()
	raw.Raw = true
	if _, err := NewRecalibrated(raw, DefaultRecalConfig(RecalRank)); err == nil {
		t.Error("accepted a Raw detector, which has no event stage")
	}
	for name, rc := range recalModes() {
		if _, err := NewRecalibrated(DefaultConfig(), rc); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
