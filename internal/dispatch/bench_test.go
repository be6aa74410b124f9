package dispatch

import (
	"fmt"
	"testing"
	"time"

	"github.com/tsingma/tsingma/internal/telemetry"
	"github.com/tsingma/tsingma/internal/twin"
)

// BenchmarkEvaluateWarehouse: 24 stock items with a year of daily demand
// (the demo warehouse's size), one evaluation with series and alerts.
func BenchmarkEvaluateWarehouse(b *testing.B) {
	tw := &fakeTwins{tw: []twin.Twin{{ID: "wh", Type: "warehouse"}}}
	ser := &fakeSeries{}
	now := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	for i := range 24 {
		id := fmt.Sprintf("sku-%02d", i)
		tw.tw = append(tw.tw, twin.Twin{ID: id, Type: "stock-item", Relationships: map[string][]string{"storedAt": {"wh"}}})
		for d := 365; d >= 1; d-- {
			ser.add(telemetry.Key{Tenant: "t", Twin: id, Channel: "demand"}, now.Add(-time.Duration(d)*24*time.Hour).UnixMilli(), float64(40+(d*7+i)%23))
		}
		ser.add(telemetry.Key{Tenant: "t", Twin: id, Channel: "stockLevel"}, now.Add(-time.Minute).UnixMilli(), 100)
	}
	m, err := NewMonitor(MonitorConfig{Twins: tw, Tenants: tw, Store: ser, Alerts: &fakeAlerts{}, Now: func() time.Time { return now }})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.evaluate(b.Context(), "t", "wh", false); err != nil {
			b.Fatal(err)
		}
	}
}
