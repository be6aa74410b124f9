package api

import (
	"encoding/json"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql"

	"github.com/tsingma/tsingma/internal/bus"
	"github.com/tsingma/tsingma/internal/slopewatch"
	"github.com/tsingma/tsingma/internal/telemetry"
	"github.com/tsingma/tsingma/internal/twin"
)

// newLandslideFixture serves the API with a live landslide model over two
// slopes (steep and weak, gentle and strong) and one rain gauge.
func newLandslideFixture(t *testing.T) (*fixture, *bus.Bus, *slopewatch.Service) {
	t.Helper()
	_, reg, st := openBackends(t)
	b := bus.New()
	ctx := t.Context()
	sq := func(lon, lat float64) *twin.Geometry {
		d := 0.0002
		return &twin.Geometry{Type: "Polygon", Polygon: [][]twin.Position{{{lon - d, lat - d}, {lon + d, lat - d}, {lon + d, lat + d}, {lon - d, lat + d}, {lon - d, lat - d}}}}
	}
	for _, tw := range []twin.Twin{
		{ID: "slope-steep", Type: "slope", Geometry: sq(114.150, 22.350), Properties: map[string]any{"slopeAngle": 40.0, "soilDepth": 2.0, "ksat": 3e-5,
			"diffusivity": 1e-3, "cohesion": 12.0, "frictionAngle": 35.0, "unitWeight": 19.0, "initialWaterTableDepth": 2.0}},
		{ID: "slope-gentle", Type: "slope", Geometry: sq(114.152, 22.351), Properties: map[string]any{"slopeAngle": 20.0, "soilDepth": 2.0}},
		{ID: "g1", Type: "rain-gauge", Geometry: &twin.Geometry{Type: "Point", Point: twin.Position{114.151, 22.352}}},
	} {
		if _, err := reg.Create(ctx, telemetry.DefaultTenant, tw); err != nil {
			t.Fatal(err)
		}
	}
	in, err := telemetry.NewIngester(telemetry.IngesterConfig{}, catalog{reg}, st, bus.Samples{Bus: b})
	if err != nil {
		t.Fatal(err)
	}
	ls, err := slopewatch.New(slopewatch.Config{Twins: reg, Bus: b, Store: st, QueueBatches: 4096})
	if err != nil {
		t.Fatal(err)
	}
	ls.Start()
	s, err := New(Config{Twins: reg, Ingester: in, Store: st, Queryable: st.Queryable, Bus: b, Landslide: ls,
		Engine: promql.NewEngine(promql.EngineOpts{MaxSamples: 1e7, Timeout: time.Minute, LookbackDelta: 5 * time.Minute}), MaxBody: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{srv: httptest.NewServer(s), st: st, twins: reg}
	t.Cleanup(func() {
		f.srv.Close()
		ls.Close()
	})
	deadline := time.Now().Add(20 * time.Second)
	for ls.Snapshot(telemetry.DefaultTenant) == nil {
		if time.Now().After(deadline) {
			t.Fatal("the landslide model did not load the slopes")
		}
		time.Sleep(5 * time.Millisecond)
	}
	return f, b, ls
}

func TestLandslideRoutes(t *testing.T) {
	f, b, ls := newLandslideFixture(t)
	// A black rainstorm (about 90 mm/h for 3 h) on the gauge.
	t0 := time.Date(2026, 6, 7, 0, 0, 0, 0, time.UTC)
	for i := range 60 {
		mm := 1.0 + 0.1*float64(i%4) // a real gauge varies: a repeated value is a stuck gauge
		if i >= 12 && i < 48 {
			mm = 7.5 + 0.3*float64(i%5)
		}
		b.PublishSamples([]telemetry.Sample{{Tenant: telemetry.DefaultTenant, Twin: "g1", Type: "rain-gauge", Channel: "rainfall",
			TS: t0.Add(time.Duration(i+1) * 5 * time.Minute).UnixMilli(), Value: mm}})
	}
	deadline := time.Now().Add(20 * time.Second)
	for sn := ls.Snapshot(telemetry.DefaultTenant); sn.At.Before(t0.Add(58 * 5 * time.Minute)); sn = ls.Snapshot(telemetry.DefaultTenant) {
		if time.Now().After(deadline) {
			t.Fatal("the storm was not processed")
		}
		time.Sleep(5 * time.Millisecond)
	}

	code, _, body := f.do(t, "GET", "/api/v1/landslide/status", "", "")
	var status struct {
		Version   string
		Slopes    int
		Counts    map[string]int
		Territory struct{ On bool }
		Levels    []struct {
			ID    string
			Level string
			FSMin *float64 `json:"fs_min"`
		}
	}
	if err := json.Unmarshal([]byte(body), &status); err != nil || code != 200 {
		t.Fatalf("status %d %s", code, body)
	}
	if status.Version != slopewatch.ModelVersion || status.Slopes != 2 || len(status.Levels) != 2 || status.Levels[1].FSMin == nil {
		t.Errorf("status %+v", status)
	}

	code, _, body = f.do(t, "GET", "/api/v1/landslide/slopes/slope-steep", "", "")
	var slope struct {
		Level   string
		Reasons []struct{ Evidence string }
		Profile []struct{ FS *float64 }
		Rain    struct {
			RollingMM map[string]float64 `json:"rolling_mm"`
			Gauges    []struct{ ID string }
		}
		Defaults []string
	}
	if err := json.Unmarshal([]byte(body), &slope); err != nil || code != 200 {
		t.Fatalf("slope %d %s", code, body)
	}
	if slope.Level != "warning" && slope.Level != "critical" || len(slope.Profile) != 21 || slope.Rain.RollingMM["3h"] < 200 || len(slope.Rain.Gauges) != 1 {
		t.Errorf("steep slope %s", body)
	}
	code, _, body = f.do(t, "GET", "/api/v1/landslide/slopes/slope-gentle", "", "")
	if err := json.Unmarshal([]byte(body), &slope); err != nil || code != 200 || len(slope.Defaults) != 6 {
		t.Errorf("gentle slope (defaults expected) %d %s", code, body)
	}
	code, hdr, body := f.do(t, "GET", "/api/v1/landslide/slopes/nope", "", "")
	wantProblem(t, code, hdr, body, 404, "not-found")

	storm := `{"hyetograph":[{"hours":1,"mm_per_h":20},{"hours":3,"mm_per_h":90}],"after_hours":12}`
	code, _, first := f.do(t, "POST", "/api/v1/landslide/whatif", "application/json", storm)
	_, _, second := f.do(t, "POST", "/api/v1/landslide/whatif", "application/json", storm)
	var wi struct {
		Ranked           []struct{ ID string }
		ExpectedFailures float64 `json:"expected_failures"`
	}
	if err := json.Unmarshal([]byte(first), &wi); err != nil || code != 200 || first != second {
		t.Fatalf("what-if %d %s (deterministic: %v)", code, first, first == second)
	}
	if len(wi.Ranked) != 2 || wi.Ranked[0].ID != "slope-steep" {
		t.Errorf("what-if ranking %s", first)
	}
	code, _, _ = f.do(t, "POST", "/api/v1/landslide/whatif", "application/json", `{"return_period_years":100,"duration_hours":72}`)
	if code != 200 {
		t.Errorf("return-period what-if: %d", code)
	}

	for _, c := range []struct {
		body, typ, field string
		status           int
	}{
		{`{"hyetograph":[{"hours":1,"mm_per_h":20}],"colour":"red"}`, "malformed-body", "colour", 400},
		{`{"hyetograph":[{"hours":"one","mm_per_h":20}]}`, "malformed-body", "hyetograph.hours", 400},
		{`{"hyetograph":[{"hours":1,"mm_per_h":20}]} {}`, "malformed-body", "", 400},
		{`{"hyetograph":[{"hours":1,"mm_per_h":20},{"hours":0,"mm_per_h":20}]}`, "invalid", "hyetograph[1].hours", 422},
		{`{"return_period_years":100,"duration_hours":5}`, "invalid", "duration_hours", 422},
		{`{}`, "invalid", "hyetograph", 422},
	} {
		code, hdr, body := f.do(t, "POST", "/api/v1/landslide/whatif", "application/json", c.body)
		wantProblem(t, code, hdr, body, c.status, c.typ)
		var p struct {
			Errors []struct{ Field string } `json:"errors"`
		}
		if err := json.Unmarshal([]byte(body), &p); err != nil || len(p.Errors) != 1 || p.Errors[0].Field != c.field {
			t.Errorf("%s: problem %s does not name field %q", c.body, body, c.field)
		}
	}
}

// Without a model the routes exist (they are documented) and answer 503.
func TestLandslideUnavailable(t *testing.T) {
	f := newFixture(t)
	code, hdr, body := f.do(t, "GET", "/api/v1/landslide/status", "", "")
	wantProblem(t, code, hdr, body, 503, "unavailable")
}
