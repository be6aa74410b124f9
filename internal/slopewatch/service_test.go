package slopewatch

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/tsingma/tsingma/internal/alert"
	"github.com/tsingma/tsingma/internal/bus"
	"github.com/tsingma/tsingma/internal/landslide"
	"github.com/tsingma/tsingma/internal/telemetry"
	"github.com/tsingma/tsingma/internal/twin"
)

// waitFor polls cond until it holds or the deadline passes (no sleeps in
// assertions: the deadline only bounds a hang).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestBlackRainstormThroughBus drives a synthetic black rainstorm through
// the bus: the steep weak slope gets a warning or critical alert naming
// the model and version, the gentle strong one none, the territory-wide
// landslip warning is raised, and the series are stored.
func TestBlackRainstormThroughBus(t *testing.T) {
	b := bus.New()
	reg := openRegistry(t, b,
		[]slopeSpec{{"slope-steep", 114.150, 22.350, steepWeak()}, {"slope-gentle", 114.152, 22.351, gentleStrong()}},
		[]gaugeSpec{{"g1", 114.151, 22.352}, {"g2", 114.170, 22.360}}, nil)
	st, al := &fakeStore{}, &fakeAlerts{}
	s, err := New(Config{Twins: reg, Bus: b, Store: st, Alerts: al, QueueBatches: 4096})
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	defer s.Close()
	waitFor(t, "the first snapshot", func() bool { sn := s.Snapshot(telemetry.DefaultTenant); return sn != nil && sn.Slopes == 2 })
	const steps = 100
	for i := range steps {
		b.PublishSamples(rainBatch(i, map[string]float64{"g1": blackRainstorm(i), "g2": 0.9 * blackRainstorm(i)}))
	}
	last := t0.Add(time.Duration(steps-1) * 5 * time.Minute)
	waitFor(t, "the storm to be processed", func() bool {
		sn := s.Snapshot(telemetry.DefaultTenant)
		return sn != nil && !sn.At.Before(last)
	})
	s.Close()
	steep := al.forTwin("slope-steep")
	if len(steep) == 0 {
		t.Fatalf("no alert on the steep weak slope; levels %s", fmtLevels(s.Snapshot(telemetry.DefaultTenant)))
	}
	top := steep[len(steep)-1]
	for _, a := range steep {
		if a.Severity == alert.Critical {
			top = a
		}
	}
	if top.Severity != alert.Warning && top.Severity != alert.Critical {
		t.Errorf("steep slope alert severity %s, want warning or critical", top.Severity)
	}
	if top.Source != "model:"+ModelName || top.ModelVersion != ModelVersion || !strings.Contains(top.Reason, "factor of safety") {
		t.Errorf("alert source %q version %q reason %q", top.Source, top.ModelVersion, top.Reason)
	}
	if g := al.forTwin("slope-gentle"); len(g) != 0 {
		t.Errorf("gentle strong slope got %d alerts, first %q", len(g), g[0].Reason)
	}
	terr := al.forTwin("")
	if len(terr) == 0 || terr[0].Key != "territory" {
		t.Errorf("no territory-wide landslip warning: %+v", terr)
	}
	sn := s.Snapshot(telemetry.DefaultTenant)
	if g, _ := sn.Slope("slope-gentle"); g.Level > landslide.Watch || !sn.Territory.On {
		t.Errorf("territory %+v counts %v", sn.Territory, sn.Counts)
	}
	// Rolling sums on the gauge against a brute-force sum.
	r3 := st.series("g1", "rainfall.3h")
	if len(r3) < steps-3 {
		t.Fatalf("%d rainfall.3h values stored on g1", len(r3))
	}
	for _, x := range r3 {
		k := int(time.UnixMilli(x.TS).Sub(t0) / (5 * time.Minute)) // intervals ending at x.TS
		want := 0.0
		for i := max(0, k-36); i < k; i++ {
			want += blackRainstorm(i)
		}
		if math.Abs(x.Value-want) > 1e-6 {
			t.Fatalf("rainfall.3h at g1 at %s = %g mm, want %g", time.UnixMilli(x.TS).UTC(), x.Value, want)
		}
	}
	if len(st.series("slope-steep", ChannelLevel)) == 0 || len(st.series("slope-steep", ChannelFSMin)) == 0 {
		t.Error("no landslide.level / landslide.fs_min series stored on the slope")
	}
	v, err := sn.Slope("slope-steep")
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Profile) != 21 || len(v.Rain.Gauges) == 0 || v.Rain.Gauges[0].ID != "g1" || len(v.Reasons) == 0 {
		t.Errorf("slope view: %d profile nodes, gauges %+v, reasons %+v", len(v.Profile), v.Rain.Gauges, v.Reasons)
	}
	if st := s.Stats(); st.Dropped != 0 || st.Evaluations == 0 {
		t.Errorf("stats %+v", st)
	}
}

// runStorm drives a synchronous service with per-step gauge readings and
// returns each slope's level and FS after every step.
func runStorm(t *testing.T, s *Service, steps int, rain func(i int) map[string]float64) (levels [][]landslide.Level, fs [][]float64) {
	t.Helper()
	for i := range steps {
		s.handle(bus.Event{Kind: "samples", Tenant: telemetry.DefaultTenant, Samples: rainBatch(i, rain(i))})
		sn := s.Snapshot(telemetry.DefaultTenant)
		l := make([]landslide.Level, len(sn.Levels))
		f := make([]float64, len(sn.Levels))
		for j, x := range sn.Levels {
			l[j] = x.Level
			f[j] = math.Inf(1)
			if x.FSMin != nil {
				f[j] = *x.FSMin
			}
		}
		levels, fs = append(levels, l), append(fs, f)
	}
	return levels, fs
}

func randomSlope(r *rand.Rand) map[string]any {
	return map[string]any{"slopeAngle": 25 + 20*r.Float64(), "soilDepth": 1 + 3*r.Float64(), "ksat": 2e-6 + 3e-5*r.Float64(),
		"diffusivity": 2e-5 + 3e-4*r.Float64(), "cohesion": 3 + 15*r.Float64(), "frictionAngle": 30 + 8*r.Float64(),
		"unitWeight": 18 + 3*r.Float64(), "initialWaterTableDepth": 0.5 + 3*r.Float64()}
}

// TestMonotoneMoreRain: with more rain at every gauge in every interval, no
// slope's level is ever lower and its minimum FS never higher.
func TestMonotoneMoreRain(t *testing.T) {
	for seed := range uint64(4) {
		r := rand.New(rand.NewPCG(seed, 7))
		var slopes []slopeSpec
		for i := range 10 {
			slopes = append(slopes, slopeSpec{id: "s" + string(rune('a'+i)), lon: 114.1 + 0.05*r.Float64(), lat: 22.3 + 0.05*r.Float64(), props: randomSlope(r)})
		}
		gauges := []gaugeSpec{{"g1", 114.11, 22.31}, {"g2", 114.14, 22.33}, {"g3", 114.12, 22.35}}
		reg := openRegistry(t, nil, slopes, gauges, nil)
		const steps = 90
		base := make([]map[string]float64, steps)
		more := make([]map[string]float64, steps)
		for i := range steps {
			base[i], more[i] = map[string]float64{}, map[string]float64{}
			for _, g := range gauges {
				v := 0.0
				if r.Float64() < 0.7 {
					v = 12 * r.Float64()
				}
				base[i][g.id] = v
				more[i][g.id] = v + 6*r.Float64()*r.Float64()
			}
		}
		dry := func(c *Config) { c.DryEvery = c.Resolution }
		la, fa := runStorm(t, newSync(t, reg, &fakeStore{}, nil, dry), steps, func(i int) map[string]float64 { return base[i] })
		lb, fb := runStorm(t, newSync(t, reg, &fakeStore{}, nil, dry), steps, func(i int) map[string]float64 { return more[i] })
		worst := landslide.Normal
		for i := range la {
			for j := range la[i] {
				if lb[i][j] < la[i][j] {
					t.Fatalf("seed %d step %d slope %d: more rain lowered the level from %s to %s", seed, i, j, la[i][j], lb[i][j])
				}
				if fb[i][j] > fa[i][j]+1e-9 {
					t.Fatalf("seed %d step %d slope %d: more rain raised FS from %g to %g", seed, i, j, fa[i][j], fb[i][j])
				}
				worst = max(worst, lb[i][j])
			}
		}
		if worst < landslide.Warning {
			t.Errorf("seed %d: the storms never reached warning: the property was not exercised", seed)
		}
	}
}

// TestMonotoneLowerFS: a slope identical to another but weaker (lower
// cohesion and friction, so a lower FS under the same rain) is never at
// a lower level.
func TestMonotoneLowerFS(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 9))
	var slopes []slopeSpec
	for i := range 8 {
		p := randomSlope(r)
		w := map[string]any{}
		for k, v := range p {
			w[k] = v
		}
		w["cohesion"] = p["cohesion"].(float64) * (0.3 + 0.6*r.Float64())
		w["frictionAngle"] = p["frictionAngle"].(float64) - 3*r.Float64()
		lon, lat := 114.1+0.03*r.Float64(), 22.3+0.03*r.Float64()
		slopes = append(slopes, slopeSpec{id: "p" + string(rune('a'+i)) + "-strong", lon: lon, lat: lat, props: p},
			slopeSpec{id: "p" + string(rune('a'+i)) + "-weak", lon: lon, lat: lat, props: w})
	}
	reg := openRegistry(t, nil, slopes, []gaugeSpec{{"g1", 114.11, 22.31}}, nil)
	s := newSync(t, reg, &fakeStore{}, nil, func(c *Config) { c.DryEvery = c.Resolution })
	levels, fs := runStorm(t, s, 100, func(i int) map[string]float64 { return map[string]float64{"g1": blackRainstorm(i)} })
	idx := s.Snapshot(telemetry.DefaultTenant).Levels
	exercised := false
	for i := range levels {
		for j := 0; j+1 < len(idx); j++ {
			if !strings.HasSuffix(idx[j].ID, "-strong") || idx[j+1].ID != strings.TrimSuffix(idx[j].ID, "-strong")+"-weak" {
				continue
			}
			if fs[i][j+1] > fs[i][j]+1e-9 {
				t.Fatalf("step %d: weaker slope %s has FS %g above %g", i, idx[j+1].ID, fs[i][j+1], fs[i][j])
			}
			if levels[i][j+1] < levels[i][j] {
				t.Fatalf("step %d: weaker slope %s at %s, stronger at %s", i, idx[j+1].ID, levels[i][j+1], levels[i][j])
			}
			if levels[i][j+1] > levels[i][j] {
				exercised = true
			}
		}
	}
	if !exercised {
		t.Error("no step where the weaker slope was at a higher level: the property was not exercised")
	}
}

// TestBadGauge: a stuck gauge, an absurd and a negative reading are
// flagged, kept out of the sums, and never produce a critical alert, even
// when the slope's physics alone would be critical.
func TestBadGauge(t *testing.T) {
	weaker := steepWeak()
	weaker["cohesion"] = 9.0 // critical by the physics in this storm
	reg := openRegistry(t, nil, []slopeSpec{{"slope-steep", 114.150, 22.350, weaker}},
		[]gaugeSpec{{"good", 114.151, 22.350}, {"stuck", 114.149, 22.350}, {"wild", 114.150, 22.352}}, nil)
	st, al := &fakeStore{}, &fakeAlerts{}
	s := newSync(t, reg, st, al, nil)
	runStorm(t, s, 100, func(i int) map[string]float64 {
		wild := 0.0
		switch i {
		case 20:
			wild = 180 // absurd: 180 mm in 5 minutes
		case 30:
			wild = -3
		}
		return map[string]float64{"good": blackRainstorm(i), "stuck": 7.5, "wild": wild}
	})
	for _, a := range al.forTwin("slope-steep") {
		if a.Severity == alert.Critical {
			t.Fatalf("critical alert from suspect data: %s", a.Reason)
		}
	}
	sn := s.Snapshot(telemetry.DefaultTenant)
	v, _ := sn.Slope("slope-steep")
	if !strings.Contains(v.Quality.String(), "gauge-stuck") {
		t.Errorf("slope quality %q, want gauge-stuck", v.Quality)
	}
	capped := false
	for _, r := range v.Reasons {
		capped = capped || r.Capped
	}
	if v.Level != landslide.Warning || !capped {
		t.Errorf("level %s reasons %+v: want warning, held there by the data-quality cap", v.Level, v.Reasons)
	}
	for _, x := range st.series("wild", "rainfall.72h") {
		if x.Value != 0 {
			t.Fatalf("the absurd/negative readings reached the sums: %g", x.Value)
		}
	}
	if got := s.Stats().Rejected; got < 2+90 {
		t.Errorf("rejected %d readings, want the absurd, the negative and the stuck ones", got)
	}
	flagged := map[string]bool{}
	for _, g := range sn.Flagged {
		flagged[g.ID] = true
	}
	if !flagged["stuck"] || flagged["good"] {
		t.Errorf("flagged gauges %+v", sn.Flagged)
	}
}

// TestDryReset: after a dry day the event ends and FS returns to the
// steady state.
func TestDryReset(t *testing.T) {
	reg := openRegistry(t, nil, []slopeSpec{{"slope-steep", 114.150, 22.350, steepWeak()}}, []gaugeSpec{{"g1", 114.151, 22.350}}, nil)
	s := newSync(t, reg, &fakeStore{}, &fakeAlerts{}, nil)
	steady := *s.Snapshot(telemetry.DefaultTenant).Levels[0].FSMin
	_, fs := runStorm(t, s, 12*31, func(i int) map[string]float64 { return map[string]float64{"g1": blackRainstorm(i)} })
	if min := fs[80][0]; !(min < steady-0.1) {
		t.Fatalf("FS during the storm %g, steady %g", min, steady)
	}
	if last := fs[len(fs)-1][0]; last != steady || s.Snapshot(telemetry.DefaultTenant).InEvent {
		t.Errorf("after 24 h dry FS = %g (steady %g), in event %v", last, steady, s.Snapshot(telemetry.DefaultTenant).InEvent)
	}
}

// TestTopologyChangeReplaysEvent: a slope added during an event gets the
// event's rain so far.
func TestTopologyChangeReplaysEvent(t *testing.T) {
	reg := openRegistry(t, nil, []slopeSpec{{"slope-a", 114.150, 22.350, steepWeak()}}, []gaugeSpec{{"g1", 114.151, 22.350}}, nil)
	s := newSync(t, reg, &fakeStore{}, nil, func(c *Config) { c.DryEvery = c.Resolution })
	runStorm(t, s, 40, func(i int) map[string]float64 { return map[string]float64{"g1": blackRainstorm(i)} })
	if _, err := reg.Create(t.Context(), telemetry.DefaultTenant, twin.Twin{ID: "slope-b", Type: TypeSlope, Properties: steepWeak(), Geometry: square(114.150, 22.350)}); err != nil {
		t.Fatal(err)
	}
	s.handle(bus.Event{Kind: "twin", Tenant: telemetry.DefaultTenant})
	s.rebuildDirty()
	_, fs := runStorm(t, s, 1, func(i int) map[string]float64 { return map[string]float64{"g1": blackRainstorm(40)} })
	if len(fs[0]) != 2 || !approx(fs[0][0], fs[0][1]) {
		t.Errorf("after the rebuild the twin slopes differ: %v", fs[0])
	}
}

// TestDisplacementForecast: an accelerating extensometer makes its slope
// critical with the forecast as the reason; a jump is flagged.
func TestDisplacementForecast(t *testing.T) {
	reg := openRegistry(t, nil, []slopeSpec{{"slope-a", 114.150, 22.350, gentleStrong()}}, []gaugeSpec{{"g1", 114.151, 22.350}},
		map[string]string{"ex-a": "slope-a", "pz-a": "slope-a"})
	al := &fakeAlerts{}
	s := newSync(t, reg, &fakeStore{}, al, nil)
	tf := t0.Add(40 * time.Hour) // failure time of the synthetic series
	for i := range 12 * 30 {
		ts := t0.Add(time.Duration(i+1) * 5 * time.Minute)
		// Fukuzono: 1/v linear in time → displacement −A·ln(tf − t).
		d := -20 * math.Log(tf.Sub(ts).Hours())
		smp := append(rainBatch(i, map[string]float64{"g1": 0}),
			telemetry.Sample{Tenant: telemetry.DefaultTenant, Twin: "ex-a", Type: TypeExtensometer, Channel: "displacement", TS: ts.UnixMilli(), Value: d},
			telemetry.Sample{Tenant: telemetry.DefaultTenant, Twin: "pz-a", Type: TypePiezometer, Channel: "porePressure", TS: ts.UnixMilli(), Value: 12})
		s.handle(bus.Event{Kind: "samples", Tenant: telemetry.DefaultTenant, Samples: smp})
	}
	v, _ := s.Snapshot(telemetry.DefaultTenant).Slope("slope-a")
	if v.Level != landslide.Critical || len(v.Forecasts) != 1 || !v.Forecasts[0].Accelerating || len(v.Piezometer) != 1 {
		t.Fatalf("level %s forecasts %+v piezometers %+v", v.Level, v.Forecasts, v.Piezometer)
	}
	if ft := *v.Forecasts[0].FailureTime; ft.Sub(tf).Abs() > 2*time.Hour {
		t.Errorf("failure forecast %s, true %s", ft, tf)
	}
	raised := al.forTwin("slope-a")
	if len(raised) == 0 || raised[len(raised)-1].Severity != alert.Critical || !strings.Contains(raised[len(raised)-1].Reason, "accelerating displacement") {
		t.Errorf("alerts %+v", raised)
	}
}

// TestWhatIf: deterministic, ranked by FS, no effect on live state, and
// bad requests name the field.
func TestWhatIf(t *testing.T) {
	reg := openRegistry(t, nil, []slopeSpec{{"slope-gentle", 114.152, 22.351, gentleStrong()}, {"slope-steep", 114.150, 22.350, steepWeak()}},
		[]gaugeSpec{{"g1", 114.151, 22.352}}, nil)
	s := newSync(t, reg, &fakeStore{}, nil, nil)
	before, _ := json.Marshal(s.Snapshot(telemetry.DefaultTenant))
	storm := Storm{Hyetograph: []Block{{Hours: 1, MMPerH: 20}, {Hours: 3, MMPerH: 90}, {Hours: 2, MMPerH: 30}}}
	a, err := s.WhatIf(t.Context(), telemetry.DefaultTenant, storm)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.WhatIf(t.Context(), telemetry.DefaultTenant, storm)
	if err != nil {
		t.Fatal(err)
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if string(ja) != string(jb) {
		t.Fatal("what-if is not deterministic")
	}
	if len(a.Ranked) != 2 || a.Ranked[0].ID != "slope-steep" || !(a.Ranked[0].MinFS < a.Ranked[1].MinFS) {
		t.Fatalf("ranking %+v", a.Ranked)
	}
	sum := 0.0
	for _, x := range a.Ranked {
		sum += x.PFail
	}
	if !(a.ExpectedFailures > 0.2) || math.Abs(a.ExpectedFailures-sum) > 1e-3 || a.TotalMM != 350 || a.MaxRollingMM["1h"] != 90 {
		t.Errorf("expected failures %g, total %g, max rolling %v", a.ExpectedFailures, a.TotalMM, a.MaxRollingMM)
	}
	after, _ := json.Marshal(s.Snapshot(telemetry.DefaultTenant))
	if string(before) != string(after) {
		t.Error("what-if changed the live snapshot")
	}
	rp, err := s.WhatIf(t.Context(), telemetry.DefaultTenant, Storm{ReturnPeriodYears: 50, DurationHours: 24})
	if err != nil {
		t.Fatal(err)
	}
	if len(rp.Storm) != 1 || !(rp.TotalMM > 300) || !strings.Contains(rp.Source, "IDF") {
		t.Errorf("return-period storm %+v total %g source %q", rp.Storm, rp.TotalMM, rp.Source)
	}
	cov := 0.0
	for _, c := range []struct {
		st    Storm
		field string
	}{
		{Storm{}, "hyetograph"},
		{Storm{Hyetograph: []Block{{Hours: -1, MMPerH: 3}}}, "hyetograph[0].hours"},
		{Storm{Hyetograph: []Block{{Hours: 1, MMPerH: 900}}}, "hyetograph[0].mm_per_h"},
		{Storm{Hyetograph: []Block{{Hours: 0.1, MMPerH: 9}}}, "hyetograph[0].hours"},
		{Storm{ReturnPeriodYears: 0.5, DurationHours: 24}, "return_period_years"},
		{Storm{ReturnPeriodYears: 10, DurationHours: 6}, "duration_hours"},
		{Storm{ReturnPeriodYears: 10, DurationHours: 144}, "duration_hours"},
		{Storm{Hyetograph: []Block{{Hours: 1, MMPerH: 9}}, FSCov: &cov}, "fs_cov"},
		{Storm{Hyetograph: []Block{{Hours: 1, MMPerH: 9}}, Limit: -2}, "limit"},
	} {
		_, err := s.WhatIf(t.Context(), telemetry.DefaultTenant, c.st)
		fe, ok := err.(*FieldError)
		if !ok || fe.Field != c.field {
			t.Errorf("%+v: got %v, want a FieldError on %s", c.st, err, c.field)
		}
	}
}

// TestSlopeParams: units are converted from the type's declarations,
// missing properties take the documented defaults and are listed.
func TestSlopeParams(t *testing.T) {
	typ := twin.Type{Properties: map[string]twin.Property{"cohesion": {Unit: "Pa"}, "unitWeight": {Unit: "kN/m3"}, "ksat": {Unit: "cm/s"}, "soilDepth": {Unit: "furlong"}}}
	p, def, err := slopeParams(twin.Twin{Properties: map[string]any{"cohesion": json.Number("8000"), "unitWeight": 20.0, "ksat": 1e-3, "gradient": 33.0}}, typ, true)
	if err != nil {
		t.Fatal(err)
	}
	if p.Soil.Cohesion != 8000 || p.Soil.UnitWeight != 20000 || !approx(p.Soil.Ksat, 1e-5) || p.SlopeDeg != 33 || p.DepthToBase != 3 || p.WaterTableDepth != 3 {
		t.Errorf("params %+v", p)
	}
	if strings.Join(def, ",") != "soilDepth,diffusivity,frictionAngle,initialWaterTableDepth" {
		t.Errorf("defaults %v", def)
	}
	if _, _, err := slopeParams(twin.Twin{Properties: map[string]any{"soilDepth": 2.0}}, typ, true); err == nil || !strings.Contains(err.Error(), "furlong") {
		t.Errorf("unknown unit: %v", err)
	}
	if _, _, err := slopeParams(twin.Twin{Properties: map[string]any{"cohesion": "soft"}}, typ, true); err == nil {
		t.Error("a string cohesion was accepted")
	}
}

// TestRestartCatchUp: a service started after a storm replays the stored
// samples and reaches the same state as the one that saw them live, then
// raises the alerts of the elevated slopes.
func TestRestartCatchUp(t *testing.T) {
	reg := openRegistry(t, nil, []slopeSpec{{"slope-steep", 114.150, 22.350, steepWeak()}, {"slope-gentle", 114.152, 22.351, gentleStrong()}},
		[]gaugeSpec{{"g1", 114.151, 22.352}}, map[string]string{"ex-a": "slope-gentle"})
	st := &fakeStore{}
	live := newSync(t, reg, st, &fakeAlerts{}, nil)
	const steps = 80
	for i := range steps {
		smp := rainBatch(i, map[string]float64{"g1": blackRainstorm(i)})
		smp = append(smp, telemetry.Sample{Tenant: telemetry.DefaultTenant, Twin: "ex-a", Type: TypeExtensometer, Channel: "displacement", TS: smp[0].TS, Value: float64(i) * 0.01})
		st.Append(t.Context(), smp) // durable before the bus
		live.handle(bus.Event{Kind: "samples", Tenant: telemetry.DefaultTenant, Samples: smp})
	}
	al := &fakeAlerts{}
	restarted := newSync(t, reg, st, al, func(c *Config) { c.Now = func() time.Time { return t0.Add(steps * 5 * time.Minute) } })
	if err := restarted.tenants[telemetry.DefaultTenant].catchUp(); err != nil {
		t.Fatal(err)
	}
	a, b := live.Snapshot(telemetry.DefaultTenant), restarted.Snapshot(telemetry.DefaultTenant)
	ja, _ := json.Marshal(a.Levels)
	jb, _ := json.Marshal(b.Levels)
	if string(ja) != string(jb) || !a.At.Equal(b.At) || a.InEvent != b.InEvent {
		t.Fatalf("after catch-up\n%s at %s\nlive\n%s at %s", jb, b.At, ja, a.At)
	}
	va, _ := a.Slope("slope-steep")
	vb, _ := b.Slope("slope-steep")
	if !approx(va.Rain.RollingMM["3h"], vb.Rain.RollingMM["3h"]) || len(vb.Reasons) != len(va.Reasons) {
		t.Errorf("slope evidence differs: %+v vs %+v", vb.Rain, va.Rain)
	}
	if len(al.forTwin("slope-steep")) != 1 {
		t.Errorf("alerts after catch-up: %+v", al.raised)
	}
}

// TestEngineStepHourly: with hourly Engine periods (the default above
// 5,000 slopes) the model is evaluated hourly and reaches nearly the FS of
// 5-minute periods.
func TestEngineStepHourly(t *testing.T) {
	reg := openRegistry(t, nil, []slopeSpec{{"slope-steep", 114.150, 22.350, steepWeak()}}, []gaugeSpec{{"g1", 114.151, 22.350}}, nil)
	fine := newSync(t, reg, &fakeStore{}, nil, nil)
	hourly := newSync(t, reg, &fakeStore{}, nil, func(c *Config) { c.EngineStep = time.Hour })
	rain := func(i int) map[string]float64 { return map[string]float64{"g1": blackRainstorm(i)} }
	_, ff := runStorm(t, fine, 12*8+2, rain)
	lh, fh := runStorm(t, hourly, 12*8+2, rain)
	last := len(ff) - 1
	if d := math.Abs(ff[last][0] - fh[last][0]); d > 0.02 || lh[last][0] < landslide.Warning {
		t.Errorf("after 8 h: FS %g with 5-min periods, %g (%s) with hourly ones", ff[last][0], fh[last][0], lh[last][0])
	}
	if e := hourly.Stats().Evaluations; e > 9 {
		t.Errorf("%d evaluations with hourly periods over 8 h", e)
	}
}

// TestNearIDWEqualsFull: when at least K of a slope's nearest gauges are
// valid, the estimate from those alone equals the full network's.
func TestNearIDWEqualsFull(t *testing.T) {
	cat := newBigCatalog(300, 40)
	cfg := Config{Twins: cat, Bus: bus.New(), Store: &fakeStore{}}
	if err := cfg.defaults(); err != nil {
		t.Fatal(err)
	}
	cfg.Radius = 6000
	tp, err := buildTopology(t.Context(), cat, telemetry.DefaultTenant, &cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 1))
	checked := 0
	for trial := range 15 {
		vals := map[string]float64{}
		for _, g := range tp.gauges {
			if r.Float64() < 0.6 {
				vals[g.ID] = 20 * r.Float64()
			}
		}
		valid := func(id string) (float64, bool) { v, ok := vals[id]; return v, ok }
		for _, sl := range tp.slopes {
			nv := 0
			for _, id := range sl.nearIDs {
				if _, ok := vals[id]; ok {
					nv++
				}
			}
			if nv < cfg.K {
				continue
			}
			a, errA := tp.idw.At(sl.x, sl.y, valid)
			b, errB := sl.near.At(sl.x, sl.y, valid)
			ja, _ := json.Marshal(a)
			jb, _ := json.Marshal(b)
			if (errA == nil) != (errB == nil) || string(ja) != string(jb) {
				t.Fatalf("trial %d slope %s: full %s (%v), near %s (%v)", trial, sl.id, ja, errA, jb, errB)
			}
			checked++
		}
	}
	if checked < 1000 {
		t.Errorf("only %d estimates compared", checked)
	}
}

// TestOldReadingThenCurrentTime: a gauge whose clock was wrong for one
// reading (30 days early here; a reset clock sends 1970) and then right.
// The quiet stretch between is closed in a few steps once the event it
// started has ended, not interval by interval (8,640 closes, each with an
// assessment and a publish: at 1970 the worker spun for hours while every
// warning waited), and the current readings are then assessed as usual.
func TestOldReadingThenCurrentTime(t *testing.T) {
	reg := openRegistry(t, nil, []slopeSpec{{"slope-steep", 114.150, 22.350, steepWeak()}}, []gaugeSpec{{"g1", 114.151, 22.350}}, nil)
	s := newSync(t, reg, &fakeStore{}, &fakeAlerts{}, nil)
	old := t0.Add(-30 * 24 * time.Hour).UnixMilli()
	s.handle(bus.Event{Kind: "samples", Tenant: telemetry.DefaultTenant, Samples: []telemetry.Sample{
		{Tenant: telemetry.DefaultTenant, Twin: "g1", Type: TypeRainGauge, Channel: "rainfall", TS: old, Value: 5}}})
	runStorm(t, s, 24, func(int) map[string]float64 { return map[string]float64{"g1": 2} })
	// The event the old reading began lasts its 24 dry hours (288
	// intervals) before the stretch is skipped.
	if n := s.Stats().Closes; n > 400 {
		t.Fatalf("%d steps to close the 30 days between the readings; want the event's 288 and a few more", n)
	}
	sn := s.Snapshot(telemetry.DefaultTenant)
	if last := t0.Add(23 * 5 * time.Minute); !sn.InEvent || sn.At.Before(last) {
		t.Fatalf("after the current readings: in event %v, closed up to %v; want an event, closed up to %v", sn.InEvent, sn.At, last)
	}
}
