package twin

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestTypeVersioning(t *testing.T) {
	r := openTest(t, Config{})
	fixture(t, r)
	ctx := context.Background()

	slope, err := r.GetType(ctx, DefaultTenant, "slope")
	if err != nil {
		t.Fatal(err)
	}
	if slope.Version != 1 {
		t.Fatalf("builtin slope version = %d, want 1", slope.Version)
	}
	// Same definition: no new version.
	same, err := r.PutType(ctx, DefaultTenant, slope)
	if err != nil || same.Version != 1 {
		t.Fatalf("PutType(unchanged) = v%d, %v; want v1, nil", same.Version, err)
	}
	// A compatible change: a new optional property.
	slope.Properties["aspect"] = Property{Kind: KindNumber, Unit: "deg", Min: ptr(0), Max: ptr(360)}
	v2, err := r.PutType(ctx, DefaultTenant, slope)
	if err != nil || v2.Version != 2 {
		t.Fatalf("PutType(compatible) = v%d, %v; want v2, nil", v2.Version, err)
	}

	tests := []struct {
		name   string
		change func(ty *Type)
		twins  []string
	}{
		{"tighter max", func(ty *Type) { p := ty.Properties["height"]; p.Max = ptr(20); ty.Properties["height"] = p }, []string{"s1"}},
		{"removed property", func(ty *Type) { delete(ty.Properties, "soil") }, []string{"s1", "s2"}},
		{"new required", func(ty *Type) { ty.Properties["owner"] = Property{Kind: KindString, Required: true} }, []string{"s1", "s2"}},
		{"enum narrowed", func(ty *Type) { p := ty.Properties["soil"]; p.Enum = []string{"clay"}; ty.Properties["soil"] = p }, []string{"s1", "s2"}},
		{"geometry kind", func(ty *Type) { ty.Geometry = &GeometryRule{Kinds: []string{KindPoint}} }, []string{"s1", "s2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := snapshot(t, r)
			ty := v2.clone()
			tt.change(&ty)
			_, err := r.PutType(ctx, DefaultTenant, ty)
			var ie *IncompatibleTypeError
			if !errors.As(err, &ie) {
				t.Fatalf("PutType error = %v, want *IncompatibleTypeError", err)
			}
			if diff := cmp.Diff(tt.twins, ie.Twins); diff != "" {
				t.Errorf("incompatible twins (-want +got):\n%s", diff)
			}
			if len(ie.Reasons) != len(ie.Twins) {
				t.Errorf("%d reasons for %d twins", len(ie.Reasons), len(ie.Twins))
			}
			assertSnapshot(t, r, before)
		})
	}

	// Removing a relationship that twins use is refused too.
	pz, _ := r.GetType(ctx, DefaultTenant, "piezometer")
	delete(pz.Relationships, "on")
	var ie *IncompatibleTypeError
	if _, err := r.PutType(ctx, DefaultTenant, pz); !errors.As(err, &ie) || !slices.Equal(ie.Twins, []string{"p1", "p2"}) {
		t.Errorf("PutType(drop relationship) = %v, want incompatible p1, p2", err)
	}
	// A property kind change number -> integer renormalises stored values.
	pz, _ = r.GetType(ctx, DefaultTenant, "piezometer")
	p := pz.Properties["depth"]
	p.Kind = KindInteger
	pz.Properties["depth"] = p
	if _, err := r.PutType(ctx, DefaultTenant, pz); err != nil {
		t.Fatalf("PutType(depth integer): %v", err)
	}
	got, _ := r.Get(ctx, DefaultTenant, "p1")
	if v, ok := got.Properties["depth"].(int64); !ok || v != 8 {
		t.Errorf("p1 depth = %#v, want int64(8)", got.Properties["depth"])
	}
}

func TestTypeRelationshipTargetMustExist(t *testing.T) {
	r := openTest(t, Config{})
	_, err := r.PutType(context.Background(), DefaultTenant, Type{Name: "gauge", Relationships: map[string]Relationship{"on": {Target: "volcano", Cardinality: One}}})
	var ve *ValidationError
	if !errors.As(err, &ve) || ve.Field != "relationships.on.target" {
		t.Errorf("PutType = %v, want invalid relationships.on.target", err)
	}
	// a self-reference is fine
	if _, err := r.PutType(context.Background(), DefaultTenant, Type{Name: "node", Relationships: map[string]Relationship{"parent": {Target: "node", Cardinality: One}}}); err != nil {
		t.Errorf("PutType(self reference) = %v", err)
	}
}

func TestDeleteType(t *testing.T) {
	r := openTest(t, Config{})
	fixture(t, r)
	ctx := context.Background()
	var re *ReferencedError
	if err := r.DeleteType(ctx, DefaultTenant, "piezometer"); !errors.As(err, &re) || !slices.Equal(re.By, []string{"p1", "p2"}) {
		t.Errorf("DeleteType(piezometer) = %v, want referenced by p1, p2", err)
	}
	if err := r.DeleteType(ctx, DefaultTenant, "bridge"); !errors.As(err, &re) || !slices.Equal(re.Types, []string{"bridge-sensor"}) {
		t.Errorf("DeleteType(bridge) = %v, want referenced by type bridge-sensor", err)
	}
	if err := r.DeleteType(ctx, DefaultTenant, "compute-cluster"); err != nil {
		t.Errorf("DeleteType(compute-cluster) = %v", err)
	}
	if _, err := r.GetType(ctx, DefaultTenant, "compute-cluster"); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetType after delete = %v, want ErrNotFound", err)
	}
	if err := r.DeleteType(ctx, DefaultTenant, "compute-cluster"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second DeleteType = %v, want ErrNotFound", err)
	}
}

func TestRevisions(t *testing.T) {
	r := openTest(t, Config{})
	ctx := context.Background()
	tw := Twin{ID: "v1", Type: "vehicle", Geometry: point(114.1, 22.3)}
	c, err := r.Create(ctx, DefaultTenant, tw)
	if err != nil || c.Revision != 1 {
		t.Fatalf("Create = rev %d, %v", c.Revision, err)
	}
	if _, err := r.Create(ctx, DefaultTenant, tw); !errors.Is(err, ErrExists) {
		t.Errorf("second Create = %v, want ErrExists", err)
	}
	tests := []struct {
		name    string
		ifMatch uint64
		wantRev uint64
		wantErr error
	}{
		{"matching", 1, 2, nil},
		{"stale", 1, 0, ErrConflict},
		{"future", 7, 0, ErrConflict},
		{"unconditional", 0, 3, nil},
		{"matching again", 3, 4, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, created, err := r.Put(ctx, DefaultTenant, tw, tt.ifMatch)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Put(ifMatch %d) error = %v, want %v", tt.ifMatch, err, tt.wantErr)
			}
			if err == nil && (got.Revision != tt.wantRev || created) {
				t.Errorf("Put = rev %d created %v, want rev %d created false", got.Revision, created, tt.wantRev)
			}
		})
	}
	if _, _, err := r.Put(ctx, DefaultTenant, Twin{ID: "v2", Type: "vehicle"}, 3); !errors.Is(err, ErrConflict) {
		t.Errorf("Put(new, ifMatch 3) = %v, want ErrConflict", err)
	}
	got, created, err := r.Put(ctx, DefaultTenant, Twin{ID: "v2", Type: "vehicle"}, 0)
	if err != nil || !created || got.Revision != 1 {
		t.Errorf("Put(new) = rev %d created %v, %v", got.Revision, created, err)
	}
	if err := r.Delete(ctx, DefaultTenant, "v1", false, 3); !errors.Is(err, ErrConflict) {
		t.Errorf("Delete(stale) = %v, want ErrConflict", err)
	}
	if err := r.Delete(ctx, DefaultTenant, "v1", false, 4); err != nil {
		t.Errorf("Delete(ifMatch 4) = %v", err)
	}
	if _, err := r.Get(ctx, DefaultTenant, "v1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get after delete = %v, want ErrNotFound", err)
	}
	if err := r.Delete(ctx, DefaultTenant, "v1", false, 0); !errors.Is(err, ErrNotFound) {
		t.Errorf("Delete again = %v, want ErrNotFound", err)
	}
}

func TestDeleteReferenced(t *testing.T) {
	r := openTest(t, Config{})
	fixture(t, r)
	ctx := context.Background()
	before := snapshot(t, r)
	var re *ReferencedError
	if err := r.Delete(ctx, DefaultTenant, "s1", false, 0); !errors.As(err, &re) || !slices.Equal(re.By, []string{"p1", "p2", "rg1"}) {
		t.Fatalf("Delete(s1) = %v, want referenced by p1, p2, rg1", err)
	}
	assertSnapshot(t, r, before)

	// Cascade removes the references; the referring twins stay.
	if err := r.Delete(ctx, DefaultTenant, "s1", true, 0); err != nil {
		t.Fatalf("Delete(s1, cascade) = %v", err)
	}
	p1, err := r.Get(ctx, DefaultTenant, "p1")
	if err != nil {
		t.Fatal(err)
	}
	if p1.Relationships != nil || p1.Revision != 2 {
		t.Errorf("p1 after cascade = rels %v rev %d, want none, rev 2", p1.Relationships, p1.Revision)
	}
	rg, _ := r.Get(ctx, DefaultTenant, "rg1")
	if diff := cmp.Diff(map[string][]string{"on": {"s2"}}, rg.Relationships); diff != "" {
		t.Errorf("rg1 relationships (-want +got):\n%s", diff)
	}
	page, _ := r.Query(ctx, DefaultTenant, Query{From: "s2", Dir: "in"})
	if got := ids(page); !slices.Equal(got, []string{"rg1"}) {
		t.Errorf("in-edges of s2 = %v, want [rg1]", got)
	}
}

func TestChangingTypeOfATargetIsRefused(t *testing.T) {
	r := openTest(t, Config{})
	fixture(t, r)
	ctx := context.Background()
	s1, _ := r.Get(ctx, DefaultTenant, "s1")
	s1.Type = "building-site"
	s1.Properties = nil
	var ve *ValidationError
	if _, _, err := r.Put(ctx, DefaultTenant, s1, 0); !errors.As(err, &ve) || ve.Field != "type" {
		t.Errorf("Put(s1 as building-site) = %v, want invalid type", err)
	}
}

func TestTenantsIsolated(t *testing.T) {
	r := openTest(t, Config{})
	fixture(t, r)
	ctx := context.Background()
	// another tenant sees the builtins but none of default's twins
	if _, err := r.Get(ctx, "acme", "s1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get(acme, s1) = %v, want ErrNotFound", err)
	}
	if n := len(r.ListTypes(ctx, "acme")); n != len(r.ListTypes(ctx, DefaultTenant)) {
		t.Errorf("acme has %d types, want the builtins", n)
	}
	// cannot point across tenants
	var ve *ValidationError
	if _, err := r.Create(ctx, "acme", Twin{ID: "p9", Type: "piezometer", Relationships: map[string][]string{"on": {"s1"}}}); !errors.As(err, &ve) {
		t.Errorf("cross-tenant relationship = %v, want invalid", err)
	}
	// same id in two tenants, independent
	mustCreate(t, r, "acme", Twin{ID: "s1", Type: "slope", Geometry: square(10, 10, 1)})
	a, _ := r.Get(ctx, "acme", "s1")
	d, _ := r.Get(ctx, DefaultTenant, "s1")
	if a.Geometry.Point != nil || a.Name == d.Name && a.Geometry.Polygon[0][0][0] == d.Geometry.Polygon[0][0][0] {
		t.Errorf("acme s1 = %+v, default s1 = %+v: not independent", a, d)
	}
	// a type change in one tenant does not touch the other
	slope, _ := r.GetType(ctx, "acme", "slope")
	delete(slope.Properties, "soil")
	if _, err := r.PutType(ctx, "acme", slope); err != nil {
		t.Fatalf("PutType(acme slope) = %v", err)
	}
	if ds, _ := r.GetType(ctx, DefaultTenant, "slope"); ds.Version != 1 || ds.Properties["soil"].Kind == "" {
		t.Errorf("default slope changed: v%d", ds.Version)
	}
	p, _ := r.Query(ctx, "acme", Query{BBox: &Rect{Min: [2]float64{-180, -90}, Max: [2]float64{180, 90}}})
	if got := ids(p); !slices.Equal(got, []string{"s1"}) {
		t.Errorf("acme bbox query = %v, want [s1]", got)
	}
	if r.Count("acme") != 1 || r.Count(DefaultTenant) != 5 || r.Count("nobody") != 0 {
		t.Errorf("counts = %d %d %d, want 1 5 0", r.Count("acme"), r.Count(DefaultTenant), r.Count("nobody"))
	}
	if _, err := r.Create(ctx, "bad tenant", Twin{ID: "x", Type: "vehicle"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("Create in tenant %q = %v, want ErrInvalid", "bad tenant", err)
	}
}

func TestReopenIdentical(t *testing.T) {
	path := filepath.Join(t.TempDir(), "twins.db")
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	r, err := Open(Config{Path: path, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	fixture(t, r)
	ctx := context.Background()
	mustCreate(t, r, "acme", Twin{ID: "b1", Type: "bridge", Geometry: &Geometry{Type: KindLineString, LineString: []Position{{114, 22, 5}, {114.01, 22.01, 6}}},
		Properties: map[string]any{"span": 430.0, "opened": "1997-04-27T00:00:00+08:00"}})
	mustCreate(t, r, "acme", Twin{ID: "c1", Type: "compute-cluster", Properties: map[string]any{"gpus": 512}})
	if _, err := r.PutType(ctx, "acme", Type{Name: "kiosk", Properties: map[string]any2{"meta": {Kind: KindObject}, "area": {Kind: KindGeometry}}}); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, r, "acme", Twin{ID: "k1", Type: "kiosk", Properties: map[string]any{
		"meta": map[string]any{"a": []any{1.5, "x", true}}, "area": map[string]any{"type": "Point", "coordinates": []any{1.0, 2.0}}}})
	if err := r.Delete(ctx, DefaultTenant, "p2", false, 0); err != nil {
		t.Fatal(err)
	}
	want := snapshot(t, r)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
	if _, err := r.Get(ctx, DefaultTenant, "s1"); !errors.Is(err, ErrClosed) {
		t.Errorf("Get after Close = %v, want ErrClosed", err)
	}
	if _, err := r.Create(ctx, DefaultTenant, Twin{ID: "z", Type: "vehicle"}); !errors.Is(err, ErrClosed) {
		t.Errorf("Create after Close = %v, want ErrClosed", err)
	}
	r2 := openTest(t, Config{Path: path})
	assertSnapshot(t, r2, want)
	ci, err := r2.Channel(DefaultTenant, "rg1", "rainfall")
	if err != nil || ci.Interval != 5*time.Minute {
		t.Errorf("Channel after reopen = %+v, %v", ci, err)
	}
}

// any2 keeps the literal above short.
type any2 = Property

func TestPatch(t *testing.T) {
	r := openTest(t, Config{})
	fixture(t, r)
	ctx := context.Background()
	got, err := r.Patch(ctx, DefaultTenant, "s1", []byte(`{"name":"Po Shan Road","properties":{"soil":null,"height":31},"labels":{"owner":"GEO"}}`), 1)
	if err != nil {
		t.Fatalf("Patch = %v", err)
	}
	want := map[string]any{"height": 31.0, "cohesion": 5.0}
	if diff := cmp.Diff(want, got.Properties); diff != "" {
		t.Errorf("properties (-want +got):\n%s", diff)
	}
	if got.Name != "Po Shan Road" || got.Labels["owner"] != "GEO" || got.Labels["district"] != "central" || got.Revision != 2 {
		t.Errorf("patched = %+v", got)
	}
	tests := []struct {
		name, patch string
		ifMatch     uint64
		want        error
	}{
		{"stale", `{"name":"x"}`, 1, ErrConflict},
		{"id change", `{"id":"s9"}`, 0, ErrInvalid},
		{"unknown field", `{"colour":"red"}`, 0, ErrInvalid},
		{"invalid value", `{"properties":{"height":-5}}`, 0, ErrInvalid},
		{"not an object", `[1]`, 0, ErrInvalid},
		{"bad json", `{`, 0, ErrInvalid},
	}
	before := snapshot(t, r)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := r.Patch(ctx, DefaultTenant, "s1", []byte(tt.patch), tt.ifMatch); !errors.Is(err, tt.want) {
				t.Errorf("Patch(%s) = %v, want %v", tt.patch, err, tt.want)
			}
		})
	}
	assertSnapshot(t, r, before)
	if _, err := r.Patch(ctx, DefaultTenant, "nope", []byte(`{}`), 0); !errors.Is(err, ErrNotFound) {
		t.Errorf("Patch(missing) = %v, want ErrNotFound", err)
	}
}

func TestBulkUpsert(t *testing.T) {
	r := openTest(t, Config{})
	ctx := context.Background()
	var tws []Twin
	for i := range 2000 {
		tws = append(tws, Twin{ID: fmt.Sprintf("d%04d", i), Type: "delivery-stop", Geometry: point(114+float64(i)*1e-4, 22.3)})
	}
	tws = append(tws, Twin{ID: "dep", Type: "depot", Geometry: point(114, 22)})
	tws = append(tws, Twin{ID: "bad", Type: "delivery-stop"})                                                    // no geometry
	tws = append(tws, Twin{ID: "v1", Type: "vehicle", Relationships: map[string][]string{"basedAt": {"dep"}}})   // points at an earlier item
	tws = append(tws, Twin{ID: "v2", Type: "vehicle", Relationships: map[string][]string{"basedAt": {"d0001"}}}) // wrong target type
	errs := r.BulkUpsert(ctx, DefaultTenant, tws)
	for i, err := range errs {
		wantErr := tws[i].ID == "bad" || tws[i].ID == "v2"
		if (err != nil) != wantErr {
			t.Errorf("item %d (%s): error %v, want error %v", i, tws[i].ID, err, wantErr)
		}
	}
	if n := r.Count(DefaultTenant); n != 2002 {
		t.Errorf("Count = %d, want 2002", n)
	}
	errs = r.BulkUpsert(ctx, DefaultTenant, tws[:10])
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := r.Get(ctx, DefaultTenant, "d0003"); got.Revision != 2 {
		t.Errorf("revision after second upsert = %d, want 2", got.Revision)
	}
}

func TestChannel(t *testing.T) {
	r := openTest(t, Config{})
	fixture(t, r)
	ci, err := r.Channel(DefaultTenant, "p1", "porePressure")
	want := ChannelInfo{Type: "piezometer", Unit: "kPa", Min: -100, Max: 2000, Interval: 5 * time.Minute}
	if err != nil || ci != want {
		t.Errorf("Channel = %+v, %v; want %+v", ci, err, want)
	}
	mustCreate(t, r, DefaultTenant, Twin{ID: "w1", Type: "warehouse"})
	ctx := context.Background()
	if _, err := r.PutType(ctx, DefaultTenant, Type{Name: "meter", Channels: map[string]Channel{"x": {Unit: "1"}}}); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, r, DefaultTenant, Twin{ID: "m1", Type: "meter"})
	if ci, _ := r.Channel(DefaultTenant, "m1", "x"); !math.IsInf(ci.Min, -1) || !math.IsInf(ci.Max, 1) || ci.Interval != 0 {
		t.Errorf("unbounded channel = %+v, want ±Inf and no interval", ci)
	}
	for _, tt := range []struct {
		tenant, id, ch string
		want           error
	}{
		{DefaultTenant, "nope", "porePressure", ErrNotFound},
		{"other", "p1", "porePressure", ErrNotFound},
		{DefaultTenant, "p1", "rainfall", ErrUnknownChannel},
		{DefaultTenant, "w1", "anything", ErrUnknownChannel},
	} {
		if _, err := r.Channel(tt.tenant, tt.id, tt.ch); err != tt.want {
			t.Errorf("Channel(%s, %s, %s) = %v, want %v", tt.tenant, tt.id, tt.ch, err, tt.want)
		}
	}
	allocs := testing.AllocsPerRun(100, func() {
		_, _ = r.Channel(DefaultTenant, "p1", "porePressure")
		_, _ = r.Channel(DefaultTenant, "nope", "porePressure")
		_, _ = r.Channel(DefaultTenant, "p1", "nope")
	})
	if allocs != 0 {
		t.Errorf("Channel allocates %v times per call, want 0", allocs)
	}
}

func TestEvents(t *testing.T) {
	var mu sync.Mutex
	var got []string
	r := openTest(t, Config{OnChange: func(e Event) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, fmt.Sprintf("%s %s/%s r%d", e.Kind, e.Tenant, e.ID, e.Revision))
	}})
	ctx := context.Background()
	mustCreate(t, r, DefaultTenant, Twin{ID: "s1", Type: "slope", Geometry: square(0, 0, 1)})
	mustCreate(t, r, DefaultTenant, Twin{ID: "p1", Type: "piezometer", Relationships: map[string][]string{"on": {"s1"}}})
	if _, err := r.Create(ctx, DefaultTenant, Twin{ID: "p1", Type: "piezometer"}); err == nil {
		t.Fatal("duplicate create succeeded")
	}
	if err := r.Delete(ctx, DefaultTenant, "s1", true, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := r.PutType(ctx, DefaultTenant, Type{Name: "thing"}); err != nil {
		t.Fatal(err)
	}
	if err := r.DeleteType(ctx, DefaultTenant, "thing"); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"twin.created default/s1 r1", "twin.created default/p1 r1",
		"twin.updated default/p1 r2", "twin.deleted default/s1 r1",
		"type.put default/thing r1", "type.deleted default/thing r0",
	}
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

// TestConcurrentWriters checks that concurrent writers (sharing commits)
// lose no update: every successful conditional Put advanced the revision.
func TestConcurrentWriters(t *testing.T) {
	r := openTest(t, Config{})
	ctx := context.Background()
	mustCreate(t, r, DefaultTenant, Twin{ID: "shared", Type: "vehicle"})
	const writers, each = 8, 25
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				id := fmt.Sprintf("w%d-%d", w, i)
				if _, err := r.Create(ctx, DefaultTenant, Twin{ID: id, Type: "vehicle", Geometry: point(float64(w), float64(i))}); err != nil {
					t.Errorf("Create %s: %v", id, err)
				}
				cur, err := r.Get(ctx, DefaultTenant, "shared")
				if err != nil {
					t.Error(err)
					return
				}
				if _, _, err := r.Put(ctx, DefaultTenant, cur, cur.Revision); err == nil {
					mu.Lock()
					wins++
					mu.Unlock()
				} else if !errors.Is(err, ErrConflict) {
					t.Errorf("Put: %v", err)
				}
				if _, err := r.Channel(DefaultTenant, id, "speed"); err != nil {
					t.Errorf("Channel %s: %v", id, err)
				}
			}
		})
	}
	wg.Wait()
	if n := r.Count(DefaultTenant); n != writers*each+1 {
		t.Errorf("Count = %d, want %d", n, writers*each+1)
	}
	got, _ := r.Get(ctx, DefaultTenant, "shared")
	if got.Revision != uint64(wins)+1 {
		t.Errorf("revision %d after %d successful conditional puts, want %d", got.Revision, wins, wins+1)
	}
}

func TestOpenErrors(t *testing.T) {
	if _, err := Open(Config{}); err == nil {
		t.Error("Open with no path succeeded")
	}
	path := filepath.Join(t.TempDir(), "twins.db")
	r := openTest(t, Config{Path: path})
	_ = r
	if _, err := Open(Config{Path: path, LockTimeout: 50 * time.Millisecond}); err == nil {
		t.Error("second Open of a locked file succeeded")
	}
}

func ids(p Page) []string {
	out := make([]string, len(p.Items))
	for i, tw := range p.Items {
		out[i] = tw.ID
	}
	return out
}

// TestPanicDoesNotWedgeWrites: a panicking OnChange (run on the leading
// writer's goroutine) must not leave later writes waiting forever.
func TestPanicDoesNotWedgeWrites(t *testing.T) {
	fail := true
	r := openTest(t, Config{OnChange: func(e Event) {
		if fail && e.Kind == TwinCreated {
			fail = false
			panic("subscriber bug")
		}
	}})
	func() {
		defer func() {
			if recover() == nil {
				t.Error("OnChange panic was swallowed")
			}
		}()
		mustCreate(t, r, DefaultTenant, Twin{ID: "a", Type: "vehicle"})
	}()
	// the write itself was committed before OnChange ran
	if _, err := r.Get(context.Background(), DefaultTenant, "a"); err != nil {
		t.Errorf("Get(a) = %v", err)
	}
	mustCreate(t, r, DefaultTenant, Twin{ID: "b", Type: "vehicle"})
	// and an op whose function panics fails its batch with an error
	err := r.do(context.Background(), DefaultTenant, func(*tenantStage) error { panic("bug") })
	if err == nil {
		t.Error("panicking op returned nil")
	}
	mustCreate(t, r, DefaultTenant, Twin{ID: "c", Type: "vehicle"})
}
