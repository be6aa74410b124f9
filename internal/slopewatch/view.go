package slopewatch

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"time"

	"github.com/tsingma/tsingma/internal/landslide"
)

// ErrNotFound is returned for a slope the service does not model.
var ErrNotFound = errors.New("slopewatch: no such slope")

// Snapshot is a tenant's published state. It is immutable.
type Snapshot struct {
	Model     string            `json:"model"`
	Version   string            `json:"version"`
	Engine    string            `json:"engine"`
	At        time.Time         `json:"at,omitzero"` // sample time of the last closed interval
	Evaluated time.Time         `json:"evaluated,omitzero"`
	InEvent   bool              `json:"in_event"`
	EventFrom time.Time         `json:"event_start,omitzero"`
	Territory Territory         `json:"territory"`
	Counts    map[string]int    `json:"counts"`
	Slopes    int               `json:"slopes"`
	Gauges    int               `json:"gauges"`
	Invalid   map[string]string `json:"invalid_slopes,omitempty"`
	// UnstableAtRest lists the slopes whose steady-state (no rain) FS is
	// below 1: their parameters contradict a standing slope; they are
	// shown at their level but never alerted (no change to report).
	UnstableAtRest []string      `json:"unstable_at_rest,omitempty"`
	Flagged        []GaugeStatus `json:"flagged_gauges,omitempty"`
	// Levels lists every slope's level and FS for a map layer.
	Levels []SlopeLevel `json:"levels"`

	views map[string]*SlopeView
}

// Territory is the territory-wide landslip warning.
type Territory struct {
	On        bool               `json:"on"`
	Expected  float64            `json:"expected_landslides"`
	Threshold float64            `json:"threshold"`
	Since     time.Time          `json:"since,omitzero"`
	Rain      map[string]float64 `json:"network_mean_mm"`
	Curve     string             `json:"curve"`
}

// GaugeStatus is one gauge with data-quality flags.
type GaugeStatus struct {
	ID      string            `json:"id"`
	Quality landslide.Quality `json:"quality"`
}

// SlopeLevel is one slope's entry in the map layer.
type SlopeLevel struct {
	ID      string            `json:"id"`
	Level   landslide.Level   `json:"level"`
	FSMin   *float64          `json:"fs_min"`
	Quality landslide.Quality `json:"quality,omitempty"`
}

// SlopeView is a slope's current evidence.
type SlopeView struct {
	ID         string             `json:"id"`
	Name       string             `json:"name,omitempty"`
	Position   [2]float64         `json:"position"` // lon, lat of the centroid
	Level      landslide.Level    `json:"level"`
	Reasons    []ReasonView       `json:"reasons"`
	Quality    landslide.Quality  `json:"quality"`
	Rain       RainView           `json:"rain"`
	FSMin      *float64           `json:"fs_min"`
	ZAtFSMin   *float64           `json:"z_at_fs_min_m"`
	Profile    []NodeView         `json:"profile,omitempty"`
	Forecasts  []ForecastView     `json:"forecasts,omitempty"`
	Piezometer []SensorValue      `json:"piezometers,omitempty"`
	Params     ParamsView         `json:"parameters"`
	Defaults   []string           `json:"defaults,omitempty"`
	Criteria   map[string]float64 `json:"criteria_mm"`
	SteadyFS   *float64           `json:"steady_fs_min"`
	Baseline   landslide.Level    `json:"baseline_level"`
}

// ReasonView is one piece of evidence behind the level.
type ReasonView struct {
	Evidence  string          `json:"evidence"`
	Level     landslide.Level `json:"level"`
	Value     float64         `json:"value"`
	Threshold float64         `json:"threshold"`
	Capped    bool            `json:"capped,omitempty"`
	Text      string          `json:"text"`
}

// RainView is the rainfall at the slope.
type RainView struct {
	IntervalMM float64            `json:"interval_mm"`
	RollingMM  map[string]float64 `json:"rolling_mm"`
	Ratio      *float64           `json:"criterion_ratio"`
	Criterion  string             `json:"criterion,omitempty"`
	Gauges     []GaugeUse         `json:"gauges"`
	Fallback   string             `json:"fallback"`
	Error      string             `json:"error,omitempty"`
}

// GaugeUse is one gauge behind the slope's rainfall.
type GaugeUse struct {
	ID       string  `json:"id"`
	Distance float64 `json:"distance_m"`
	Weight   float64 `json:"weight"`
}

// NodeView is one node of the FS profile.
type NodeView struct {
	Z   float64  `json:"z_m"`
	Psi float64  `json:"psi_m"`
	FS  *float64 `json:"fs"`
}

// ForecastView is a displacement sensor's failure-time forecast.
type ForecastView struct {
	Sensor       string     `json:"sensor"`
	Kind         string     `json:"kind"`
	At           time.Time  `json:"at"`
	Displacement float64    `json:"displacement_mm"`
	Velocity     *float64   `json:"velocity_mm_per_h"`
	Accelerating bool       `json:"accelerating"`
	FailureTime  *time.Time `json:"failure_time,omitempty"`
	Lower        *time.Time `json:"failure_lower,omitempty"`
	Upper        *time.Time `json:"failure_upper,omitempty"`
	TStat        *float64   `json:"t_stat,omitempty"`
	Jump         bool       `json:"jump,omitempty"`
	Gap          bool       `json:"gap,omitempty"`
}

// SensorValue is a piezometer's latest reading.
type SensorValue struct {
	Sensor string    `json:"sensor"`
	At     time.Time `json:"at"`
	KPa    float64   `json:"pore_pressure_kpa"`
}

// ParamsView lists the model parameters in SI units.
type ParamsView struct {
	SlopeDeg        float64 `json:"slope_deg"`
	DepthToBase     float64 `json:"depth_to_base_m"`
	WaterTableDepth float64 `json:"water_table_depth_m"`
	Cohesion        float64 `json:"cohesion_pa"`
	FrictionDeg     float64 `json:"friction_deg"`
	UnitWeight      float64 `json:"unit_weight_n_m3"`
	Ksat            float64 `json:"ksat_m_s"`
	Diffusivity     float64 `json:"diffusivity_m2_s"`
	FiniteDepth     bool    `json:"finite_depth"`
}

// Slope returns the slope's view from the snapshot.
func (sn *Snapshot) Slope(id string) (*SlopeView, error) {
	if sn != nil {
		if v, ok := sn.views[id]; ok {
			return v, nil
		}
		if why, ok := sn.Invalid[id]; ok {
			return nil, fmt.Errorf("%w: %s is not modelled: %s", ErrNotFound, id, why)
		}
	}
	return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
}

func ptr(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

func fmtF(v float64) string { return strconv.FormatFloat(v, 'g', 4, 64) }

func curveText(c landslide.Curve) string {
	s := "E[N] = exp(" + fmtF(c.Intercept)
	for i, b := range c.Coef {
		s += " + " + fmtF(b) + "·ln(1+R" + windowName(c.Windows[i]) + ")"
	}
	return s + ")"
}

// publish builds and publishes the tenant's snapshot.
func (ts *tenantState) publish() {
	cfg := ts.cfg()
	tp := ts.topo
	sn := &Snapshot{Model: ModelName, Version: ModelVersion, Engine: cfg.Model, InEvent: ts.inEvent,
		Counts: map[string]int{}, Slopes: len(tp.slopes), Gauges: len(tp.gauges), Invalid: tp.invalid,
		views: make(map[string]*SlopeView, len(tp.slopes)), Levels: make([]SlopeLevel, 0, len(tp.slopes))}
	if ts.closedEnd != 0 {
		sn.At = time.UnixMilli(ts.closedEnd).UTC()
	}
	if ts.evalAt != 0 {
		sn.Evaluated = time.UnixMilli(ts.evalAt).UTC()
	}
	if ts.inEvent {
		sn.EventFrom = time.UnixMilli(ts.t0).UTC()
	}
	sn.Territory = Territory{On: ts.warnOn, Expected: round(ts.warnExp, 4), Threshold: ts.warn.Warning.Threshold,
		Since: ts.warn.Since().UTC(), Rain: windowMap(ts.s.warn.Curve.Windows, ts.netSums), Curve: curveText(ts.s.warn.Curve)}
	for _, l := range []landslide.Level{landslide.Normal, landslide.Watch, landslide.Warning, landslide.Critical} {
		sn.Counts[l.String()] = 0
	}
	now := sn.At
	for id, g := range ts.gauges {
		if q := g.check.Status(now); q != 0 && ts.started {
			sn.Flagged = append(sn.Flagged, GaugeStatus{ID: id, Quality: q})
		}
	}
	sort.Slice(sn.Flagged, func(i, j int) bool { return sn.Flagged[i].ID < sn.Flagged[j].ID })
	crit := map[string]float64{}
	for _, c := range cfg.Criteria {
		crit[windowName(c.Window)] = c.MM
	}
	forecasts := map[int][]ForecastView{}
	piezo := map[int][]SensorValue{}
	for id, st := range ts.forecasts {
		i, ok := tp.sensor[id]
		if !ok {
			continue
		}
		if st.kind == TypePiezometer {
			piezo[i] = append(piezo[i], SensorValue{Sensor: id, At: time.UnixMilli(st.ts).UTC(), KPa: st.value})
			continue
		}
		f := st.last
		fv := ForecastView{Sensor: id, Kind: st.kind, At: time.UnixMilli(st.ts).UTC(), Displacement: st.value,
			Velocity: ptr(f.Velocity * 3600), Accelerating: f.Accelerating, Jump: f.Jump, Gap: f.Gap}
		if f.Accelerating {
			a, b, c := f.FailureTime.UTC(), f.Lower.UTC(), f.Upper.UTC()
			fv.FailureTime, fv.Lower, fv.Upper, fv.TStat = &a, &b, &c, ptr(f.TStat)
		}
		forecasts[i] = append(forecasts[i], fv)
	}
	for i, sl := range tp.slopes {
		st := &ts.slopes[i]
		sn.Counts[st.level.String()]++
		fs := st.sum.MinFS
		if fs == 0 {
			fs = math.NaN()
		}
		sn.Levels = append(sn.Levels, SlopeLevel{ID: sl.id, Level: st.level, FSMin: ptr(round(fs, 4)), Quality: st.assess.Quality})
		p := sl.params
		v := &SlopeView{ID: sl.id, Name: sl.name, Position: [2]float64{sl.lon, sl.lat}, Level: st.level, Quality: st.assess.Quality,
			FSMin: ptr(round(fs, 4)), ZAtFSMin: ptr(st.sum.ZAtMinFS), Defaults: sl.defaulted, Criteria: crit,
			Forecasts: forecasts[i], Piezometer: piezo[i], Reasons: []ReasonView{},
			Params: ParamsView{SlopeDeg: p.SlopeDeg, DepthToBase: p.DepthToBase, WaterTableDepth: p.WaterTableDepth, Cohesion: p.Soil.Cohesion,
				FrictionDeg: p.Soil.FrictionDeg, UnitWeight: p.Soil.UnitWeight, Ksat: p.Soil.Ksat, Diffusivity: p.Soil.Diffusivity, FiniteDepth: p.FiniteDepth}}
		for _, r := range st.assess.Reasons {
			v.Reasons = append(v.Reasons, ReasonView{Evidence: r.Evidence, Level: r.Level, Value: r.Value, Threshold: r.Threshold, Capped: r.Capped, Text: r.Text})
		}
		v.Rain = RainView{IntervalMM: round(st.rainMM, 3), RollingMM: windowMap(cfg.Windows, st.sums), Ratio: ptr(st.ratio),
			Fallback: st.est.Fallback.String(), Error: st.estErr, Gauges: []GaugeUse{}}
		if st.which >= 0 {
			c := cfg.Criteria[st.which]
			v.Rain.Criterion = windowName(c.Window) + " ≥ " + fmtF(c.MM) + " mm"
		}
		for _, u := range st.est.Used {
			v.Rain.Gauges = append(v.Rain.Gauges, GaugeUse{ID: u.ID, Distance: round(u.Distance, 1), Weight: round(u.Weight, 4)})
		}
		prof := st.profile
		if prof == nil {
			prof = st.steadyProfile // outside a rain event: the profile at rest
		}
		if prof != nil {
			v.Profile = make([]NodeView, 0, len(prof.Nodes))
			for _, nd := range prof.Nodes {
				v.Profile = append(v.Profile, NodeView{Z: round(nd.Z, 4), Psi: round(nd.Psi, 4), FS: ptr(round(nd.FS, 4))})
			}
		}
		v.SteadyFS, v.Baseline = ptr(round(ts.steady[i].MinFS, 4)), st.baseline
		if ts.steady[i].MinFS < 1 {
			sn.UnstableAtRest = append(sn.UnstableAtRest, sl.id)
		}
		sn.views[sl.id] = v
	}
	ts.s.publish(ts.name, sn)
}

// round rounds v to digits decimals (NaN and ±Inf unchanged).
func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}
