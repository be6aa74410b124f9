package twin

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
)

// region of the generated twins: about 70 km x 55 km.
const (
	benchMinLon, benchMaxLon = 113.8, 114.5
	benchMinLat, benchMaxLat = 22.1, 22.6
)

// benchRegistry loads n generated twins: 80% points (piezometers,
// vehicles), 20% small polygons (slopes, 20-200 m across), positions
// uniform over the region.
func benchRegistry(b *testing.B, n int) *Registry {
	b.Helper()
	r := openTest(b, Config{})
	rng := rand.New(rand.NewPCG(1, 2))
	ctx := context.Background()
	batch := make([]Twin, 0, 5000)
	flush := func() {
		for i, err := range r.BulkUpsert(ctx, DefaultTenant, batch) {
			if err != nil {
				b.Fatalf("item %d: %v", i, err)
			}
		}
		batch = batch[:0]
	}
	for i := range n {
		lon := benchMinLon + rng.Float64()*(benchMaxLon-benchMinLon)
		lat := benchMinLat + rng.Float64()*(benchMaxLat-benchMinLat)
		var tw Twin
		switch i % 10 {
		case 0, 1:
			tw = Twin{ID: fmt.Sprintf("s%06d", i), Type: "slope", Geometry: square(lon, lat, 0.0002+rng.Float64()*0.0018),
				Properties: map[string]any{"height": rng.Float64() * 50}}
		case 2, 3, 4:
			tw = Twin{ID: fmt.Sprintf("v%06d", i), Type: "vehicle", Geometry: point(lon, lat)}
		default:
			tw = Twin{ID: fmt.Sprintf("p%06d", i), Type: "piezometer", Geometry: point(lon, lat),
				Labels: map[string]string{"batch": fmt.Sprint(i % 7)}}
		}
		batch = append(batch, tw)
		if len(batch) == cap(batch) {
			flush()
		}
	}
	flush()
	return r
}

// benchBoxes returns random query boxes of side size degrees.
func benchBoxes(size float64) []Rect {
	rng := rand.New(rand.NewPCG(3, 4))
	boxes := make([]Rect, 1024)
	for i := range boxes {
		lon := benchMinLon + rng.Float64()*(benchMaxLon-benchMinLon-size)
		lat := benchMinLat + rng.Float64()*(benchMaxLat-benchMinLat-size)
		boxes[i] = Rect{Min: [2]float64{lon, lat}, Max: [2]float64{lon + size, lat + size}}
	}
	return boxes
}

// BenchmarkQueryBBox: bbox queries over 100,000 twins, through the R-tree
// and, for comparison, by a scan of every twin with the same exact test.
// Box side 0.01 deg (about 1 km) and 0.05 deg (about 5 km).
func BenchmarkQueryBBox(b *testing.B) {
	r := benchRegistry(b, 100_000)
	ctx := context.Background()
	for _, size := range []float64{0.01, 0.05} {
		boxes := benchBoxes(size)
		b.Run(fmt.Sprintf("rtree/side=%g", size), func(b *testing.B) {
			b.ReportAllocs()
			hits, i := 0, 0
			for b.Loop() {
				box := boxes[i%len(boxes)]
				p, err := r.Query(ctx, DefaultTenant, Query{BBox: &box, Limit: MaxLimit})
				if err != nil {
					b.Fatal(err)
				}
				hits += len(p.Items)
				i++
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(i), "ns/query")
			b.ReportMetric(float64(hits)/float64(i), "hits/query")
		})
		b.Run(fmt.Sprintf("scan/side=%g", size), func(b *testing.B) {
			hits, i := 0, 0
			for b.Loop() {
				box := boxes[i%len(boxes)]
				r.mu.RLock()
				for _, tw := range r.tenants[DefaultTenant].twins {
					if tw.Geometry != nil && tw.Geometry.IntersectsRect(box) {
						hits++
					}
				}
				r.mu.RUnlock()
				i++
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(i), "ns/query")
			b.ReportMetric(float64(hits)/float64(i), "hits/query")
		})
	}
	b.Run("near/r=500m", func(b *testing.B) {
		boxes := benchBoxes(0.01)
		b.ReportAllocs()
		hits, i := 0, 0
		for b.Loop() {
			c := boxes[i%len(boxes)].Min
			p, err := r.Query(ctx, DefaultTenant, Query{Near: &Near{Lon: c[0], Lat: c[1], Radius: 500}, Limit: MaxLimit})
			if err != nil {
				b.Fatal(err)
			}
			hits += len(p.Items)
			i++
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(i), "ns/query")
		b.ReportMetric(float64(hits)/float64(i), "hits/query")
	})
}

// BenchmarkChannel is the telemetry validation lookup.
func BenchmarkChannel(b *testing.B) {
	r := benchRegistry(b, 10_000)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Channel(DefaultTenant, "p000009", "porePressure"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkConcurrentCreate: 16 goroutines creating twins one call each;
// reports twins per commit (how many writers shared each fsync).
func BenchmarkConcurrentCreate(b *testing.B) {
	r := openTest(b, Config{})
	ctx := context.Background()
	const writers = 16
	start := r.Stats()
	n := 0
	for b.Loop() {
		var wg sync.WaitGroup
		for w := range writers {
			id := fmt.Sprintf("c%d-%d", n, w)
			wg.Go(func() {
				if _, err := r.Create(ctx, DefaultTenant, Twin{ID: id, Type: "vehicle", Geometry: point(114, 22)}); err != nil {
					b.Error(err)
				}
			})
		}
		wg.Wait()
		n++
	}
	st := r.Stats()
	b.ReportMetric(float64(st.Ops-start.Ops)/float64(st.Commits-start.Commits), "writes/commit")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n*writers), "ns/write")
}

// BenchmarkBulkUpsert: 5,000 twins per call, one transaction.
func BenchmarkBulkUpsert(b *testing.B) {
	r := openTest(b, Config{})
	ctx := context.Background()
	tws := make([]Twin, 5000)
	n := 0
	for b.Loop() {
		for i := range tws {
			tws[i] = Twin{ID: fmt.Sprintf("b%d-%d", n, i), Type: "vehicle", Geometry: point(114+float64(i)*1e-5, 22)}
		}
		for _, err := range r.BulkUpsert(ctx, DefaultTenant, tws) {
			if err != nil {
				b.Fatal(err)
			}
		}
		n++
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n*len(tws)), "ns/twin")
}
