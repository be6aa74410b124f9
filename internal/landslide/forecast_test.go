package landslide

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// accelerating returns the displacement (mm) at t of a Fukuzono creep
// curve with failure at tf: v = 1/(A·(tf − t)), d = ln(tf/(tf − t))/A,
// with initial velocity v0 (mm/h).
func accelerating(t, tf time.Duration, v0 float64) float64 {
	a := 1 / (v0 * tf.Hours())
	return math.Log(tf.Hours()/(tf.Hours()-t.Hours())) / a
}

func TestForecastSyntheticFailure(t *testing.T) {
	const tf = 100 * time.Hour
	for _, tc := range []struct {
		name          string
		noise         float64
		drop          float64 // fraction of samples lost
		jumpAt        time.Duration
		maxErr        time.Duration
		jumpSize      float64
		expectFlagged bool
	}{
		{"clean", 0, 0, 0, 30 * time.Minute, 0, false},
		{"noisy", 0.02, 0, 0, 4 * time.Hour, 0, false},
		{"noisy with gaps", 0.02, 0.25, 0, 5 * time.Hour, 0, false},
		{"sensor jump", 0.02, 0, 60 * time.Hour, 5 * time.Hour, 1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(7, 11))
			f, err := NewForecaster(ForecastConfig{VelocityPoints: 9, FitPoints: 24, JumpSize: tc.jumpSize})
			if err != nil {
				t.Fatal(err)
			}
			var last Forecast
			flagged := false
			for at := time.Duration(0); at <= 92*time.Hour; at += 20 * time.Minute {
				if tc.drop > 0 && rng.Float64() < tc.drop {
					continue
				}
				d := accelerating(at, tf, 0.2) + tc.noise*rng.NormFloat64()
				if tc.jumpAt > 0 && at >= tc.jumpAt {
					d += 20
				}
				fc, err := f.Add(t0.Add(at), d)
				if err != nil {
					t.Fatal(err)
				}
				flagged = flagged || fc.Jump
				last = fc
			}
			if flagged != tc.expectFlagged {
				t.Errorf("jump flagged %v, want %v", flagged, tc.expectFlagged)
			}
			if !last.Accelerating {
				t.Fatalf("not accelerating at 92 h: %+v", last)
			}
			got := last.FailureTime.Sub(t0)
			t.Logf("forecast at 92 h: failure %v (band %v–%v), true %v", got.Round(time.Minute), last.Lower.Sub(t0).Round(time.Minute), last.Upper.Sub(t0).Round(time.Minute), tf)
			if err := got - tf; err > tc.maxErr || -err > tc.maxErr {
				t.Errorf("failure at %v, want %v ± %v (band %v–%v)", got, tf, tc.maxErr, last.Lower.Sub(t0), last.Upper.Sub(t0))
			}
			if last.Lower.After(last.FailureTime) || last.Upper.Before(last.FailureTime) {
				t.Errorf("band %v–%v does not contain %v", last.Lower, last.Upper, last.FailureTime)
			}
			if tc.noise > 0 && (t0.Add(tf).Before(last.Lower.Add(-2*time.Hour)) || t0.Add(tf).After(last.Upper.Add(2*time.Hour))) {
				t.Errorf("true failure %v far outside the band %v–%v", tf, last.Lower.Sub(t0), last.Upper.Sub(t0))
			}
		})
	}
}

// Steady (secondary) creep is not tertiary: no failure forecast.
func TestForecastSteadyCreep(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	f, _ := NewForecaster(ForecastConfig{})
	alarms := 0
	for i := 0; i < 500; i++ {
		at := time.Duration(i) * 30 * time.Minute
		fc, err := f.Add(t0.Add(at), 0.05*at.Hours()+0.01*rng.NormFloat64())
		if err != nil {
			t.Fatal(err)
		}
		if fc.Accelerating {
			alarms++
		}
	}
	t.Logf("%d accelerating verdicts out of 500 samples of steady creep", alarms)
	if alarms > 5 { // t > 3 by chance on ~0.1% of windows, and windows overlap
		t.Errorf("%d accelerating verdicts out of 500 on steady creep", alarms)
	}
}

func TestForecastRejects(t *testing.T) {
	f, _ := NewForecaster(ForecastConfig{})
	if _, err := f.Add(t0, math.NaN()); err == nil {
		t.Error("NaN accepted")
	}
	if _, err := f.Add(t0, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Add(t0, 2); err == nil {
		t.Error("repeated time accepted")
	}
	if _, err := NewForecaster(ForecastConfig{Alpha: 0.5}); err == nil {
		t.Error("alpha ≤ 1 accepted")
	}
}

// Voight's generalisation: with α = 1.5, (1/v)^(α−1) = sqrt(1/v) is linear
// in time; the forecaster configured with that α finds the failure time.
func TestForecastVoightAlpha(t *testing.T) {
	const tf = 50.0                    // h
	const a = 0.4                      // dv/dt = A·v^1.5 (mm, h)
	disp := func(th float64) float64 { // d = (0.5A)^−2·(1/(tf−t) − 1/tf)
		return (1 / ((0.5 * a) * (0.5 * a))) * (1/(tf-th) - 1/tf)
	}
	f, err := NewForecaster(ForecastConfig{Alpha: 1.5, VelocityPoints: 5, FitPoints: 16})
	if err != nil {
		t.Fatal(err)
	}
	var last Forecast
	for th := 0.0; th <= 46; th += 0.25 {
		if last, err = f.Add(t0.Add(time.Duration(th*float64(time.Hour))), disp(th)); err != nil {
			t.Fatal(err)
		}
	}
	got := last.FailureTime.Sub(t0).Hours()
	if !last.Accelerating || math.Abs(got-tf) > 0.5 {
		t.Errorf("α=1.5: failure at %.2f h, want %.0f h (accelerating %v)", got, tf, last.Accelerating)
	}
}
