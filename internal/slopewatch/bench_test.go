package slopewatch

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/tsingma/tsingma/internal/bus"
	"github.com/tsingma/tsingma/internal/telemetry"
	"github.com/tsingma/tsingma/internal/twin"
)

// bigCatalog is a synthetic territory: n slopes and g gauges over about
// 40 × 30 km, served from memory.
type bigCatalog struct{ slopes, gauges []twin.Twin }

func newBigCatalog(n, g int) *bigCatalog {
	r := rand.New(rand.NewPCG(5, 6))
	c := &bigCatalog{}
	for i := range n {
		lon, lat := 113.9+0.4*r.Float64(), 22.2+0.27*r.Float64()
		c.slopes = append(c.slopes, twin.Twin{ID: fmt.Sprintf("s%06d", i), Type: TypeSlope, Geometry: square(lon, lat), Properties: randomSlope(r)})
	}
	for i := range g {
		c.gauges = append(c.gauges, twin.Twin{ID: fmt.Sprintf("g%03d", i), Type: TypeRainGauge,
			Geometry: &twin.Geometry{Type: "Point", Point: twin.Position{113.9 + 0.4*r.Float64(), 22.2 + 0.27*r.Float64()}}})
	}
	return c
}

func (c *bigCatalog) Tenants() []string { return []string{telemetry.DefaultTenant} }

func (c *bigCatalog) Query(_ context.Context, _ string, q twin.Query) (twin.Page, error) {
	switch q.Type {
	case TypeSlope:
		return twin.Page{Items: c.slopes}, nil
	case TypeRainGauge:
		return twin.Page{Items: c.gauges}, nil
	}
	return twin.Page{}, nil
}

func (c *bigCatalog) GetType(context.Context, string, string) (twin.Type, error) {
	types, err := twin.BuiltinTypes()
	if err != nil {
		return twin.Type{}, err
	}
	for _, t := range types {
		if t.Name == TypeSlope {
			return t, nil
		}
	}
	return twin.Type{}, twin.ErrNotFound
}

// BenchmarkInterval60k: one wet 5-minute interval closed for 60,000 slopes
// and 120 gauges in the 3rd hour of a storm (gauge sums, IDW, Engine
// period and evaluation, assessment, series, snapshot). Metric s/interval.
func BenchmarkInterval60k(b *testing.B) {
	cat := newBigCatalog(60000, 120)
	s, err := New(Config{Twins: cat, Bus: bus.New(), Store: &discardStore{}})
	if err != nil {
		b.Fatal(err)
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	defer s.cancel()
	s.newTenant(telemetry.DefaultTenant)
	s.rebuildDirty()
	step := 0
	feed := func() {
		mm := map[string]float64{}
		for i, g := range cat.gauges {
			mm[g.ID] = 2 + float64((step+i)%7)
		}
		s.handle(bus.Event{Kind: "samples", Tenant: telemetry.DefaultTenant, Samples: rainBatch(step, mm)})
		step++
	}
	for range 12 * 2 {
		feed()
	}
	b.ResetTimer()
	start := time.Now()
	n := 0
	for b.Loop() {
		feed()
		n++
	}
	b.ReportMetric(time.Since(start).Seconds()/float64(n), "s/interval")
}

type discardStore struct{}

func (discardStore) Append(_ context.Context, s []telemetry.Sample) ([]telemetry.Status, error) {
	return nil, nil
}

func (discardStore) Range(context.Context, telemetry.Key, int64, int64, func(int64, float64) bool) error {
	return nil
}
