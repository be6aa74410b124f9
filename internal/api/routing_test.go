package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql"

	"github.com/tsingma/tsingma/internal/bus"
	"github.com/tsingma/tsingma/internal/dispatch"
	"github.com/tsingma/tsingma/internal/route"
	"github.com/tsingma/tsingma/internal/telemetry"
	"github.com/tsingma/tsingma/internal/twin"
)

type logisticsFixture struct {
	*fixture
	svc *dispatch.Service
	bus *bus.Bus
}

func newRoutingFixture(t *testing.T) *logisticsFixture {
	t.Helper()
	dir, reg, st := openBackends(t)
	b := bus.New()
	in, err := telemetry.NewIngester(telemetry.IngesterConfig{}, catalog{reg}, st, bus.Samples{Bus: b})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := dispatch.Open(dispatch.Config{Path: filepath.Join(dir, "routing.db"), Twins: reg, Bus: b, DefaultTime: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	mon, err := dispatch.NewMonitor(dispatch.MonitorConfig{Twins: reg, Tenants: reg, Store: st})
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Twins: reg, Ingester: in, Store: st, Queryable: st.Queryable, Bus: b,
		Dispatch: struct {
			*dispatch.Service
			*dispatch.Monitor
		}{svc, mon},
		Engine: promql.NewEngine(promql.EngineOpts{MaxSamples: 1e7, Timeout: time.Minute, LookbackDelta: 5 * time.Minute}), MaxBody: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	f := &logisticsFixture{fixture: &fixture{srv: httptest.NewServer(s), st: st, twins: reg}, svc: svc, bus: b}
	t.Cleanup(func() {
		f.srv.Close()
		svc.Close()
		mon.Close()
	})
	return f
}

// smallProblem is 8 stops around a depot in Kwu Tung, two vans, all day.
func smallProblem(timeLimit float64) dispatch.Definition {
	d := dispatch.Definition{DepotLocation: &dispatch.Point{Lon: 114.103, Lat: 22.4985}, TimeLimitS: timeLimit, Seed: 1}
	for i := range 8 {
		d.Stops = append(d.Stops, dispatch.StopSpec{ID: fmt.Sprintf("s%d", i), Lon: 114.08 + 0.006*float64(i), Lat: 22.48 + 0.004*float64(i%3),
			Demand: 100, ServiceS: 300})
	}
	d.Vehicles = []dispatch.VehicleSpec{{ID: "v1", Capacity: 500, ShiftEndS: 8 * 3600}, {ID: "v2", Capacity: 500, ShiftEndS: 8 * 3600}}
	return d
}

func (f *logisticsFixture) post(t *testing.T, path string, v any) (int, http.Header, string) {
	t.Helper()
	buf, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return f.do(t, "POST", path, "application/json", string(buf))
}

// waitJob polls the job until it has finished (no timed assertion: the
// deadline only guards against a hang).
func (f *logisticsFixture) waitJob(t *testing.T, id string) dispatch.Job {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		code, _, body := f.do(t, "GET", "/api/v1/routing/jobs/"+id, "", "")
		if code != 200 {
			t.Fatalf("GET job: %d %s", code, body)
		}
		var j dispatch.Job
		if err := json.Unmarshal([]byte(body), &j); err != nil {
			t.Fatal(err)
		}
		if j.State != dispatch.StateQueued && j.State != dispatch.StateRunning {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s still %s", id, j.State)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// recheck re-derives the problem from the stored definition and checks the
// stored plan with route.Check, independently of the service.
func recheck(t *testing.T, j dispatch.Job) {
	t.Helper()
	def := j.Definition
	def.Stops = slices.DeleteFunc(slices.Clone(def.Stops), func(s dispatch.StopSpec) bool {
		return slices.ContainsFunc(j.Plan.Unserved, func(u dispatch.Unserved) bool { return u.Stop == s.ID })
	})
	p, err := def.Problem()
	if err != nil {
		t.Fatal(err)
	}
	sol := &route.Solution{}
	for _, r := range j.Plan.Routes {
		rt := route.Route{Vehicle: r.Vehicle}
		for _, v := range r.Visits {
			if v.Served && !slices.ContainsFunc(def.Stops, func(s dispatch.StopSpec) bool { return s.ID == v.Stop }) {
				continue // history before a re-plan, not part of the new problem
			}
			rt.Stops = append(rt.Stops, v.Stop)
		}
		if len(rt.Stops) > 0 {
			sol.Routes = append(sol.Routes, rt)
		}
	}
	rep, err := route.Check(p, sol)
	if err != nil {
		t.Fatalf("stored plan fails the checker: %v", err)
	}
	if d := rep.Distance - j.Plan.DistanceKM; d > 0.01 || d < -0.01 {
		t.Fatalf("got distance %.3f, checker says %.3f", j.Plan.DistanceKM, rep.Distance)
	}
}

func TestRoutingJobExplicitSolvedAndChecked(t *testing.T) {
	f := newRoutingFixture(t)
	sub := f.bus.Subscribe(bus.SubscribeOptions{Buffer: 4096, Filter: func(ev bus.Event) bool { return ev.Kind == "routing" }})
	defer sub.Close()
	code, hdr, body := f.post(t, "/api/v1/routing/jobs", smallProblem(1))
	if code != http.StatusAccepted {
		t.Fatalf("got %d, want 202: %s", code, body)
	}
	var j dispatch.Job
	if err := json.Unmarshal([]byte(body), &j); err != nil {
		t.Fatal(err)
	}
	if hdr.Get("Location") != "/api/v1/routing/jobs/"+j.ID {
		t.Fatalf("got Location %q", hdr.Get("Location"))
	}
	j = f.waitJob(t, j.ID)
	if j.State != dispatch.StateDone || j.Plan == nil {
		t.Fatalf("got state %s (%s), want done with a plan", j.State, j.Error)
	}
	recheck(t, j)
	seen := map[string]bool{}
	for _, r := range j.Plan.Routes {
		prev := -1.0
		for _, v := range r.Visits {
			seen[v.Stop] = true
			if v.StartS < prev || v.ETA.IsZero() || v.StartS < v.ArrivalS {
				t.Fatalf("visit %+v out of order (previous start %g)", v, prev)
			}
			prev = v.StartS
		}
		if last := r.Visits[len(r.Visits)-1]; last.LoadAfter != 0 {
			t.Fatalf("route %s ends with load %d on board", r.Vehicle, last.LoadAfter)
		}
	}
	if d := j.Plan.RemainingKM - j.Plan.DistanceKM; d > 0.01 || d < -0.01 {
		t.Fatalf("fresh plan: got remaining %g km, want the whole %g km", j.Plan.RemainingKM, j.Plan.DistanceKM)
	}
	if len(seen) != 8 || len(j.Plan.Unserved) != 0 {
		t.Fatalf("got %d stops served and unserved %v, want 8 and none", len(seen), j.Plan.Unserved)
	}
	if len(j.Progress) == 0 {
		t.Fatal("no progress recorded")
	}
	// Progress reached the bus: queued, running, improvements, done.
	states := map[string]bool{}
	for len(sub.C) > 0 {
		ev := <-sub.C
		states[ev.Data.(dispatch.Progress).State] = true
	}
	for _, s := range []string{"queued", "running", "done"} {
		if !states[s] {
			t.Fatalf("no %q event on the bus (got %v)", s, states)
		}
	}
	code, _, body = f.do(t, "GET", "/api/v1/routing/jobs", "", "")
	if code != 200 || !strings.Contains(body, j.ID) {
		t.Fatalf("list: %d %s", code, body)
	}
}

func TestRoutingJobFromMatrix(t *testing.T) {
	f := newRoutingFixture(t)
	// Depot and three stops on a line, 10 km apart; one vehicle.
	pos := []float64{0, 10, 20, 30}
	m := make([][]float64, 4)
	for i := range m {
		m[i] = make([]float64, 4)
		for k := range m[i] {
			m[i][k] = max(pos[i]-pos[k], pos[k]-pos[i])
		}
	}
	d := dispatch.Definition{Distance: m, TimeLimitS: 0.5, Stops: []dispatch.StopSpec{{ID: "a", Demand: 1}, {ID: "b", Demand: 1}, {ID: "c", Demand: 1}},
		Vehicles: []dispatch.VehicleSpec{{ID: "v", Capacity: 10, ShiftEndS: 100}}}
	_, _, body := f.post(t, "/api/v1/routing/jobs", d)
	var j dispatch.Job
	if err := json.Unmarshal([]byte(body), &j); err != nil {
		t.Fatal(err)
	}
	j = f.waitJob(t, j.ID)
	if j.State != dispatch.StateDone {
		t.Fatalf("got %s: %s", j.State, j.Error)
	}
	recheck(t, j)
	if j.Plan.DistanceKM != 60 {
		t.Fatalf("got distance %g, want the optimum 60", j.Plan.DistanceKM)
	}
	// Re-plan after the first stop: with matrices the served stop stays in
	// the problem as the route's fixed prefix.
	at := j.Plan.Routes[0].Visits[0].LeaveS + 1
	first := j.Plan.Routes[0].Visits[0].Stop
	_, _, body = f.post(t, "/api/v1/routing/jobs/"+j.ID+"/replan", dispatch.Replan{AtS: &at, TimeLimitS: 0.5})
	var nj dispatch.Job
	if err := json.Unmarshal([]byte(body), &nj); err != nil {
		t.Fatal(err)
	}
	nj = f.waitJob(t, nj.ID)
	if nj.State != dispatch.StateDone || nj.Definition.Vehicles[0].Served[0] != first {
		t.Fatalf("got %s (%s), served %v; want %s kept served", nj.State, nj.Error, nj.Definition.Vehicles, first)
	}
	recheck(t, nj)
	if v := nj.Plan.Routes[0].Visits[0]; v.Stop != first || !v.Served {
		t.Fatalf("got first visit %+v, want %s served", v, first)
	}
}

func TestRoutingCancel(t *testing.T) {
	f := newRoutingFixture(t)
	d := smallProblem(120)
	_, _, body := f.post(t, "/api/v1/routing/jobs", d)
	var j dispatch.Job
	if err := json.Unmarshal([]byte(body), &j); err != nil {
		t.Fatal(err)
	}
	code, _, body := f.do(t, "DELETE", "/api/v1/routing/jobs/"+j.ID, "", "")
	if code != http.StatusAccepted {
		t.Fatalf("cancel: %d %s", code, body)
	}
	j = f.waitJob(t, j.ID)
	if j.State != dispatch.StateCancelled {
		t.Fatalf("got state %s, want cancelled", j.State)
	}
	if j.Plan != nil { // a plan found before the cancellation must be checked
		recheck(t, j)
	}
	code, hdr, body := f.do(t, "DELETE", "/api/v1/routing/jobs/"+j.ID, "", "")
	wantProblem(t, code, hdr, body, http.StatusConflict, "job-state")
	code, hdr, body = f.do(t, "DELETE", "/api/v1/routing/jobs/nope", "", "")
	wantProblem(t, code, hdr, body, http.StatusNotFound, "not-found")
}

func TestRoutingInvalidDefinitionNamesTheStop(t *testing.T) {
	f := newRoutingFixture(t)
	for _, tc := range []struct {
		name, stop, field string
		edit              func(d *dispatch.Definition)
	}{
		{"negative demand", "s3", "demand", func(d *dispatch.Definition) { d.Stops[3].Demand = -5 }},
		{"window closes before it opens", "s2", "window", func(d *dispatch.Definition) { d.Stops[2].ReadyS, d.Stops[2].DueS = 3600, 1800 }},
		{"unreachable in time", "s5", "reach", func(d *dispatch.Definition) { d.Stops[5].ReadyS, d.Stops[5].DueS = 0, 10 }},
		{"too heavy for every vehicle", "s1", "reach", func(d *dispatch.Definition) { d.Stops[1].Demand = 900 }},
		{"reserved id", "@v1", "id", func(d *dispatch.Definition) { d.Stops[0].ID = "@v1" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := smallProblem(1)
			tc.edit(&d)
			code, hdr, body := f.post(t, "/api/v1/routing/jobs", d)
			wantProblem(t, code, hdr, body, http.StatusUnprocessableEntity, "infeasible-definition")
			var p struct {
				Errors []struct{ Stop, Field, Message string }
			}
			if err := json.Unmarshal([]byte(body), &p); err != nil {
				t.Fatal(err)
			}
			if len(p.Errors) != 1 || p.Errors[0].Stop != tc.stop || p.Errors[0].Field != tc.field || !strings.Contains(body, tc.stop) {
				t.Fatalf("got %s, want stop %q field %q named", body, tc.stop, tc.field)
			}
		})
	}
	code, hdr, body := f.do(t, "POST", "/api/v1/routing/jobs", "application/json", `{"stops":[],"bogus":1}`)
	wantProblem(t, code, hdr, body, http.StatusBadRequest, "malformed-body")
	code, hdr, body = f.do(t, "POST", "/api/v1/routing/jobs", "application/json", `{"depot":"nowhere"}`)
	wantProblem(t, code, hdr, body, http.StatusNotFound, "not-found")
}

func TestRoutingReplanKeepsServedStops(t *testing.T) {
	f := newRoutingFixture(t)
	_, _, body := f.post(t, "/api/v1/routing/jobs", smallProblem(1))
	var j dispatch.Job
	if err := json.Unmarshal([]byte(body), &j); err != nil {
		t.Fatal(err)
	}
	j = f.waitJob(t, j.ID)
	if j.State != dispatch.StateDone {
		t.Fatalf("got %s: %s", j.State, j.Error)
	}
	// Re-plan once the busiest route has served its first two stops; that
	// vehicle breaks down; an urgent stop appears.
	slices.SortFunc(j.Plan.Routes, func(a, b dispatch.PlannedRoute) int { return len(b.Visits) - len(a.Visits) })
	r0 := j.Plan.Routes[0]
	if len(r0.Visits) < 3 {
		t.Fatalf("route %s has only %d visits", r0.Vehicle, len(r0.Visits))
	}
	at := r0.Visits[1].LeaveS + 1
	var other string
	for _, v := range []string{"v1", "v2"} {
		if v != r0.Vehicle {
			other = v
		}
	}
	rp := dispatch.Replan{AtS: &at, TimeLimitS: 1, Broken: []string{r0.Vehicle},
		AddStops:  []dispatch.StopSpec{{ID: "urgent-1", Lon: 114.09, Lat: 22.49, Demand: 50, ServiceS: 120}},
		Positions: map[string]dispatch.Point{other: {Lon: 114.1, Lat: 22.49}}}
	code, _, body := f.post(t, "/api/v1/routing/jobs/"+j.ID+"/replan", rp)
	if code != http.StatusAccepted {
		t.Fatalf("replan: %d %s", code, body)
	}
	var nj dispatch.Job
	if err := json.Unmarshal([]byte(body), &nj); err != nil {
		t.Fatal(err)
	}
	nj = f.waitJob(t, nj.ID)
	if nj.State != dispatch.StateDone || nj.ReplanOf != j.ID || nj.Previous == nil {
		t.Fatalf("got state %s replan_of %q previous %v (%s)", nj.State, nj.ReplanOf, nj.Previous != nil, nj.Error)
	}
	recheck(t, nj)
	t.Logf("unserved after the breakdown: %+v", nj.Plan.Unserved)
	if nj.Plan.RemainingKM >= nj.Plan.DistanceKM {
		t.Fatalf("got remaining %g km of %g km, want less: legs before the position are history", nj.Plan.RemainingKM, nj.Plan.DistanceKM)
	}
	// The broken van's served stops are history; every other stop of the
	// old plan and the urgent stop are served by the other van, whose own
	// served prefix is unchanged and which continues from its position.
	brokenServed := map[string]bool{r0.Visits[0].Stop: true, r0.Visits[1].Stop: true}
	var oldOther []string
	for _, r := range j.Plan.Routes {
		if r.Vehicle == other {
			for _, v := range r.Visits {
				if v.LeaveS <= at {
					oldOther = append(oldOther, v.Stop)
				}
			}
		}
	}
	if len(nj.Plan.Routes) != 1 || nj.Plan.Routes[0].Vehicle != other {
		t.Fatalf("got routes %+v, want one for %s", nj.Plan.Routes, other)
	}
	var got []string
	pos := -1
	for i, v := range nj.Plan.Routes[0].Visits {
		if brokenServed[v.Stop] {
			t.Fatalf("stop %s served by the broken van is planned again", v.Stop)
		}
		if v.Kind == "position" {
			pos = i
			continue
		}
		got = append(got, v.Stop)
	}
	if pos != len(oldOther) || !slices.Equal(got[:len(oldOther)], oldOther) {
		t.Fatalf("got visits %v (position at %d), want served prefix %v then the position", got, pos, oldOther)
	}
	if len(got)+len(nj.Plan.Unserved) != 8-2+1 || !slices.Contains(got, "urgent-1") && len(nj.Plan.Unserved) == 0 {
		t.Fatalf("got %d stops and unserved %v, want 7 in all including urgent-1", len(got), nj.Plan.Unserved)
	}
	code, hdr, body := f.post(t, "/api/v1/routing/jobs/"+j.ID+"/replan", dispatch.Replan{Broken: []string{"v9"}})
	wantProblem(t, code, hdr, body, http.StatusUnprocessableEntity, "infeasible-definition")
}

func TestRoutingJobFromTwins(t *testing.T) {
	f := newRoutingFixture(t)
	ctx := t.Context()
	pt := func(lon, lat float64) *twin.Geometry {
		return &twin.Geometry{Type: "Point", Point: twin.Position{lon, lat}}
	}
	tws := []twin.Twin{
		{ID: "depot-x", Type: "depot", Geometry: pt(114.103, 22.4985), Properties: map[string]any{"opens": "00:00", "closes": "23:59"}},
		{ID: "van-1", Type: "vehicle", Geometry: pt(114.103, 22.4985), Properties: map[string]any{"capacity": 1000.0}, Relationships: map[string][]string{"basedAt": {"depot-x"}}},
		{ID: "van-2", Type: "vehicle", Geometry: pt(114.103, 22.4985), Properties: map[string]any{"capacity": 1000.0}, Relationships: map[string][]string{"basedAt": {"depot-x"}}},
		{ID: "far-depot", Type: "depot", Geometry: pt(114.2, 22.3)},
		{ID: "van-other", Type: "vehicle", Properties: map[string]any{"capacity": 1000.0}, Relationships: map[string][]string{"basedAt": {"far-depot"}}},
	}
	for i := range 6 {
		tws = append(tws, twin.Twin{ID: fmt.Sprintf("stop-%d", i), Type: "delivery-stop", Geometry: pt(114.09+0.005*float64(i), 22.49+0.003*float64(i%2)),
			Properties:    map[string]any{"demand": 120.0, "serviceTime": 5.0},
			Relationships: map[string][]string{"servedFrom": {"depot-x"}}})
	}
	for _, tw := range tws {
		if _, err := f.twins.Create(ctx, telemetry.DefaultTenant, tw); err != nil {
			t.Fatal(err)
		}
	}
	code, _, body := f.post(t, "/api/v1/routing/jobs", map[string]any{"depot": "depot-x", "time_limit_s": 0.5})
	if code != http.StatusAccepted {
		t.Fatalf("got %d: %s", code, body)
	}
	var j dispatch.Job
	if err := json.Unmarshal([]byte(body), &j); err != nil {
		t.Fatal(err)
	}
	j = f.waitJob(t, j.ID)
	if j.State != dispatch.StateDone || j.Source != "twins" {
		t.Fatalf("got %s source %s: %s", j.State, j.Source, j.Error)
	}
	recheck(t, j)
	if len(j.Definition.Stops) != 6 || len(j.Definition.Vehicles) != 2 {
		t.Fatalf("got %d stops and %d vehicles from the twins, want 6 and 2", len(j.Definition.Stops), len(j.Definition.Vehicles))
	}
	if s := j.Definition.Stops[0]; s.Demand != 120 || s.ServiceS != 300 {
		t.Fatalf("got stop %+v, want demand 120 and 300 s of service", s)
	}
	n := 0
	for _, r := range j.Plan.Routes {
		n += len(r.Visits)
		for _, v := range r.Visits {
			if v.Lon == 0 || v.ETA.Before(j.Start) {
				t.Fatalf("visit %+v lacks a position or an ETA", v)
			}
		}
	}
	if n != 6 {
		t.Fatalf("got %d visits, want 6", n)
	}
	// Re-plan from the twins: a new urgent stop twin appears.
	if _, err := f.twins.Create(ctx, telemetry.DefaultTenant, twin.Twin{ID: "stop-urgent", Type: "delivery-stop", Geometry: pt(114.1, 22.5),
		Properties: map[string]any{"demand": 10.0}, Relationships: map[string][]string{"servedFrom": {"depot-x"}}}); err != nil {
		t.Fatal(err)
	}
	at := 0.0
	code, _, body = f.post(t, "/api/v1/routing/jobs/"+j.ID+"/replan", dispatch.Replan{AtS: &at, TimeLimitS: 0.5})
	if code != http.StatusAccepted {
		t.Fatalf("replan: %d %s", code, body)
	}
	var nj dispatch.Job
	if err := json.Unmarshal([]byte(body), &nj); err != nil {
		t.Fatal(err)
	}
	nj = f.waitJob(t, nj.ID)
	if nj.State != dispatch.StateDone || !strings.Contains(mustJSON(t, nj.Plan), `"stop-urgent"`) {
		t.Fatalf("got %s, want a plan with the new stop: %s", nj.State, nj.Error)
	}
	recheck(t, nj)
	// A stop twin whose demand is beyond what a plan can sum is named, not
	// converted to -2^63 ("negative demand").
	if _, err := f.twins.Create(ctx, telemetry.DefaultTenant, twin.Twin{ID: "stop-huge", Type: "delivery-stop", Geometry: pt(114.1, 22.5),
		Properties: map[string]any{"demand": 1e300}, Relationships: map[string][]string{"servedFrom": {"depot-x"}}}); err != nil {
		t.Fatal(err)
	}
	code, _, body = f.post(t, "/api/v1/routing/jobs", map[string]any{"depot": "depot-x", "time_limit_s": 0.5})
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, "stop-huge") || !strings.Contains(body, "is more than") {
		t.Fatalf("a stop of demand 1e300: %d %s", code, body)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestInventoryRoute(t *testing.T) {
	f := newRoutingFixture(t)
	ctx := t.Context()
	for _, tw := range []twin.Twin{
		{ID: "wh", Type: "warehouse"},
		{ID: "sku-a", Type: "stock-item", Properties: map[string]any{"sku": "a", "leadTime": 2.0}, Relationships: map[string][]string{"storedAt": {"wh"}}},
	} {
		if _, err := f.twins.Create(ctx, telemetry.DefaultTenant, tw); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now().Add(-time.Hour)
	var samples []telemetry.Sample
	for d := 40; d >= 1; d-- {
		samples = append(samples, telemetry.Sample{Tenant: telemetry.DefaultTenant, Twin: "sku-a", Type: "stock-item", Channel: "demand",
			TS: now.Add(-time.Duration(d) * 24 * time.Hour).UnixMilli(), Value: float64(100 + 10*(d%7))})
	}
	samples = append(samples, telemetry.Sample{Tenant: telemetry.DefaultTenant, Twin: "sku-a", Type: "stock-item", Channel: "stockLevel", TS: now.UnixMilli(), Value: 50})
	if _, err := f.st.Append(ctx, samples); err != nil {
		t.Fatal(err)
	}
	code, _, body := f.do(t, "GET", "/api/v1/inventory/wh", "", "")
	if code != 200 {
		t.Fatalf("got %d: %s", code, body)
	}
	var v dispatch.WarehouseView
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Items) != 1 || !v.Items[0].Reorder || v.Items[0].ReorderPoint < 200 || v.Items[0].Method == "" {
		t.Fatalf("got %s, want sku-a to reorder (level 50, about 110 a day for 2 days)", body)
	}
	code, hdr, body := f.do(t, "GET", "/api/v1/inventory/nope", "", "")
	wantProblem(t, code, hdr, body, http.StatusNotFound, "not-found")
}

func TestRoutingUnservedStopsHaveReasons(t *testing.T) {
	f := newRoutingFixture(t)
	d := smallProblem(0.5)
	for i := 8; i < 12; i++ { // 12 × 100 kg for 2 × 500 kg: two stops cannot fit
		d.Stops = append(d.Stops, dispatch.StopSpec{ID: fmt.Sprintf("s%d", i), Lon: 114.09, Lat: 22.47 + 0.003*float64(i-8), Demand: 100, ServiceS: 300})
	}
	_, _, body := f.post(t, "/api/v1/routing/jobs", d)
	var j dispatch.Job
	if err := json.Unmarshal([]byte(body), &j); err != nil {
		t.Fatal(err)
	}
	j = f.waitJob(t, j.ID)
	if j.State != dispatch.StateDone || j.Plan == nil {
		t.Fatalf("got %s: %s", j.State, j.Error)
	}
	recheck(t, j)
	n := 0
	for _, r := range j.Plan.Routes {
		n += len(r.Visits)
	}
	if len(j.Plan.Unserved) < 2 || n+len(j.Plan.Unserved) != 12 {
		t.Fatalf("got %d served and unserved %+v, want at least 2 unserved and 12 in all", n, j.Plan.Unserved)
	}
	for _, u := range j.Plan.Unserved {
		if !strings.Contains(u.Reason, "capacity") {
			t.Fatalf("got reason %q for %s, want the capacity violation", u.Reason, u.Stop)
		}
	}
}

func TestRoutingTwinWindows(t *testing.T) {
	f := newRoutingFixture(t)
	ctx := t.Context()
	pt := &twin.Geometry{Type: "Point", Point: twin.Position{114.103, 22.4985}}
	now := time.Now()
	rfc := func(d time.Duration) string { return now.Add(d).UTC().Format(time.RFC3339) }
	for _, tw := range []twin.Twin{
		{ID: "d", Type: "depot", Geometry: pt},
		{ID: "van", Type: "vehicle", Properties: map[string]any{"capacity": 100.0}, Relationships: map[string][]string{"basedAt": {"d"}}},
		{ID: "open", Type: "delivery-stop", Geometry: &twin.Geometry{Type: "Point", Point: twin.Position{114.11, 22.5}},
			Properties: map[string]any{"demand": 1.0, "windowStart": rfc(-time.Hour), "windowEnd": rfc(3 * time.Hour)}, Relationships: map[string][]string{"servedFrom": {"d"}}},
		{ID: "closed", Type: "delivery-stop", Geometry: &twin.Geometry{Type: "Point", Point: twin.Position{114.12, 22.5}},
			Properties: map[string]any{"demand": 1.0, "windowStart": rfc(-3 * time.Hour), "windowEnd": rfc(-time.Hour)}, Relationships: map[string][]string{"servedFrom": {"d"}}},
	} {
		if _, err := f.twins.Create(ctx, telemetry.DefaultTenant, tw); err != nil {
			t.Fatal(err)
		}
	}
	_, _, body := f.post(t, "/api/v1/routing/jobs", map[string]any{"depot": "d", "time_limit_s": 0.3})
	var j dispatch.Job
	if err := json.Unmarshal([]byte(body), &j); err != nil {
		t.Fatal(err)
	}
	j = f.waitJob(t, j.ID)
	if j.State != dispatch.StateDone || len(j.Plan.Unserved) != 1 || j.Plan.Unserved[0].Stop != "closed" || len(j.Plan.Routes) != 1 {
		t.Fatalf("got %s %s: %s, want stop open planned and closed unserved", j.State, j.Error, mustJSON(t, j.Plan))
	}
	recheck(t, j)
	// A window that closes before it opens is refused, naming the stop.
	if _, err := f.twins.Create(ctx, telemetry.DefaultTenant, twin.Twin{ID: "inverted", Type: "delivery-stop", Geometry: pt,
		Properties: map[string]any{"demand": 1.0, "windowStart": rfc(2 * time.Hour), "windowEnd": rfc(time.Hour)}, Relationships: map[string][]string{"servedFrom": {"d"}}}); err != nil {
		t.Fatal(err)
	}
	code, hdr, body := f.post(t, "/api/v1/routing/jobs", map[string]any{"depot": "d"})
	wantProblem(t, code, hdr, body, http.StatusUnprocessableEntity, "infeasible-definition")
	if !strings.Contains(body, `"stop":"inverted"`) || !strings.Contains(body, `"field":"window"`) {
		t.Fatalf("got %s, want the inverted window named", body)
	}
}

func TestRoutingUnavailable(t *testing.T) {
	f := newFixture(t) // no Dispatch configured
	for _, rt := range [][2]string{{"GET", "/api/v1/routing/jobs"}, {"POST", "/api/v1/routing/jobs"}, {"GET", "/api/v1/inventory/wh"}} {
		code, hdr, body := f.do(t, rt[0], rt[1], "application/json", `{"depot":"x"}`)
		wantProblem(t, code, hdr, body, http.StatusServiceUnavailable, "unavailable")
	}
}
