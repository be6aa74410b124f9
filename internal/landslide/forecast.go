package landslide

import (
	"fmt"
	"math"
	"time"
)

// ForecastConfig configures the failure-time forecast from a displacement
// series (extensometer or inclinometer, any length unit, e.g. mm).
type ForecastConfig struct {
	// VelocityPoints is the number of samples of the local least-squares
	// line whose slope is the velocity (the smoothing; default 7). A local
	// linear fit on the actual time stamps tolerates irregular sampling
	// and reduces white displacement noise σ to a velocity noise of about
	// σ·sqrt(12/(n³−n))/Δt.
	VelocityPoints int
	// FitPoints is the number of recent inverse-velocity values the trend
	// is fitted to (default 20).
	FitPoints int
	// Alpha is Voight's (1988) exponent in dv/dt = A·v^α (default 2, which
	// makes 1/v linear in time: Fukuzono 1985). For α ≠ 2 the fitted
	// quantity is (1/v)^(α−1), linear in time for any α > 1.
	Alpha float64
	// MaxGap: a velocity window that spans a gap longer than this is not
	// used (default: no limit).
	MaxGap time.Duration
	// JumpSize: a step between consecutive samples larger than this
	// (beyond what the current velocity explains) is flagged as a sensor
	// jump and removed as an offset (0 disables the check).
	JumpSize float64
	// MinTStat is the significance of the negative inverse-velocity slope
	// required to call the series accelerating (default 3).
	MinTStat float64
}

func (c *ForecastConfig) defaults() error {
	if c.VelocityPoints == 0 {
		c.VelocityPoints = 7
	}
	if c.FitPoints == 0 {
		c.FitPoints = 20
	}
	if c.Alpha == 0 {
		c.Alpha = 2
	}
	if c.MinTStat == 0 {
		c.MinTStat = 3
	}
	if c.VelocityPoints < 3 || c.FitPoints < 4 || !(c.Alpha > 1) || c.JumpSize < 0 || c.MaxGap < 0 || c.VelocityPoints > 10000 || c.FitPoints > 10000 {
		return fmt.Errorf("%w: forecast config %+v", ErrBadParams, *c)
	}
	return nil
}

// Forecast is the state after a sample.
type Forecast struct {
	Time         time.Time
	Velocity     float64 // smoothed velocity, units/s (NaN until enough samples)
	Accelerating bool    // tertiary creep detected: significant decrease of 1/v
	// FailureTime is the extrapolated time where the inverse-velocity
	// trend reaches zero; Lower and Upper bound it (±2 standard errors of
	// the regression, delta method, with the variance inflated for the
	// overlap of the velocity windows). Zero unless Accelerating.
	FailureTime, Lower, Upper time.Time
	TStat                     float64 // t statistic of the trend slope (negative: accelerating)
	Points                    int     // inverse-velocity points in the fit
	Jump                      bool    // this sample was a flagged jump (removed as an offset)
	Gap                       bool    // a gap longer than MaxGap precedes this sample
}

// Forecaster updates the forecast per sample in O(VelocityPoints +
// FitPoints) time and constant memory. Not safe for concurrent use.
type Forecaster struct {
	cfg    ForecastConfig
	ts, ds []float64 // ring of recent (time s, corrected displacement)
	n      int
	iv     []float64 // ring of (time, transformed inverse velocity) pairs
	ivT    []float64
	nv     int
	offset float64
	lastT  float64
	lastD  float64
	lastV  float64
	origin time.Time
}

// NewForecaster validates cfg and returns an empty forecaster.
func NewForecaster(cfg ForecastConfig) (*Forecaster, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	return &Forecaster{cfg: cfg, ts: make([]float64, cfg.VelocityPoints), ds: make([]float64, cfg.VelocityPoints),
		iv: make([]float64, cfg.FitPoints), ivT: make([]float64, cfg.FitPoints), lastV: math.NaN()}, nil
}

// Add records displacement disp at time t (strictly after the previous
// sample) and returns the updated forecast.
func (f *Forecaster) Add(t time.Time, disp float64) (Forecast, error) {
	if math.IsNaN(disp) || math.IsInf(disp, 0) {
		return Forecast{}, fmt.Errorf("%w: displacement %g", ErrBadSample, disp)
	}
	if f.n == 0 && f.origin.IsZero() {
		f.origin = t
	}
	x := t.Sub(f.origin).Seconds()
	if f.n > 0 && !(x > f.lastT) {
		return Forecast{}, fmt.Errorf("%w: %v not after the previous sample", ErrOutOfOrder, t)
	}
	out := Forecast{Time: t, Velocity: math.NaN()}
	if f.n > 0 {
		dt := x - f.lastT
		if f.cfg.MaxGap > 0 && dt > f.cfg.MaxGap.Seconds() {
			out.Gap = true
		}
		expect := 0.0
		if !math.IsNaN(f.lastV) && !out.Gap {
			expect = f.lastV * dt
		}
		if step := disp + f.offset - f.lastD; f.cfg.JumpSize > 0 && math.Abs(step-expect) > f.cfg.JumpSize {
			f.offset -= step - expect
			out.Jump = true
		}
	}
	d := disp + f.offset
	k := f.n % len(f.ts)
	f.ts[k], f.ds[k] = x, d
	f.n++
	f.lastT, f.lastD = x, d
	m := min(f.n, len(f.ts))
	if m < len(f.ts) {
		return out, nil
	}
	// local linear fit: velocity = slope
	t0 := f.ts[f.n%len(f.ts)] // oldest in the window
	if f.cfg.MaxGap > 0 {
		for i := 0; i < m; i++ {
			if i > 0 {
				a, b := f.ts[(f.n+i-1)%m], f.ts[(f.n+i)%m]
				if b-a > f.cfg.MaxGap.Seconds() {
					f.lastV = math.NaN()
					return out, nil
				}
			}
		}
	}
	var st, sd, stt, std float64
	for i := 0; i < m; i++ {
		tt := f.ts[i] - t0
		st += tt
		sd += f.ds[i]
		stt += tt * tt
		std += tt * f.ds[i]
	}
	fm := float64(m)
	den := fm*stt - st*st
	if den <= 0 {
		return out, nil
	}
	v := (fm*std - st*sd) / den
	f.lastV = v
	out.Velocity = v
	if v <= 0 {
		f.nv = 0 // not moving forward: the inverse-velocity trend restarts
		return out, nil
	}
	// time of the velocity estimate: the window's centre
	tc := t0 + st/fm
	y := math.Pow(1/v, f.cfg.Alpha-1)
	j := f.nv % len(f.iv)
	f.iv[j], f.ivT[j] = y, tc
	f.nv++
	p := min(f.nv, len(f.iv))
	out.Points = p
	if p < 4 {
		return out, nil
	}
	// regression y = b0 + b1·(t − tRef), tRef the newest point
	tRef := tc
	var sx, sy, sxx, sxy float64
	for i := 0; i < p; i++ {
		xx := f.ivT[i] - tRef
		sx += xx
		sy += f.iv[i]
		sxx += xx * xx
		sxy += xx * f.iv[i]
	}
	fp := float64(p)
	dd := fp*sxx - sx*sx
	if dd <= 0 {
		return out, nil
	}
	b1 := (fp*sxy - sx*sy) / dd
	b0 := (sy - b1*sx) / fp
	rss := 0.0
	for i := 0; i < p; i++ {
		r := f.iv[i] - b0 - b1*(f.ivT[i]-tRef)
		rss += r * r
	}
	// Consecutive velocities share VelocityPoints−1 samples, so the
	// residuals are autocorrelated: inflate the variance by the overlap
	// (a conservative effective-sample-size correction).
	s2 := rss / (fp - 2) * float64(min(f.cfg.VelocityPoints, p))
	varB1 := s2 * fp / dd
	varB0 := s2 * sxx / dd
	covB := -s2 * sx / dd
	se := math.Sqrt(varB1)
	if se > 0 {
		out.TStat = b1 / se
	} else if b1 < 0 {
		out.TStat = math.Inf(-1)
	}
	if b1 < 0 && out.TStat <= -f.cfg.MinTStat {
		out.Accelerating = true
		tf := -b0 / b1              // seconds after tRef
		g0, g1 := -1/b1, b0/(b1*b1) // gradient of tf wrt (b0, b1)
		sd := math.Sqrt(math.Max(g0*g0*varB0+g1*g1*varB1+2*g0*g1*covB, 0))
		at := func(s float64) time.Time {
			return f.origin.Add(time.Duration((tRef + s) * float64(time.Second)))
		}
		out.FailureTime, out.Lower, out.Upper = at(tf), at(math.Max(tf-2*sd, x-tRef)), at(tf+2*sd)
	}
	return out, nil
}
