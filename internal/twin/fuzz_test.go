package twin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// The fuzz targets read their seeds from testdata/fuzz/<name>. Properties:
// no panic; decode -> encode -> decode gives the same value; and a write
// the registry rejects leaves its state unchanged.

var equateEmpty = cmpopts.EquateEmpty()

// fuzzRegistry opens a registry with the fixture, shared by the fuzz
// target's iterations.
func fuzzRegistry(f *testing.F) *Registry {
	r := openTest(f, Config{})
	fixture(f, r)
	return r
}

func FuzzDecodeTwin(f *testing.F) {
	r := fuzzRegistry(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		tw, err := DecodeTwin(bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("DecodeTwin error %v does not match ErrInvalid", err)
			}
			return
		}
		enc, err := json.Marshal(tw)
		if err != nil {
			t.Fatalf("encode decoded twin: %v", err)
		}
		tw2, err := DecodeTwin(bytes.NewReader(enc))
		if err != nil {
			t.Fatalf("decode re-encoded twin %s: %v", enc, err)
		}
		if diff := cmp.Diff(tw, tw2, equateEmpty); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
		before := snapshot(t, r)
		if _, _, err := r.Put(context.Background(), DefaultTenant, tw, 0); err != nil {
			assertSnapshot(t, r, before)
		}
	})
}

func FuzzDecodeType(f *testing.F) {
	r := fuzzRegistry(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		ty, err := DecodeType(bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("DecodeType error %v does not match ErrInvalid", err)
			}
			return
		}
		enc, err := json.Marshal(ty)
		if err != nil {
			t.Fatalf("encode decoded type: %v", err)
		}
		ty2, err := DecodeType(bytes.NewReader(enc))
		if err != nil {
			t.Fatalf("decode re-encoded type %s: %v", enc, err)
		}
		if diff := cmp.Diff(ty, ty2, equateEmpty); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
		before := snapshot(t, r)
		if _, err := r.PutType(context.Background(), DefaultTenant, ty); err != nil {
			assertSnapshot(t, r, before)
		}
	})
}

func FuzzDecodeGeometry(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := DecodeGeometry(bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("DecodeGeometry error %v does not match ErrInvalid", err)
			}
			return
		}
		enc, err := json.Marshal(g)
		if err != nil {
			t.Fatalf("encode decoded geometry: %v", err)
		}
		g2, err := DecodeGeometry(bytes.NewReader(enc))
		if err != nil {
			t.Fatalf("decode re-encoded geometry %s: %v", enc, err)
		}
		if diff := cmp.Diff(g, g2); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
		b := g.Bounds()
		if b.Min[0] > b.Max[0] || b.Min[1] > b.Max[1] || math.IsInf(b.Min[0], 0) {
			t.Fatalf("bounds %v", b)
		}
		if !g.IntersectsRect(b) {
			t.Fatalf("geometry does not intersect its own bounds %v", b)
		}
		if d := g.DistanceTo(g.eachFirst()); d < 0 || math.IsNaN(d) || d > 1 {
			t.Fatalf("distance to its own first vertex = %g m", d)
		}
		n := 0
		g.eachPosition(func(Position) { n++ })
		if (g.Type == KindPolygon || g.Type == KindMultiPolygon) && n <= MaxAreaPositions {
			g.Within(&g) // boundary vertices may count either way: only no panic

		}
	})
}

// eachFirst returns the first position of g.
func (g *Geometry) eachFirst() (float64, float64) {
	var lon, lat float64
	done := false
	g.eachPosition(func(p Position) {
		if !done {
			lon, lat, done = p[0], p[1], true
		}
	})
	return lon, lat
}

func FuzzParseQuery(f *testing.F) {
	r := fuzzRegistry(f)
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, err := ParseQuery(v)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("ParseQuery error %v does not match ErrInvalid", err)
			}
			return
		}
		q2, err := ParseQuery(q.Values())
		if err != nil {
			t.Fatalf("ParseQuery(%s) of re-encoded query: %v", q.Values().Encode(), err)
		}
		if diff := cmp.Diff(q, q2, equateEmpty); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
		p, err := r.Query(context.Background(), DefaultTenant, q)
		if err != nil && !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrInvalid) {
			t.Fatalf("Query: %v", err)
		}
		if len(p.Items) > q.Limit {
			t.Fatalf("%d items over limit %d", len(p.Items), q.Limit)
		}
	})
}

func FuzzPatch(f *testing.F) {
	r := fuzzRegistry(f)
	f.Fuzz(func(t *testing.T, patch []byte, ifMatch uint64) {
		before := snapshot(t, r)
		got, err := r.Patch(context.Background(), DefaultTenant, "s1", patch, ifMatch)
		if err != nil {
			assertSnapshot(t, r, before)
			return
		}
		if stored, _ := r.Get(context.Background(), DefaultTenant, "s1"); !cmp.Equal(got, stored) {
			t.Fatalf("Patch returned %+v, stored %+v", got, stored)
		}
		if !strings.Contains(string(patch), "{") {
			t.Fatalf("non-object patch %q accepted", patch)
		}
	})
}
