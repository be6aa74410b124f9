// The demo scenario drives the whole simulated territory (vehicles, bridge,
// data centre as well as slopes): about 2 s normally, 10-25 s under the race
// detector on the shared machine, so it runs in the plain test run only.

//go:build !race

package slopewatch

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/tsingma/tsingma/internal/bus"
	"github.com/tsingma/tsingma/internal/landslide"
	"github.com/tsingma/tsingma/internal/sim"
	"github.com/tsingma/tsingma/internal/telemetry"
	"github.com/tsingma/tsingma/internal/testenv"
	"github.com/tsingma/tsingma/internal/twin"
)

// TestDemoScenario loads the demo's world (internal/sim, from the staged
// HK data) and plays its black rainstorm through the service: every slope
// is modelled from the sim's own properties (no defaults), every gauge and
// instrument is picked up, and the storm raises the territory warning and
// slope warnings.
func TestDemoScenario(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the HK dataset")
	}
	dir := testenv.Dataset(t, "hk")
	in, err := sim.LoadInputs(dir)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 6, 7, 0, 0, 0, 0, time.UTC)
	w, err := sim.Build(in, sim.Config{Seed: 1, Start: start, Slopes: 200})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := twin.Open(twin.Config{Path: filepath.Join(t.TempDir(), "twins.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	types := map[string]string{}
	var tws []twin.Twin
	for _, st := range w.Twins() {
		b, _ := json.Marshal(st)
		var tw twin.Twin
		if err := json.Unmarshal(b, &tw); err != nil {
			t.Fatal(err)
		}
		types[tw.ID] = tw.Type
		if relevantType(tw.Type) { // the rest (bridge, fleet...) has types of its own
			tws = append(tws, tw)
		}
	}
	for i, err := range reg.BulkUpsert(context.Background(), telemetry.DefaultTenant, tws) {
		if err != nil {
			t.Fatalf("twin %s: %v", tws[i].ID, err)
		}
	}
	al := &fakeAlerts{}
	s := newSync(t, reg, &fakeStore{}, al, nil)
	ts := s.tenants[telemetry.DefaultTenant]
	tp := ts.topo
	sensors := 0
	for _, tw := range tws {
		switch tw.Type {
		case TypeExtensometer, TypeInclinometer, TypePiezometer:
			sensors++
		}
	}
	if len(tp.slopes) != 200 || len(tp.invalid) != 0 || len(tp.gauges) < 20 || len(tp.sensor) != sensors {
		t.Fatalf("modelled %d slopes (%d invalid: %v), %d gauges, %d of %d sensors", len(tp.slopes), len(tp.invalid), tp.invalid, len(tp.gauges), len(tp.sensor), sensors)
	}
	for _, sl := range tp.slopes {
		if len(sl.defaulted) != 0 {
			t.Fatalf("slope %s took defaults for %v: the sim should set them", sl.id, sl.defaulted)
		}
		if len(sl.candidates) == 0 {
			t.Errorf("slope %s has no gauge within %g m", sl.id, s.cfg.Radius)
		}
	}
	eng := sim.NewEngine(w)
	feed := func(to time.Time) {
		for t := eng.Now(); t < to.UnixMilli(); {
			t += 5 * 60_000
			var b sim.Batch
			eng.Advance(t, &b)
			var smp []telemetry.Sample
			for _, x := range b.Samples {
				smp = append(smp, telemetry.Sample{Tenant: telemetry.DefaultTenant, Twin: x.Twin, Channel: x.Channel, Type: types[x.Twin], TS: x.TS, Value: x.Value})
			}
			s.handle(bus.Event{Kind: "samples", Tenant: telemetry.DefaultTenant, Samples: smp})
		}
	}
	feed(start.Add(time.Hour))
	before := s.Snapshot(telemetry.DefaultTenant)
	t.Logf("before the storm: counts %v", before.Counts)
	if err := eng.Trigger(sim.EventBlackRainstorm); err != nil {
		t.Fatal(err)
	}
	feed(start.Add(9 * time.Hour))
	sn := s.Snapshot(telemetry.DefaultTenant)
	t.Logf("after the demo's black rainstorm: counts %v, territory on=%v E[N]=%.1f rain %v, flagged gauges %d", sn.Counts, sn.Territory.On, sn.Territory.Expected, sn.Territory.Rain, len(sn.Flagged))
	accel := 0
	for _, v := range sn.views {
		for _, f := range v.Forecasts {
			if f.Accelerating {
				accel++
			}
		}
	}
	t.Logf("accelerating displacement sensors: %d; susceptible slopes %v", accel, w.Susceptible)
	alerted := map[string]bool{}
	for _, a := range al.raised {
		alerted[a.Twin] = true
	}
	t.Logf("slopes unstable at rest (steady FS < 1, never alerted): %d; slopes alerted: %d", len(sn.UnstableAtRest), len(alerted))
	if sn.Counts[landslide.Warning.String()]+sn.Counts[landslide.Critical.String()] == 0 || len(alerted) == 0 {
		t.Error("the demo's black rainstorm raised no slope to warning or critical")
	}
	for id := range alerted {
		if v, err := sn.Slope(id); err == nil && v.Baseline >= v.Level {
			t.Errorf("slope %s alerted at %s, its level at rest", id, v.Level)
		}
	}
}
