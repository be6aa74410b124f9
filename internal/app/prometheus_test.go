package app

import (
	"encoding/json"
	"net/url"
	"strconv"
	"testing"
	"time"
)

// TestPrometheusAPIForGrafana: under /prometheus the whole Prometheus API
// answers in Prometheus's form, rules and alerts included (at /api/v1
// those two paths are tsingma's own), and each rule's query, run as
// PromQL, finds the twin its alert is about.
func TestPrometheusAPIForGrafana(t *testing.T) {
	r := start(t)
	tok := r.toks["a-viewer"]
	eng := r.toks["a-engineer"]
	for _, id := range []string{"g1", "g2"} {
		if code, body, _ := r.do(t, eng, "PUT", "/api/v1/twins/"+id, `{"type":"rain-gauge","geometry":{"type":"Point","coordinates":[114.17,22.3]}}`); code != 201 {
			t.Fatal(code, body)
		}
	}
	for _, rule := range []string{
		`{"id":"heavy","name":"Heavy rain","type":"rain-gauge","channel":"rainfall","op":">=","value":30,"severity":"critical","description":"30 mm in the interval"}`,
		`{"id":"band","type":"rain-gauge","channel":"rainfall","op":"outside","low":0,"high":100,"severity":"warning"}`,
	} {
		if code, body, _ := r.do(t, eng, "POST", "/api/v1/rules", rule); code != 201 {
			t.Fatal(code, body)
		}
	}
	now := time.Now().UnixMilli()
	body := `{"samples":[{"twin":"g1","channel":"rainfall","ts":` + strconv.FormatInt(now-2000, 10) + `,"value":42},{"twin":"g2","channel":"rainfall","ts":` + strconv.FormatInt(now-2000, 10) + `,"value":3}]}`
	if code, b, _ := r.do(t, r.toks["a-operator"], "POST", "/api/v1/telemetry", body); code != 200 {
		t.Fatal(code, b)
	}
	type promResp struct {
		Status string          `json:"status"`
		Data   json.RawMessage `json:"data"`
	}
	get := func(path string) json.RawMessage {
		t.Helper()
		code, body, _ := r.do(t, tok, "GET", "/prometheus/api/v1/"+path, "")
		var pr promResp
		if err := json.Unmarshal([]byte(body), &pr); code != 200 || err != nil || pr.Status != "success" {
			t.Fatalf("%s: %d %v %s", path, code, err, body)
		}
		return pr.Data
	}
	type rule struct {
		Name, State, Query, Type, Health string
		Duration                         float64
		Alerts                           []struct {
			Labels map[string]string
			State  string
			Value  string
		}
	}
	var rules struct {
		Groups []struct {
			Name  string
			Rules []rule
		}
	}
	var band, heavy rule
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if err := json.Unmarshal(get("rules"), &rules); err != nil || len(rules.Groups) != 1 {
			t.Fatalf("rules: %s %v", get("rules"), err)
		}
		for _, ru := range rules.Groups[0].Rules { // with the built-in ones
			switch ru.Name {
			case "band":
				band = ru
			case "Heavy rain":
				heavy = ru
			}
		}
		if heavy.State == "firing" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("rules: %+v", rules)
		}
	}
	if heavy.Name != "Heavy rain" || heavy.Type != "alerting" || heavy.Health != "ok" || heavy.Query != `rainfall{type="rain-gauge"} >= 30` {
		t.Fatalf("heavy: %+v", heavy)
	}
	if len(heavy.Alerts) != 1 || heavy.Alerts[0].Labels["twin"] != "g1" || heavy.Alerts[0].Labels["alertname"] != "Heavy rain" || heavy.Alerts[0].State != "firing" || heavy.Alerts[0].Value != "4.2e+01" {
		t.Fatalf("heavy's alerts: %+v", heavy.Alerts)
	}
	if band.State != "inactive" || band.Query != `rainfall{type="rain-gauge"} < 0 or rainfall{type="rain-gauge"} > 100` {
		t.Fatalf("band: %+v", band)
	}
	// The rule's PromQL reading finds the twin whose alert fires, and only it.
	var q struct {
		Result []struct {
			Metric map[string]string
		}
	}
	if err := json.Unmarshal(get("query?query="+url.QueryEscape(heavy.Query)), &q); err != nil {
		t.Fatal(err)
	}
	if len(q.Result) != 1 || q.Result[0].Metric["twin"] != "g1" {
		t.Fatalf("%s: %+v", heavy.Query, q.Result)
	}
	if err := json.Unmarshal(get("query?query="+url.QueryEscape(band.Query)), &q); err != nil || len(q.Result) != 0 {
		t.Fatalf("%s: %+v %v", band.Query, q.Result, err)
	}
	var alerts struct {
		Alerts []struct {
			Labels map[string]string
			State  string
		}
	}
	if err := json.Unmarshal(get("alerts"), &alerts); err != nil || len(alerts.Alerts) != 1 || alerts.Alerts[0].Labels["rule"] != "heavy" {
		t.Fatalf("alerts: %+v %v", alerts, err)
	}
	var groups struct{ Groups []any }
	if err := json.Unmarshal(get("rules?type=record"), &groups); err != nil || len(groups.Groups) != 0 {
		t.Fatalf("recording rules: %+v %v", groups, err)
	}
	for _, p := range []string{"query_exemplars?query=rainfall", "status/buildinfo", "metadata", "labels", "label/twin/values", "series?match[]=rainfall"} {
		get(p)
	}
	// And it is not open to anyone.
	if code, _, _ := r.do(t, "", "GET", "/prometheus/api/v1/rules", ""); code != 401 {
		t.Fatalf("rules without a token: %d", code)
	}
}
