package slopewatch

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/tsingma/tsingma/internal/alert"
	"github.com/tsingma/tsingma/internal/bus"
	"github.com/tsingma/tsingma/internal/telemetry"
	"github.com/tsingma/tsingma/internal/testenv"
	"github.com/tsingma/tsingma/internal/twin"
)

func TestMain(m *testing.M) { testenv.MainWithLeakCheck(m) }

// emptyCatalog has no tenants and no twins.
type emptyCatalog struct{}

func (emptyCatalog) Tenants() []string { return nil }
func (emptyCatalog) Query(context.Context, string, twin.Query) (twin.Page, error) {
	return twin.Page{}, nil
}
func (emptyCatalog) GetType(context.Context, string, string) (twin.Type, error) {
	return twin.Type{}, twin.ErrNotFound
}

type fakeStore struct {
	mu      sync.Mutex
	samples []telemetry.Sample
}

func (f *fakeStore) Append(_ context.Context, s []telemetry.Sample) ([]telemetry.Status, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.samples = append(f.samples, s...)
	return nil, nil
}

func (f *fakeStore) Range(_ context.Context, k telemetry.Key, mint, maxt int64, fn func(int64, float64) bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range f.samples {
		if s.Key() == k && s.TS >= mint && s.TS <= maxt && !fn(s.TS, s.Value) {
			return nil
		}
	}
	return nil
}

func (f *fakeStore) series(twinID, ch string) []telemetry.Sample {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []telemetry.Sample
	for _, s := range f.samples {
		if s.Twin == twinID && s.Channel == ch {
			out = append(out, s)
		}
	}
	return out
}

type fakeAlerts struct {
	mu      sync.Mutex
	raised  []alert.Signal
	cleared []alert.Signal
}

func (f *fakeAlerts) Raise(_ context.Context, s alert.Signal) (alert.Alert, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.raised = append(f.raised, s)
	return alert.Alert{}, nil
}

func (f *fakeAlerts) Clear(_ context.Context, s alert.Signal) (alert.Alert, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cleared = append(f.cleared, s)
	return alert.Alert{}, true, nil
}

func (f *fakeAlerts) forTwin(id string) []alert.Signal {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []alert.Signal
	for _, s := range f.raised {
		if s.Twin == id {
			out = append(out, s)
		}
	}
	return out
}

// slopeSpec is a test slope: a square of ~40 m at (lon, lat).
type slopeSpec struct {
	id       string
	lon, lat float64
	props    map[string]any
}

type gaugeSpec struct {
	id       string
	lon, lat float64
}

func square(lon, lat float64) *twin.Geometry {
	d := 0.0002
	return &twin.Geometry{Type: "Polygon", Polygon: [][]twin.Position{{{lon - d, lat - d}, {lon + d, lat - d}, {lon + d, lat + d}, {lon - d, lat + d}, {lon - d, lat - d}}}}
}

func openRegistry(t *testing.T, b *bus.Bus, slopes []slopeSpec, gauges []gaugeSpec, sensors map[string]string) *twin.Registry {
	t.Helper()
	var onChange func(twin.Event)
	if b != nil {
		onChange = func(ev twin.Event) { b.Publish(bus.Event{Kind: "twin", Tenant: ev.Tenant}) }
	}
	reg, err := twin.Open(twin.Config{Path: filepath.Join(t.TempDir(), "twins.db"), OnChange: onChange})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.Close() })
	ctx := context.Background()
	for _, s := range slopes {
		if _, err := reg.Create(ctx, telemetry.DefaultTenant, twin.Twin{ID: s.id, Type: TypeSlope, Name: s.id, Properties: s.props, Geometry: square(s.lon, s.lat)}); err != nil {
			t.Fatalf("create %s: %v", s.id, err)
		}
	}
	for _, g := range gauges {
		if _, err := reg.Create(ctx, telemetry.DefaultTenant, twin.Twin{ID: g.id, Type: TypeRainGauge, Geometry: &twin.Geometry{Type: "Point", Point: twin.Position{g.lon, g.lat}}}); err != nil {
			t.Fatalf("create %s: %v", g.id, err)
		}
	}
	for id, slope := range sensors {
		typ := TypeExtensometer
		if id[:2] == "pz" {
			typ = TypePiezometer
		}
		if _, err := reg.Create(ctx, telemetry.DefaultTenant, twin.Twin{ID: id, Type: typ, Geometry: &twin.Geometry{Type: "Point", Point: twin.Position{114.1, 22.3}},
			Relationships: map[string][]string{"on": {slope}}}); err != nil {
			t.Fatalf("create %s: %v", id, err)
		}
	}
	return reg
}

// Properties of the two reference slopes: a steep slope of weak soil and
// a gentle slope of strong soil, both in decomposed granite.
func steepWeak() map[string]any {
	return map[string]any{"slopeAngle": 40.0, "soilDepth": 2.0, "ksat": 3e-5, "diffusivity": 1e-3, "cohesion": 12.0,
		"frictionAngle": 35.0, "unitWeight": 19.0, "initialWaterTableDepth": 2.0}
}

func gentleStrong() map[string]any {
	return map[string]any{"slopeAngle": 20.0, "soilDepth": 2.0, "ksat": 2e-5, "diffusivity": 2e-4, "cohesion": 15.0,
		"frictionAngle": 38.0, "unitWeight": 19.0, "initialWaterTableDepth": 2.0}
}

// newSync returns a service driven synchronously through handle (no
// goroutines): deterministic, for property tests.
func newSync(t *testing.T, reg *twin.Registry, st *fakeStore, al *fakeAlerts, mod func(*Config)) *Service {
	t.Helper()
	cfg := Config{Twins: reg, Bus: bus.New(), Store: st, Workers: 1}
	if al != nil {
		cfg.Alerts = al
	}
	if mod != nil {
		mod(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	t.Cleanup(s.cancel)
	for _, tn := range reg.Tenants() {
		s.newTenant(tn)
	}
	s.rebuildDirty()
	return s
}

var t0 = time.Date(2026, 6, 7, 0, 0, 0, 0, time.UTC)

// rainBatch is one 5-minute report of every gauge.
func rainBatch(step int, mm map[string]float64) []telemetry.Sample {
	ts := t0.Add(time.Duration(step+1) * 5 * time.Minute).UnixMilli()
	var out []telemetry.Sample
	for _, id := range sortedKeys(mm) {
		out = append(out, telemetry.Sample{Tenant: telemetry.DefaultTenant, Twin: id, Type: TypeRainGauge, Channel: "rainfall", TS: ts, Value: mm[id]})
	}
	return out
}

func sortedKeys(m map[string]float64) []string {
	var k []string
	for x := range m {
		k = append(k, x)
	}
	for i := 1; i < len(k); i++ {
		for j := i; j > 0 && k[j] < k[j-1]; j-- {
			k[j], k[j-1] = k[j-1], k[j]
		}
	}
	return k
}

// blackRainstorm is mm per 5 min at step i: 1 h of build-up, 3 h at
// about 90 mm/h (above HKO's black rainstorm 70 mm/h), 2 h at about
// 30 mm/h, then dry; ±10 % of deterministic variation, as a real gauge
// never repeats one value for long (a repeated value is a stuck gauge).
func blackRainstorm(i int) float64 {
	v := 0.0
	switch {
	case i < 12:
		v = 1.5
	case i < 48:
		v = 7.5
	case i < 72:
		v = 2.5
	}
	return math.Round(v*(1+0.1*math.Sin(1.3*float64(i)))*100) / 100
}

func approx(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

func fmtLevels(sn *Snapshot) string {
	s := ""
	for _, l := range sn.Levels {
		fs := math.NaN()
		if l.FSMin != nil {
			fs = *l.FSMin
		}
		s += fmt.Sprintf("%s=%s(%.3f) ", l.ID, l.Level, fs)
	}
	return s
}
