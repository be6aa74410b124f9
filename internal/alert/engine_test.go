package alert

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tsingma/tsingma/internal/bus"
	"github.com/tsingma/tsingma/internal/telemetry"
)

func ptr(f float64) *float64 { return &f }

func TestRateWinSlope(t *testing.T) {
	tests := []struct {
		name   string
		window time.Duration
		step   time.Duration
		n      int
		f      func(sec float64) float64
		want   float64 // per second, of the last window
		ok     bool
	}{
		{"linear", time.Hour, time.Minute, 120, func(s float64) float64 { return 3 + 0.01*s }, 0.01, true},
		{"falling", time.Hour, 7 * time.Second, 2000, func(s float64) float64 { return -0.5 * s }, -0.5, true},
		{"flat", 10 * time.Minute, time.Second, 1000, func(float64) float64 { return 42 }, 0, true},
		{"too short", time.Hour, time.Minute, 20, func(s float64) float64 { return s }, 0, false},
		// Far from the epoch and dense: the sums stay exact because each
		// bucket keeps times from its own start.
		{"dense", 10 * time.Second, 10 * time.Millisecond, 100000, func(s float64) float64 { return 1e6 + 2*s }, 2, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRateWin(tt.window.Milliseconds())
			t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
			for i := range tt.n {
				ts := t0 + int64(i)*tt.step.Milliseconds()
				r.add(ts, tt.f(float64(ts-t0)/1000))
			}
			got, ok := r.slope()
			if ok != tt.ok {
				t.Fatalf("got ok=%v, want %v", ok, tt.ok)
			}
			if ok && math.Abs(got-tt.want) > 1e-9*math.Max(1, math.Abs(tt.want)) {
				t.Errorf("got slope %.12g, want %g", got, tt.want)
			}
			if len(r.b) > rateBuckets+1 {
				t.Errorf("got %d buckets, want at most %d", len(r.b), rateBuckets+1)
			}
		})
	}
}

// The slope uses only the last window: a change of trend before it is
// forgotten.
func TestRateWinForgets(t *testing.T) {
	r := newRateWin(time.Hour.Milliseconds())
	for i := range 240 { // 4 h at 1 min: rising 1/min for 2 h, then flat
		v := float64(min(i, 120))
		r.add(int64(i)*60_000, v)
	}
	got, ok := r.slope()
	if !ok || math.Abs(got) > 1e-12 {
		t.Errorf("got slope %g (ok %v), want 0", got, ok)
	}
}

// For every operator and hysteresis, a value never both raises and
// clears, and with zero hysteresis every value does one or the other.
func TestCondRaiseClearExclusive(t *testing.T) {
	for _, op := range []string{OpGT, OpGE, OpLT, OpLE, OpOutside, OpInside} {
		for _, h := range []float64{0, 0.5, 2} {
			ru := Rule{Op: op, Hysteresis: h}
			if op == OpOutside || op == OpInside {
				ru.Low, ru.High = ptr(-5), ptr(5)
			} else {
				ru.Value = ptr(5)
			}
			c := compileCond(&ru)
			for x := -10.0; x <= 10; x += 0.25 {
				r, cl := c.raise(x), c.clear(x)
				if r && cl {
					t.Errorf("%s h=%g x=%g: raises and clears", op, h, x)
				}
				if h == 0 && !r && !cl {
					t.Errorf("%s h=0 x=%g: neither raises nor clears", op, x)
				}
			}
		}
	}
}

func TestDecodeRuleErrors(t *testing.T) {
	tests := []struct {
		name, doc string
		want      error
		field     string
	}{
		{"syntax", `{"id":`, ErrMalformed, ""},
		{"two values", `{"id":"a"} {}`, ErrMalformed, ""},
		{"unknown field", `{"channel":"x","colour":1}`, ErrMalformed, ""},
		{"big number", `{"type":"t","channel":"c","op":">","value":1e400,"severity":"info"}`, ErrMalformed, ""},
		{"huge threshold", `{"type":"t","channel":"c","op":">","value":1e300,"severity":"info"}`, ErrInvalid, "value"},
		{"no scope", `{"channel":"c","op":">","value":1,"severity":"info"}`, ErrInvalid, "type"},
		{"bad id", `{"id":"a b","type":"t","channel":"c","op":">","value":1,"severity":"info"}`, ErrInvalid, "id"},
		{"bad op", `{"type":"t","channel":"c","op":"==","value":1,"severity":"info"}`, ErrInvalid, "op"},
		{"value on band", `{"type":"t","channel":"c","op":"inside","low":1,"high":2,"value":1,"severity":"info"}`, ErrInvalid, "value"},
		{"band on value", `{"type":"t","channel":"c","op":">","value":1,"low":0,"severity":"info"}`, ErrInvalid, "low"},
		{"negative hysteresis", `{"type":"t","channel":"c","op":">","value":1,"hysteresis":-1,"severity":"info"}`, ErrInvalid, "hysteresis"},
		{"zero window", `{"type":"t","channel":"c","op":">","value":1,"rate":{"window":"0s"},"severity":"info"}`, ErrInvalid, "rate.window"},
		{"long hold", `{"type":"t","channel":"c","op":">","value":1,"for":"200h","severity":"info"}`, ErrInvalid, "for"},
		{"control chars", "{\"type\":\"t\",\"channel\":\"c\",\"op\":\">\",\"value\":1,\"severity\":\"info\",\"name\":\"a\\u0001\"}", ErrInvalid, "name"},
		{"too large", `{"description":"` + strings.Repeat("x", MaxRuleBytes) + `"}`, ErrMalformed, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeRule(strings.NewReader(tt.doc))
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			var ve *ValidationError
			if tt.field != "" && (!errors.As(err, &ve) || ve.Field != tt.field) {
				t.Errorf("got %v, want field %s", err, tt.field)
			}
		})
	}
}

func TestListAlertsFiltersAndCursor(t *testing.T) {
	h := newHarness(t, Config{})
	ctx := t.Context()
	for i := range 7 {
		tw := fmt.Sprintf("p%d", i)
		h.cat.add(tw, "piezometer")
		sev := Warning
		if i%2 == 0 {
			sev = Critical
		}
		if _, err := h.e.Raise(ctx, Signal{Source: "model:anomaly", ModelVersion: "1", Twin: tw, Channel: "porePressure", Severity: sev, Reason: "r"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []string{"2", "3"} {
		if _, err := h.e.Resolve(ctx, telemetry.DefaultTenant, id, Action{By: "ops"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := h.e.Ack(ctx, telemetry.DefaultTenant, "5", Action{By: "ops"}); err != nil {
		t.Fatal(err)
	}
	ids := func(q Query) []string {
		t.Helper()
		var out []string
		for {
			p, err := h.e.ListAlerts(ctx, telemetry.DefaultTenant, q)
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range p.Items {
				out = append(out, a.ID)
			}
			if p.Next == "" {
				return out
			}
			q.Cursor = p.Next
		}
	}
	tests := []struct {
		name string
		q    Query
		want []string
	}{
		{"all", Query{}, []string{"7", "6", "5", "4", "3", "2", "1"}},
		{"all paged", Query{Limit: 2}, []string{"7", "6", "5", "4", "3", "2", "1"}},
		{"open", Query{State: "open", Limit: 3}, []string{"7", "6", "5", "4", "1"}},
		{"cleared", Query{State: "cleared", Limit: 1}, []string{"3", "2"}},
		{"acknowledged", Query{State: "acknowledged"}, []string{"5"}},
		{"raised critical", Query{State: "raised", Severity: Critical}, []string{"7", "1"}},
		{"twin", Query{Twin: "p3"}, []string{"4"}},
		{"type", Query{Type: "piezometer", Limit: 4}, []string{"7", "6", "5", "4", "3", "2", "1"}},
		{"source class", Query{Source: "model"}, []string{"7", "6", "5", "4", "3", "2", "1"}},
		{"source exact", Query{Source: "model:landslide"}, nil},
		{"rules", Query{Source: "rule"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, ids(tt.q)); diff != "" {
				t.Errorf("ids (-want +got):\n%s", diff)
			}
		})
	}
	for _, q := range []Query{{State: "firing"}, {Severity: "bad"}, {Limit: 5000}, {Cursor: "x"}, {Cursor: "007"}} {
		if _, err := h.e.ListAlerts(ctx, telemetry.DefaultTenant, q); !errors.Is(err, ErrInvalid) {
			t.Errorf("ListAlerts(%+v): got %v, want ErrInvalid", q, err)
		}
	}
	// Other tenants see nothing.
	if p, err := h.e.ListAlerts(ctx, "other", Query{}); err != nil || len(p.Items) != 0 {
		t.Errorf("other tenant: got %d alerts, %v; want none", len(p.Items), err)
	}
	if _, err := h.e.GetAlert(ctx, "other", "1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("other tenant GetAlert: got %v, want ErrNotFound", err)
	}
}

func TestTenantIsolation(t *testing.T) {
	h := newHarness(t, Config{})
	ctx := t.Context()
	h.cat.add("g1", "rain-gauge")
	if _, err := h.e.CreateRule(ctx, "a", Rule{ID: "r", Type: "rain-gauge", Channel: "rainfall", Op: OpGT, Value: ptr(1), Severity: Info}); err != nil {
		t.Fatal(err)
	}
	h.e.Process([]telemetry.Sample{
		{Tenant: "b", Twin: "g1", Channel: "rainfall", Type: "rain-gauge", TS: 1, Value: 5},
		{Tenant: "a", Twin: "g1", Channel: "rainfall", Type: "rain-gauge", TS: 1, Value: 5},
	})
	pa, _ := h.e.ListAlerts(ctx, "a", Query{})
	pb, _ := h.e.ListAlerts(ctx, "b", Query{})
	if len(pa.Items) != 1 || len(pb.Items) != 0 {
		t.Errorf("got %d alerts in a and %d in b, want 1 and 0", len(pa.Items), len(pb.Items))
	}
	if rs := h.e.ListRules(ctx, "b"); len(rs) != 0 {
		t.Errorf("tenant b sees %d rules", len(rs))
	}
	for _, c := range h.take() {
		if c.Tenant != "a" {
			t.Errorf("change for tenant %q, want a", c.Tenant)
		}
	}
}

func TestPutRuleIfMatch(t *testing.T) {
	h := newHarness(t, Config{})
	ctx := t.Context()
	ru := Rule{ID: "r", Type: "vehicle", Channel: "speed", Op: OpGT, Value: ptr(120), Severity: Warning}
	if _, _, err := h.e.PutRule(ctx, "default", ru, 3); !errors.Is(err, ErrNotFound) {
		t.Fatalf("If-Match on a missing rule: got %v, want ErrNotFound", err)
	}
	got, created, err := h.e.PutRule(ctx, "default", ru, 0)
	if err != nil || !created || got.Version != 1 || got.Unit != "km/h" {
		t.Fatalf("got %+v created=%v err=%v; want version 1, created, unit km/h", got, created, err)
	}
	if _, _, err := h.e.PutRule(ctx, "default", ru, 2); !errors.Is(err, ErrConflict) {
		t.Fatalf("stale If-Match: got %v, want ErrConflict", err)
	}
	got, created, err = h.e.PutRule(ctx, "default", ru, 1)
	if err != nil || created || got.Version != 2 || !got.Created.Before(got.Updated) {
		t.Fatalf("got %+v created=%v err=%v; want version 2, replaced, created before updated", got, created, err)
	}
	rate := ru
	rate.Rate = &Rate{Window: Duration(10 * time.Minute)}
	if got, err := h.e.CreateRule(ctx, "default", Rule{Type: rate.Type, Channel: rate.Channel, Op: rate.Op, Value: rate.Value, Rate: rate.Rate, Severity: Info}); err != nil || got.Unit != "km/h/h" || got.Rate.Per != Duration(time.Hour) {
		t.Errorf("rate rule: got %+v, %v; want unit km/h/h and per 1h", got, err)
	}
}

func TestMaxRules(t *testing.T) {
	h := newHarness(t, Config{MaxRules: 2})
	ctx := t.Context()
	ru := Rule{Type: "vehicle", Channel: "speed", Op: OpGT, Value: ptr(120), Severity: Warning}
	for range 2 {
		if _, err := h.e.CreateRule(ctx, "default", ru); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := h.e.CreateRule(ctx, "default", ru); !errors.Is(err, ErrInvalid) {
		t.Fatalf("third rule: got %v, want ErrInvalid", err)
	}
	ru.ID = "rule-1" // replacing stays allowed
	if _, _, err := h.e.PutRule(ctx, "default", ru, 0); err != nil {
		t.Fatalf("replace at the limit: %v", err)
	}
	if _, err := h.e.CreateRule(ctx, "other", Rule{Type: "vehicle", Channel: "speed", Op: OpGT, Value: ptr(1), Severity: Info}); err != nil {
		t.Fatalf("the limit is per tenant: %v", err)
	}
}

func TestAdmitRefuses(t *testing.T) {
	h := newHarness(t, Config{Admit: func(_ context.Context, s Signal) error {
		if s.ModelVersion == "shadow" {
			return errors.New("not the champion")
		}
		return nil
	}})
	h.cat.add("p1", "piezometer")
	ctx := t.Context()
	_, err := h.e.Raise(ctx, Signal{Source: "model:anomaly", ModelVersion: "shadow", Twin: "p1", Severity: Critical, Reason: "always critical"})
	if !errors.Is(err, ErrRefused) {
		t.Fatalf("got %v, want ErrRefused", err)
	}
	if p, _ := h.e.ListAlerts(ctx, "default", Query{}); len(p.Items) != 0 {
		t.Errorf("a refused signal left %d alerts", len(p.Items))
	}
	if _, err := h.e.Raise(ctx, Signal{Source: "model:anomaly", ModelVersion: "champion", Twin: "p1", Severity: Critical, Reason: "r"}); err != nil {
		t.Errorf("champion refused: %v", err)
	}
}

func TestDefaultsSeededOnce(t *testing.T) {
	h := newHarness(t, Config{Defaults: DefaultRules()})
	ctx := t.Context()
	rules := h.e.ListRules(ctx, telemetry.DefaultTenant)
	if len(rules) != len(DefaultRules()) {
		var ids []string
		for _, r := range rules {
			ids = append(ids, r.ID)
		}
		t.Fatalf("got %d default rules %v, want %d (a channel is missing from the built-in types?)", len(rules), ids, len(DefaultRules()))
	}
	if err := h.e.DeleteRule(ctx, telemetry.DefaultTenant, "rain-black"); err != nil {
		t.Fatal(err)
	}
	h.reopen()
	if _, err := h.e.GetRule(ctx, telemetry.DefaultTenant, "rain-black"); !errors.Is(err, ErrNotFound) {
		t.Errorf("a deleted default came back: %v", err)
	}
	if got := len(h.e.ListRules(ctx, telemetry.DefaultTenant)); got != len(DefaultRules())-1 {
		t.Errorf("got %d rules after reopen, want %d", got, len(DefaultRules())-1)
	}
}

// The demo's black rainstorm (5-minute rainfall climbing past 6 mm) raises
// the default rule's alert with no set-up, and clears it as the rain eases.
func TestDefaultBlackRainstorm(t *testing.T) {
	h := newHarness(t, Config{Defaults: DefaultRules()})
	h.cat.add("rg-1", "rain-gauge")
	h.take()
	rain := []float64{0.5, 1, 2, 4, 6.2, 7.5, 8, 7, 6.5, 5, 3.5, 2, 1, 0.5, 0.2, 0}
	var got []string
	for i, v := range rain {
		h.sample("rg-1", "rainfall", time.Duration(i)*5*time.Minute, v)
		for _, c := range h.take() {
			got = append(got, fmt.Sprintf("%s@%dm", c.Action, i*5))
		}
	}
	// ≥ 6 mm from 20m, held 10 min → 30m; below 4 mm from 50m, held 15 min → 65m.
	if diff := cmp.Diff([]string{"raised@30m", "cleared@65m"}, got); diff != "" {
		t.Errorf("transitions (-want +got):\n%s", diff)
	}
}

func TestPruneHistory(t *testing.T) {
	h := newHarness(t, Config{MaxHistory: 10})
	ctx := t.Context()
	h.cat.add("p1", "piezometer")
	sig := Signal{Source: "model:anomaly", ModelVersion: "1", Twin: "p1", Severity: Info, Reason: "r"}
	for i := range 30 {
		sig.Key = fmt.Sprint(i % 3) // three stay open
		if _, err := h.e.Raise(ctx, sig); err != nil {
			t.Fatal(err)
		}
		if i < 27 {
			if _, _, err := h.e.Clear(ctx, sig); err != nil {
				t.Fatal(err)
			}
		}
	}
	p, err := h.e.ListAlerts(ctx, "default", Query{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Items) > 10 {
		t.Errorf("got %d alerts kept, want at most 10", len(p.Items))
	}
	open, _ := h.e.ListAlerts(ctx, "default", Query{State: "open"})
	if len(open.Items) != 3 {
		t.Errorf("got %d open alerts, want 3 (open alerts are never pruned)", len(open.Items))
	}
	h.reopen()
	if p2, _ := h.e.ListAlerts(ctx, "default", Query{Limit: 1000}); len(p2.Items) != len(p.Items) {
		t.Errorf("after reopen got %d alerts, want %d", len(p2.Items), len(p.Items))
	}
}

// The engine follows the bus: samples published there raise alerts, the
// changes are published back, and Close stops the goroutine (TestMain
// checks that nothing leaks).
func TestBusFollow(t *testing.T) {
	b := bus.New()
	h := newHarness(t, Config{Bus: b, Defaults: DefaultRules()})
	h.cat.add("cu-1", "cooling-unit")
	alerts := b.Subscribe(bus.SubscribeOptions{Filter: func(ev bus.Event) bool { return ev.Kind == "alert" }})
	defer alerts.Close()
	h.e.Start()
	h.e.Start() // idempotent
	t0 := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	for i := range 4 {
		b.PublishSamples([]telemetry.Sample{{Tenant: "default", Twin: "cu-1", Channel: "outletTemperature", Type: "cooling-unit", TS: t0.Add(time.Duration(i) * time.Minute).UnixMilli(), Value: 28 + float64(i)}})
	}
	select {
	case ev := <-alerts.C:
		c := ev.Data.(Change)
		if c.Action != "raised" || c.Alert.Rule != "cooling-supply-hot" || ev.Tenant != "default" {
			t.Errorf("got %s %+v, want raised by cooling-supply-hot", c.Action, c.Alert)
		}
		if id, typ := c.TwinRef(); id != "cu-1" || typ != "cooling-unit" {
			t.Errorf("TwinRef = %s, %s", id, typ)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no alert event within 30s")
	}
	if err := h.e.Close(); err != nil {
		t.Fatal(err)
	}
	if err := h.e.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := h.e.ListAlerts(t.Context(), "default", Query{}); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: got %v, want ErrClosed", err)
	}
	var sb strings.Builder
	h.e.WriteMetrics(&sb)
	for _, want := range []string{`tsingma_alerts_raised_total{source="rule"} 1`, `tsingma_alerts_open{severity="critical"} 1`, "tsingma_alert_rules 8"} {
		if !strings.Contains(sb.String(), want+"\n") {
			t.Errorf("metrics lack %q:\n%s", want, sb.String())
		}
	}
}

// The bus follower, models, operators and the metrics scraper work at
// once; -race checks the locking, and the end state must be consistent.
func TestConcurrentUse(t *testing.T) {
	b := bus.New()
	h := newHarness(t, Config{Bus: b, Defaults: DefaultRules()})
	ctx := t.Context()
	for i := range 20 {
		h.cat.add(fmt.Sprintf("v%d", i), "vehicle")
	}
	h.e.Start()
	var wg sync.WaitGroup
	wg.Go(func() { // telemetry: every vehicle overheats for 5 minutes
		for m := range 6 {
			var batch []telemetry.Sample
			for i := range 20 {
				batch = append(batch, telemetry.Sample{Tenant: "default", Twin: fmt.Sprintf("v%d", i), Channel: "engineTemperature", Type: "vehicle", TS: int64(m) * 60_000, Value: 120})
			}
			b.PublishSamples(batch)
		}
	})
	wg.Go(func() { // a model
		for i := range 20 {
			if _, err := h.e.Raise(ctx, Signal{Source: "model:anomaly", ModelVersion: "1", Twin: fmt.Sprintf("v%d", i), Channel: "speed", Severity: Warning, Reason: "r"}); err != nil {
				t.Error(err)
			}
		}
	})
	wg.Go(func() { // an operator acknowledging whatever is open
		for range 50 {
			p, err := h.e.ListAlerts(ctx, "default", Query{State: "raised"})
			if err != nil {
				t.Error(err)
				return
			}
			for _, a := range p.Items {
				if _, err := h.e.Ack(ctx, "default", a.ID, Action{By: "op"}); err != nil && !errors.Is(err, ErrState) {
					t.Error(err)
				}
			}
		}
	})
	wg.Go(func() { // the metrics scraper
		for range 50 {
			h.e.WriteMetrics(io.Discard)
		}
	})
	wg.Wait()
	// Wait (with a deadline) for the follower to raise the 20 engine alerts.
	deadline := time.Now().Add(30 * time.Second)
	for {
		p, err := h.e.ListAlerts(ctx, "default", Query{Source: "rule:vehicle-engine-hot"})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Items) == 20 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("got %d engine alerts, want 20", len(p.Items))
		}
		time.Sleep(10 * time.Millisecond)
	}
	p, err := h.e.ListAlerts(ctx, "default", Query{State: "open"})
	if err != nil || len(p.Items) != 40 {
		t.Fatalf("got %d open alerts (%v), want 40: one per vehicle per source", len(p.Items), err)
	}
}

// A model repeating the same signal is written and published at most once
// per UpdateEvery; a material change (severity) goes out at once.
func TestModelUpdatesCoalesced(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	tick := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	h := newHarness(t, Config{Now: clock, UpdateEvery: 10 * time.Second})
	h.cat.add("p1", "piezometer")
	ctx := t.Context()
	sig := Signal{Source: "model:anomaly", ModelVersion: "1", Twin: "p1", Channel: "porePressure", Severity: Warning, Reason: "r"}
	var actions []string
	for i := range 30 { // one a second for 30 s
		if i == 25 {
			sig.Severity = Critical
		}
		if _, err := h.e.Raise(ctx, sig); err != nil {
			t.Fatal(err)
		}
		for _, c := range h.take() {
			actions = append(actions, fmt.Sprintf("%s@%d", c.Action, i))
		}
		tick(time.Second)
	}
	want := []string{"raised@0", "updated@10", "updated@20", "updated@25"}
	if diff := cmp.Diff(want, actions); diff != "" {
		t.Errorf("published changes (-want +got):\n%s", diff)
	}
	if a, err := h.e.GetAlert(ctx, "default", "1"); err != nil || a.Count != 30 {
		t.Errorf("got count %d (%v), want 30 (every raise is counted)", a.Count, err)
	}
}

// TestMaxGapRestartsHolds: with maxGap, a silence longer than it restarts
// a hold: a gauge at 35 mm that falls silent for six hours does not meet
// "for 1h" with its first sample back, but an hour of samples after it
// does; the clearing hold likewise. Without maxGap the hold runs across
// the silence, as before.
func TestMaxGapRestartsHolds(t *testing.T) {
	const min = int64(60_000)
	feed := func(maxGap time.Duration, samples [][2]float64) []transition {
		ru := Rule{Op: OpGE, Value: ptr(30), For: Duration(time.Hour), ClearFor: Duration(30 * time.Minute), MaxGap: Duration(maxGap), Severity: Warning}
		k := compile(ru)
		var st state
		var out []transition
		for _, s := range samples {
			tr, _, _ := st.step(k, Evidence{TS: int64(s[0]) * min, Value: s[1]}, 4)
			out = append(out, tr)
		}
		return out
	}
	// 35 mm at 0, silence, 35 at 360 min, then every 10 min to 420.
	rain := [][2]float64{{0, 35}, {360, 35}, {370, 35}, {380, 35}, {390, 35}, {400, 35}, {410, 35}, {420, 35}}
	if got := feed(0, rain); got[1] != fire {
		t.Fatalf("without maxGap: %v, want fire at the first sample back", got)
	}
	got := feed(15*time.Minute, rain)
	for i, tr := range got[:len(got)-1] {
		if tr == fire {
			t.Fatalf("with maxGap 15m: fired at sample %d (%v)", i, got)
		}
	}
	if got[len(got)-1] != fire {
		t.Fatalf("with maxGap 15m: %v, want fire an hour after the silence", got)
	}
	// Clearing: fired, then dry at 430, silence, dry at 600 and 610.
	clearing := append(append([][2]float64{}, rain...), [2]float64{430, 0}, [2]float64{600, 0}, [2]float64{610, 0}, [2]float64{620, 0}, [2]float64{630, 0})
	got = feed(15*time.Minute, clearing)
	if slices.Contains(got[8:12], clearNow) || got[12] != clearNow {
		t.Fatalf("clearing with maxGap 15m: %v, want the clear 30 min after the silence", got)
	}
}

// TestApply: a batch of raises and clears does what the calls one by one
// would, in order, with each op's own error, and what it changed is
// persisted and published.
func TestApply(t *testing.T) {
	h := newHarness(t, Config{Admit: func(_ context.Context, s Signal) error {
		if s.ModelVersion == "shadow" {
			return errors.New("not the champion")
		}
		return nil
	}})
	for _, id := range []string{"p1", "p2", "p3"} {
		h.cat.add(id, "piezometer")
	}
	ctx := t.Context()
	sig := func(tw, version string) Signal {
		return Signal{Source: "model:anomaly", ModelVersion: version, Twin: tw, Channel: "porePressure", Severity: Warning, Reason: "r"}
	}
	bad := sig("p2", "1")
	bad.Source = "anomaly" // not model:<name>
	errs := h.e.Apply(ctx, []SignalOp{
		{Signal: sig("p1", "1")},
		{Signal: bad},
		{Signal: sig("p2", "shadow")},
		{Signal: sig("p3", "1"), Clear: true}, // nothing open yet: no change
		{Signal: sig("p3", "1")},
		{Signal: sig("p1", "1"), Clear: true},
	})
	if len(errs) != 6 {
		t.Fatalf("got %d errors, want one an op", len(errs))
	}
	for i, want := range []error{nil, ErrInvalid, ErrRefused, nil, nil, nil} {
		if (want == nil) != (errs[i] == nil) || (want != nil && !errors.Is(errs[i], want)) {
			t.Errorf("op %d: got %v, want %v", i, errs[i], want)
		}
	}
	var got []string
	for _, c := range h.take() {
		got = append(got, c.Action+" "+c.Alert.Twin)
	}
	if diff := cmp.Diff([]string{"raised p1", "raised p3", "cleared p1"}, got); diff != "" {
		t.Errorf("published changes (-want +got):\n%s", diff)
	}
	h.reopen()
	p, err := h.e.ListAlerts(ctx, "default", Query{})
	if err != nil {
		t.Fatal(err)
	}
	state := map[string]State{}
	for _, a := range p.Items {
		state[a.Twin] = a.State
	}
	if diff := cmp.Diff(map[string]State{"p1": Cleared, "p3": Raised}, state); diff != "" {
		t.Errorf("alerts after a reopen (-want +got):\n%s", diff)
	}
	h.e.Close()
	if errs := h.e.Apply(ctx, []SignalOp{{Signal: sig("p1", "1")}}); !errors.Is(errs[0], ErrClosed) {
		t.Errorf("closed engine: got %v, want ErrClosed", errs[0])
	}
	h.open() // for the harness's own Close
}
