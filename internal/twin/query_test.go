package twin

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/url"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestQueryKinds(t *testing.T) {
	r := openTest(t, Config{})
	fixture(t, r)
	ctx := context.Background()
	mustCreate(t, r, DefaultTenant, Twin{ID: "b1", Type: "bridge", Name: "Tsing Ma",
		Geometry: &Geometry{Type: KindLineString, LineString: []Position{{114.05, 22.35}, {114.08, 22.35}}}})
	mustCreate(t, r, DefaultTenant, Twin{ID: "bs1", Type: "bridge-sensor", Geometry: point(114.07, 22.35), Relationships: map[string][]string{"on": {"b1"}}})
	mustCreate(t, r, DefaultTenant, Twin{ID: "c1", Type: "compute-cluster", Name: "A", Properties: map[string]any{"gpus": 64, "model": "H100"}})
	mustCreate(t, r, DefaultTenant, Twin{ID: "c2", Type: "compute-cluster", Name: "B", Properties: map[string]any{"gpus": 8, "model": "L40S"}})
	// s1 spans 114.14-114.15 x 22.27-22.28; s2 114.20-114.21 x 22.30-22.31.
	tests := []struct {
		name  string
		query string
		want  []string
	}{
		{"all by id", "", []string{"b1", "bs1", "c1", "c2", "p1", "p2", "rg1", "s1", "s2"}},
		{"type", "type=piezometer", []string{"p1", "p2"}},
		{"label", "label=district:central", []string{"rg1", "s1"}},
		{"two labels", "label=district:central&label=district:east", nil},
		{"prop >", "prop=height>20", []string{"s1"}},
		{"prop <=", "prop=height<=30", []string{"s1", "s2"}},
		{"prop != number", "prop=height!=30", []string{"s2"}},
		{"prop = string", "prop=soil=fill", []string{"s2"}},
		{"prop string order", "prop=soil<d", []string{"s1"}},
		{"prop integer", "prop=gpus>=64", []string{"c1"}},
		{"prop string vs number property", "prop=height>abc", nil},
		{"prop numeric text vs string property", "prop=soil>5", []string{"s1", "s2"}},
		{"prop and type", "type=compute-cluster&prop=model!=H100", []string{"c2"}},
		{"bbox points", "bbox=114.144,22.274,114.147,22.277", []string{"p1", "p2", "s1"}},
		{"bbox polygon corner", "bbox=114.149,22.279,114.16,22.29", []string{"s1"}},
		{"bbox crossing a line", "bbox=114.06,22.34,114.065,22.36", []string{"b1"}},
		{"bbox inside a polygon", "bbox=114.201,22.301,114.202,22.302", []string{"s2"}},
		{"bbox empty", "bbox=0,0,1,1", nil},
		{"within list", "within=114.13 22.26, 114.16 22.26, 114.16 22.29, 114.13 22.29", []string{"p1", "p2", "s1"}},
		{"within geojson", `within={"type":"Polygon","coordinates":[[[114.144,22.274],[114.1455,22.274],[114.1455,22.2755],[114.144,22.2755],[114.144,22.274]]]}`, []string{"p1"}},
		{"within partial polygon is out", "within=114.145 22.26, 114.16 22.26, 114.16 22.29, 114.145 22.29", []string{"p1", "p2"}},
		{"near point 200m", "near=114.145,22.275,100", []string{"p1", "s1"}},
		{"near 1km", "near=114.17,22.28,1000", []string{"rg1"}},
		{"near polygon edge", "near=114.155,22.275,600", []string{"s1"}},
		{"near type", "near=114.145,22.275,5000&type=piezometer", []string{"p1", "p2"}},
		{"from out", "from=rg1&rel=on", []string{"s1", "s2"}},
		{"from in", "from=s1&dir=in", []string{"p1", "p2", "rg1"}},
		{"from in by rel", "from=b1&dir=in&rel=on", []string{"bs1"}},
		{"from in depth 2", "from=p1&rel=*&depth=2", []string{"s1"}},
		{"from in then out", "from=s2&dir=in&depth=1", []string{"rg1"}},
		{"from with filter", "from=s1&dir=in&type=piezometer&prop=depth>1", []string{"p1"}},
		{"from rel mismatch", "from=rg1&rel=basedAt", nil},
		{"sort name desc", "type=slope&sort=-name", []string{"s1", "s2"}},
		{"sort name", "type=slope&sort=name", []string{"s2", "s1"}},
		{"sort -updated", "type=piezometer&sort=-updated", []string{"p2", "p1"}},
		{"sort created", "type=piezometer&sort=created", []string{"p1", "p2"}},
		{"limit", "limit=2", []string{"b1", "bs1"}},
		{"sort by number property", "sort=prop.height", []string{"s2", "s1", "b1", "bs1", "c1", "c2", "p1", "p2", "rg1"}},
		{"sort by number property desc", "type=slope&sort=-prop.height", []string{"s1", "s2"}},
		{"sort by integer property", "type=compute-cluster&sort=prop.gpus", []string{"c2", "c1"}},
		{"sort by string property", "type=compute-cluster&sort=-prop.model", []string{"c2", "c1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := url.ParseQuery(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			q, err := ParseQuery(v)
			if err != nil {
				t.Fatalf("ParseQuery(%s) = %v", tt.query, err)
			}
			p, err := r.Query(ctx, DefaultTenant, q)
			if err != nil {
				t.Fatalf("Query = %v", err)
			}
			if diff := cmp.Diff(tt.want, ids(p), cmpNilEmpty); diff != "" {
				t.Errorf("Query(%s) ids (-want +got):\n%s", tt.query, diff)
			}
		})
	}
	if _, err := r.Query(ctx, DefaultTenant, Query{From: "nope"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("Query(from=nope) = %v, want ErrNotFound", err)
	}
}

var cmpNilEmpty = cmp.Transformer("nilEmpty", func(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
})

func TestParseQueryErrors(t *testing.T) {
	tests := []struct{ name, query, field string }{
		{"unknown", "colour=red", "colour"},
		{"repeated", "type=a&type=b", "type"},
		{"bad type", "type=a b", "type"},
		{"label no colon", "label=district", "label"},
		{"prop no op", "prop=height", "prop"},
		{"prop bang", "prop=height!5", "prop"},
		{"prop bad name", "prop=hei ght>5", "prop"},
		{"bbox count", "bbox=1,2,3", "bbox"},
		{"bbox nan", "bbox=1,2,NaN,4", "bbox"},
		{"bbox order", "bbox=3,2,1,4", "bbox"},
		{"bbox range", "bbox=-200,0,1,1", "bbox"},
		{"within short", "within=1 2, 3 4", "within"},
		{"within point", `within={"type":"Point","coordinates":[1,2]}`, "within"},
		{"near radius", "near=114,22,0", "near"},
		{"near far", "near=114,22,1e9", "near"},
		{"rel without from", "rel=on", "from"},
		{"dir", "from=a&dir=up", "dir"},
		{"depth", "from=a&depth=6", "depth"},
		{"depth nan", "from=a&depth=x", "depth"},
		{"sort", "sort=colour", "sort"},
		{"sort prop", "sort=prop.a b", "sort"},
		{"limit high", "limit=1001", "limit"},
		{"limit zero", "limit=0", "limit"},
		{"cursor", "cursor=garbage", "cursor"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, _ := url.ParseQuery(tt.query)
			_, err := ParseQuery(v)
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("ParseQuery(%s) = %v, want a *ValidationError", tt.query, err)
			}
			if ve.Field != tt.field {
				t.Errorf("field = %q, want %q (%v)", ve.Field, tt.field, err)
			}
		})
	}
}

// TestCursorStability pages through 250 twins 7 at a time while twins are
// added and removed between pages: every twin present throughout is seen
// exactly once and the order holds.
func TestCursorStability(t *testing.T) {
	for _, sort := range []string{"id", "-id", "name", "-updated", "created", "prop.capacity", "-prop.capacity"} {
		t.Run(sort, func(t *testing.T) {
			r := openTest(t, Config{})
			ctx := context.Background()
			var tws []Twin
			for i := range 250 {
				tw := Twin{ID: fmt.Sprintf("v%03d", (i*37)%250), Type: "vehicle", Name: fmt.Sprintf("n%d", i%10)}
				if i%3 != 0 {
					tw.Properties = map[string]any{"capacity": float64(i%17) * 100.5}
				}
				tws = append(tws, tw)
			}
			for _, err := range r.BulkUpsert(ctx, DefaultTenant, tws[:125]) {
				if err != nil {
					t.Fatal(err)
				}
			}
			for _, err := range r.BulkUpsert(ctx, DefaultTenant, tws[125:]) {
				if err != nil {
					t.Fatal(err)
				}
			}
			q := Query{Type: "vehicle", Sort: sort, Limit: 7}
			seen := map[string]int{}
			var order []Twin
			deleted := map[string]bool{}
			for page := 0; ; page++ {
				p, err := r.Query(ctx, DefaultTenant, q)
				if err != nil {
					t.Fatal(err)
				}
				for _, tw := range p.Items {
					seen[tw.ID]++
					order = append(order, tw)
				}
				if p.Next == "" {
					break
				}
				q.Cursor = p.Next
				// churn: add a new twin and delete one not yet seen
				mustCreate(t, r, DefaultTenant, Twin{ID: fmt.Sprintf("new%03d", page), Type: "vehicle", Name: "n5"})
				for _, tw := range tws {
					if seen[tw.ID] == 0 && !deleted[tw.ID] {
						if err := r.Delete(ctx, DefaultTenant, tw.ID, false, 0); err != nil {
							t.Fatal(err)
						}
						deleted[tw.ID] = true
						break
					}
				}
			}
			for _, tw := range tws {
				if !deleted[tw.ID] && seen[tw.ID] != 1 {
					t.Errorf("%s seen %d times, want once", tw.ID, seen[tw.ID])
				}
				if deleted[tw.ID] && seen[tw.ID] != 0 {
					t.Errorf("deleted %s was returned", tw.ID)
				}
			}
			c, _ := compile(Query{Sort: sort})
			if !slices.IsSortedFunc(order, func(a, b Twin) int {
				d := compareKeys(keyOf(&a, c.sort), keyOf(&b, c.sort))
				if c.desc {
					return -d
				}
				return d
			}) {
				t.Errorf("pages are not in %s order", sort)
			}
		})
	}
	// a cursor made for one sort is refused by another
	r := openTest(t, Config{})
	mustCreate(t, r, DefaultTenant, Twin{ID: "a", Type: "vehicle"})
	mustCreate(t, r, DefaultTenant, Twin{ID: "b", Type: "vehicle"})
	p, _ := r.Query(context.Background(), DefaultTenant, Query{Limit: 1})
	if _, err := r.Query(context.Background(), DefaultTenant, Query{Limit: 1, Sort: "name", Cursor: p.Next}); !errors.Is(err, ErrInvalid) {
		t.Errorf("cursor across sorts = %v, want ErrInvalid", err)
	}
}

func TestQueryLargeResultSelection(t *testing.T) {
	// more hits than 4*(limit+1) takes the quickselect path; the page
	// must equal the fully sorted prefix.
	r := openTest(t, Config{})
	ctx := context.Background()
	var tws []Twin
	for i := range 500 {
		tws = append(tws, Twin{ID: fmt.Sprintf("x%03d", (i*113)%500), Type: "vehicle", Name: fmt.Sprintf("%d", i%7)})
	}
	r.BulkUpsert(ctx, DefaultTenant, tws)
	for _, sort := range []string{"name", "-name", "id"} {
		var all []string
		q := Query{Sort: sort, Limit: 1000}
		p, _ := r.Query(ctx, DefaultTenant, q)
		all = ids(p)
		q.Limit = 10
		p, _ = r.Query(ctx, DefaultTenant, q)
		if diff := cmp.Diff(all[:10], ids(p)); diff != "" {
			t.Errorf("sort %s: first page (-want +got):\n%s", sort, diff)
		}
	}
}

func TestOrderedFloat(t *testing.T) {
	vals := []float64{math.Inf(-1), -1e300, -2.5, -1, -1e-300, 0, 1e-300, 1, 2.5, 1e300, math.Inf(1)}
	for i := 1; i < len(vals); i++ {
		if orderedFloat(vals[i-1]) >= orderedFloat(vals[i]) {
			t.Errorf("orderedFloat(%g) >= orderedFloat(%g)", vals[i-1], vals[i])
		}
	}
	if orderedFloat(math.Copysign(0, -1)) != orderedFloat(0) {
		t.Error("-0 and 0 order differently")
	}
}
