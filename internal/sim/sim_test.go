package sim

import (
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// firstSamples runs the scenario for 20 minutes of simulated time with
// the black rainstorm from minute 10 and returns the twins and the first
// n samples.
func firstSamples(t *testing.T, in *Inputs, seed uint64, n int) ([]Twin, []Sample) {
	t.Helper()
	w, err := Build(in, Config{Seed: seed, Start: testStart, Slopes: 200})
	if err != nil {
		t.Fatal(err)
	}
	e := NewEngine(w)
	var b Batch
	e.Advance(testStart.Add(10*time.Minute).UnixMilli(), &b)
	if err := e.Trigger(EventBlackRainstorm); err != nil {
		t.Fatal(err)
	}
	e.Advance(testStart.Add(20*time.Minute).UnixMilli(), &b)
	if len(b.Samples) < n {
		t.Fatalf("got %d samples in 20 minutes, want at least %d", len(b.Samples), n)
	}
	return w.Twins(), b.Samples[:n]
}

func TestDeterministic(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   func(*testing.T) *Inputs
	}{
		{"synthetic", func(*testing.T) *Inputs { return syntheticInputs() }},
		{"hk", func(t *testing.T) *Inputs { return loadInputs(t) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in(t)
			tw1, s1 := firstSamples(t, in, 7, 5000)
			tw2, s2 := firstSamples(t, in, 7, 5000)
			if d := cmp.Diff(tw1, tw2); d != "" {
				t.Errorf("same seed, different twins (-first +second):\n%s", d)
			}
			if d := cmp.Diff(s1, s2); d != "" {
				t.Errorf("same seed, different samples (-first +second):\n%s", d)
			}
			w8, err := Build(in, Config{Seed: 8, Start: testStart, Slopes: 200})
			if err != nil {
				t.Fatal(err)
			}
			if cmp.Equal(tw1, w8.Twins()) {
				t.Error("seeds 7 and 8 gave the same twins")
			}
		})
	}
}

func TestWorldShape(t *testing.T) {
	in := loadInputs(t)
	w, err := Build(in, Config{Seed: 1, Start: testStart})
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	ids := map[string]bool{}
	for _, tw := range w.Twins() {
		count[tw.Type]++
		if ids[tw.ID] {
			t.Errorf("duplicate twin id %s", tw.ID)
		}
		ids[tw.ID] = true
	}
	for typ, min := range map[string]int{"slope": 200, "rain-gauge": 25, "piezometer": 1, "inclinometer": 1, "extensometer": 1,
		"bridge-sensor": 100, "building-site": 1, "vehicle": 30, "delivery-stop": 200, "depot": 1, "warehouse": 1,
		"rack": 1, "cooling-unit": 1, "compute-cluster": 1, "data-hall": 1} {
		if count[typ] < min {
			t.Errorf("%d twins of type %s, want at least %d", count[typ], typ, min)
		}
	}
	if len(w.Twins()) < 1000 {
		t.Errorf("%d twins, want at least 1,000 for the console's scale", len(w.Twins()))
	}
	// Relationship targets exist in an earlier stage or the same one.
	seen := map[string]bool{}
	for i, st := range w.Stages {
		for _, tw := range st {
			seen[tw.ID] = true
		}
		for _, tw := range st {
			for rel, targets := range tw.Relationships {
				for _, x := range targets {
					if !seen[x] {
						t.Errorf("stage %d: %s.%s -> %s is not created before it", i, tw.ID, rel, x)
					}
				}
			}
		}
	}
	// Stops and the depot are on land.
	for _, s := range w.stops {
		if !in.Land.Contains(s.pos) {
			t.Errorf("stop %s %v is in the sea", s.id, s.pos)
		}
	}
}

// TestEvents checks each event moves its signal the way the console and
// the default alert rules expect.
func TestEvents(t *testing.T) {
	w, err := Build(syntheticInputs(), Config{Seed: 3, Start: testStart, Slopes: 200})
	if err != nil {
		t.Fatal(err)
	}
	e := NewEngine(w)
	var b Batch
	e.Advance(testStart.Add(2*time.Hour).UnixMilli(), &b)
	before := maxBy(b.Samples)
	for _, ev := range EventNames {
		if err := e.Trigger(ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Trigger("tsunami"); !errors.Is(err, ErrUnknownEvent) {
		t.Errorf("Trigger(tsunami) = %v, want ErrUnknownEvent", err)
	}
	b = Batch{}
	e.Advance(testStart.Add(8*time.Hour).UnixMilli(), &b)
	after := maxBy(b.Samples)
	for _, c := range []struct {
		key      string
		min, was float64
	}{
		{"rainfall", 70.0 / 12, 0}, // 70 mm/h as a 5-minute depth
		{"porePressure", before["porePressure"] + 5, 0},
		{"tm-brg-tsingyi-n/displacement", 200, 0},
		{"crah-3/inletTemperature", 32, 0},
		{"engineTemperature", 110, 0},
	} {
		if after[c.key] < c.min {
			t.Errorf("%s peaked at %.2f after the events, want at least %.2f (before: %.2f)", c.key, after[c.key], c.min, before[c.key])
		}
	}
	if before["rainfall"] >= 70.0/12 {
		t.Errorf("rainfall already %.1f mm/5 min before the storm", before["rainfall"])
	}
	var sus float64
	for _, id := range w.Susceptible {
		for _, m := range w.movers {
			if m.slope == id {
				sus = math.Max(sus, m.disp)
			}
		}
	}
	if sus < 5 {
		t.Errorf("susceptible slopes moved at most %.2f mm in the storm, want at least 5 mm", sus)
	}
}

func maxBy(ss []Sample) map[string]float64 {
	m := map[string]float64{}
	for _, s := range ss {
		for _, k := range []string{s.Channel, s.Twin + "/" + s.Channel} {
			if v, ok := m[k]; !ok || s.Value > v {
				m[k] = s.Value
			}
		}
	}
	return m
}

func newTestRunner(t testing.TB) *Runner {
	t.Helper()
	w, err := Build(syntheticInputs(), Config{Seed: 1, Start: testStart, Slopes: 200})
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewRunner(RunnerConfig{URL: "http://127.0.0.1:1"}, w)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestControlHandlers(t *testing.T) {
	r := newTestRunner(t)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/scenario", r.HandleStatus)
	mux.HandleFunc("POST /api/v1/scenario/events", r.HandleEvent)
	mux.HandleFunc("POST /api/v1/scenario/speed", r.HandleSpeed)
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		ctype                    string
	}{
		{"status", "GET", "/api/v1/scenario", "", 200, "application/json"},
		{"event", "POST", "/api/v1/scenario/events", `{"event":"black-rainstorm"}`, 202, "application/json"},
		{"unknown event", "POST", "/api/v1/scenario/events", `{"event":"tsunami"}`, 422, "application/problem+json"},
		{"unknown field", "POST", "/api/v1/scenario/events", `{"event":"bearing","x":1}`, 400, "application/problem+json"},
		{"not json", "POST", "/api/v1/scenario/events", `event=bearing`, 400, "application/problem+json"},
		{"speed", "POST", "/api/v1/scenario/speed", `{"speed":600}`, 200, "application/json"},
		{"speed too fast", "POST", "/api/v1/scenario/speed", `{"speed":1e9}`, 422, "application/problem+json"},
		{"speed missing", "POST", "/api/v1/scenario/speed", `{}`, 422, "application/problem+json"},
		{"two documents", "POST", "/api/v1/scenario/speed", `{"speed":2}{"speed":3}`, 400, "application/problem+json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body)))
			if rec.Code != tc.status {
				t.Errorf("status %d, want %d; body %s", rec.Code, tc.status, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); ct != tc.ctype {
				t.Errorf("Content-Type %q, want %q", ct, tc.ctype)
			}
		})
	}
	st := r.Status()
	if st.Speed != 600 {
		t.Errorf("speed %g after POST speed 600", st.Speed)
	}
	if len(r.pending) != 1 || r.pending[0] != EventBlackRainstorm {
		t.Errorf("pending events %v, want [black-rainstorm]", r.pending)
	}
	var doc Status
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/scenario", nil))
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil || len(doc.Events) != len(EventNames) {
		t.Errorf("status document %s: %v", rec.Body, err)
	}
}

// FuzzControlBodies: no body makes the control handlers panic or answer
// anything but 2xx/4xx, and a rejected body changes nothing.
func FuzzControlBodies(f *testing.F) {
	for _, s := range []string{`{"event":"bearing"}`, `{"speed":60}`, `{"speed":-1}`, `{"event":""}`, `[]`, `null`, `{"speed":"fast"}`, "\x00"} {
		f.Add([]byte(s))
	}
	r := newTestRunner(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, h := range []http.HandlerFunc{r.HandleEvent, r.HandleSpeed} {
			r.mu.Lock()
			speed, pending := r.speed, len(r.pending)
			r.mu.Unlock()
			rec := httptest.NewRecorder()
			h(rec, httptest.NewRequest("POST", "/", strings.NewReader(string(body))))
			if rec.Code >= 500 || rec.Code < 200 {
				t.Fatalf("status %d for %q", rec.Code, body)
			}
			r.mu.Lock()
			if rec.Code >= 400 && (r.speed != speed || len(r.pending) != pending) {
				t.Fatalf("rejected body %q changed the runner", body)
			}
			r.pending = r.pending[:0]
			r.mu.Unlock()
		}
	})
}
