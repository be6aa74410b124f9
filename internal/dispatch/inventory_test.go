package dispatch

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tsingma/tsingma/internal/alert"
	"github.com/tsingma/tsingma/internal/store"
	"github.com/tsingma/tsingma/internal/telemetry"
	"github.com/tsingma/tsingma/internal/twin"
)

// fakeTwins answers Get and the queries dispatch makes (by type, and by
// relationship into a twin).
type fakeTwins struct{ tw []twin.Twin }

func (f *fakeTwins) Get(_ context.Context, _, id string) (twin.Twin, error) {
	for _, t := range f.tw {
		if t.ID == id {
			return t, nil
		}
	}
	return twin.Twin{}, fmt.Errorf("%w: %s", twin.ErrNotFound, id)
}

func (f *fakeTwins) Query(_ context.Context, _ string, q twin.Query) (twin.Page, error) {
	var p twin.Page
	for _, t := range f.tw {
		if q.Type != "" && t.Type != q.Type {
			continue
		}
		if q.From != "" {
			found := false
			for _, to := range t.Relationships[q.Rel] {
				found = found || to == q.From
			}
			if !found {
				continue
			}
		}
		p.Items = append(p.Items, t)
	}
	return p, nil
}

func (f *fakeTwins) Tenants() []string { return []string{telemetry.DefaultTenant} }

// fakeSeries is an in-memory store.
type fakeSeries struct {
	mu  sync.Mutex
	pts map[telemetry.Key][][2]float64
}

func (s *fakeSeries) add(k telemetry.Key, ts int64, v float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pts == nil {
		s.pts = map[telemetry.Key][][2]float64{}
	}
	s.pts[k] = append(s.pts[k], [2]float64{float64(ts), v})
}

func (s *fakeSeries) Range(_ context.Context, k telemetry.Key, mint, maxt int64, fn func(int64, float64) bool) error {
	s.mu.Lock()
	pts, ok := s.pts[k]
	s.mu.Unlock()
	if !ok {
		return store.ErrNoSeries
	}
	for _, p := range pts {
		if ts := int64(p[0]); ts >= mint && ts <= maxt && !fn(ts, p[1]) {
			break
		}
	}
	return nil
}

func (s *fakeSeries) Append(_ context.Context, samples []telemetry.Sample) ([]telemetry.Status, error) {
	for _, x := range samples {
		s.add(x.Key(), x.TS, x.Value)
	}
	return make([]telemetry.Status, len(samples)), nil
}

type fakeAlerts struct {
	mu             sync.Mutex
	raised, clears []alert.Signal
}

func (a *fakeAlerts) Raise(_ context.Context, s alert.Signal) (alert.Alert, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.raised = append(a.raised, s)
	return alert.Alert{}, nil
}

func (a *fakeAlerts) Clear(_ context.Context, s alert.Signal) (alert.Alert, bool, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.clears = append(a.clears, s)
	return alert.Alert{}, true, nil
}

func TestInventoryRaisesAndClearsReorder(t *testing.T) {
	tw := &fakeTwins{tw: []twin.Twin{
		{ID: "wh", Type: "warehouse"},
		{ID: "sku-x", Type: "stock-item", Properties: map[string]any{"sku": "x", "leadTime": 3.0}, Relationships: map[string][]string{"storedAt": {"wh"}}},
		{ID: "sku-new", Type: "stock-item", Properties: map[string]any{"sku": "new"}, Relationships: map[string][]string{"storedAt": {"wh"}}},
	}}
	ser := &fakeSeries{}
	al := &fakeAlerts{}
	now := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	m, err := NewMonitor(MonitorConfig{Twins: tw, Tenants: tw, Store: ser, Alerts: al, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	demand := telemetry.Key{Tenant: telemetry.DefaultTenant, Twin: "sku-x", Channel: "demand"}
	level := telemetry.Key{Tenant: telemetry.DefaultTenant, Twin: "sku-x", Channel: "stockLevel"}
	// 10 weeks of demand with a weekly pattern: 50 on weekdays, 20 at weekends.
	for d := 70; d >= 1; d-- {
		v := 50.0
		if d%7 < 2 {
			v = 20
		}
		ser.add(demand, now.Add(-time.Duration(d)*24*time.Hour).UnixMilli(), v)
	}
	step := func(lv float64) ItemView {
		t.Helper()
		now = now.Add(time.Hour)
		ser.add(level, now.Add(-time.Minute).UnixMilli(), lv)
		v, err := m.Evaluate(t.Context(), telemetry.DefaultTenant, "wh")
		if err != nil {
			t.Fatal(err)
		}
		if len(v.Items) != 2 || v.Items[1].Status != "no-history" {
			t.Fatalf("got items %+v, want sku-x evaluated and sku-new without history", v.Items)
		}
		return v.Items[0]
	}
	it := step(1000) // plenty
	if it.Reorder || len(al.raised) != 0 {
		t.Fatalf("got %+v and %d alerts, want no reorder at 1000", it, len(al.raised))
	}
	// About 41/day over 3 days is ~125 plus safety stock.
	if it.ReorderPoint < 110 || it.ReorderPoint > 400 || it.Method == "" || it.StockoutRisk > 0.01 {
		t.Fatalf("got %+v, want a reorder point near 3 days of demand plus safety stock", it)
	}
	it = step(60) // below the reorder point
	if !it.Reorder || it.Order <= 0 || it.StockoutRisk < 0.5 {
		t.Fatalf("got %+v, want a reorder suggestion with a high stock-out risk", it)
	}
	if len(al.raised) != 1 || al.raised[0].Twin != "sku-x" || al.raised[0].ModelVersion != InventoryVersion || al.raised[0].Source != "model:inventory" ||
		!strings.Contains(al.raised[0].Reason, "reorder point") {
		t.Fatalf("got raised %+v, want one reorder alert on sku-x", al.raised)
	}
	step(50) // still low: no second alert
	if len(al.raised) != 1 {
		t.Fatalf("got %d raises, want the alert raised once", len(al.raised))
	}
	nc := len(al.clears)
	step(900) // restocked
	if len(al.clears) != nc+1 || al.clears[nc].Twin != "sku-x" || al.clears[nc].Key != "reorder" {
		t.Fatalf("got clears %+v, want the reorder alert cleared on restock", al.clears)
	}
	rp := telemetry.Key{Tenant: telemetry.DefaultTenant, Twin: "sku-x", Channel: ChannelReorderPoint}
	n := 0
	if err := ser.Range(t.Context(), rp, 0, now.UnixMilli(), func(int64, float64) bool { n++; return true }); err != nil || n != 4 {
		t.Fatalf("got %d %s points (%v), want one per evaluation", n, ChannelReorderPoint, err)
	}
	// A read a while later computes afresh without side effects.
	now = now.Add(time.Hour)
	ser.add(level, now.Add(-time.Minute).UnixMilli(), 10)
	v, err := m.Warehouse(t.Context(), telemetry.DefaultTenant, "wh")
	if err != nil || !v.Items[0].Reorder {
		t.Fatalf("got %+v, %v; want a fresh view suggesting a reorder", v, err)
	}
	n = 0
	_ = ser.Range(t.Context(), rp, 0, now.UnixMilli(), func(int64, float64) bool { n++; return true })
	if n != 4 || len(al.raised) != 1 {
		t.Fatalf("a read wrote %d points and raised %d alerts, want 4 and 1 (unchanged)", n, len(al.raised))
	}
}

func TestMonitorStartClose(t *testing.T) {
	tw := &fakeTwins{tw: []twin.Twin{{ID: "wh", Type: "warehouse"}}}
	m, err := NewMonitor(MonitorConfig{Twins: tw, Tenants: tw, Store: &fakeSeries{}})
	if err != nil {
		t.Fatal(err)
	}
	m.Start()
	v, err := m.Warehouse(t.Context(), telemetry.DefaultTenant, "wh")
	if err != nil || v.Warehouse != "wh" {
		t.Fatalf("got %+v, %v", v, err)
	}
	m.Close()
	m.Close()
}
