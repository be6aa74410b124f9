package api

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql"

	"github.com/tsingma/tsingma/internal/alert"
	"github.com/tsingma/tsingma/internal/auth"
	"github.com/tsingma/tsingma/internal/bus"
	"github.com/tsingma/tsingma/internal/telemetry"
)

// newAlertFixture is newFixture with a started alert engine (no default
// rules) following the bus.
func newAlertFixture(t *testing.T) (*fixture, *alert.Engine) {
	t.Helper()
	return newAlertFixtureWith(t, nil)
}

// newAlertFixtureWith lets the caller adjust the API's Config (auth).
func newAlertFixtureWith(t *testing.T, adjust func(*Config)) (*fixture, *alert.Engine) {
	t.Helper()
	dir, reg, st := openBackends(t)
	b := bus.New()
	now := time.Date(2026, 6, 7, 12, 0, 0, 0, time.UTC)
	in, err := telemetry.NewIngester(telemetry.IngesterConfig{Now: func() time.Time { return now }}, catalog{reg}, st, bus.Samples{Bus: b})
	if err != nil {
		t.Fatal(err)
	}
	eng, err := alert.Open(alert.Config{Path: filepath.Join(dir, "alerts.db"), Catalog: reg, Bus: b, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	eng.Start()
	cfg := Config{Twins: reg, Ingester: in, Store: st, Queryable: st.Queryable, Bus: b, Now: func() time.Time { return now },
		Engine: promql.NewEngine(promql.EngineOpts{MaxSamples: 1e7, Timeout: time.Minute, LookbackDelta: 5 * time.Minute}), MaxBody: 1 << 20,
		Alerts: eng, Metrics: []func(io.Writer){eng.WriteMetrics}}
	if adjust != nil {
		adjust(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{srv: httptest.NewServer(s), st: st, twins: reg, now: now}
	t.Cleanup(func() {
		f.srv.Close()
		if err := eng.Close(); err != nil {
			t.Error(err)
		}
	})
	return f, eng
}

const blackRule = `{"id":"black","type":"rain-gauge","channel":"rainfall","op":">=","value":6,"for":"10m","hysteresis":2,"severity":"critical","description":"black rainstorm"}`

func TestRulesAPI(t *testing.T) {
	f, _ := newAlertFixture(t)
	f.do(t, "PUT", "/api/v1/twins/g1", "application/json", gauge)
	code, hdr, body := f.do(t, "POST", "/api/v1/rules", "application/json", blackRule)
	if code != 201 || hdr.Get("Location") != "/api/v1/rules/black" || hdr.Get("ETag") != `"1"` || !strings.Contains(body, `"unit":"mm"`) {
		t.Fatalf("create: %d %v %s", code, hdr, body)
	}
	code, _, body = f.do(t, "GET", "/api/v1/rules", "", "")
	if code != 200 || !strings.Contains(body, `"id":"black"`) {
		t.Fatalf("list: %d %s", code, body)
	}
	code, hdr, _ = f.do(t, "PUT", "/api/v1/rules/black", "application/json", strings.Replace(blackRule, `"value":6`, `"value":7`, 1), "If-Match", `"1"`)
	if code != 200 || hdr.Get("ETag") != `"2"` {
		t.Fatalf("replace: got %d %s, want 200 \"2\"", code, hdr.Get("ETag"))
	}
	code, hdr, _ = f.do(t, "PUT", "/api/v1/rules/twin-rule", "application/json", `{"twin":"g1","channel":"rainfall","op":">","value":1,"severity":"info"}`)
	if code != 201 || hdr.Get("Location") != "/api/v1/rules/twin-rule" {
		t.Fatalf("put create: got %d %s", code, hdr.Get("Location"))
	}
	code, _, body = f.do(t, "GET", "/api/v1/rules?twin=g1", "", "")
	if code != 200 || !strings.Contains(body, `"id":"twin-rule"`) || strings.Contains(body, `"id":"black"`) {
		t.Fatalf("list by twin: %d %s", code, body)
	}
	code, _, body = f.do(t, "GET", "/api/v1/rules/black", "", "")
	if code != 200 || !strings.Contains(body, `"value":7`) || !strings.Contains(body, `"version":2`) {
		t.Fatalf("get: %d %s", code, body)
	}
	if code, _, _ = f.do(t, "DELETE", "/api/v1/rules/twin-rule", "", ""); code != 204 {
		t.Fatalf("delete: got %d, want 204", code)
	}
	cases := []struct {
		name, method, path, body string
		hdr                      []string
		status                   int
		typ                      string
	}{
		{"malformed", "POST", "/api/v1/rules", `{"id":`, nil, 400, "malformed-body"},
		{"unknown field", "POST", "/api/v1/rules", `{"id":"x","colour":"red"}`, nil, 400, "malformed-body"},
		{"unknown channel", "POST", "/api/v1/rules", `{"type":"rain-gauge","channel":"snow","op":">","value":1,"severity":"info"}`, nil, 422, "invalid"},
		{"unknown twin", "POST", "/api/v1/rules", `{"twin":"g9","channel":"rainfall","op":">","value":1,"severity":"info"}`, nil, 422, "invalid"},
		{"no value", "POST", "/api/v1/rules", `{"type":"rain-gauge","channel":"rainfall","op":">","severity":"info"}`, nil, 422, "invalid"},
		{"not finite", "POST", "/api/v1/rules", `{"type":"rain-gauge","channel":"rainfall","op":">","value":1e999,"severity":"info"}`, nil, 400, "malformed-body"},
		{"bad duration", "POST", "/api/v1/rules", `{"type":"rain-gauge","channel":"rainfall","op":">","value":1,"for":"soon","severity":"info"}`, nil, 400, "malformed-body"},
		{"exists", "POST", "/api/v1/rules", blackRule, nil, 409, "exists"},
		{"id mismatch", "PUT", "/api/v1/rules/other", blackRule, nil, 422, "invalid"},
		{"stale if-match", "PUT", "/api/v1/rules/black", blackRule, []string{"If-Match", `"1"`}, 412, "precondition-failed"},
		{"if-match on missing", "PUT", "/api/v1/rules/nope", strings.Replace(blackRule, `"black"`, `"nope"`, 1), []string{"If-Match", `"1"`}, 404, "not-found"},
		{"get missing", "GET", "/api/v1/rules/nope", "", nil, 404, "not-found"},
		{"unknown list param", "GET", "/api/v1/rules?colour=red", "", nil, 400, "bad-query"},
		{"delete missing", "DELETE", "/api/v1/rules/nope", "", nil, 404, "not-found"},
		{"too large", "POST", "/api/v1/rules", `{"description":"` + strings.Repeat("x", 20000) + `"}`, nil, 400, "malformed-body"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, h, body := f.do(t, c.method, c.path, "application/json", c.body, c.hdr...)
			wantProblem(t, code, h, body, c.status, c.typ)
		})
	}
}

// A black rainstorm ingested through the public API raises an alert that
// the SSE stream carries; it can be acknowledged once and resolved once.
func TestAlertsAPILifecycle(t *testing.T) {
	f, _ := newAlertFixture(t)
	f.do(t, "PUT", "/api/v1/twins/g1", "application/json", gauge)
	if code, _, body := f.do(t, "POST", "/api/v1/rules", "application/json", blackRule); code != 201 {
		t.Fatalf("rule: %d %s", code, body)
	}
	// Listen to alert changes of rain gauges.
	req, err := http.NewRequestWithContext(t.Context(), "GET", f.srv.URL+"/api/v1/stream?kinds=alert&type=rain-gauge", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	events := bufio.NewReader(resp.Body)
	if _, err := events.ReadString('\n'); err != nil { // the stream's opening comment
		t.Fatal(err)
	}
	base := f.now.Add(-time.Hour).UnixMilli()
	var nd strings.Builder
	for i, v := range []float64{7, 8, 9} {
		fmt.Fprintf(&nd, `{"twin":"g1","channel":"rainfall","ts":%d,"value":%g}`+"\n", base+int64(i)*300_000, v)
	}
	if code, _, body := f.do(t, "POST", "/api/v1/telemetry", "application/x-ndjson", nd.String()); code != 200 {
		t.Fatalf("ingest: %d %s", code, body)
	}
	var change struct {
		Action string      `json:"action"`
		Alert  alert.Alert `json:"alert"`
	}
	for {
		line, err := events.ReadString('\n')
		if err != nil {
			t.Fatalf("stream ended before an alert event: %v", err)
		}
		if data, ok := strings.CutPrefix(line, "data: "); ok {
			if err := json.Unmarshal([]byte(data), &change); err != nil {
				t.Fatalf("alert event %q: %v", data, err)
			}
			break
		}
	}
	a := change.Alert
	if change.Action != "raised" || a.Source != "rule:black" || a.Twin != "g1" || a.Severity != alert.Critical || len(a.Evidence) != 3 {
		t.Fatalf("got %s %+v, want raised by rule:black on g1 with 3 samples", change.Action, a)
	}
	code, _, body := f.do(t, "GET", "/api/v1/alerts?state=open&twin=g1&source=rule", "", "")
	if code != 200 || !strings.Contains(body, `"id":"`+a.ID+`"`) {
		t.Fatalf("list: %d %s", code, body)
	}
	code, _, body = f.do(t, "POST", "/api/v1/alerts/"+a.ID+"/ack", "application/json", `{"comment":"GEO informed"}`)
	if code != 200 || !strings.Contains(body, `"state":"acknowledged"`) || !strings.Contains(body, `"comment":"GEO informed"`) {
		t.Fatalf("ack: %d %s", code, body)
	}
	code, h, body := f.do(t, "POST", "/api/v1/alerts/"+a.ID+"/ack", "application/json", `{}`)
	wantProblem(t, code, h, body, 409, "alert-state")
	code, _, body = f.do(t, "POST", "/api/v1/alerts/"+a.ID+"/resolve", "application/json", `{"by":"anonymous","comment":"rain stopped"}`)
	if code != 200 || !strings.Contains(body, `"state":"cleared"`) || !strings.Contains(body, `"clearedBy":"manual"`) {
		t.Fatalf("resolve: %d %s", code, body)
	}
	code, _, body = f.do(t, "GET", "/api/v1/alerts/"+a.ID, "", "")
	if code != 200 || !strings.Contains(body, `"state":"cleared"`) {
		t.Fatalf("get: %d %s", code, body)
	}
	code, _, body = f.do(t, "GET", "/metrics", "", "")
	if code != 200 || !strings.Contains(body, "tsingma_alerts_acknowledged_total 1\n") {
		t.Fatalf("metrics lack the alert counters: %s", body)
	}
	cases := []struct {
		name, method, path, body string
		status                   int
		typ                      string
	}{
		{"resolve twice", "POST", "/api/v1/alerts/" + a.ID + "/resolve", `{}`, 409, "alert-state"},
		{"ack as someone else", "POST", "/api/v1/alerts/" + a.ID + "/ack", `{"by":"x"}`, 422, "invalid"},
		{"ack malformed", "POST", "/api/v1/alerts/" + a.ID + "/ack", `{"by":`, 400, "malformed-body"},
		{"ack unknown field", "POST", "/api/v1/alerts/" + a.ID + "/ack", `{"by":"x","role":"admin"}`, 400, "malformed-body"},
		{"ack missing", "POST", "/api/v1/alerts/999/ack", `{}`, 404, "not-found"},
		{"get bad id", "GET", "/api/v1/alerts/abc", "", 404, "not-found"},
		{"bad state", "GET", "/api/v1/alerts?state=firing", "", 422, "invalid"},
		{"bad severity", "GET", "/api/v1/alerts?severity=severe", "", 422, "invalid"},
		{"bad limit", "GET", "/api/v1/alerts?limit=0", "", 400, "bad-query"},
		{"unknown param", "GET", "/api/v1/alerts?colour=red", "", 400, "bad-query"},
		{"bad cursor", "GET", "/api/v1/alerts?cursor=zzz", "", 422, "invalid"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, h, body := f.do(t, c.method, c.path, "application/json", c.body)
			wantProblem(t, code, h, body, c.status, c.typ)
		})
	}
}

// With authentication on, who acknowledged and who resolved an alert are
// the principals of the tokens used, never what the body says: one
// operator acknowledges, another resolves, and a body naming someone else
// is refused without changing the alert.
func TestAlertActionsRecordThePrincipal(t *testing.T) {
	toks, err := auth.Open(auth.Config{Path: filepath.Join(t.TempDir(), "auth.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { toks.Close() })
	mk := func(name string, role auth.Role) (auth.Token, string) {
		tk, secret, err := toks.Create(t.Context(), "test", auth.NewToken{Name: name, Role: role, Tenant: telemetry.DefaultTenant})
		if err != nil {
			t.Fatal(err)
		}
		return tk, secret
	}
	eng1, sec1 := mk("duty-a", auth.Operator)
	eng2, sec2 := mk("duty-b", auth.Operator)
	_, admin := mk("admin", auth.Admin)
	f, eng := newAlertFixtureWith(t, func(c *Config) { c.Auth = toks })
	bearer := func(s string) []string { return []string{"Authorization", "Bearer " + s} }
	if code, _, body := f.do(t, "PUT", "/api/v1/twins/g1", "application/json", gauge, bearer(admin)...); code != 201 {
		t.Fatalf("twin: %d %s", code, body)
	}
	if code, _, body := f.do(t, "POST", "/api/v1/rules", "application/json", blackRule, bearer(admin)...); code != 201 {
		t.Fatalf("rule: %d %s", code, body)
	}
	base := f.now.Add(-time.Hour).UnixMilli()
	var nd strings.Builder
	for i, v := range []float64{7, 8, 9} {
		fmt.Fprintf(&nd, `{"twin":"g1","channel":"rainfall","ts":%d,"value":%g}`+"\n", base+int64(i)*300_000, v)
	}
	if code, _, body := f.do(t, "POST", "/api/v1/telemetry", "application/x-ndjson", nd.String(), bearer(sec1)...); code != 200 {
		t.Fatalf("ingest: %d %s", code, body)
	}
	var id string
	for deadline := time.Now().Add(30 * time.Second); id == "" && time.Now().Before(deadline); {
		page, err := eng.ListAlerts(t.Context(), telemetry.DefaultTenant, alert.Query{State: "open"})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Items) > 0 {
			id = page.Items[0].ID
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if id == "" {
		t.Fatal("no alert raised")
	}
	get := func() alert.Alert {
		t.Helper()
		code, _, body := f.do(t, "GET", "/api/v1/alerts/"+id, "", "", bearer(sec2)...)
		var a alert.Alert
		if code != 200 || json.Unmarshal([]byte(body), &a) != nil {
			t.Fatalf("get: %d %s", code, body)
		}
		return a
	}
	// Naming someone else is refused and changes nothing.
	code, h, body := f.do(t, "POST", "/api/v1/alerts/"+id+"/ack", "application/json", `{"by":"duty-b","comment":"not me"}`, bearer(sec1)...)
	wantProblem(t, code, h, body, 422, "invalid")
	if a := get(); a.Ack != nil {
		t.Fatalf("a refused acknowledgement changed the alert: %+v", a.Ack)
	}
	// No token: 401.
	code, h, body = f.do(t, "POST", "/api/v1/alerts/"+id+"/ack", "application/json", `{"comment":"x"}`)
	wantProblem(t, code, h, body, 401, "unauthenticated")
	if code, _, body := f.do(t, "POST", "/api/v1/alerts/"+id+"/ack", "application/json", `{"comment":"GEO informed"}`, bearer(sec1)...); code != 200 {
		t.Fatalf("ack: %d %s", code, body)
	}
	// Its own name is accepted (older clients send it).
	if code, _, body := f.do(t, "POST", "/api/v1/alerts/"+id+"/resolve", "application/json", `{"by":"duty-b","comment":"rain stopped"}`, bearer(sec2)...); code != 200 {
		t.Fatalf("resolve: %d %s", code, body)
	}
	a := get()
	wantAck, wantRes := "duty-a (token "+eng1.ID+")", "duty-b (token "+eng2.ID+")"
	if a.Ack == nil || a.Ack.By != wantAck || a.Ack.Comment != "GEO informed" {
		t.Fatalf("acknowledged: got %+v, want by %q", a.Ack, wantAck)
	}
	if a.Resolve == nil || a.Resolve.By != wantRes {
		t.Fatalf("resolved: got %+v, want by %q", a.Resolve, wantRes)
	}
}
