package landslide

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// Level is a slope's risk level. Levels are ordered.
type Level uint8

// Risk levels.
const (
	Normal Level = iota
	Watch
	Warning
	Critical
)

// String names the level ("normal", "watch", "warning", "critical").
func (l Level) String() string {
	switch l {
	case Watch:
		return "watch"
	case Warning:
		return "warning"
	case Critical:
		return "critical"
	}
	return "normal"
}

// MarshalText encodes the level as its name, for JSON.
func (l Level) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// UnmarshalText decodes a level name.
func (l *Level) UnmarshalText(b []byte) error {
	for c := Normal; c <= Critical; c++ {
		if c.String() == string(b) {
			*l = c
			return nil
		}
	}
	return fmt.Errorf("%w: unknown level %q", ErrBadParams, b)
}

// Quality is a set of data-quality flags on the evidence.
type Quality uint16

// Data-quality flags.
const (
	GaugeStuck        Quality = 1 << iota // the gauge repeats one non-zero value
	GaugeDropped                          // no reading for longer than expected
	RainNegative                          // a negative rainfall reading
	RainAbsurd                            // a reading above the physical plausibility limit
	DisplacementJump                      // a displacement step flagged by the forecaster
	DisplacementGap                       // a gap in the displacement series
	ModelInputSuspect                     // the FS came from suspect rainfall
)

// Rain reports flags that make rainfall evidence suspect.
func (q Quality) Rain() bool { return q&(GaugeStuck|GaugeDropped|RainNegative|RainAbsurd) != 0 }

// Displacement reports flags that make displacement evidence suspect.
func (q Quality) Displacement() bool { return q&(DisplacementJump|DisplacementGap) != 0 }

// MarshalText encodes the flags as a comma-separated list, for JSON.
func (q Quality) MarshalText() ([]byte, error) { return []byte(q.String()), nil }

// String lists the flags, comma-separated ("" when none).
func (q Quality) String() string {
	names := []string{"gauge-stuck", "gauge-dropped", "rain-negative", "rain-absurd", "displacement-jump", "displacement-gap", "model-input-suspect"}
	var s []string
	for i, n := range names {
		if q&(1<<i) != 0 {
			s = append(s, n)
		}
	}
	return strings.Join(s, ",")
}

// Evidence is what is known about one slope at one time. Unknown numbers
// are NaN (or a nil Forecast).
type Evidence struct {
	// RainRatio is the largest ratio of rolling rainfall to the slope's
	// rainfall criteria (Exceedance); ≥ 1 is an exceedance.
	RainRatio     float64
	RainCriterion string // e.g. "24h ≥ 200 mm"
	MinFS         float64
	ZAtMinFS      float64 // m
	Forecast      *Forecast
	Quality       Quality
}

// RiskConfig holds the thresholds; DefaultRiskConfig gives the defaults.
type RiskConfig struct {
	RainWatch, RainWarning, RainCritical float64       // ratios to the criteria
	FSWatch, FSWarning, FSCritical       float64       // minimum factor of safety
	TTFWarning, TTFCritical              time.Duration // forecast time to failure (lower band)
}

// DefaultRiskConfig: rain at 50/100/150 % of the criterion; FS below
// 1.5/1.2/1.0; failure forecast (its early bound) within 72 h / 24 h.
func DefaultRiskConfig() RiskConfig {
	return RiskConfig{RainWatch: 0.5, RainWarning: 1, RainCritical: 1.5,
		FSWatch: 1.5, FSWarning: 1.2, FSCritical: 1.0,
		TTFWarning: 72 * time.Hour, TTFCritical: 24 * time.Hour}
}

// Reason is one piece of evidence behind an assessment.
type Reason struct {
	Evidence  string // "rain", "fs", "forecast"
	Level     Level  // the level this evidence alone supports (after any cap)
	Value     float64
	Threshold float64
	Capped    bool // suspect data: the level was held at Warning
	Text      string
}

// Assessment is a slope's risk level with its reasons.
type Assessment struct {
	Level   Level
	Reasons []Reason
	Quality Quality
}

func up(v, watch, warn, crit float64) (Level, float64) {
	switch {
	case v >= crit:
		return Critical, crit
	case v >= warn:
		return Warning, warn
	case v >= watch:
		return Watch, watch
	}
	return Normal, watch
}

func down(v, watch, warn, crit float64) (Level, float64) {
	switch {
	case v <= crit:
		return Critical, crit
	case v <= warn:
		return Warning, warn
	case v <= watch:
		return Watch, watch
	}
	return Normal, watch
}

// Assess combines the evidence into a level: the highest level any single
// piece of evidence supports. Each piece is a monotone step function of its
// number, so more rain or a lower FS never lowers the level. Evidence from
// suspect data (Quality flags) is capped at Warning and marked: a stuck or
// absurd gauge or a displacement jump can raise attention but never, on its
// own, make a slope Critical.
func Assess(cfg RiskConfig, ev Evidence, now time.Time) Assessment {
	a := Assessment{Quality: ev.Quality}
	add := func(r Reason, suspect bool) {
		if suspect && r.Level > Warning {
			r.Level, r.Capped = Warning, true
			r.Text += " [held at warning: " + ev.Quality.String() + "]"
		}
		if r.Level > Normal {
			a.Reasons = append(a.Reasons, r)
		}
		a.Level = max(a.Level, r.Level)
	}
	if !math.IsNaN(ev.RainRatio) {
		l, thr := up(ev.RainRatio, cfg.RainWatch, cfg.RainWarning, cfg.RainCritical)
		add(Reason{Evidence: "rain", Level: l, Value: ev.RainRatio, Threshold: thr,
			Text: fmt.Sprintf("rolling rainfall at %.0f%% of criterion %s", 100*ev.RainRatio, ev.RainCriterion)}, ev.Quality.Rain())
	}
	if !math.IsNaN(ev.MinFS) {
		l, thr := down(ev.MinFS, cfg.FSWatch, cfg.FSWarning, cfg.FSCritical)
		add(Reason{Evidence: "fs", Level: l, Value: ev.MinFS, Threshold: thr,
			Text: fmt.Sprintf("minimum factor of safety %.3f at %.2f m", ev.MinFS, ev.ZAtMinFS)}, ev.Quality.Rain() || ev.Quality&ModelInputSuspect != 0)
	}
	if f := ev.Forecast; f != nil && f.Accelerating {
		ttf := f.Lower.Sub(now)
		h := ttf.Hours()
		l, thr := down(h, math.Inf(1), cfg.TTFWarning.Hours(), cfg.TTFCritical.Hours())
		add(Reason{Evidence: "forecast", Level: l, Value: h, Threshold: thr,
			Text: fmt.Sprintf("accelerating displacement: failure forecast %s (earliest %s, %.1f h)", f.FailureTime.UTC().Format(time.RFC3339), f.Lower.UTC().Format(time.RFC3339), h)},
			ev.Quality.Displacement() || f.Jump || f.Gap)
	}
	return a
}
