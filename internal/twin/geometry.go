package twin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
)

// Geometry kinds accepted by the registry (RFC 7946 names).
const (
	KindPoint        = "Point"
	KindLineString   = "LineString"
	KindPolygon      = "Polygon"
	KindMultiPolygon = "MultiPolygon"
)

// MaxGeometryBytes bounds a GeoJSON geometry document read by
// DecodeGeometry.
const MaxGeometryBytes = 1 << 20

// MaxPositions bounds the number of positions in one geometry.
const MaxPositions = 50000

// Position is a WGS84 position: longitude, latitude and an optional
// altitude in metres (RFC 7946 section 3.1.1).
type Position []float64

// Geometry is a GeoJSON geometry (RFC 7946) in WGS84: exactly one of the
// coordinate fields matches Type. Antimeridian-crossing geometries are not
// split: a geometry's bounding box is its min/max longitude and latitude.
type Geometry struct {
	Type         string
	Point        Position
	LineString   []Position
	Polygon      [][]Position
	MultiPolygon [][][]Position
}

type geometryJSON struct {
	Type        string          `json:"type"`
	Coordinates json.RawMessage `json:"coordinates"`
}

// MarshalJSON encodes g as a GeoJSON geometry object.
func (g Geometry) MarshalJSON() ([]byte, error) {
	var coords any
	switch g.Type {
	case KindPoint:
		coords = g.Point
	case KindLineString:
		coords = g.LineString
	case KindPolygon:
		coords = g.Polygon
	case KindMultiPolygon:
		coords = g.MultiPolygon
	default:
		return nil, fmt.Errorf("geometry: unsupported type %q", g.Type)
	}
	c, err := json.Marshal(coords)
	if err != nil {
		return nil, err
	}
	return json.Marshal(geometryJSON{Type: g.Type, Coordinates: c})
}

// UnmarshalJSON decodes and validates a GeoJSON geometry object; see
// DecodeGeometry for the rules.
func (g *Geometry) UnmarshalJSON(b []byte) error {
	var raw geometryJSON
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return invalid("geometry", "%v", err)
	}
	if len(raw.Coordinates) == 0 || string(raw.Coordinates) == "null" {
		return invalid("geometry.coordinates", "missing")
	}
	var out Geometry
	out.Type = raw.Type
	var err error
	switch raw.Type {
	case KindPoint:
		err = json.Unmarshal(raw.Coordinates, &out.Point)
	case KindLineString:
		err = json.Unmarshal(raw.Coordinates, &out.LineString)
	case KindPolygon:
		err = json.Unmarshal(raw.Coordinates, &out.Polygon)
	case KindMultiPolygon:
		err = json.Unmarshal(raw.Coordinates, &out.MultiPolygon)
	case "":
		return invalid("geometry.type", "missing")
	default:
		return invalid("geometry.type", "%q is not one of Point, LineString, Polygon, MultiPolygon", raw.Type)
	}
	if err != nil {
		return invalid("geometry.coordinates", "%v", err)
	}
	if err := out.Validate(); err != nil {
		return err
	}
	*g = out
	return nil
}

// DecodeGeometry reads one GeoJSON geometry object (at most
// MaxGeometryBytes) and validates it: a supported type, finite numbers,
// longitude in [-180, 180], latitude in [-90, 90], 2 or 3 numbers per
// position, a LineString of >= 2 positions, closed polygon rings of >= 4
// positions. Errors match ErrInvalid.
func DecodeGeometry(r io.Reader) (Geometry, error) {
	var g Geometry
	if err := decodeStrict(r, MaxGeometryBytes, "geometry", &g); err != nil {
		return Geometry{}, err
	}
	return g, nil
}

// decodeStrict decodes exactly one JSON value of at most limit bytes into v
// with unknown fields refused.
func decodeStrict(r io.Reader, limit int64, what string, v any) error {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return fmt.Errorf("read %s: %w", what, err)
	}
	if int64(len(data)) > limit {
		return invalid(what, "document larger than %d bytes", limit)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		var ve *ValidationError
		if errors.As(err, &ve) {
			return ve
		}
		return invalid(what, "%v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return invalid(what, "trailing data after the JSON document")
	}
	return nil
}

// Validate checks g against the rules of DecodeGeometry.
func (g *Geometry) Validate() error {
	n := 0
	switch g.Type {
	case KindPoint:
		return validPosition("geometry.coordinates", g.Point)
	case KindLineString:
		return validLine("geometry.coordinates", g.LineString, &n)
	case KindPolygon:
		return validPolygon("geometry.coordinates", g.Polygon, &n)
	case KindMultiPolygon:
		if len(g.MultiPolygon) == 0 {
			return invalid("geometry.coordinates", "a MultiPolygon needs at least one polygon")
		}
		for i, p := range g.MultiPolygon {
			if err := validPolygon(fmt.Sprintf("geometry.coordinates[%d]", i), p, &n); err != nil {
				return err
			}
		}
		return nil
	default:
		return invalid("geometry.type", "%q is not one of Point, LineString, Polygon, MultiPolygon", g.Type)
	}
}

func validPosition(field string, p Position) error {
	if len(p) != 2 && len(p) != 3 {
		return invalid(field, "a position has 2 or 3 numbers, got %d", len(p))
	}
	for _, v := range p {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return invalid(field, "not a finite number")
		}
	}
	if p[0] < -180 || p[0] > 180 {
		return invalid(field, "longitude %g outside [-180, 180]", p[0])
	}
	if p[1] < -90 || p[1] > 90 {
		return invalid(field, "latitude %g outside [-90, 90]", p[1])
	}
	return nil
}

func validLine(field string, l []Position, n *int) error {
	if len(l) < 2 {
		return invalid(field, "a LineString needs at least 2 positions, got %d", len(l))
	}
	*n += len(l)
	if *n > MaxPositions {
		return invalid(field, "more than %d positions", MaxPositions)
	}
	for i, p := range l {
		if err := validPosition(field, p); err != nil {
			// name the position only on error: no formatting per position
			return validPosition(fmt.Sprintf("%s[%d]", field, i), p)
		}
	}
	return nil
}

func validPolygon(field string, rings [][]Position, n *int) error {
	if len(rings) == 0 {
		return invalid(field, "a Polygon needs at least one ring")
	}
	for i, ring := range rings {
		f := fmt.Sprintf("%s[%d]", field, i)
		if len(ring) < 4 {
			return invalid(f, "a polygon ring needs at least 4 positions, got %d", len(ring))
		}
		if err := validLine(f, ring, n); err != nil {
			return err
		}
		first, last := ring[0], ring[len(ring)-1]
		if len(first) != len(last) || first[0] != last[0] || first[1] != last[1] || (len(first) == 3 && first[2] != last[2]) {
			return invalid(f, "ring is not closed (first and last positions differ)")
		}
	}
	return nil
}

// Rect is an axis-aligned box in degrees: Min = (minLon, minLat),
// Max = (maxLon, maxLat).
type Rect struct {
	Min, Max [2]float64
}

// Bounds returns the bounding box of a valid geometry.
func (g *Geometry) Bounds() Rect {
	r := Rect{Min: [2]float64{math.Inf(1), math.Inf(1)}, Max: [2]float64{math.Inf(-1), math.Inf(-1)}}
	g.eachPosition(func(p Position) {
		r.Min[0] = math.Min(r.Min[0], p[0])
		r.Min[1] = math.Min(r.Min[1], p[1])
		r.Max[0] = math.Max(r.Max[0], p[0])
		r.Max[1] = math.Max(r.Max[1], p[1])
	})
	return r
}

func (g *Geometry) eachPosition(f func(Position)) {
	switch g.Type {
	case KindPoint:
		f(g.Point)
	case KindLineString:
		for _, p := range g.LineString {
			f(p)
		}
	case KindPolygon:
		for _, ring := range g.Polygon {
			for _, p := range ring {
				f(p)
			}
		}
	case KindMultiPolygon:
		for _, poly := range g.MultiPolygon {
			for _, ring := range poly {
				for _, p := range ring {
					f(p)
				}
			}
		}
	}
}

// eachSegment calls f for each segment of a LineString or polygon ring;
// it stops when f returns false and reports whether it ran to the end.
func (g *Geometry) eachSegment(f func(a, b Position) bool) bool {
	line := func(l []Position) bool {
		for i := 1; i < len(l); i++ {
			if !f(l[i-1], l[i]) {
				return false
			}
		}
		return true
	}
	switch g.Type {
	case KindLineString:
		return line(g.LineString)
	case KindPolygon:
		for _, ring := range g.Polygon {
			if !line(ring) {
				return false
			}
		}
	case KindMultiPolygon:
		for _, poly := range g.MultiPolygon {
			for _, ring := range poly {
				if !line(ring) {
					return false
				}
			}
		}
	}
	return true
}

// containsPoint reports whether (x, y) is inside the (multi)polygon g
// (even-odd rule over all rings, so holes are excluded).
func (g *Geometry) containsPoint(x, y float64) bool {
	switch g.Type {
	case KindPolygon:
		return ringsContain(g.Polygon, x, y)
	case KindMultiPolygon:
		for _, p := range g.MultiPolygon {
			if ringsContain(p, x, y) {
				return true
			}
		}
	}
	return false
}

func ringsContain(rings [][]Position, x, y float64) bool {
	in := false
	for _, ring := range rings {
		for i, j := 0, len(ring)-1; i < len(ring); j, i = i, i+1 {
			xi, yi, xj, yj := ring[i][0], ring[i][1], ring[j][0], ring[j][1]
			if (yi > y) != (yj > y) && x < (xj-xi)*(y-yi)/(yj-yi)+xi {
				in = !in
			}
		}
	}
	return in
}

func (r Rect) containsPoint(x, y float64) bool {
	return x >= r.Min[0] && x <= r.Max[0] && y >= r.Min[1] && y <= r.Max[1]
}

func (r Rect) intersects(o Rect) bool {
	return r.Min[0] <= o.Max[0] && o.Min[0] <= r.Max[0] && r.Min[1] <= o.Max[1] && o.Min[1] <= r.Max[1]
}

func orient(ax, ay, bx, by, cx, cy float64) float64 {
	return (bx-ax)*(cy-ay) - (by-ay)*(cx-ax)
}

func sign(v float64) int {
	switch {
	case v > 0:
		return 1
	case v < 0:
		return -1
	}
	return 0
}

func onSegment(ax, ay, bx, by, cx, cy float64) bool {
	return math.Min(ax, bx) <= cx && cx <= math.Max(ax, bx) && math.Min(ay, by) <= cy && cy <= math.Max(ay, by)
}

// segmentsIntersect reports whether segments ab and cd share a point.
func segmentsIntersect(a, b, c, d Position) bool {
	d1 := sign(orient(c[0], c[1], d[0], d[1], a[0], a[1]))
	d2 := sign(orient(c[0], c[1], d[0], d[1], b[0], b[1]))
	d3 := sign(orient(a[0], a[1], b[0], b[1], c[0], c[1]))
	d4 := sign(orient(a[0], a[1], b[0], b[1], d[0], d[1]))
	if d1*d2 < 0 && d3*d4 < 0 {
		return true
	}
	return (d1 == 0 && onSegment(c[0], c[1], d[0], d[1], a[0], a[1])) ||
		(d2 == 0 && onSegment(c[0], c[1], d[0], d[1], b[0], b[1])) ||
		(d3 == 0 && onSegment(a[0], a[1], b[0], b[1], c[0], c[1])) ||
		(d4 == 0 && onSegment(a[0], a[1], b[0], b[1], d[0], d[1]))
}

// segmentsCross reports a proper crossing: the interiors cross at one point.
func segmentsCross(a, b, c, d Position) bool {
	d1 := sign(orient(c[0], c[1], d[0], d[1], a[0], a[1]))
	d2 := sign(orient(c[0], c[1], d[0], d[1], b[0], b[1]))
	d3 := sign(orient(a[0], a[1], b[0], b[1], c[0], c[1]))
	d4 := sign(orient(a[0], a[1], b[0], b[1], d[0], d[1]))
	return d1*d2 < 0 && d3*d4 < 0
}

// IntersectsRect reports whether the geometry shares a point with r.
func (g *Geometry) IntersectsRect(r Rect) bool {
	if !g.Bounds().intersects(r) {
		return false
	}
	if g.Type == KindPoint {
		return r.containsPoint(g.Point[0], g.Point[1])
	}
	hit := false
	g.eachPosition(func(p Position) {
		if !hit && r.containsPoint(p[0], p[1]) {
			hit = true
		}
	})
	if hit {
		return true
	}
	c := [4]Position{{r.Min[0], r.Min[1]}, {r.Max[0], r.Min[1]}, {r.Max[0], r.Max[1]}, {r.Min[0], r.Max[1]}}
	crossed := !g.eachSegment(func(a, b Position) bool {
		for i := range 4 {
			if segmentsIntersect(a, b, c[i], c[(i+1)%4]) {
				return false
			}
		}
		return true
	})
	if crossed {
		return true
	}
	// r entirely inside a polygon.
	return g.containsPoint(r.Min[0], r.Min[1])
}

// Within reports whether g lies inside the (multi)polygon area: every
// vertex of g is inside area, no vertex of area (a hole, a notch) is
// inside a polygonal g, and no edge of g properly crosses an edge of area. Vertices exactly on the area's boundary may count either way.
func (g *Geometry) Within(area *Geometry) bool {
	if !area.Bounds().intersects(g.Bounds()) {
		return false
	}
	inside := true
	g.eachPosition(func(p Position) {
		if inside && !area.containsPoint(p[0], p[1]) {
			inside = false
		}
	})
	if !inside {
		return false
	}
	if g.Type == KindPolygon || g.Type == KindMultiPolygon {
		// The area's boundary (a hole, a notch) must not reach into g.
		area.eachPosition(func(p Position) {
			if inside && g.containsPoint(p[0], p[1]) {
				inside = false
			}
		})
		if !inside {
			return false
		}
	}
	return g.eachSegment(func(a, b Position) bool {
		return area.eachSegment(func(c, d Position) bool { return !segmentsCross(a, b, c, d) })
	})
}

// EarthRadius is the mean Earth radius in metres (IUGG).
const EarthRadius = 6371008.8

// Haversine returns the great-circle distance in metres between two
// lon/lat points in degrees.
func Haversine(lon1, lat1, lon2, lat2 float64) float64 {
	const rad = math.Pi / 180
	dLat := (lat2 - lat1) * rad
	dLon := (lon2 - lon1) * rad
	s := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * EarthRadius * math.Asin(math.Min(1, math.Sqrt(s)))
}

// DistanceTo returns the distance in metres from the point (lon, lat) to g:
// haversine to a Point; for lines and polygons the least of the haversine
// distance to each vertex and of the distance to each edge measured in an
// equirectangular projection centred on (lon, lat) (accurate to well under
// 1% for edges within a few hundred kilometres); 0 inside a polygon.
func (g *Geometry) DistanceTo(lon, lat float64) float64 {
	if g.Type == KindPoint {
		return Haversine(lon, lat, g.Point[0], g.Point[1])
	}
	if g.containsPoint(lon, lat) {
		return 0
	}
	best := math.Inf(1)
	g.eachPosition(func(p Position) {
		best = math.Min(best, Haversine(lon, lat, p[0], p[1]))
	})
	const rad = math.Pi / 180
	kx := math.Cos(lat*rad) * rad * EarthRadius
	ky := rad * EarthRadius
	g.eachSegment(func(a, b Position) bool {
		ax, ay := (a[0]-lon)*kx, (a[1]-lat)*ky
		bx, by := (b[0]-lon)*kx, (b[1]-lat)*ky
		dx, dy := bx-ax, by-ay
		l2 := dx*dx + dy*dy
		if l2 == 0 {
			return true
		}
		t := -(ax*dx + ay*dy) / l2
		if t <= 0 || t >= 1 {
			return true
		}
		px, py := ax+t*dx, ay+t*dy
		best = math.Min(best, math.Hypot(px, py))
		return true
	})
	return best
}

// clone returns a deep copy of g.
func (g *Geometry) clone() *Geometry {
	if g == nil {
		return nil
	}
	c := Geometry{Type: g.Type}
	cp := func(p Position) Position { return append(Position(nil), p...) }
	cl := func(l []Position) []Position {
		out := make([]Position, len(l))
		for i, p := range l {
			out[i] = cp(p)
		}
		return out
	}
	cpoly := func(rings [][]Position) [][]Position {
		out := make([][]Position, len(rings))
		for i, r := range rings {
			out[i] = cl(r)
		}
		return out
	}
	switch g.Type {
	case KindPoint:
		c.Point = cp(g.Point)
	case KindLineString:
		c.LineString = cl(g.LineString)
	case KindPolygon:
		c.Polygon = cpoly(g.Polygon)
	case KindMultiPolygon:
		c.MultiPolygon = make([][][]Position, len(g.MultiPolygon))
		for i, p := range g.MultiPolygon {
			c.MultiPolygon[i] = cpoly(p)
		}
	}
	return &c
}
