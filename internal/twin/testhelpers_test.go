package twin

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// clock is a settable time source for deterministic Created/Updated.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

// openTest opens a registry in a temporary directory, closed at cleanup.
func openTest(t testing.TB, cfg Config) *Registry {
	t.Helper()
	if cfg.Path == "" {
		cfg.Path = filepath.Join(t.TempDir(), "twins.db")
	}
	if cfg.Now == nil {
		c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
		cfg.Now = c.now
	}
	r, err := Open(cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := r.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return r
}

func ptr(f float64) *float64 { return &f }

func point(lon, lat float64) *Geometry {
	return &Geometry{Type: KindPoint, Point: Position{lon, lat}}
}

func square(lon, lat, d float64) *Geometry {
	return &Geometry{Type: KindPolygon, Polygon: [][]Position{{
		{lon, lat}, {lon + d, lat}, {lon + d, lat + d}, {lon, lat + d}, {lon, lat},
	}}}
}

func mustCreate(t testing.TB, r *Registry, tenant string, tw Twin) Twin {
	t.Helper()
	out, err := r.Create(context.Background(), tenant, tw)
	if err != nil {
		t.Fatalf("Create %s: %v", tw.ID, err)
	}
	return out
}

// fixture creates two slopes, two piezometers on slope s1 and a rain
// gauge on both slopes, in the default tenant.
func fixture(t testing.TB, r *Registry) {
	t.Helper()
	mustCreate(t, r, DefaultTenant, Twin{ID: "s1", Type: "slope", Name: "Po Shan", Geometry: square(114.14, 22.27, 0.01),
		Properties: map[string]any{"height": 30.0, "soil": "colluvium", "cohesion": 5.0}, Labels: map[string]string{"district": "central"}})
	mustCreate(t, r, DefaultTenant, Twin{ID: "s2", Type: "slope", Name: "Kwun Lung", Geometry: square(114.20, 22.30, 0.01),
		Properties: map[string]any{"height": 12.5, "soil": "fill"}, Labels: map[string]string{"district": "east"}})
	mustCreate(t, r, DefaultTenant, Twin{ID: "p1", Type: "piezometer", Name: "P1", Geometry: point(114.145, 22.275),
		Relationships: map[string][]string{"on": {"s1"}}, Properties: map[string]any{"depth": 8.0}})
	mustCreate(t, r, DefaultTenant, Twin{ID: "p2", Type: "piezometer", Name: "P2", Geometry: point(114.146, 22.276),
		Relationships: map[string][]string{"on": {"s1"}}})
	mustCreate(t, r, DefaultTenant, Twin{ID: "rg1", Type: "rain-gauge", Name: "RG1", Geometry: point(114.17, 22.28),
		Relationships: map[string][]string{"on": {"s1", "s2"}}, Labels: map[string]string{"district": "central"}})
}

// state is everything observable in a registry, for equality checks.
type state struct {
	Tenants []string
	Types   map[string][]Type
	Twins   map[string][]Twin
}

func snapshot(t testing.TB, r *Registry) state {
	t.Helper()
	s := state{Tenants: r.Tenants(), Types: map[string][]Type{}, Twins: map[string][]Twin{}}
	for _, tn := range s.Tenants {
		s.Types[tn] = r.ListTypes(context.Background(), tn)
		q := Query{Limit: MaxLimit}
		for {
			p, err := r.Query(context.Background(), tn, q)
			if err != nil {
				t.Fatalf("snapshot query: %v", err)
			}
			s.Twins[tn] = append(s.Twins[tn], p.Items...)
			if p.Next == "" {
				break
			}
			q.Cursor = p.Next
		}
	}
	return s
}

func assertSnapshot(t testing.TB, r *Registry, want state) {
	t.Helper()
	if diff := cmp.Diff(want, snapshot(t, r)); diff != "" {
		t.Errorf("registry state changed (-want +got):\n%s", diff)
	}
}
