package landslide

import (
	"math"
	"time"
)

// GaugeCheckConfig sets the plausibility limits of a rain gauge.
type GaugeCheckConfig struct {
	MaxPerSample float64 // mm per sample above which a reading is absurd (default 150)
	StuckAfter   int     // identical non-zero readings in a row that make a gauge stuck (default 6)
	// Light readings repeat in real drizzle: a tipping bucket reports in
	// 0.5 mm steps, so 0.5 mm every interval for half an hour is rain, not
	// a fault. Readings of at most LightMM (default 2 mm) count as stuck
	// only after LightStuckAfter identical ones (default 36: three hours
	// at 5-minute samples).
	LightMM         float64
	LightStuckAfter int
	DropAfter       time.Duration // silence after which a gauge counts as dropped (default 30 min)
}

// GaugeCheck flags one gauge's readings as they arrive. Not safe for
// concurrent use.
type GaugeCheck struct {
	cfg    GaugeCheckConfig
	last   float64
	repeat int
	lastAt time.Time
	seen   bool
}

// NewGaugeCheck applies the defaults to cfg.
func NewGaugeCheck(cfg GaugeCheckConfig) *GaugeCheck {
	if cfg.MaxPerSample <= 0 {
		cfg.MaxPerSample = 150
	}
	if cfg.StuckAfter <= 0 {
		cfg.StuckAfter = 6
	}
	if cfg.DropAfter <= 0 {
		cfg.DropAfter = 30 * time.Minute
	}
	if cfg.LightMM <= 0 {
		cfg.LightMM = 2
	}
	if cfg.LightStuckAfter <= 0 {
		cfg.LightStuckAfter = 6 * cfg.StuckAfter
	}
	return &GaugeCheck{cfg: cfg}
}

// Check returns the flags of a reading (mm in the sample interval). A
// flagged reading should not be added to the rolling sums.
func (g *GaugeCheck) Check(at time.Time, mm float64) Quality {
	var q Quality
	switch {
	case math.IsNaN(mm) || math.IsInf(mm, 0) || mm > g.cfg.MaxPerSample:
		q |= RainAbsurd
	case mm < 0:
		q |= RainNegative
	}
	if g.seen && at.Sub(g.lastAt) > g.cfg.DropAfter {
		q |= GaugeDropped
	}
	if q&(RainAbsurd|RainNegative) == 0 {
		if g.seen && mm == g.last && mm > 0 {
			g.repeat++
		} else {
			g.repeat = 1
		}
		g.last = mm
		if g.stuck() {
			q |= GaugeStuck
		}
	}
	g.lastAt, g.seen = at, true
	return q
}

// Status returns GaugeDropped if nothing arrived for DropAfter before now.
func (g *GaugeCheck) Status(now time.Time) Quality {
	if !g.seen || now.Sub(g.lastAt) > g.cfg.DropAfter {
		return GaugeDropped
	}
	if g.stuck() {
		return GaugeStuck
	}
	return 0
}

// stuck reports whether the current run of identical readings is too long
// to be rain.
func (g *GaugeCheck) stuck() bool {
	if g.last <= g.cfg.LightMM {
		return g.repeat >= g.cfg.LightStuckAfter
	}
	return g.repeat >= g.cfg.StuckAfter
}
