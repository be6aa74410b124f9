package twin

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestSortByIDIgnoresAnIDProperty: the default order is by twin id. It
// was the order of a property named "id" first (the sort key "id" fell
// through to the property lookup), so twins with such a property came
// before the others, in the property's order.
func TestSortByIDIgnoresAnIDProperty(t *testing.T) {
	r := openTest(t, Config{})
	ctx := t.Context()
	if _, err := r.PutType(ctx, DefaultTenant, Type{Name: "asset", Properties: map[string]Property{"id": {Kind: "string"}}}); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, r, DefaultTenant, Twin{ID: "a", Type: "asset"})
	mustCreate(t, r, DefaultTenant, Twin{ID: "b", Type: "asset", Properties: map[string]any{"id": "ZZ-1"}})
	mustCreate(t, r, DefaultTenant, Twin{ID: "c", Type: "asset", Properties: map[string]any{"id": "AA-9"}})
	page, err := r.Query(ctx, DefaultTenant, Query{Type: "asset"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tw := range page.Items {
		got = append(got, tw.ID)
	}
	if !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Fatalf("order %v, want a b c", got)
	}
}

// TestTypeQueriesInIDOrder: queries by type and of all twins (pages with cursors, both
// directions, and Refs) give the same twins in the same order as a sort
// of the registry's content, across creations, type changes and
// deletions in between (the per-type sorted ids are kept across them).
func TestTypeQueriesInIDOrder(t *testing.T) {
	r := openTest(t, Config{})
	ctx := t.Context()
	rng := rand.New(rand.NewPCG(1, 2))
	types := []string{"rain-gauge", "piezometer"}
	want := map[string]string{} // id → type
	check := func(step int) {
		t.Helper()
		for _, typ := range append(types, "") { // "": all twins
			var ids []string
			for id, ty := range want {
				if typ == "" || ty == typ {
					ids = append(ids, id)
				}
			}
			slices.Sort(ids)
			for _, desc := range []bool{false, true} {
				exp := slices.Clone(ids)
				sort := "id"
				if desc {
					slices.Reverse(exp)
					sort = "-id"
				}
				var got []string
				q := Query{Type: typ, Sort: sort, Limit: 7}
				for {
					p, err := r.Query(ctx, DefaultTenant, q)
					if err != nil {
						t.Fatal(err)
					}
					for _, tw := range p.Items {
						got = append(got, tw.ID)
					}
					if p.Next == "" {
						break
					}
					q.Cursor = p.Next
				}
				if !slices.Equal(got, exp) {
					t.Fatalf("step %d, %s by %s: pages give %v, want %v", step, typ, sort, got, exp)
				}
				refs, err := r.Refs(ctx, DefaultTenant, Query{Type: typ, Sort: sort}, 10)
				if err != nil {
					t.Fatal(err)
				}
				got = got[:0]
				for _, rf := range refs {
					got = append(got, rf.ID)
				}
				if !slices.Equal(got, exp[:min(10, len(exp))]) {
					t.Fatalf("step %d, %s by %s: Refs give %v, want %v", step, typ, sort, got, exp[:min(10, len(exp))])
				}
			}
		}
	}
	for step := range 300 {
		id := fmt.Sprintf("t%03d", rng.IntN(60))
		typ := types[rng.IntN(2)]
		switch _, ok := want[id]; {
		case ok && rng.IntN(3) == 0:
			if err := r.Delete(ctx, DefaultTenant, id, false, 0); err != nil {
				t.Fatal(err)
			}
			delete(want, id)
		default:
			if _, _, err := r.Put(ctx, DefaultTenant, Twin{ID: id, Type: typ, Name: fmt.Sprint(step)}, 0); err != nil {
				t.Fatal(err)
			}
			want[id] = typ
		}
		if step%10 == 0 {
			check(step)
		}
	}
	check(300)
}
