package landslide

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

var t0 = time.Date(2008, 6, 6, 0, 0, 0, 0, time.UTC)

func TestRollingAgainstBruteForce(t *testing.T) {
	windows := []time.Duration{time.Hour, 3 * time.Hour, 12 * time.Hour, 24 * time.Hour, 72 * time.Hour}
	r, err := NewRolling(5*time.Minute, windows)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	type s struct {
		at time.Time
		mm float64
	}
	var hist []s
	at := t0
	for i := 0; i < 1500; i++ {
		at = at.Add(time.Duration(rng.IntN(3)) * 5 * time.Minute) // 0: same interval, 2: one skipped
		if rng.IntN(50) == 0 {
			at = at.Add(30 * time.Hour) // a long gap
		}
		mm := math.Round(rng.Float64()*20*10) / 10
		if err := r.Add(at, mm); err != nil {
			t.Fatal(err)
		}
		hist = append(hist, s{at, mm})
		got := r.Sums(nil)
		for w, win := range windows {
			start := at.Truncate(5 * time.Minute).Add(-win + 5*time.Minute)
			want := 0.0
			for _, h := range hist {
				if !h.at.Before(start) {
					want += h.mm
				}
			}
			if math.Abs(got[w]-want) > 1e-9 {
				t.Fatalf("step %d window %v: got %.3f mm, want %.3f", i, win, got[w], want)
			}
		}
	}
}

func TestRollingEdges(t *testing.T) {
	r, err := NewRolling(time.Hour, []time.Duration{time.Hour, 3 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Sums(nil); got[0] != 0 || got[1] != 0 {
		t.Errorf("empty sums %v", got)
	}
	mustAdd := func(at time.Time, mm float64) {
		t.Helper()
		if err := r.Add(at, mm); err != nil {
			t.Fatal(err)
		}
	}
	mustAdd(t0, 10)
	mustAdd(t0.Add(30*time.Minute), 5) // same interval adds up
	if got := r.Sums(nil); got[0] != 15 || got[1] != 15 {
		t.Errorf("same interval: %v, want [15 15]", got)
	}
	if m := r.Missing(nil); m[0] != 0 || math.Abs(m[1]-2.0/3) > 1e-12 {
		t.Errorf("missing %v, want [0 0.667] (two hours before the first sample)", m)
	}
	if err := r.Add(t0.Add(-time.Hour), 1); !errors.Is(err, ErrOutOfOrder) {
		t.Errorf("out of order: %v", err)
	}
	for _, bad := range []float64{-1, math.NaN(), math.Inf(1)} {
		if err := r.Add(t0.Add(time.Hour), bad); !errors.Is(err, ErrBadSample) {
			t.Errorf("%g accepted: %v", bad, err)
		}
	}
	if got := r.Sums(nil); got[0] != 15 {
		t.Errorf("rejected samples changed the state: %v", got)
	}
	// the window boundary: after exactly 3 h the first interval leaves
	mustAdd(t0.Add(3*time.Hour), 0)
	if got := r.Sums(nil); got[0] != 0 || got[1] != 0 {
		t.Errorf("after 3 h: %v, want [0 0]", got)
	}
	if m := r.Missing(nil); math.Abs(m[1]-2.0/3) > 1e-12 {
		t.Errorf("gap intervals count as missing: %v", m)
	}
	r.AdvanceTo(t0.Add(100 * time.Hour))
	if m := r.Missing(nil); m[0] != 1 || m[1] != 1 {
		t.Errorf("silent gauge: missing %v, want all", m)
	}
	for _, w := range [][]time.Duration{nil, {90 * time.Minute}, {-time.Hour}} {
		if _, err := NewRolling(time.Hour, w); err == nil {
			t.Errorf("windows %v accepted", w)
		}
	}
}

func TestIDW(t *testing.T) {
	gauges := []Gauge{{"A", 0, 0}, {"B", 1000, 0}, {"C", 0, 1000}, {"D", 10000, 10000}}
	ip, err := NewIDW(IDWConfig{Radius: 2000, K: 2}, gauges)
	if err != nil {
		t.Fatal(err)
	}
	all := map[string]float64{"A": 10, "B": 20, "C": 40, "D": 100}
	get := func(m map[string]float64) func(string) (float64, bool) {
		return func(id string) (float64, bool) { v, ok := m[id]; return v, ok }
	}
	// midway between A and B: equal weights, C is third so not used (K=2)
	e, err := ip.At(500, 0, get(all))
	if err != nil || math.Abs(e.Value-15) > 1e-12 || len(e.Used) != 2 || e.Fallback != FallbackNone {
		t.Errorf("midpoint: %+v %v", e, err)
	}
	// on a gauge: that gauge alone
	if e, _ := ip.At(1000, 0, get(all)); e.Value != 20 || len(e.Used) != 1 || e.Used[0].ID != "B" {
		t.Errorf("on gauge B: %+v", e)
	}
	// A drops out: B and C are used instead and recorded
	noA := map[string]float64{"B": 20, "C": 40, "D": 100}
	e, _ = ip.At(0, 0, get(noA))
	if len(e.Used) != 2 || e.Used[0].ID == "A" || e.Used[1].ID == "A" || math.Abs(e.Value-30) > 1e-12 {
		t.Errorf("A dropped: %+v", e)
	}
	// nothing within the radius: nearest beyond it, flagged
	onlyD := map[string]float64{"D": 100}
	e, _ = ip.At(0, 0, get(onlyD))
	if e.Fallback != FallbackNearest || e.Value != 100 || e.Used[0].ID != "D" {
		t.Errorf("fallback: %+v", e)
	}
	if _, err := ip.At(0, 0, get(nil)); !errors.Is(err, ErrNoGauge) {
		t.Errorf("no gauges: %v", err)
	}
	if _, err := NewIDW(IDWConfig{Radius: 1}, []Gauge{{"A", 0, 0}, {"A", 1, 1}}); err == nil {
		t.Error("duplicate gauge accepted")
	}
}

// FitCurve recovers the coefficients of a synthetic Poisson process.
func TestFitCurveRecovers(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	windows := []time.Duration{24 * time.Hour, 72 * time.Hour}
	want := Curve{Windows: windows, Intercept: -4, Coef: []float64{0.8, 0.3}}
	var x [][]float64
	var y []float64
	for i := 0; i < 20000; i++ {
		r1 := rng.ExpFloat64() * 20
		r3 := r1 + rng.ExpFloat64()*30
		mu := want.Expected([]float64{r1, r3})
		// Poisson sample by inversion
		k, p, u := 0, math.Exp(-mu), rng.Float64()
		s := p
		for u > s && k < 10000 {
			k++
			p *= mu / float64(k)
			s += p
		}
		x = append(x, []float64{r1, r3})
		y = append(y, float64(k))
	}
	got, st, err := FitCurve(windows, x, y)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(got.Intercept-want.Intercept) > 0.15 || math.Abs(got.Coef[0]-0.8) > 0.05 || math.Abs(got.Coef[1]-0.3) > 0.05 {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if st.Deviance >= st.NullDev {
		t.Errorf("deviance %g not below null %g", st.Deviance, st.NullDev)
	}
	w := TerritoryWarning{Curve: got, Threshold: 5}
	if _, on := w.Assess([]float64{0, 0}); on {
		t.Error("warning on without rain")
	}
	if _, on := w.Assess([]float64{300, 500}); !on {
		t.Error("warning off in a 300 mm day")
	}
}

func TestExceedance(t *testing.T) {
	win := []time.Duration{time.Hour, 24 * time.Hour}
	crit := []Criterion{{time.Hour, 40}, {24 * time.Hour, 200}, {72 * time.Hour, 1}} // the last has no window: ignored
	r, which := Exceedance(crit, win, []float64{20, 250})
	if which != 1 || math.Abs(r-1.25) > 1e-12 {
		t.Errorf("got %g at %d, want 1.25 at criterion 1", r, which)
	}
	if _, which := Exceedance(nil, win, []float64{1, 1}); which != -1 {
		t.Error("no criteria must give -1")
	}
}

func TestWarningTracker(t *testing.T) {
	w := WarningTracker{Warning: TerritoryWarning{Curve: Curve{Windows: []time.Duration{24 * time.Hour}, Intercept: 0, Coef: []float64{1}}, Threshold: 100}}
	steps := []struct {
		mm          float64 // E = 1 + mm
		on, changed bool
	}{{10, false, false}, {99, true, true}, {120, true, false}, {85, true, false}, {70, false, true}, {90, false, false}, {150, true, true}}
	for i, s := range steps {
		at := t0.Add(time.Duration(i) * time.Hour)
		e, on, ch := w.Update(at, []float64{s.mm})
		if on != s.on || ch != s.changed {
			t.Errorf("step %d (E=%g): on %v changed %v, want %v %v", i, e, on, ch, s.on, s.changed)
		}
		if ch && !w.Since().Equal(at) {
			t.Errorf("step %d: since %v", i, w.Since())
		}
	}
}
