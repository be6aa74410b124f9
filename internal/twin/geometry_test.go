package twin

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDecodeGeometry(t *testing.T) {
	good := []struct {
		name, doc string
		want      Geometry
	}{
		{"point", `{"type":"Point","coordinates":[114.1,22.3]}`, Geometry{Type: KindPoint, Point: Position{114.1, 22.3}}},
		{"point with altitude", `{"coordinates":[-180,-90,12.5],"type":"Point"}`, Geometry{Type: KindPoint, Point: Position{-180, -90, 12.5}}},
		{"line", `{"type":"LineString","coordinates":[[0,0],[1,1]]}`, Geometry{Type: KindLineString, LineString: []Position{{0, 0}, {1, 1}}}},
		{"polygon with hole", `{"type":"Polygon","coordinates":[[[0,0],[4,0],[4,4],[0,0]],[[1,1],[2,1],[2,2],[1,1]]]}`,
			Geometry{Type: KindPolygon, Polygon: [][]Position{{{0, 0}, {4, 0}, {4, 4}, {0, 0}}, {{1, 1}, {2, 1}, {2, 2}, {1, 1}}}}},
		{"multipolygon", `{"type":"MultiPolygon","coordinates":[[[[0,0],[1,0],[1,1],[0,0]]]]}`,
			Geometry{Type: KindMultiPolygon, MultiPolygon: [][][]Position{{{{0, 0}, {1, 0}, {1, 1}, {0, 0}}}}}},
	}
	for _, tt := range good {
		t.Run(tt.name, func(t *testing.T) {
			g, err := DecodeGeometry(strings.NewReader(tt.doc))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, g); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	bad := []struct{ name, doc, field string }{
		{"no type", `{"coordinates":[0,0]}`, "geometry.type"},
		{"unsupported type", `{"type":"GeometryCollection","coordinates":[]}`, "geometry.type"},
		{"foreign member", `{"type":"Point","coordinates":[0,0],"bbox":[0,0,0,0]}`, "geometry"},
		{"no coordinates", `{"type":"Point"}`, "geometry.coordinates"},
		{"one number", `{"type":"Point","coordinates":[0]}`, "geometry.coordinates"},
		{"four numbers", `{"type":"Point","coordinates":[0,0,0,0]}`, "geometry.coordinates"},
		{"longitude", `{"type":"Point","coordinates":[180.5,0]}`, "geometry.coordinates"},
		{"latitude", `{"type":"Point","coordinates":[0,-90.1]}`, "geometry.coordinates"},
		{"string number", `{"type":"Point","coordinates":["0",0]}`, "geometry.coordinates"},
		{"overflow", `{"type":"Point","coordinates":[1e999,0]}`, "geometry.coordinates"},
		{"short line", `{"type":"LineString","coordinates":[[0,0]]}`, "geometry.coordinates"},
		{"line position", `{"type":"LineString","coordinates":[[0,0],[0,95]]}`, "geometry.coordinates[1]"},
		{"short ring", `{"type":"Polygon","coordinates":[[[0,0],[1,0],[0,0]]]}`, "geometry.coordinates[0]"},
		{"open ring", `{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1]]]}`, "geometry.coordinates[0]"},
		{"no rings", `{"type":"Polygon","coordinates":[]}`, "geometry.coordinates"},
		{"empty multipolygon", `{"type":"MultiPolygon","coordinates":[]}`, "geometry.coordinates"},
		{"trailing", `{"type":"Point","coordinates":[0,0]} x`, "geometry"},
		{"too large", `{"type":"LineString","coordinates":[` + strings.Repeat("[0,0],", MaxGeometryBytes/6) + `[0,0]]}`, "geometry"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeGeometry(strings.NewReader(tt.doc))
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("DecodeGeometry = %v, want a *ValidationError", err)
			}
			if ve.Field != tt.field {
				t.Errorf("field = %q, want %q (%v)", ve.Field, tt.field, err)
			}
		})
	}
}

func TestDistances(t *testing.T) {
	const degree = EarthRadius * math.Pi / 180 // metres per degree of a great circle
	tests := []struct {
		name string
		got  float64
		want float64
	}{
		{"1 degree of latitude", Haversine(0, 0, 0, 1), degree},
		{"1 degree of longitude at the equator", Haversine(0, 0, 1, 0), degree},
		{"1 degree of longitude at 60N", Haversine(0, 60, 1, 60), 2 * EarthRadius * math.Asin(math.Cos(60*math.Pi/180)*math.Sin(0.5*math.Pi/180))},
		{"antipodes", Haversine(0, 0, 180, 0), math.Pi * EarthRadius},
		{"point geometry", point(0, 0).DistanceTo(0, 1), degree},
		{"inside polygon", square(0, 0, 1).DistanceTo(0.5, 0.5), 0},
		{"east of polygon edge", square(0, 0, 1).DistanceTo(1.01, 0.5), 0.01 * degree * math.Cos(0.5*math.Pi/180)},
		{"beyond a vertex", square(0, 0, 1).DistanceTo(1.01, 1.01), Haversine(1.01, 1.01, 1, 1)},
		{"off a line's middle", (&Geometry{Type: KindLineString, LineString: []Position{{0, 0}, {0, 2}}}).DistanceTo(0.001, 1), 0.001 * degree * math.Cos(math.Pi/180)},
	}
	for _, tt := range tests {
		if math.Abs(tt.got-tt.want) > 1e-3*math.Max(1, tt.want) {
			t.Errorf("%s: got %.3f m, want %.3f m", tt.name, tt.got, tt.want)
		}
	}
}

func TestIntersectsAndWithin(t *testing.T) {
	sq := square(0, 0, 10)
	hole := &Geometry{Type: KindPolygon, Polygon: [][]Position{
		{{0, 0}, {10, 0}, {10, 10}, {0, 10}, {0, 0}},
		{{4, 4}, {6, 4}, {6, 6}, {4, 6}, {4, 4}},
	}}
	r := func(a, b, c, d float64) Rect { return Rect{Min: [2]float64{a, b}, Max: [2]float64{c, d}} }
	intersects := []struct {
		name string
		g    *Geometry
		r    Rect
		want bool
	}{
		{"point inside", point(1, 1), r(0, 0, 2, 2), true},
		{"point on edge", point(2, 1), r(0, 0, 2, 2), true},
		{"point outside", point(3, 1), r(0, 0, 2, 2), false},
		{"rect inside polygon", sq, r(1, 1, 2, 2), true},
		{"rect inside hole", hole, r(4.5, 4.5, 5.5, 5.5), false},
		{"rect across edge", sq, r(9, 9, 11, 11), true},
		{"diagonal line crossing", &Geometry{Type: KindLineString, LineString: []Position{{-1, 1}, {1, -1}}}, r(-0.5, -0.5, 0.5, 0.5), true},
		{"line missing a corner", &Geometry{Type: KindLineString, LineString: []Position{{-1, 0.9}, {0.9, -1}}}, r(0, 0, 1, 1), false},
		{"triangle bbox overlaps only", &Geometry{Type: KindPolygon, Polygon: [][]Position{{{0, 0}, {10, 0}, {0, 10}, {0, 0}}}}, r(8, 8, 9, 9), false},
	}
	for _, tt := range intersects {
		if got := tt.g.IntersectsRect(tt.r); got != tt.want {
			t.Errorf("IntersectsRect %s = %v, want %v", tt.name, got, tt.want)
		}
	}
	within := []struct {
		name string
		g    *Geometry
		area *Geometry
		want bool
	}{
		{"point", point(1, 1), sq, true},
		{"point in hole", point(5, 5), hole, false},
		{"small square", square(1, 1, 1), sq, true},
		{"square over the hole", square(3, 3, 4), hole, false},
		{"line crossing out", &Geometry{Type: KindLineString, LineString: []Position{{1, 1}, {11, 1}}}, sq, false},
		{"concave: line crossing the notch", &Geometry{Type: KindLineString, LineString: []Position{{1, 9}, {9, 9}}},
			&Geometry{Type: KindPolygon, Polygon: [][]Position{{{0, 0}, {10, 0}, {10, 10}, {6, 10}, {5, 5}, {4, 10}, {0, 10}, {0, 0}}}}, false},
	}
	for _, tt := range within {
		if got := tt.g.Within(tt.area); got != tt.want {
			t.Errorf("Within %s = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestNearRects(t *testing.T) {
	tests := []struct {
		name string
		n    Near
		want int
	}{
		{"ordinary", Near{Lon: 114, Lat: 22, Radius: 1000}, 1},
		{"across the antimeridian", Near{Lon: 179.999, Lat: 0, Radius: 1000}, 2},
		{"across the antimeridian west", Near{Lon: -179.999, Lat: 0, Radius: 1000}, 2},
		{"over the pole", Near{Lon: 0, Lat: 89.999, Radius: 1000}, 1},
	}
	for _, tt := range tests {
		rects := nearRects(tt.n)
		if len(rects) != tt.want {
			t.Errorf("%s: %d boxes, want %d", tt.name, len(rects), tt.want)
		}
		for _, r := range rects {
			if r.Min[0] < -180 || r.Max[0] > 180 || r.Min[1] < -90 || r.Max[1] > 90 || r.Min[0] > r.Max[0] {
				t.Errorf("%s: box %v out of range", tt.name, r)
			}
		}
	}
	// a twin just across the antimeridian is found
	g := point(-179.9995, 0)
	if d := g.DistanceTo(179.9995, 0); d > 200 {
		t.Errorf("distance across the antimeridian = %g m, want about 111 m", d)
	}
}
