package app

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestAlertsReachAlertmanager: with an Alertmanager configured, an alert a
// rule raises is posted to it, labelled with its twin and rule.
func TestAlertsReachAlertmanager(t *testing.T) {
	var mu sync.Mutex
	var posted strings.Builder
	am := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		posted.Write(b)
		mu.Unlock()
	}))
	defer am.Close()
	r := startWith(t, func(c *Config) { c.Alertmanager = am.URL })
	eng := r.toks["a-engineer"]
	if code, body, _ := r.do(t, eng, "PUT", "/api/v1/twins/g1", `{"type":"rain-gauge","geometry":{"type":"Point","coordinates":[114.17,22.3]}}`); code != 201 {
		t.Fatal(code, body)
	}
	if code, body, _ := r.do(t, eng, "POST", "/api/v1/rules", `{"id":"heavy","type":"rain-gauge","channel":"rainfall","op":">=","value":30,"severity":"critical"}`); code != 201 {
		t.Fatal(code, body)
	}
	ts := strconv.FormatInt(time.Now().UnixMilli()-1000, 10)
	if code, body, _ := r.do(t, r.toks["a-operator"], "POST", "/api/v1/telemetry", `{"twin":"g1","ts":`+ts+`,"values":{"rainfall":42}}`); code != 200 {
		t.Fatal(code, body)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		mu.Lock()
		got := posted.String()
		mu.Unlock()
		if strings.Contains(got, `"twin":"g1"`) && strings.Contains(got, `"rule":"heavy"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("alertmanager got %q", got)
		}
	}
	if _, body, _ := r.do(t, r.toks["admin"], "GET", "/metrics", ""); !strings.Contains(body, "tsingma_alertmanager_alerts_sent_total") {
		t.Fatal("no alertmanager counters in /metrics")
	}
}
