package api

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql"

	"github.com/tsingma/tsingma/internal/alert"
	"github.com/tsingma/tsingma/internal/bus"
	"github.com/tsingma/tsingma/internal/scoring"
	"github.com/tsingma/tsingma/internal/store"
	"github.com/tsingma/tsingma/internal/telemetry"
	"github.com/tsingma/tsingma/internal/twin"
)

type catalog struct{ r *twin.Registry }

func (c catalog) Channel(tenant, id, ch string) (telemetry.ChannelInfo, error) {
	ci, err := c.r.Channel(tenant, id, ch)
	switch {
	case err == twin.ErrUnknownChannel:
		return telemetry.ChannelInfo{}, telemetry.ErrUnknownChannel
	case err != nil:
		return telemetry.ChannelInfo{}, telemetry.ErrUnknownTwin
	}
	return telemetry.ChannelInfo{Type: ci.Type, Unit: ci.Unit, Min: ci.Min, Max: ci.Max}, nil
}

type fixture struct {
	api   *Server
	srv   *httptest.Server
	st    *store.Store
	twins *twin.Registry
	now   time.Time
}

// openBackends opens a twin registry and a telemetry store in a fresh
// directory, closed when the test ends (after what the caller registers
// later, such as its server).
func openBackends(t testing.TB) (dir string, reg *twin.Registry, st *store.Store) {
	t.Helper()
	dir = t.TempDir()
	reg, err := twin.Open(twin.Config{Path: filepath.Join(dir, "twins.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.Close() })
	if st, err = store.Open(store.Config{Dir: filepath.Join(dir, "tsdb")}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return dir, reg, st
}

func newFixture(t testing.TB) *fixture { return newFixtureScoring(t, nil) }

// newFixtureScoring is newFixture with the anomaly scorer's store wrapped
// (wrap nil: the store itself).
func newFixtureScoring(t testing.TB, wrap func(scoring.Store) scoring.Store) *fixture {
	t.Helper()
	dir, reg, st := openBackends(t)
	b := bus.New()
	now := time.Date(2026, 6, 7, 12, 0, 0, 0, time.UTC)
	in, err := telemetry.NewIngester(telemetry.IngesterConfig{Now: func() time.Time { return now }}, catalog{reg}, st, bus.Samples{Bus: b})
	if err != nil {
		t.Fatal(err)
	}
	var scst scoring.Store = st
	if wrap != nil {
		scst = wrap(st)
	}
	sc, err := scoring.Open(scoring.Config{Dir: filepath.Join(dir, "anomaly"), Bus: b, Store: scst})
	if err != nil {
		t.Fatal(err)
	}
	sc.Start()
	al, err := alert.Open(alert.Config{Path: filepath.Join(dir, "alerts.db"), Catalog: reg, Bus: b})
	if err != nil {
		t.Fatal(err)
	}
	al.Start()
	opts := EngineOpts()
	opts.MaxSamples = 1e7
	s, err := New(Config{Alerts: al, Twins: reg, Ingester: in, Store: st, Queryable: st.Queryable, Bus: b, Now: func() time.Time { return now }, Anomaly: sc,
		Engine: promql.NewEngine(opts), MaxBody: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{api: s, srv: httptest.NewServer(s), st: st, twins: reg, now: now}
	t.Cleanup(func() {
		f.srv.Close()
		sc.Close()
		al.Close()
	})
	return f
}

func (f *fixture) do(t testing.TB, method, path, ct, body string, hdr ...string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func wantProblem(t *testing.T, code int, hdr http.Header, body string, status int, typ string) {
	t.Helper()
	if code != status {
		t.Fatalf("got status %d, want %d; body %s", code, status, body)
	}
	if ct := hdr.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("got Content-Type %q, want application/problem+json", ct)
	}
	var p Problem
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		t.Fatalf("problem body is not JSON: %v: %s", err, body)
	}
	if p.Type != problemBase+typ || p.Status != status {
		t.Fatalf("got problem type %q status %d, want %q %d", p.Type, p.Status, problemBase+typ, status)
	}
}

const gauge = `{"type":"rain-gauge","name":"g","geometry":{"type":"Point","coordinates":[114.17,22.3]}}`

func TestTwinLifecycleAndConcurrency(t *testing.T) {
	f := newFixture(t)
	code, hdr, body := f.do(t, "PUT", "/api/v1/twins/g1", "application/json", gauge)
	if code != 201 || hdr.Get("ETag") != `"1"` {
		t.Fatalf("create: %d %s %s", code, hdr.Get("ETag"), body)
	}
	code, hdr, _ = f.do(t, "PATCH", "/api/v1/twins/g1", "application/merge-patch+json", `{"name":"renamed"}`, "If-Match", `"1"`)
	if code != 200 || hdr.Get("ETag") != `"2"` {
		t.Fatalf("patch: got %d etag %s, want 200 \"2\"", code, hdr.Get("ETag"))
	}
	code, hdr, body = f.do(t, "PUT", "/api/v1/twins/g1", "application/json", gauge, "If-Match", `"1"`)
	wantProblem(t, code, hdr, body, 412, "precondition-failed")
	code, hdr, body = f.do(t, "GET", "/api/v1/twins/nope", "", "")
	wantProblem(t, code, hdr, body, 404, "not-found")
	code, hdr, body = f.do(t, "POST", "/api/v1/twins", "application/json", gauge[:len(gauge)-1]+`,"id":"g1"}`)
	wantProblem(t, code, hdr, body, 409, "exists")
}

func TestBadInputGetsProblems(t *testing.T) {
	f := newFixture(t)
	f.do(t, "PUT", "/api/v1/twins/g1", "application/json", gauge)
	cases := []struct {
		name, method, path, ct, body string
		status                       int
		typ                          string
	}{
		{"malformed twin", "PUT", "/api/v1/twins/g2", "application/json", `{"type":`, 422, "invalid"},
		{"unknown field", "PUT", "/api/v1/twins/g2", "application/json", `{"type":"rain-gauge","bogus":1}`, 422, "invalid"},
		{"unknown type", "PUT", "/api/v1/twins/g2", "application/json", `{"type":"nope"}`, 422, "invalid"},
		{"bad geometry", "PUT", "/api/v1/twins/g2", "application/json", `{"type":"rain-gauge","geometry":{"type":"Point","coordinates":[500,22]}}`, 422, "invalid"},
		{"hostile id", "PUT", "/api/v1/twins/%3Cscript%3E", "application/json", gauge, 422, "invalid"},
		{"malformed telemetry", "POST", "/api/v1/telemetry", "application/json", `{"samples":[`, 400, "malformed-body"},
		{"telemetry all rejected", "POST", "/api/v1/telemetry", "application/json", `{"samples":[{"twin":"nope","channel":"rainfall","value":1}]}`, 422, "invalid"},
		{"huge body", "POST", "/api/v1/telemetry", "application/json", `{"samples":[` + strings.Repeat(`{"twin":"g1","channel":"rainfall","value":1},`, 30000) + `]}`, 413, "too-large"},
		{"media type", "POST", "/api/v1/telemetry", "application/xml", `<x/>`, 415, "unsupported-media"},
		{"bad query", "GET", "/api/v1/query?query=sum(", "", "", 400, "bad-query"},
		// The engine allocated 2.5 TB for this one's steps and the process died.
		{"subquery too fine", "GET", "/api/v1/query?query=max_over_time(rainfall[10y:1ms])", "", "", 400, "bad-query"},
		{"subquery too fine over a range", "GET", "/api/v1/query_range?query=max_over_time(rainfall[1m:1s])&start=0&end=2000000000&step=200000", "", "", 400, "bad-query"},
		// 100,000 deep overflowed the evaluator's stack and killed the process.
		{"nested too deep", "GET", "/api/v1/query?query=" + strings.Repeat("abs(", 300) + "vector(1)" + strings.Repeat(")", 300), "", "", 400, "bad-query"},
		{"too many operators", "GET", "/api/v1/query?query=" + strings.Repeat("-", 1001) + "vector(1)", "", "", 400, "bad-query"},
		{"query too long", "POST", "/api/v1/query", "application/x-www-form-urlencoded", "query=" + strings.Repeat("x", 300<<10), 400, "bad-query"},
		{"time out of range", "GET", "/api/v1/query?query=1&time=1e300", "", "", 400, "bad-query"},
		{"step out of range", "GET", "/api/v1/query_range?query=1&start=0&end=10&step=1e300", "", "", 400, "bad-query"},
		{"nested subquery too fine", "GET", "/api/v1/query?query=max_over_time(max_over_time(rainfall[1d:1s])[30d:1h])", "", "", 400, "bad-query"},
		{"bad step", "GET", "/api/v1/twins/g1/telemetry/rainfall?step=0s", "", "", 400, "bad-request"},
		{"too many steps", "GET", "/api/v1/twins/g1/telemetry/rainfall?step=1ms&from=0&to=1780000000000", "", "", 400, "bad-request"},
		// to-from overflowed int64, and the step count passed.
		{"too many steps, widest range", "GET", "/api/v1/twins/g1/telemetry/rainfall?step=1ms&from=-9223372036854775807&to=9223372036854775807", "", "", 400, "bad-request"},
		{"unknown route", "GET", "/api/v1/nothing", "", "", 404, "not-found"},
		{"wrong method", "DELETE", "/api/v1/telemetry", "", "", 405, "method-not-allowed"},
		{"bad if-match", "PUT", "/api/v1/twins/g1", "application/json", gauge, 400, "bad-request"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var hdr []string
			if c.name == "bad if-match" {
				hdr = []string{"If-Match", "garbage"}
			}
			code, h, body := f.do(t, c.method, c.path, c.ct, c.body, hdr...)
			wantProblem(t, code, h, body, c.status, c.typ)
			if strings.Contains(body, "goroutine") || strings.Contains(body, ".go:") {
				t.Fatalf("the problem leaks internals: %s", body)
			}
		})
	}
	// Nothing of the rejected requests was stored.
	if n := f.st.Stats().SamplesAdded; n != 0 {
		t.Fatalf("rejected requests stored %d samples", n)
	}
}

// TestNotReadyAfterAWALFailure: /readyz says why it is not ready, without
// the failure's details (it is open to anyone), and a write refused by a
// failed store is a 503 that says to restart.
func TestNotReadyAfterAWALFailure(t *testing.T) {
	f := newFixture(t)
	if code, _, body := f.do(t, "GET", "/readyz", "", ""); code != 200 {
		t.Fatalf("readyz: %d %s", code, body)
	}
	failure := fmt.Errorf("%w: write /secret/path/wal/00000001: no space left on device", store.ErrFailed)
	f.api.cfg.Ready = func() error { return failure }
	code, h, body := f.do(t, "GET", "/readyz", "", "")
	wantProblem(t, code, h, body, 503, "unavailable")
	if !strings.Contains(body, "write-ahead log") || strings.Contains(body, "/secret/path") {
		t.Fatalf("readyz: %s", body)
	}
	p := problemFor(failure)
	if p.Status != 503 || !strings.Contains(p.Detail, "restart") {
		t.Fatalf("a refused write: %+v", p)
	}
}

func TestTelemetryRoundTrip(t *testing.T) {
	f := newFixture(t)
	f.do(t, "PUT", "/api/v1/twins/g1", "application/json", gauge)
	base := f.now.Add(-time.Hour).UnixMilli()
	var nd strings.Builder
	for i := 0; i < 120; i++ {
		fmt.Fprintf(&nd, `{"twin":"g1","channel":"rainfall","ts":%d,"value":%d}`+"\n", base+int64(i)*30000, i%10)
	}
	code, _, body := f.do(t, "POST", "/api/v1/telemetry", "application/x-ndjson", nd.String())
	if code != 200 || !strings.Contains(body, `"accepted":120`) {
		t.Fatalf("ndjson: %d %s", code, body)
	}
	// Mixed batch: per-sample reasons with indexes.
	code, _, body = f.do(t, "POST", "/api/v1/telemetry", "application/json", fmt.Sprintf(
		`{"samples":[{"twin":"g1","channel":"rainfall","ts":%d,"value":1},{"twin":"g1","channel":"nope","value":1},{"twin":"g1","channel":"rainfall","value":1e9},{"twin":"g1","channel":"rainfall","ts":%d,"value":1},{"twin":"g1","channel":"rainfall","value":"NaN"}]}`,
		base+3600_000, f.now.Add(time.Hour).UnixMilli()))
	var res telemetry.Result
	if err := json.Unmarshal([]byte(body), &res); err != nil || code != 200 {
		t.Fatalf("mixed: %d %s", code, body)
	}
	var reasons []string
	for _, e := range res.Errors {
		reasons = append(reasons, fmt.Sprintf("%d:%s", e.Index, e.Reason))
	}
	want := "1:unknown_channel 2:out_of_range 3:future_timestamp 4:not_finite"
	if res.Accepted != 1 || strings.Join(reasons, " ") != want {
		t.Fatalf("got accepted=%d reasons %q, want 1 and %q", res.Accepted, strings.Join(reasons, " "), want)
	}
	// Aggregation: 120 samples 30 s apart = 60 minutes; step 10m gives 6 buckets of 20.
	code, _, body = f.do(t, "GET", fmt.Sprintf("/api/v1/twins/g1/telemetry/rainfall?from=%d&to=%d&step=10m&agg=count", base, base+3599_999), "", "")
	var ser struct {
		Points []store.Point `json:"points"`
	}
	if err := json.Unmarshal([]byte(body), &ser); err != nil || code != 200 {
		t.Fatalf("agg: %d %s", code, body)
	}
	if len(ser.Points) != 6 {
		t.Fatalf("got %d buckets, want 6: %s", len(ser.Points), body)
	}
	for _, p := range ser.Points {
		if p.Value != 20 {
			t.Fatalf("bucket %d has count %g, want 20", p.TS, p.Value)
		}
	}
	code, hdr, body := f.do(t, "GET", fmt.Sprintf("/api/v1/twins/g1/telemetry/rainfall?from=%d&to=%d&format=csv", base, base+60_000), "", "")
	if code != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/csv") || strings.Count(body, "\n") != 4 {
		t.Fatalf("csv: %d %q %q", code, hdr.Get("Content-Type"), body)
	}
	// PromQL sees the series with its labels.
	code, _, body = f.do(t, "GET", fmt.Sprintf("/api/v1/query?time=%d&query=count(count+by+(twin)+({type=%%22rain-gauge%%22}))", f.now.Unix()), "", "")
	if code != 200 || !strings.Contains(body, `"1"]`) {
		t.Fatalf("promql: %d %s", code, body)
	}
	// Within the bounds on a query's text: brackets 250 deep, and 1,000
	// operators (strings do not count).
	for _, q := range []string{strings.Repeat("abs(", 250) + "vector(1)" + strings.Repeat(")", 250),
		strings.Repeat("vector(1)+", 1000) + `count({twin=~"a-(b|c)+-d*",channel!~"x-y"})`} {
		if code, _, body := f.do(t, "POST", "/api/v1/query", "application/x-www-form-urlencoded", "query="+url.QueryEscape(q)); code != 200 {
			t.Fatalf("a query within the bounds: %d %.300s", code, body)
		}
	}
	// A subquery that names no step is evaluated every minute (it called
	// a nil function: 500).
	code, _, body = f.do(t, "GET", fmt.Sprintf("/api/v1/query?time=%d&query=count_over_time(rainfall[1h:])", f.now.Unix()), "", "")
	if code != 200 || !strings.Contains(body, `"60"]`) {
		t.Fatalf("subquery without a step: %d %s", code, body)
	}
}

// TestOpenAPIMatchesRouter checks that every route of this fixture is
// documented.
func TestOpenAPIMatchesRouter(t *testing.T) {
	f := newFixture(t)
	_, _, body := f.do(t, "GET", "/api/v1/openapi.json", "", "")
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi = %q, want 3.1.0", doc.OpenAPI)
	}
	documented := map[string]bool{}
	for p, ops := range doc.Paths {
		for m := range ops {
			documented[strings.ToUpper(m)+" "+p] = true
		}
	}
	s := f.srv.Config.Handler.(*Server)
	routed := map[string]bool{}
	wild := regexp.MustCompile(`\{([a-z]+)\.\.\.\}`)
	for _, r := range s.Routes() {
		routed[r.Method+" "+wild.ReplaceAllString(r.Pattern, "{$1}")] = true
	}
	var missing, extra []string
	for k := range routed {
		if !documented[k] {
			missing = append(missing, k)
		}
	}
	// The other direction (every documented operation is routed) needs
	// every component wired: internal/app's TestOpenAPIDescribesEveryRoute.
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 || len(extra) > 0 {
		t.Fatalf("routes not in openapi.json: %v\noperations in openapi.json without a route: %v", missing, extra)
	}
}
