package slopewatch

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/tsingma/tsingma/internal/landslide"
)

// ErrInvalid marks a bad what-if request; the error is a *FieldError.
var ErrInvalid = errors.New("slopewatch: invalid request")

// FieldError names the request field at fault.
type FieldError struct {
	Field, Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *FieldError) Unwrap() error { return ErrInvalid }

func invalid(field, format string, args ...any) error {
	return &FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// Block is one constant-intensity block of a design hyetograph.
type Block struct {
	Hours  float64 `json:"hours"`
	MMPerH float64 `json:"mm_per_h"`
}

// Storm is a what-if request: a hyetograph, or a return period and a
// duration (whole days) turned into a uniform storm by the committed IDF
// relation (HKO Headquarters, Gumbel).
type Storm struct {
	Hyetograph        []Block `json:"hyetograph,omitempty"`
	ReturnPeriodYears float64 `json:"return_period_years,omitempty"`
	DurationHours     float64 `json:"duration_hours,omitempty"`
	// FSCov is the coefficient of variation of FS used for the expected
	// number of failures (lognormal FS); default 0.15.
	FSCov *float64 `json:"fs_cov,omitempty"`
	// AfterHours: how long after the storm the model keeps evaluating
	// (pressure keeps rising at depth after the rain stops); default 24.
	AfterHours *float64 `json:"after_hours,omitempty"`
	// Limit on the slopes listed (all are counted); default 1000.
	Limit int `json:"limit,omitempty"`
}

// Limits of a what-if request.
const (
	MaxBlocks      = 200
	MaxStormHours  = 30 * 24
	MaxIntensity   = 500 // mm/h
	MaxAfterHours  = 72
	MaxWhatIfLimit = 100000
)

// WhatIfResult ranks the slopes by minimum FS under the storm.
type WhatIfResult struct {
	Model            string             `json:"model"`
	Version          string             `json:"version"`
	Engine           string             `json:"engine"`
	Storm            []Block            `json:"hyetograph"`
	Source           string             `json:"source"`
	TotalMM          float64            `json:"total_mm"`
	MaxRollingMM     map[string]float64 `json:"max_rolling_mm"`
	Slopes           int                `json:"slopes"`
	ExpectedFailures float64            `json:"expected_failures"`
	FSBelow1         int                `json:"fs_below_1"`
	FSCov            float64            `json:"fs_cov"`
	Counts           map[string]int     `json:"counts"`
	// TerritoryExpected is the territory curve's expected number of
	// landslides in Hong Kong for this storm with no antecedent rain.
	TerritoryExpected float64           `json:"territory_expected_landslides"`
	EvaluatedHours    []float64         `json:"evaluated_hours"`
	Ranked            []WhatIfSlope     `json:"ranked"`
	Invalid           map[string]string `json:"invalid_slopes,omitempty"`
}

// WhatIfSlope is one slope's result.
type WhatIfSlope struct {
	ID       string          `json:"id"`
	Name     string          `json:"name,omitempty"`
	Position [2]float64      `json:"position"`
	MinFS    float64         `json:"min_fs"`
	ZAtMinFS float64         `json:"z_at_min_fs_m"`
	AtHours  float64         `json:"at_hours"`
	PFail    float64         `json:"p_fail"`
	Level    landslide.Level `json:"level"`
}

// Design returns the hyetograph of a request, validated, and where it
// came from.
func (s *Service) Design(st Storm) ([]Block, string, error) {
	if len(st.Hyetograph) > 0 {
		if st.ReturnPeriodYears != 0 || st.DurationHours != 0 {
			return nil, "", invalid("hyetograph", "give a hyetograph or return_period_years and duration_hours, not both")
		}
		if len(st.Hyetograph) > MaxBlocks {
			return nil, "", invalid("hyetograph", "%d blocks; at most %d", len(st.Hyetograph), MaxBlocks)
		}
		total := 0.0
		for i, b := range st.Hyetograph {
			if !(b.Hours > 0) || math.IsInf(b.Hours, 0) {
				return nil, "", invalid(fmt.Sprintf("hyetograph[%d].hours", i), "%g must be > 0", b.Hours)
			}
			if !(b.MMPerH >= 0) || b.MMPerH > MaxIntensity {
				return nil, "", invalid(fmt.Sprintf("hyetograph[%d].mm_per_h", i), "%g must be in [0, %d]", b.MMPerH, MaxIntensity)
			}
			if r := b.Hours * 12; math.Abs(r-math.Round(r)) > 1e-9 || math.Round(r) < 1 {
				return nil, "", invalid(fmt.Sprintf("hyetograph[%d].hours", i), "%g is not a multiple of 5 minutes", b.Hours)
			}
			total += b.Hours
		}
		if total > MaxStormHours {
			return nil, "", invalid("hyetograph", "%g hours in all; at most %d", total, MaxStormHours)
		}
		return append([]Block(nil), st.Hyetograph...), "hyetograph", nil
	}
	if st.ReturnPeriodYears == 0 && st.DurationHours == 0 {
		return nil, "", invalid("hyetograph", "required (or return_period_years and duration_hours)")
	}
	if !(st.ReturnPeriodYears > 1) || st.ReturnPeriodYears > 10000 {
		return nil, "", invalid("return_period_years", "%g must be in (1, 10000]", st.ReturnPeriodYears)
	}
	days := st.DurationHours / 24
	if !(days >= 1) || days != math.Trunc(days) {
		return nil, "", invalid("duration_hours", "%g must be a whole number of days in %v×24 h (the committed IDF relation is fitted on daily records; send a hyetograph for shorter storms)", st.DurationHours, s.coef.IDF.Days())
	}
	depth, err := s.coef.IDF.Depth(st.ReturnPeriodYears, int(days))
	if err != nil {
		return nil, "", invalid("duration_hours", "%v; durations available: %v days", err, s.coef.IDF.Days())
	}
	return []Block{{Hours: st.DurationHours, MMPerH: round(depth/st.DurationHours, 4)}},
		fmt.Sprintf("IDF %s %s: %.1f mm in %g h, T = %g years (uniform)", s.coef.IDF.Station, s.coef.IDF.Years, depth, st.DurationHours, st.ReturnPeriodYears), nil
}

// maxRolling returns the largest accumulation of the hyetograph over each
// window (5-minute steps; the storm alone, no antecedent rain).
func maxRolling(blocks []Block, wins []time.Duration) []float64 {
	var steps []float64
	for _, b := range blocks {
		n := int(math.Round(b.Hours * 12))
		for range n {
			steps = append(steps, b.MMPerH/12)
		}
	}
	out := make([]float64, len(wins))
	for wi, w := range wins {
		k := int(w / (5 * time.Minute))
		sum, best := 0.0, 0.0
		for i, v := range steps {
			sum += v
			if i >= k {
				sum -= steps[i-k]
			}
			best = math.Max(best, sum)
		}
		out[wi] = best
	}
	return out
}

// WhatIf runs the model for the storm on every slope of the tenant, from
// the steady state, without touching live state, and ranks the slopes by
// minimum FS over the storm and AfterHours after it. The result is a pure
// function of the twins and the request.
func (s *Service) WhatIf(ctx context.Context, tenant string, st Storm) (*WhatIfResult, error) {
	blocks, source, err := s.Design(st)
	if err != nil {
		return nil, err
	}
	cov := 0.15
	if st.FSCov != nil {
		if !(*st.FSCov > 0) || *st.FSCov > 1 {
			return nil, invalid("fs_cov", "%g must be in (0, 1]", *st.FSCov)
		}
		cov = *st.FSCov
	}
	after := 24.0
	if st.AfterHours != nil {
		if !(*st.AfterHours >= 0) || *st.AfterHours > MaxAfterHours {
			return nil, invalid("after_hours", "%g must be in [0, %d]", *st.AfterHours, MaxAfterHours)
		}
		after = *st.AfterHours
	}
	limit := 1000
	if st.Limit != 0 {
		if st.Limit < 1 || st.Limit > MaxWhatIfLimit {
			return nil, invalid("limit", "%d must be in [1, %d]", st.Limit, MaxWhatIfLimit)
		}
		limit = st.Limit
	}
	cfg := s.cfg
	tp, err := buildTopology(ctx, cfg.Twins, tenant, &cfg)
	if err != nil {
		return nil, err
	}
	n := len(tp.slopes)
	res := &WhatIfResult{Model: ModelName, Version: ModelVersion, Engine: cfg.Model, Storm: blocks, Source: source,
		Slopes: n, FSCov: cov, Counts: map[string]int{}, Invalid: tp.invalid, Ranked: []WhatIfSlope{}}
	for _, l := range []landslide.Level{landslide.Normal, landslide.Watch, landslide.Warning, landslide.Critical} {
		res.Counts[l.String()] = 0
	}
	critWins := make([]time.Duration, 0, len(cfg.Criteria))
	for _, c := range cfg.Criteria {
		critWins = append(critWins, c.Window)
	}
	maxR := maxRolling(blocks, critWins)
	res.MaxRollingMM = windowMap(critWins, maxR)
	for _, b := range blocks {
		res.TotalMM += b.Hours * b.MMPerH
	}
	res.TotalMM = round(res.TotalMM, 2)
	res.TerritoryExpected = round(s.warn.Curve.Expected(maxRolling(blocks, s.warn.Curve.Windows)), 3)
	ratio, which := landslide.Exceedance(cfg.Criteria, critWins, maxR)
	crit := ""
	if which >= 0 {
		crit = windowName(cfg.Criteria[which].Window) + " ≥ " + fmtF(cfg.Criteria[which].MM) + " mm"
	} else {
		ratio = math.NaN()
	}
	if n == 0 {
		return res, nil
	}
	eng, err := landslide.NewEngine(landslide.EngineConfig{Nodes: cfg.Nodes, Workers: cfg.Workers}, tp.params())
	if err != nil {
		return nil, err
	}
	best := make([]landslide.Summary, n)
	at := make([]float64, n)
	for i := range best {
		best[i].MinFS = math.Inf(1)
	}
	out := make([]landslide.Summary, n)
	eval := func(t float64) error {
		if err := eng.Evaluate(ctx, t, out, nil); err != nil {
			return err
		}
		res.EvaluatedHours = append(res.EvaluatedHours, round(t/3600, 4))
		for i, o := range out {
			if o.MinFS < best[i].MinFS {
				best[i], at[i] = o, t/3600
			}
		}
		return nil
	}
	t := 0.0
	rates := make([]float64, n)
	for _, b := range blocks {
		for i := range rates {
			rates[i] = b.MMPerH / 1000 / 3600
		}
		end := t + b.Hours*3600
		if err := eng.AddPeriod(t, end, rates); err != nil {
			return nil, err
		}
		t = end
		if err := eval(t); err != nil {
			return nil, err
		}
	}
	if after > 0 {
		stormEnd := t
		clear(rates)
		if err := eng.AddPeriod(t, t+after*3600, rates); err != nil {
			return nil, err
		}
		for _, h := range []float64{1, 3, 6, 12, 24, 48, 72} {
			if h > after {
				break
			}
			if err := eval(stormEnd + h*3600); err != nil {
				return nil, err
			}
		}
		if after != 1 && after != 3 && after != 6 && after != 12 && after != 24 && after != 48 && after != 72 {
			if err := eval(stormEnd + after*3600); err != nil {
				return nil, err
			}
		}
	}
	sigma := math.Sqrt(math.Log(1 + cov*cov))
	all := make([]WhatIfSlope, n)
	for i, sl := range tp.slopes {
		fs := best[i].MinFS
		p := 0.5 * math.Erfc(math.Log(fs)/sigma/math.Sqrt2) // P(ln FS < 0), ln FS ~ N(ln fs, σ²)
		res.ExpectedFailures += p
		if fs < 1 {
			res.FSBelow1++
		}
		a := landslide.Assess(*cfg.Risk, landslide.Evidence{RainRatio: ratio, RainCriterion: crit, MinFS: fs, ZAtMinFS: best[i].ZAtMinFS}, time.Time{})
		res.Counts[a.Level.String()]++
		all[i] = WhatIfSlope{ID: sl.id, Name: sl.name, Position: [2]float64{sl.lon, sl.lat}, MinFS: round(fs, 4),
			ZAtMinFS: round(best[i].ZAtMinFS, 3), AtHours: round(at[i], 4), PFail: round(p, 6), Level: a.Level}
	}
	res.ExpectedFailures = round(res.ExpectedFailures, 3)
	sort.Slice(all, func(a, b int) bool {
		if all[a].MinFS != all[b].MinFS {
			return all[a].MinFS < all[b].MinFS
		}
		return all[a].ID < all[b].ID
	})
	res.Ranked = all[:min(limit, n)]
	return res, nil
}
