package landslide

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

func randomEvidence(rng *rand.Rand) Evidence {
	ev := Evidence{RainRatio: rng.Float64() * 2.5, MinFS: 0.5 + rng.Float64()*2, RainCriterion: "24h ≥ 200 mm"}
	if rng.IntN(4) == 0 {
		ev.RainRatio = math.NaN()
	}
	if rng.IntN(4) == 0 {
		ev.MinFS = math.NaN()
	}
	if rng.IntN(2) == 0 {
		lo := t0.Add(time.Duration(rng.Float64() * 120 * float64(time.Hour)))
		ev.Forecast = &Forecast{Accelerating: true, Lower: lo, FailureTime: lo.Add(time.Hour), Upper: lo.Add(2 * time.Hour)}
	}
	ev.Quality = Quality(rng.IntN(1 << 7))
	if rng.IntN(2) == 0 {
		ev.Quality = 0
	}
	return ev
}

// More rain never lowers the level; a lower FS never lowers it; an earlier
// forecast failure never lowers it.
func TestAssessMonotone(t *testing.T) {
	cfg := DefaultRiskConfig()
	rng := rand.New(rand.NewPCG(9, 9))
	for i := 0; i < 20000; i++ {
		ev := randomEvidence(rng)
		base := Assess(cfg, ev, t0).Level
		more := ev
		if !math.IsNaN(more.RainRatio) {
			more.RainRatio += rng.Float64()
		} else {
			more.RainRatio = rng.Float64() * 2 // rain becoming known
		}
		if l := Assess(cfg, more, t0).Level; l < base {
			t.Fatalf("more rain lowered the level %v → %v: %+v → %+v", base, l, ev, more)
		}
		lower := ev
		if !math.IsNaN(lower.MinFS) {
			lower.MinFS -= rng.Float64()
			if l := Assess(cfg, lower, t0).Level; l < base {
				t.Fatalf("lower FS lowered the level %v → %v: %+v", base, l, ev)
			}
		}
		if ev.Forecast != nil {
			f := *ev.Forecast
			f.Lower = f.Lower.Add(-time.Duration(rng.Float64() * 48 * float64(time.Hour)))
			sooner := ev
			sooner.Forecast = &f
			if l := Assess(cfg, sooner, t0).Level; l < base {
				t.Fatalf("earlier failure lowered the level %v → %v", base, l)
			}
		}
	}
}

// Suspect data never makes a slope critical on its own.
func TestAssessQualityNeverCritical(t *testing.T) {
	cfg := DefaultRiskConfig()
	for _, q := range []Quality{GaugeStuck, GaugeDropped, RainNegative, RainAbsurd} {
		a := Assess(cfg, Evidence{RainRatio: 5, MinFS: math.NaN(), Quality: q}, t0)
		if a.Level != Warning || len(a.Reasons) != 1 || !a.Reasons[0].Capped {
			t.Errorf("%v: %+v, want warning, capped", q, a)
		}
		// the FS computed from that rain is suspect too
		a = Assess(cfg, Evidence{RainRatio: math.NaN(), MinFS: 0.8, Quality: q}, t0)
		if a.Level != Warning {
			t.Errorf("%v: FS from suspect rain gave %v", q, a.Level)
		}
	}
	f := &Forecast{Accelerating: true, Lower: t0.Add(time.Hour), FailureTime: t0.Add(2 * time.Hour), Jump: true}
	if a := Assess(cfg, Evidence{RainRatio: math.NaN(), MinFS: math.NaN(), Forecast: f}, t0); a.Level != Warning {
		t.Errorf("jumpy forecast gave %v", a.Level)
	}
	// clean evidence can be critical, with its reason and numbers
	a := Assess(cfg, Evidence{RainRatio: 1.6, RainCriterion: "24h ≥ 200 mm", MinFS: 1.1, ZAtMinFS: 2.5}, t0)
	if a.Level != Critical || len(a.Reasons) != 2 || a.Reasons[0].Evidence != "rain" || a.Reasons[0].Threshold != 1.5 {
		t.Errorf("clean: %+v", a)
	}
}

func TestGaugeCheck(t *testing.T) {
	g := NewGaugeCheck(GaugeCheckConfig{StuckAfter: 3})
	at := t0
	next := func(mm float64) Quality { at = at.Add(5 * time.Minute); return g.Check(at, mm) }
	if q := next(1); q != 0 {
		t.Errorf("first reading flagged %v", q)
	}
	next(2.5)
	next(2.5)
	if q := next(2.5); q&GaugeStuck == 0 {
		t.Errorf("3 identical non-zero readings: %v", q)
	}
	if q := next(0); q != 0 {
		t.Errorf("zero after stuck: %v", q)
	}
	if q := next(0); q != 0 {
		t.Errorf("repeated zeros are dry weather, not stuck: %v", q)
	}
	if q := next(-1); q != RainNegative {
		t.Errorf("negative: %v", q)
	}
	if q := next(900); q != RainAbsurd {
		t.Errorf("absurd: %v", q)
	}
	at = at.Add(2 * time.Hour)
	if q := g.Check(at, 1); q&GaugeDropped == 0 {
		t.Errorf("after 2 h silence: %v", q)
	}
	if q := g.Status(at.Add(time.Hour)); q != GaugeDropped {
		t.Errorf("status after an hour: %v", q)
	}
	// Steady drizzle: 0.5 mm (one tip) every interval is rain for a long
	// while (3 × 6 intervals with StuckAfter 3), then a stuck gauge.
	for i := 1; i <= 18; i++ {
		q := next(0.5)
		if stuck := q&GaugeStuck != 0; stuck != (i >= 18) {
			t.Fatalf("drizzle reading %d: stuck=%v", i, stuck)
		}
	}
}

func TestLevelText(t *testing.T) {
	for l := Normal; l <= Critical; l++ {
		b, _ := l.MarshalText()
		var got Level
		if err := got.UnmarshalText(b); err != nil || got != l {
			t.Errorf("%v: round trip gave %v, %v", l, got, err)
		}
	}
	var l Level
	if err := l.UnmarshalText([]byte("severe")); err == nil {
		t.Error("unknown level accepted")
	}
	if b, _ := (GaugeStuck | RainAbsurd).MarshalText(); string(b) != "gauge-stuck,rain-absurd" {
		t.Errorf("quality text %q", b)
	}
}
