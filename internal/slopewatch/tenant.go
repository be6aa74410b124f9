package slopewatch

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/tsingma/tsingma/internal/alert"
	"github.com/tsingma/tsingma/internal/landslide"
	"github.com/tsingma/tsingma/internal/telemetry"
)

type gaugeState struct {
	roll    *landslide.Rolling
	check   *landslide.GaugeCheck
	pending map[int64]float64 // interval index → mm accepted
	flags   map[int64]landslide.Quality
	lastTS  int64
}

type sensorState struct {
	kind  string
	f     *landslide.Forecaster
	last  landslide.Forecast
	value float64
	ts    int64
	bad   bool // the last Add was rejected
}

// interval is one closed rain interval.
type interval struct {
	k0, k1 int64              // [k0, k1) in interval indexes
	mm     map[string]float64 // valid gauge readings (mm in the interval)
}

// period is one Engine period of the current event, kept for a replay.
type period struct {
	start, end int64              // ms
	mm         map[string]float64 // gauge totals over the period
}

type slopeState struct {
	level   landslide.Level
	assess  landslide.Assessment
	sum     landslide.Summary
	profile *landslide.Profile
	// steadyProfile is the profile at rest (no rain), shown outside events.
	steadyProfile *landslide.Profile
	est           landslide.Estimate
	estErr        string
	rainMM        float64
	sums          []float64 // rolling sums at the slope (Config.Windows)
	ratio         float64
	which         int
	quality       landslide.Quality
	alerting      bool
	// baseline is the level at rest (steady state, no rain, no forecast):
	// alerts are raised only above it, so a slope whose parameters make it
	// marginal or unstable without rain is reported, not re-alerted.
	baseline landslide.Level
}

type tenantState struct {
	s      *Service
	name   string
	dirty  bool
	topo   *topology
	gauges map[string]*gaugeState
	// forecasts by sensor twin (extensometer, inclinometer, piezometer)
	forecasts map[string]*sensorState

	started   bool
	openIdx   int64 // first interval not closed
	watermark int64 // ms, latest sample time

	eng     *landslide.Engine
	inEvent bool
	t0      int64 // ms, engine time 0
	engEnd  int64 // ms, end of the last period added
	lastWet int64 // ms, end of the last wet interval
	lastEv  int64 // ms, time of the last evaluation
	history []period
	acc     []float64          // rain per slope since engEnd (mm)
	accMM   map[string]float64 // gauge totals since engEnd
	accWet  bool
	steady  []landslide.Summary

	slopes    []slopeState
	warn      landslide.WarningTracker
	warnExp   float64
	warnOn    bool
	closedEnd int64 // ms, end of the last closed interval
	// warnGauges is the number of gauges behind netSums.
	warnGauges int
	// replaying: catching up from the store after a start; no series
	// are stored, no alerts raised, the model is evaluated once at the end.
	replaying bool
	netSums   []float64
	evalAt    int64
}

func (ts *tenantState) cfg() *Config { return &ts.s.cfg }

func (ts *tenantState) resMs() int64 { return ts.cfg().Resolution.Milliseconds() }

// rebuild reloads the topology and, during an event, replays the event's
// rain into a new Engine. Per-slope levels are kept by slope id.
func (ts *tenantState) rebuild() error {
	tp, err := buildTopology(ts.s.ctx, ts.s.cfg.Twins, ts.name, ts.cfg())
	if err != nil {
		return err
	}
	eng, err := landslide.NewEngine(landslide.EngineConfig{Nodes: ts.cfg().Nodes, Workers: ts.cfg().Workers}, tp.params())
	if err != nil {
		return err
	}
	old := map[string]slopeState{}
	if ts.topo != nil {
		for i, sl := range ts.topo.slopes {
			old[sl.id] = ts.slopes[i]
		}
	}
	ts.topo, ts.eng, ts.dirty = tp, eng, false
	ts.slopes = make([]slopeState, len(tp.slopes))
	for i, sl := range tp.slopes {
		if o, ok := old[sl.id]; ok {
			ts.slopes[i] = o
		} else {
			ts.slopes[i] = slopeState{ratio: math.NaN(), which: -1}
		}
	}
	// The steady state (no transient rain).
	ts.steady = make([]landslide.Summary, len(tp.slopes))
	var steadyProfiles []landslide.Profile
	if len(tp.slopes) > 0 && len(tp.slopes) <= ts.cfg().KeepProfiles {
		steadyProfiles = make([]landslide.Profile, len(tp.slopes))
	}
	if len(tp.slopes) > 0 {
		r := ts.cfg().Resolution.Seconds()
		if err := eng.AddPeriod(0, r, make([]float64, len(tp.slopes))); err == nil {
			_ = eng.Evaluate(ts.s.ctx, r, ts.steady, steadyProfiles)
		}
		eng.Reset()
	}
	for i := range ts.slopes {
		ts.slopes[i].steadyProfile = nil
		if steadyProfiles != nil {
			p := steadyProfiles[i]
			ts.slopes[i].steadyProfile = &p
		}
		if !ts.inEvent {
			ts.slopes[i].sum = ts.steady[i]
		}
		ts.slopes[i].baseline = landslide.Assess(*ts.cfg().Risk, landslide.Evidence{RainRatio: math.NaN(), MinFS: ts.steady[i].MinFS}, time.Time{}).Level
	}
	if ts.inEvent { // replay the event so far
		ts.engEnd = ts.t0
		hist := ts.history
		ts.history = nil
		for _, p := range hist {
			mm := make([]float64, len(tp.slopes))
			for i, sl := range tp.slopes {
				if est, err := tp.idw.At(sl.x, sl.y, func(id string) (float64, bool) { v, ok := p.mm[id]; return v, ok }); err == nil {
					mm[i] = est.Value
				}
			}
			ts.addPeriod(p.end, mm, p.mm)
		}
		// Rain since the last period, re-interpolated on the new slopes.
		ts.acc = make([]float64, len(tp.slopes))
		for i, sl := range tp.slopes {
			if est, err := tp.idw.At(sl.x, sl.y, func(id string) (float64, bool) { v, ok := ts.accMM[id]; return v, ok }); err == nil && len(ts.accMM) > 0 {
				ts.acc[i] = est.Value
			}
		}
		if ts.engEnd > ts.t0 {
			ts.evaluate(ts.engEnd, false)
		}
	}
	if !ts.started {
		ts.assess(0, false)
	}
	ts.publish()
	return nil
}

func (ts *tenantState) gauge(id string) *gaugeState {
	g := ts.gauges[id]
	if g == nil {
		wins := append([]time.Duration(nil), ts.cfg().Windows...)
		for _, w := range ts.s.warn.Curve.Windows {
			if !containsDur(wins, w) {
				wins = append(wins, w)
			}
		}
		roll, err := landslide.NewRolling(ts.cfg().Resolution, wins)
		if err != nil { // windows were validated with the resolution in New
			panic(err)
		}
		g = &gaugeState{roll: roll, check: landslide.NewGaugeCheck(ts.cfg().Gauge), pending: map[int64]float64{}, flags: map[int64]landslide.Quality{}}
		ts.gauges[id] = g
	}
	return g
}

func containsDur(ws []time.Duration, w time.Duration) bool {
	for _, x := range ws {
		if x == w {
			return true
		}
	}
	return false
}

// handle takes one tenant's samples (in time order per series) and closes
// the intervals that sample time has passed.
func (ts *tenantState) handle(smp []telemetry.Sample) {
	res := ts.resMs()
	for _, x := range smp {
		if x.TS > ts.watermark {
			ts.watermark = x.TS
		}
		switch {
		case x.Type == TypeRainGauge && x.Channel == "rainfall":
			ts.s.samples.Add(1)
			idx := floorDiv(x.TS-1, res)
			if !ts.started {
				ts.started, ts.openIdx = true, idx
			}
			g := ts.gauge(x.Twin)
			at := time.UnixMilli(x.TS)
			q := g.check.Check(at, x.Value)
			g.lastTS = max(g.lastTS, x.TS)
			if idx < ts.openIdx {
				ts.s.late.Add(1)
				continue
			}
			g.flags[idx] |= q
			if q&(landslide.RainAbsurd|landslide.RainNegative|landslide.GaugeStuck) != 0 {
				ts.s.rejected.Add(1)
				continue
			}
			g.pending[idx] += x.Value
		case (x.Type == TypeExtensometer || x.Type == TypeInclinometer) && x.Channel == "displacement",
			x.Type == TypePiezometer && x.Channel == "porePressure":
			ts.s.samples.Add(1)
			ts.sensor(x)
		}
	}
	if !ts.started {
		return
	}
	grace := ts.cfg().Grace.Milliseconds()
	for (ts.openIdx+1)*res+grace <= ts.watermark {
		// Skip long silent stretches in one step: up to the watermark when
		// no reading is pending, and, out of a rain event, up to the next
		// pending reading. Until session 11 only the first: a gauge that
		// sent one reading stamped 1970 (a reset clock) and then the right
		// time made this loop close the 5.9 million intervals between them
		// one by one, each with a model assessment and a publish, while
		// every slope's warnings waited and shutdown hung.
		k1 := ts.openIdx + 1
		switch next, ok := ts.nextPending(ts.openIdx); {
		case !ok:
			k1 = max(k1, floorDiv(ts.watermark-grace, res))
		case !ts.inEvent:
			k1 = max(k1, next)
		}
		ts.close(ts.openIdx, k1)
		ts.s.closes.Add(1)
		ts.openIdx = k1
	}
}

// nextPending returns the earliest interval at or after k with a pending
// reading.
func (ts *tenantState) nextPending(k int64) (int64, bool) {
	next, ok := int64(0), false
	for _, g := range ts.gauges {
		for idx := range g.pending {
			if idx >= k && (!ok || idx < next) {
				next, ok = idx, true
			}
		}
	}
	return next, ok
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func (ts *tenantState) sensor(x telemetry.Sample) {
	st := ts.forecasts[x.Twin]
	if st == nil {
		f, _ := landslide.NewForecaster(ts.cfg().Forecast) // validated in New
		st = &sensorState{kind: x.Type, f: f}
		ts.forecasts[x.Twin] = st
	}
	st.value, st.ts = x.Value, x.TS
	if x.Channel != "displacement" {
		return
	}
	fc, err := st.f.Add(time.UnixMilli(x.TS), x.Value)
	st.bad = err != nil
	if err == nil {
		st.last = fc
	}
}

// close closes the intervals [k0, k1): per-gauge sums are stored, the
// slope rain is interpolated, the Engine advances and, on the cadence, the
// model is evaluated and the levels assessed.
func (ts *tenantState) close(k0, k1 int64) {
	res := ts.resMs()
	end := k1 * res
	iv := interval{k0: k0, k1: k1, mm: map[string]float64{}}
	var out []telemetry.Sample
	for id, g := range ts.gauges {
		mm, ok := 0.0, false
		var ks []int64
		for k := range g.pending {
			if k < k1 {
				ks = append(ks, k)
			}
		}
		slices.Sort(ks)
		for _, k := range ks {
			v := g.pending[k]
			delete(g.pending, k)
			delete(g.flags, k)
			if k < k0 { // cannot happen: intervals are closed in order
				continue
			}
			// The rolling sums see an interval only when it closes, so
			// that the stored sums end exactly at the interval's end.
			if err := g.roll.Add(time.UnixMilli(k*res), v); err != nil {
				ts.s.late.Add(1)
				continue
			}
			mm += v
			ok = true
		}
		g.roll.AdvanceTo(time.UnixMilli(end - 1))
		if ok {
			iv.mm[id] = mm
			sums := g.roll.Sums(nil)
			for i, w := range ts.cfg().Windows {
				out = append(out, telemetry.Sample{Tenant: ts.name, Twin: id, Type: TypeRainGauge,
					Channel: RollingPrefix + windowName(w), TS: end, Value: round(sums[i], 3)})
			}
		}
	}
	if len(out) > 0 && !ts.replaying {
		ts.store(out)
	}
	wet := false
	for _, v := range iv.mm {
		if v > 0 {
			wet = true
			break
		}
	}
	if ts.dirty {
		if err := ts.rebuild(); err != nil {
			ts.s.log.Warn("landslide topology", "tenant", ts.name, "err", err)
		}
	}
	if wet && !ts.inEvent {
		ts.inEvent, ts.t0, ts.engEnd, ts.history = true, k0*res, k0*res, nil
		ts.eng.Reset()
	}
	if wet {
		ts.lastWet = end
	}
	ts.interpolate(iv)
	evaluate := false
	if ts.inEvent {
		// Rain accumulates per slope until the engine step is due; the
		// period is added and the model evaluated then (wet), or hourly in
		// a dry spell.
		if len(ts.acc) != len(ts.slopes) {
			ts.acc = make([]float64, len(ts.slopes))
		}
		for i := range ts.slopes {
			ts.acc[i] += ts.slopes[i].rainMM
		}
		if ts.accMM == nil {
			ts.accMM = map[string]float64{}
		}
		for id, v := range iv.mm {
			ts.accMM[id] += v
		}
		ts.accWet = ts.accWet || wet
		due := end-ts.engEnd >= ts.engineStep().Milliseconds()
		if due && ts.accWet || end-ts.lastEv >= ts.cfg().DryEvery.Milliseconds() {
			ts.addPeriod(end, ts.acc, ts.accMM)
			clear(ts.acc)
			ts.accMM, ts.accWet = nil, false
			evaluate = true
		}
		if end-ts.lastWet >= ts.cfg().DryReset.Milliseconds() {
			clear(ts.acc)
			ts.accMM, ts.accWet = nil, false
			ts.inEvent, ts.history = false, nil
			ts.eng.Reset()
			for i := range ts.slopes {
				ts.slopes[i].sum, ts.slopes[i].profile = ts.steady[i], nil
			}
			evaluate = false
		}
	}
	ts.closedEnd = end
	if evaluate {
		ts.lastEv = end // also when replaying: the same cadence as live
	}
	ts.territory(end)
	if ts.replaying {
		return
	}
	if evaluate {
		ts.evaluate(end, true)
	}
	ts.assess(end, true)
	ts.publish()
}

// addPeriod appends [engEnd, end) to the Engine with mm per slope (the
// rain at each slope over the period) and records the gauges' totals
// (gauge id → mm) for a replay after a topology change.
func (ts *tenantState) addPeriod(end int64, mm []float64, gauges map[string]float64) {
	if end <= ts.engEnd {
		return
	}
	n := len(ts.topo.slopes)
	rates := make([]float64, n)
	dur := float64(end-ts.engEnd) / 1000
	for i := range rates {
		if i < len(mm) {
			rates[i] = mm[i] / 1000 / dur // mm over the period → m/s
		}
	}
	if err := ts.eng.AddPeriod(sec(ts.engEnd-ts.t0), sec(end-ts.t0), rates); err != nil {
		ts.s.log.Warn("landslide engine", "err", err)
		return
	}
	ts.history = append(ts.history, period{start: ts.engEnd, end: end, mm: gauges})
	ts.engEnd = end
}

// engineStep is Config.EngineStep, or by default the interval up to 5,000
// slopes and one hour above (the Engine's cost grows with the number of
// periods of an event).
func (ts *tenantState) engineStep() time.Duration {
	if st := ts.cfg().EngineStep; st > 0 {
		return st
	}
	if len(ts.slopes) > 5000 {
		return time.Hour
	}
	return ts.cfg().Resolution
}

func sec(ms int64) float64 { return float64(ms) / 1000 }

// interpolate computes each slope's rain in the interval, its rolling sums
// (the same weights applied to the gauges' rolling sums) and the data
// quality of the gauges it depends on.
func (ts *tenantState) interpolate(iv interval) {
	tp := ts.topo
	wins := ts.cfg().Windows
	sums := map[string][]float64{}
	now := time.UnixMilli(iv.k1 * ts.resMs())
	for id, g := range ts.gauges {
		sums[id] = g.roll.Sums(nil)
	}
	for i, sl := range tp.slopes {
		st := &ts.slopes[i]
		st.quality = 0
		for _, gi := range sl.candidates {
			id := tp.gauges[gi].ID
			g := ts.gauges[id]
			if g == nil {
				st.quality |= landslide.GaugeDropped
				continue
			}
			st.quality |= g.check.Status(now)
		}
		valid := func(id string) (float64, bool) {
			g := ts.gauges[id]
			if g == nil || g.check.Status(now) != 0 {
				return 0, false
			}
			v, ok := iv.mm[id]
			if !ok {
				v = 0 // silent within DropAfter: no rain reported
			}
			return v, true
		}
		ip, nv := tp.idw, 0
		for _, id := range sl.nearIDs {
			if _, ok := valid(id); ok {
				nv++
			}
		}
		if nv >= ts.cfg().K || nv == len(tp.gauges) {
			ip = sl.near // same result, see slopeInfo.near
		}
		est, err := ip.At(sl.x, sl.y, valid)
		st.est, st.estErr = est, ""
		st.sums = make([]float64, len(wins))
		if err != nil {
			st.estErr = err.Error()
			st.quality |= landslide.GaugeDropped
			st.rainMM = 0
			continue
		}
		st.rainMM = est.Value
		for _, u := range est.Used {
			for w := range wins {
				st.sums[w] += u.Weight * sums[u.ID][w]
			}
		}
		st.ratio, st.which = landslide.Exceedance(ts.cfg().Criteria, wins, st.sums)
		if st.which < 0 {
			st.ratio = math.NaN()
		}
	}
}

// evaluate runs the Engine at sample time end (ms).
func (ts *tenantState) evaluate(end int64, store bool) {
	n := len(ts.topo.slopes)
	if n == 0 || end <= ts.t0 {
		return
	}
	out := make([]landslide.Summary, n)
	var profiles []landslide.Profile
	if n <= ts.cfg().KeepProfiles {
		profiles = make([]landslide.Profile, n)
	}
	if err := ts.eng.Evaluate(ts.s.ctx, sec(end-ts.t0), out, profiles); err != nil {
		if ts.s.ctx.Err() == nil {
			ts.s.log.Warn("landslide evaluate", "tenant", ts.name, "err", err)
		}
		return
	}
	ts.s.evaluations.Add(1)
	ts.lastEv, ts.evalAt = end, end
	for i := range ts.slopes {
		ts.slopes[i].sum = out[i]
		if profiles != nil {
			p := profiles[i]
			ts.slopes[i].profile = &p
		}
	}
}

func (ts *tenantState) territory(end int64) {
	// The curve was fitted to one station's rainfall: the network mean of
	// the gauges that reported in the last day stands for "a station".
	wins := ts.s.warn.Curve.Windows
	mean := make([]float64, len(wins))
	n := 0
	for _, g := range ts.gauges {
		if end-g.lastTS > 24*time.Hour.Milliseconds() {
			continue
		}
		all := g.roll.Sums(nil)
		ws := g.roll.Windows()
		for i, w := range wins {
			for j, x := range ws {
				if x == w {
					mean[i] += all[j]
				}
			}
		}
		n++
	}
	if n > 0 {
		for i := range mean {
			mean[i] /= float64(n)
		}
	}
	ts.netSums = mean
	exp, on, changed := ts.warn.Update(time.UnixMilli(end), mean)
	ts.warnExp, ts.warnOn, ts.warnGauges = exp, on, n
	if changed && !ts.replaying {
		ts.territoryAlert(end)
	}
}

// territoryAlert raises or clears the tenant-wide landslip warning.
func (ts *tenantState) territoryAlert(end int64) {
	if ts.s.cfg.Alerts == nil {
		return
	}
	exp, on, mean, wins, n := ts.warnExp, ts.warnOn, ts.netSums, ts.s.warn.Curve.Windows, ts.warnGauges
	v := exp
	sig := alert.Signal{Tenant: ts.name, Source: "model:" + ModelName, ModelVersion: ModelVersion, Key: "territory",
		Severity: alert.Warning, Value: &v, At: time.UnixMilli(end),
		Details: map[string]any{"expected_landslides": exp, "threshold": ts.warn.Warning.Threshold, "network_mean_mm": windowMap(wins, mean), "gauges": n, "model": ModelName, "version": ModelVersion}}
	var err error
	if on {
		sig.Reason = "territory-wide landslip warning: expected landslides " + fmtF(exp) + " ≥ " + fmtF(ts.warn.Warning.Threshold) + " from network-mean rolling rainfall " + fmtSums(wins, mean)
		_, err = ts.s.cfg.Alerts.Raise(ts.s.ctx, sig)
	} else {
		sig.Reason = "landslip warning cancelled: expected landslides " + fmtF(exp)
		_, _, err = ts.s.cfg.Alerts.Clear(ts.s.ctx, sig)
	}
	if err != nil {
		ts.s.log.Warn("landslip warning alert", "err", err)
	} else {
		ts.s.alerts.Add(1)
	}
}

// assess combines the evidence per slope, stores the series and raises or
// clears alerts on level changes.
func (ts *tenantState) assess(end int64, live bool) {
	tp := ts.topo
	now := time.UnixMilli(end)
	// Displacement evidence per slope: the accelerating forecast with the
	// earliest lower bound.
	fc := make(map[int]*landslide.Forecast)
	fq := make(map[int]landslide.Quality)
	for id, st := range ts.forecasts {
		i, ok := tp.sensor[id]
		if !ok || st.kind == TypePiezometer {
			continue
		}
		f := st.last
		if f.Jump {
			fq[i] |= landslide.DisplacementJump
		}
		if f.Gap {
			fq[i] |= landslide.DisplacementGap
		}
		if !f.Accelerating {
			continue
		}
		if cur := fc[i]; cur == nil || f.Lower.Before(cur.Lower) {
			ff := f
			fc[i] = &ff
		}
	}
	var out []telemetry.Sample
	wins := ts.cfg().Windows
	for i, sl := range tp.slopes {
		st := &ts.slopes[i]
		ev := landslide.Evidence{RainRatio: st.ratio, MinFS: st.sum.MinFS, ZAtMinFS: st.sum.ZAtMinFS, Forecast: fc[i], Quality: st.quality | fq[i]}
		if st.which >= 0 {
			c := ts.cfg().Criteria[st.which]
			ev.RainCriterion = windowName(c.Window) + " ≥ " + fmtF(c.MM) + " mm"
		}
		if ts.inEvent && st.quality.Rain() {
			ev.Quality |= landslide.ModelInputSuspect
		}
		if st.sum.MinFS == 0 { // never evaluated
			ev.MinFS = math.NaN()
		}
		a := landslide.Assess(*ts.cfg().Risk, ev, now)
		prev := st.level
		st.assess, st.level = a, a.Level
		if !live {
			continue
		}
		if ts.evalAt == end {
			out = append(out,
				telemetry.Sample{Tenant: ts.name, Twin: sl.id, Type: TypeSlope, Channel: ChannelLevel, TS: end, Value: float64(a.Level)},
				telemetry.Sample{Tenant: ts.name, Twin: sl.id, Type: TypeSlope, Channel: ChannelFSMin, TS: end, Value: round(st.sum.MinFS, 4)},
				telemetry.Sample{Tenant: ts.name, Twin: sl.id, Type: TypeSlope, Channel: ChannelZAtMin, TS: end, Value: round(st.sum.ZAtMinFS, 3)},
				telemetry.Sample{Tenant: ts.name, Twin: sl.id, Type: TypeSlope, Channel: ChannelRain, TS: end, Value: round(st.rainMM, 3)})
			if !math.IsNaN(st.ratio) {
				out = append(out, telemetry.Sample{Tenant: ts.name, Twin: sl.id, Type: TypeSlope, Channel: ChannelRainRatio, TS: end, Value: round(st.ratio, 4)})
			}
		} else if a.Level != prev {
			out = append(out, telemetry.Sample{Tenant: ts.name, Twin: sl.id, Type: TypeSlope, Channel: ChannelLevel, TS: end, Value: float64(a.Level)})
		}
		if want := a.Level >= ts.cfg().AlertFrom && a.Level > st.baseline; want && (a.Level != prev || !st.alerting) || !want && st.alerting {
			ts.alert(sl, st, a, now, wins)
		}
	}
	if len(out) > 0 {
		ts.store(out)
	}
}

func (ts *tenantState) alert(sl slopeInfo, st *slopeState, a landslide.Assessment, now time.Time, wins []time.Duration) {
	al := ts.s.cfg.Alerts
	if al == nil {
		return
	}
	sig := alert.Signal{Tenant: ts.name, Source: "model:" + ModelName, ModelVersion: ModelVersion,
		Twin: sl.id, Type: TypeSlope, Channel: ChannelLevel, Key: "risk", At: now}
	if a.Level < ts.cfg().AlertFrom || a.Level <= st.baseline {
		if !st.alerting {
			return
		}
		sig.Reason = "landslide risk down to " + a.Level.String()
		if _, _, err := al.Clear(ts.s.ctx, sig); err != nil {
			ts.s.log.Warn("clear landslide alert", "twin", sl.id, "err", err)
			return
		}
		st.alerting = false
		ts.s.alerts.Add(1)
		return
	}
	v := float64(a.Level)
	sig.Severity, sig.Value, sig.Reason = levelSeverity(a.Level), &v, reasonText(a)
	var used []map[string]any
	for _, u := range st.est.Used {
		used = append(used, map[string]any{"gauge": u.ID, "distance_m": round(u.Distance, 1), "weight": round(u.Weight, 4)})
	}
	sig.Details = map[string]any{"level": a.Level.String(), "reasons": a.Reasons, "quality": a.Quality.String(),
		"fs_min": finiteOrNil(st.sum.MinFS), "z_at_fs_min_m": finiteOrNil(st.sum.ZAtMinFS), "rain_mm": windowMap(wins, st.sums),
		"gauges": used, "fallback": st.est.Fallback.String(), "model": ModelName, "version": ModelVersion, "engine": ts.cfg().Model}
	for _, u := range st.est.Used {
		if len(sig.Evidence) < 4 {
			sig.Evidence = append(sig.Evidence, alert.Evidence{Twin: u.ID, Channel: "rainfall", TS: now.UnixMilli(), Value: st.rainMM})
		}
	}
	if _, err := al.Raise(ts.s.ctx, sig); err != nil {
		ts.s.log.Warn("raise landslide alert", "twin", sl.id, "err", err)
		return
	}
	st.alerting = true
	ts.s.alerts.Add(1)
}

func (ts *tenantState) store(out []telemetry.Sample) {
	if _, err := ts.s.cfg.Store.Append(ts.s.ctx, out); err != nil && ts.s.ctx.Err() == nil {
		ts.s.log.Warn("store landslide series", "err", err)
	}
}

func finiteOrNil(v float64) any {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return round(v, 4)
}

func windowMap(wins []time.Duration, v []float64) map[string]float64 {
	m := map[string]float64{}
	for i, w := range wins {
		if i < len(v) {
			m[windowName(w)] = round(v[i], 2)
		}
	}
	return m
}

// windowName is "1h", "24h", "30d" (days when a whole number of days ≥ 5).
func windowName(w time.Duration) string {
	h := w.Hours()
	if h >= 120 && math.Mod(h, 24) == 0 {
		return fmtF(h/24) + "d"
	}
	if h == math.Trunc(h) {
		return fmtF(h) + "h"
	}
	return fmtF(w.Minutes()) + "m"
}

func fmtSums(wins []time.Duration, v []float64) string {
	s := ""
	for i, w := range wins {
		if i > 0 {
			s += ", "
		}
		s += windowName(w) + " " + fmtF(round(v[i], 1)) + " mm"
	}
	return s
}

// maxReplay bounds the samples read back by catchUp (about 72 h of 5-min
// readings from 3,000 gauges).
const maxReplay = 3_000_000

// catchUp replays the stored samples of the last Config.Replay through the
// model without storing series or raising alerts, evaluates the model once
// at the end, then raises the alerts of the levels it finds (the alerts
// engine keeps one open alert per slope, so an alert still open from
// before the restart is updated, not duplicated).
func (ts *tenantState) catchUp() error {
	if ts.dirty {
		if err := ts.rebuild(); err != nil {
			return err
		}
	}
	from := ts.s.cfg.Now().Add(-ts.s.cfg.Replay).UnixMilli()
	var all []telemetry.Sample
	read := func(id, typ, ch string) error {
		return ts.s.cfg.Store.Range(ts.s.ctx, telemetry.Key{Tenant: ts.name, Twin: id, Channel: ch}, from, math.MaxInt64, func(t int64, v float64) bool {
			all = append(all, telemetry.Sample{Tenant: ts.name, Twin: id, Type: typ, Channel: ch, TS: t, Value: v})
			return len(all) < maxReplay
		})
	}
	for _, g := range ts.topo.gauges {
		if err := read(g.ID, TypeRainGauge, "rainfall"); err != nil {
			return fmt.Errorf("read %s: %w", g.ID, err)
		}
	}
	for id, typ := range ts.topo.kind {
		ch := "displacement"
		if typ == TypePiezometer {
			ch = "porePressure"
		}
		if err := read(id, typ, ch); err != nil {
			return fmt.Errorf("read %s: %w", id, err)
		}
	}
	if len(all) == 0 {
		return nil
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].TS < all[j].TS })
	ts.replaying = true
	ts.handle(all)
	ts.replaying = false
	end := ts.closedEnd
	if ts.inEvent && ts.engEnd > ts.t0 {
		ts.evaluate(ts.engEnd, false)
	}
	ts.assess(end, true)
	if ts.warnOn {
		ts.territoryAlert(end)
	}
	ts.publish()
	ts.s.log.Info("landslide model caught up", "tenant", ts.name, "samples", len(all), "in_event", ts.inEvent)
	return nil
}
