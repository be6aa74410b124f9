package twin

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Query limits.
const (
	DefaultLimit  = 100
	MaxLimit      = 1000
	MaxDepth      = 5
	maxFilters    = 32
	maxCursorLen  = 1024
	maxQueryValue = 64 << 10
	// MaxAreaPositions bounds the polygon of a within query: the exact
	// test costs (twin edges x area edges) per candidate.
	MaxAreaPositions = 1000
)

// Query selects twins of one tenant; all filters must hold (AND). Build it
// with ParseQuery from URL parameters or directly; zero values mean "no
// filter" and the defaults (sort by id, limit 100, dir out, depth 1).
type Query struct {
	Type   string
	Labels []LabelMatch
	Props  []PropFilter
	// BBox keeps twins whose geometry intersects the box.
	BBox *Rect
	// Within keeps twins whose geometry lies inside this (Multi)Polygon.
	Within *Geometry
	// Near keeps twins whose geometry is within Radius metres of a point.
	Near *Near
	// From, Rel, Dir, Depth: twins reachable from twin From by following
	// relationship Rel ("*" or "": any) out of (Dir "out") or into (Dir "in")
	// each twin, 1 to Depth hops; From itself is not included.
	From  string
	Rel   string
	Dir   string
	Depth int
	// Sort is id, name, type, created, updated or prop.<name>, with "-"
	// for descending; ties are broken by id in the same direction. A
	// property sort orders numbers, then strings, then bools, then twins
	// without the property (reversed by "-").
	Sort   string
	Limit  int
	Cursor string
}

// LabelMatch requires labels[Key] == Value.
type LabelMatch struct{ Key, Value string }

// PropFilter compares property Name with Value using Op (=, !=, <, <=, >,
// >=). Numbers compare numerically against number and integer properties,
// anything else compares as a string against string, enum and time
// properties; bool properties take = and != with true/false. A twin
// without the property, or whose property has another kind, does not match.
type PropFilter struct{ Name, Op, Value string }

// Near is a point (degrees) and a radius in metres.
type Near struct{ Lon, Lat, Radius float64 }

// Page is one page of results. Next is an opaque cursor for the following
// page (empty on the last page): keyset pagination, so pages stay stable
// while twins are added or removed.
type Page struct {
	Items []Twin `json:"items"`
	Next  string `json:"next,omitempty"`
}

var sortKeys = []string{"id", "name", "type", "created", "updated"}

// ParseQuery decodes URL query parameters:
//
//	type=<type>                 label=<key>:<value> (repeatable)
//	prop=<name><op><value> (repeatable; op one of = != < <= > >=)
//	bbox=minLon,minLat,maxLon,maxLat
//	within=<GeoJSON Polygon|MultiPolygon> or "lon lat, lon lat, ..."
//	near=lon,lat,radiusMetres
//	from=<id>&rel=<name|*>&dir=out|in&depth=1..5
//	sort=id|name|type|created|updated|prop.<name>, "-" prefix: descending
//	limit=1..1000 (default 100)  cursor=<from a previous Page.Next>
//
// Unknown parameters and repeated single-valued ones are refused.
func ParseQuery(v url.Values) (Query, error) {
	var q Query
	for key, vals := range v {
		switch key {
		case "label", "prop":
			if len(vals) > maxFilters {
				return Query{}, invalid(key, "more than %d filters", maxFilters)
			}
		case "type", "bbox", "within", "near", "from", "rel", "dir", "depth", "sort", "limit", "cursor":
			if len(vals) != 1 {
				return Query{}, invalid(key, "given %d times", len(vals))
			}
		default:
			return Query{}, invalid(key, "unknown query parameter")
		}
		for _, s := range vals {
			if len(s) > maxQueryValue {
				return Query{}, invalid(key, "longer than %d bytes", maxQueryValue)
			}
		}
	}
	q.Type = v.Get("type")
	for _, s := range v["label"] {
		k, val, ok := strings.Cut(s, ":")
		if !ok {
			return Query{}, invalid("label", "%q: want key:value", s)
		}
		q.Labels = append(q.Labels, LabelMatch{Key: k, Value: val})
	}
	for _, s := range v["prop"] {
		f, err := parsePropFilter(s)
		if err != nil {
			return Query{}, err
		}
		q.Props = append(q.Props, f)
	}
	if s, ok := one(v, "bbox"); ok {
		n, err := numbers("bbox", s, 4)
		if err != nil {
			return Query{}, err
		}
		q.BBox = &Rect{Min: [2]float64{n[0], n[1]}, Max: [2]float64{n[2], n[3]}}
	}
	if s, ok := one(v, "within"); ok {
		g, err := parseArea(s)
		if err != nil {
			return Query{}, err
		}
		q.Within = &g
	}
	if s, ok := one(v, "near"); ok {
		n, err := numbers("near", s, 3)
		if err != nil {
			return Query{}, err
		}
		q.Near = &Near{Lon: n[0], Lat: n[1], Radius: n[2]}
	}
	q.From, q.Rel, q.Dir = v.Get("from"), v.Get("rel"), v.Get("dir")
	if s, ok := one(v, "depth"); ok {
		d, err := strconv.Atoi(s)
		if err != nil {
			return Query{}, invalid("depth", "%q is not an integer", s)
		}
		q.Depth = d
	}
	q.Sort = v.Get("sort")
	if s, ok := one(v, "limit"); ok {
		l, err := strconv.Atoi(s)
		if err != nil {
			return Query{}, invalid("limit", "%q is not an integer", s)
		}
		if l < 1 {
			return Query{}, invalid("limit", "must be 1-%d", MaxLimit)
		}
		q.Limit = l
	}
	q.Cursor = v.Get("cursor")
	return q.normalize()
}

func one(v url.Values, key string) (string, bool) {
	vals, ok := v[key]
	if !ok {
		return "", false
	}
	return vals[0], true
}

func numbers(field, s string, n int) ([]float64, error) {
	parts := strings.Split(s, ",")
	if len(parts) != n {
		return nil, invalid(field, "%q: want %d comma-separated numbers", s, n)
	}
	out := make([]float64, n)
	for i, p := range parts {
		x, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, invalid(field, "%q is not a finite number", p)
		}
		out[i] = x
	}
	return out, nil
}

func parsePropFilter(s string) (PropFilter, error) {
	i := strings.IndexAny(s, "=!<>")
	if i <= 0 {
		return PropFilter{}, invalid("prop", "%q: want <name><op><value>, op one of = != < <= > >=", s)
	}
	f := PropFilter{Name: s[:i]}
	rest := s[i:]
	for _, op := range []string{"!=", "<=", ">=", "=", "<", ">"} {
		if strings.HasPrefix(rest, op) {
			f.Op, f.Value = op, rest[len(op):]
			break
		}
	}
	if f.Op == "" {
		return PropFilter{}, invalid("prop", "%q: '!' must be followed by '='", s)
	}
	return f, nil
}

// parseArea reads a GeoJSON Polygon/MultiPolygon or a "lon lat, lon lat,
// ..." list (commas and spaces both separate numbers; the ring is closed
// if needed).
func parseArea(s string) (Geometry, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "{") {
		g, err := DecodeGeometry(strings.NewReader(s))
		if err != nil {
			return Geometry{}, invalid("within", "%v", err)
		}
		if g.Type != KindPolygon && g.Type != KindMultiPolygon {
			return Geometry{}, invalid("within", "want a Polygon or MultiPolygon, got %s", g.Type)
		}
		return g, nil
	}
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' })
	if len(fields)%2 != 0 || len(fields) < 6 {
		return Geometry{}, invalid("within", "want a GeoJSON polygon or at least 3 lon lat pairs")
	}
	if len(fields) > 2*MaxAreaPositions {
		return Geometry{}, invalid("within", "more than %d positions", MaxAreaPositions)
	}
	ring := make([]Position, 0, len(fields)/2+1)
	for i := 0; i < len(fields); i += 2 {
		lon, err1 := strconv.ParseFloat(fields[i], 64)
		lat, err2 := strconv.ParseFloat(fields[i+1], 64)
		if err1 != nil || err2 != nil {
			return Geometry{}, invalid("within", "%q %q: not numbers", fields[i], fields[i+1])
		}
		ring = append(ring, Position{lon, lat})
	}
	if f, l := ring[0], ring[len(ring)-1]; f[0] != l[0] || f[1] != l[1] {
		ring = append(ring, Position{f[0], f[1]})
	}
	g := Geometry{Type: KindPolygon, Polygon: [][]Position{ring}}
	if err := g.Validate(); err != nil {
		return Geometry{}, invalid("within", "%v", err)
	}
	return g, nil
}

// normalize validates q and fills the defaults.
func (q Query) normalize() (Query, error) {
	if q.Type != "" {
		if err := ValidID(q.Type); err != nil {
			return Query{}, invalid("type", "%v", err)
		}
	}
	if len(q.Labels) > maxFilters || len(q.Props) > maxFilters {
		return Query{}, invalid("", "more than %d label or prop filters", maxFilters)
	}
	for _, l := range q.Labels {
		if err := validLabelKey(l.Key); err != nil {
			return Query{}, invalid("label", "%v", err)
		}
		if err := validText(l.Value, MaxLabelValueLen); err != nil {
			return Query{}, invalid("label", "%v", err)
		}
	}
	for _, p := range q.Props {
		if err := validMemberName(p.Name); err != nil {
			return Query{}, invalid("prop", "%v", err)
		}
		if !slices.Contains([]string{"=", "!=", "<", "<=", ">", ">="}, p.Op) {
			return Query{}, invalid("prop", "op %q is not one of = != < <= > >=", p.Op)
		}
		if err := validText(p.Value, 1024); err != nil {
			return Query{}, invalid("prop", "%v", err)
		}
	}
	if b := q.BBox; b != nil {
		if err := validPosition("bbox", Position{b.Min[0], b.Min[1]}); err != nil {
			return Query{}, err
		}
		if err := validPosition("bbox", Position{b.Max[0], b.Max[1]}); err != nil {
			return Query{}, err
		}
		if b.Min[0] > b.Max[0] || b.Min[1] > b.Max[1] {
			return Query{}, invalid("bbox", "min exceeds max (boxes across the antimeridian are not supported)")
		}
	}
	if q.Within != nil {
		if err := q.Within.Validate(); err != nil {
			return Query{}, invalid("within", "%v", err)
		}
		if q.Within.Type != KindPolygon && q.Within.Type != KindMultiPolygon {
			return Query{}, invalid("within", "want a Polygon or MultiPolygon, got %s", q.Within.Type)
		}
		n := 0
		q.Within.eachPosition(func(Position) { n++ })
		if n > MaxAreaPositions {
			return Query{}, invalid("within", "more than %d positions", MaxAreaPositions)
		}
	}
	if n := q.Near; n != nil {
		if err := validPosition("near", Position{n.Lon, n.Lat}); err != nil {
			return Query{}, err
		}
		if !(n.Radius > 0 && n.Radius <= math.Pi*EarthRadius) {
			return Query{}, invalid("near", "radius %g m must be > 0 and at most half the Earth's circumference", n.Radius)
		}
	}
	if q.From == "" {
		if q.Rel != "" || q.Dir != "" || q.Depth != 0 {
			return Query{}, invalid("from", "rel, dir and depth need from")
		}
	} else {
		if err := ValidID(q.From); err != nil {
			return Query{}, invalid("from", "%v", err)
		}
		if q.Rel == "" {
			q.Rel = "*"
		}
		if q.Rel != "*" {
			if err := validMemberName(q.Rel); err != nil {
				return Query{}, invalid("rel", "%v", err)
			}
		}
		if q.Dir == "" {
			q.Dir = "out"
		}
		if q.Dir != "out" && q.Dir != "in" {
			return Query{}, invalid("dir", "%q is not out or in", q.Dir)
		}
		if q.Depth == 0 {
			q.Depth = 1
		}
		if q.Depth < 1 || q.Depth > MaxDepth {
			return Query{}, invalid("depth", "%d is not in 1-%d", q.Depth, MaxDepth)
		}
	}
	if q.Sort == "" {
		q.Sort = "id"
	}
	if key := strings.TrimPrefix(q.Sort, "-"); !slices.Contains(sortKeys, key) {
		name, isProp := strings.CutPrefix(key, "prop.")
		if !isProp || validMemberName(name) != nil {
			return Query{}, invalid("sort", "%q is not one of %s or prop.<name> (with - for descending)", q.Sort, strings.Join(sortKeys, ", "))
		}
	}
	if q.Limit == 0 {
		q.Limit = DefaultLimit
	}
	if q.Limit < 1 || q.Limit > MaxLimit {
		return Query{}, invalid("limit", "%d is not in 1-%d", q.Limit, MaxLimit)
	}
	if q.Cursor != "" {
		if _, err := decodeCursor(q.Cursor, q.Sort); err != nil {
			return Query{}, err
		}
	}
	return q, nil
}

// Values encodes q as URL parameters that ParseQuery reads back.
func (q Query) Values() url.Values {
	v := url.Values{}
	f := func(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
	if q.Type != "" {
		v.Set("type", q.Type)
	}
	for _, l := range q.Labels {
		v.Add("label", l.Key+":"+l.Value)
	}
	for _, p := range q.Props {
		v.Add("prop", p.Name+p.Op+p.Value)
	}
	if b := q.BBox; b != nil {
		v.Set("bbox", f(b.Min[0])+","+f(b.Min[1])+","+f(b.Max[0])+","+f(b.Max[1]))
	}
	if q.Within != nil {
		data, err := json.Marshal(q.Within)
		if err == nil {
			v.Set("within", string(data))
		}
	}
	if n := q.Near; n != nil {
		v.Set("near", f(n.Lon)+","+f(n.Lat)+","+f(n.Radius))
	}
	if q.From != "" {
		v.Set("from", q.From)
		if q.Rel != "" {
			v.Set("rel", q.Rel)
		}
		if q.Dir != "" {
			v.Set("dir", q.Dir)
		}
		if q.Depth != 0 {
			v.Set("depth", strconv.Itoa(q.Depth))
		}
	}
	if q.Sort != "" {
		v.Set("sort", q.Sort)
	}
	if q.Limit != 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	if q.Cursor != "" {
		v.Set("cursor", q.Cursor)
	}
	return v
}

// cursor is the sort key of the last item of a page.
type cursor struct {
	Sort string `json:"s"`
	Rank int    `json:"r,omitempty"` // property sorts: 0 number, 1 string, 2 bool, 3 missing
	Key  string `json:"k,omitempty"`
	Num  int64  `json:"n,omitempty"`
	ID   string `json:"i"`
}

func encodeCursor(c cursor) string {
	data, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(data)
}

func decodeCursor(s, sort string) (cursor, error) {
	if len(s) > maxCursorLen {
		return cursor{}, invalid("cursor", "longer than %d bytes", maxCursorLen)
	}
	data, err := base64.RawURLEncoding.DecodeString(s)
	var c cursor
	if err == nil {
		err = json.Unmarshal(data, &c)
	}
	if err != nil || c.ID == "" {
		return cursor{}, invalid("cursor", "not a cursor returned by this API")
	}
	if c.Sort != sort {
		return cursor{}, invalid("cursor", "made for sort=%s, not sort=%s", c.Sort, sort)
	}
	return c, nil
}

func keyOf(tw *Twin, sortKey string) cursor {
	c := cursor{ID: tw.ID}
	switch sortKey {
	case "id":
		// The id alone (before session 12 "id" fell through to a
		// property lookup, so twins with a property "id" came first).
	case "name":
		c.Key = tw.Name
	case "type":
		c.Key = tw.Type
	case "created":
		c.Num = tw.Created.UnixNano()
	case "updated":
		c.Num = tw.Updated.UnixNano()
	default:
		name, _ := strings.CutPrefix(sortKey, "prop.")
		switch v := tw.Properties[name].(type) {
		case float64:
			c.Num = orderedFloat(v)
		case int64:
			c.Num = orderedFloat(float64(v))
		case string:
			c.Rank, c.Key = 1, v
		case bool:
			c.Rank = 2
			if v {
				c.Num = 1
			}
		default:
			c.Rank = 3
		}
	}
	return c
}

// orderedFloat maps a float64 to an int64 with the same order.
func orderedFloat(f float64) int64 {
	if f == 0 {
		f = 0 // -0 sorts with 0
	}
	b := math.Float64bits(f)
	if b>>63 == 1 {
		b = ^b
	} else {
		b |= 1 << 63
	}
	return int64(b ^ (1 << 63))
}

func compareKeys(a, b cursor) int {
	if c := cmp.Compare(a.Rank, b.Rank); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Key, b.Key); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Num, b.Num); c != 0 {
		return c
	}
	return cmp.Compare(a.ID, b.ID)
}

// compiled is a normalised query ready to run.
type compiled struct {
	q      Query
	nums   []float64 // per prop filter; NaN when the value is not a number
	after  *cursor
	sort   string
	desc   bool
	search []Rect // R-tree search boxes, nil: no spatial filter
}

func compile(q Query) (*compiled, error) {
	q, err := q.normalize()
	if err != nil {
		return nil, err
	}
	c := &compiled{q: q, sort: strings.TrimPrefix(q.Sort, "-"), desc: strings.HasPrefix(q.Sort, "-")}
	for _, p := range q.Props {
		x, err := strconv.ParseFloat(p.Value, 64)
		if err != nil || math.IsInf(x, 0) {
			x = math.NaN()
		}
		c.nums = append(c.nums, x)
	}
	if q.Cursor != "" {
		cur, err := decodeCursor(q.Cursor, q.Sort)
		if err != nil {
			return nil, err
		}
		c.after = &cur
	}
	switch {
	case q.BBox != nil:
		c.search = []Rect{*q.BBox}
	case q.Within != nil:
		c.search = []Rect{q.Within.Bounds()}
	case q.Near != nil:
		c.search = nearRects(*q.Near)
	}
	return c, nil
}

// nearRects returns boxes covering the circle (two when it crosses the
// antimeridian).
func nearRects(n Near) []Rect {
	dLat := n.Radius / EarthRadius * 180 / math.Pi
	minLat, maxLat := n.Lat-dLat, n.Lat+dLat
	if minLat <= -90 || maxLat >= 90 {
		return []Rect{{Min: [2]float64{-180, math.Max(minLat, -90)}, Max: [2]float64{180, math.Min(maxLat, 90)}}}
	}
	// the widest longitude span of the circle is at the latitude nearest a pole
	cosLat := math.Min(math.Cos(minLat*math.Pi/180), math.Cos(maxLat*math.Pi/180))
	dLon := dLat / cosLat
	if dLon >= 180 {
		return []Rect{{Min: [2]float64{-180, minLat}, Max: [2]float64{180, maxLat}}}
	}
	minLon, maxLon := n.Lon-dLon, n.Lon+dLon
	switch {
	case minLon < -180:
		return []Rect{{Min: [2]float64{-180, minLat}, Max: [2]float64{maxLon, maxLat}}, {Min: [2]float64{minLon + 360, minLat}, Max: [2]float64{180, maxLat}}}
	case maxLon > 180:
		return []Rect{{Min: [2]float64{minLon, minLat}, Max: [2]float64{180, maxLat}}, {Min: [2]float64{-180, minLat}, Max: [2]float64{maxLon - 360, maxLat}}}
	}
	return []Rect{{Min: [2]float64{minLon, minLat}, Max: [2]float64{maxLon, maxLat}}}
}

func (c *compiled) match(tw *Twin) bool {
	q := &c.q
	if q.Type != "" && tw.Type != q.Type {
		return false
	}
	for _, l := range q.Labels {
		if v, ok := tw.Labels[l.Key]; !ok || v != l.Value {
			return false
		}
	}
	for i, p := range q.Props {
		if !matchProp(tw.Properties[p.Name], p, c.nums[i]) {
			return false
		}
	}
	if q.BBox != nil || q.Within != nil || q.Near != nil {
		g := tw.Geometry
		if g == nil {
			return false
		}
		if q.BBox != nil && !g.IntersectsRect(*q.BBox) {
			return false
		}
		if q.Within != nil && !g.Within(q.Within) {
			return false
		}
		if q.Near != nil && g.DistanceTo(q.Near.Lon, q.Near.Lat) > q.Near.Radius {
			return false
		}
	}
	if c.after != nil {
		d := compareKeys(keyOf(tw, c.sort), *c.after)
		if c.desc {
			d = -d
		}
		if d <= 0 {
			return false
		}
	}
	return true
}

func matchProp(v any, p PropFilter, num float64) bool {
	var d int
	switch x := v.(type) {
	case float64, int64:
		if math.IsNaN(num) {
			return false
		}
		f, _, _ := number(x)
		d = cmp.Compare(f, num)
	case string:
		d = strings.Compare(x, p.Value)
	case bool:
		b, err := strconv.ParseBool(p.Value)
		if err != nil || (p.Op != "=" && p.Op != "!=") {
			return false
		}
		if x == b {
			d = 0
		} else {
			d = 1
		}
	default:
		return false
	}
	switch p.Op {
	case "=":
		return d == 0
	case "!=":
		return d != 0
	case "<":
		return d < 0
	case "<=":
		return d <= 0
	case ">":
		return d > 0
	case ">=":
		return d >= 0
	}
	return false
}

// Query returns one page of the tenant's twins matching q. Spatial filters
// use the R-tree (twins keyed by their geometry's bounding box) and then
// an exact test; relationship traversal walks the in-memory edge indexes.
func (r *Registry) Query(ctx context.Context, tenantName string, q Query) (Page, error) {
	c, err := compile(q)
	if err != nil {
		return Page{}, fmt.Errorf("query: %w", err)
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	hits, ordered, err := r.hits(ctx, tenantName, c, c.q.Limit+1)
	if err != nil {
		return Page{}, err
	}
	return c.page(hits, ordered), nil
}

// Ref names a twin and its type.
type Ref struct{ ID, Type string }

// Refs returns up to max twins matching q (its Limit is ignored), sorted as
// q asks, without copying them: for callers that only need the ids, such as
// reading the latest values of many twins. max is at most 100,000.
func (r *Registry) Refs(ctx context.Context, tenantName string, q Query, max int) ([]Ref, error) {
	if max < 1 || max > 100_000 {
		return nil, invalid("limit", "%d is not in 1-100000", max)
	}
	q.Limit = 1
	c, err := compile(q)
	if err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	c.q.Limit = max
	r.mu.RLock()
	defer r.mu.RUnlock()
	hits, ordered, err := r.hits(ctx, tenantName, c, max)
	if err != nil {
		return nil, err
	}
	if ordered || c.sort == "id" { // the default: compare the ids alone
		// Sorted as Refs, whose id strings sit in the slice: sorting the
		// twins' pointers read each twin again for every comparison.
		out := make([]Ref, len(hits))
		for i, tw := range hits {
			out[i] = Ref{tw.ID, tw.Type}
		}
		if !ordered {
			slices.SortFunc(out, func(a, b Ref) int {
				if c.desc {
					return strings.Compare(b.ID, a.ID)
				}
				return strings.Compare(a.ID, b.ID)
			})
		}
		return out[:min(len(out), max)], nil
	}
	// Compute each sort key once (keyOf is not free), then sort.
	type keyed struct {
		k  cursor
		tw *Twin
	}
	ks := make([]keyed, len(hits))
	for i, tw := range hits {
		ks[i] = keyed{keyOf(tw, c.sort), tw}
	}
	slices.SortFunc(ks, func(a, b keyed) int {
		d := compareKeys(a.k, b.k)
		if c.desc {
			return -d
		}
		return d
	})
	if len(ks) > max {
		ks = ks[:max]
	}
	out := make([]Ref, len(ks))
	for i, k := range ks {
		out[i] = Ref{k.tw.ID, k.tw.Type}
	}
	return out, nil
}

// hits returns the twins matching c; the caller holds r.mu. For a query
// by type in id order they come in c's order from the type's sorted ids,
// from the cursor on, and at most limit of them (ordered is true);
// otherwise all of them, in no order.
func (r *Registry) hits(ctx context.Context, tenantName string, c *compiled, limit int) (hits []*Twin, ordered bool, err error) {
	t, err := r.view(tenantName)
	if err != nil {
		return nil, false, err
	}
	consider := func(tw *Twin) {
		if tw != nil && c.match(tw) {
			hits = append(hits, tw)
		}
	}
	switch {
	case c.q.From != "":
		ids, err := t.traverse(c.q)
		if err != nil {
			return nil, false, fmt.Errorf("query: %w", err)
		}
		for _, id := range ids {
			consider(t.twins[id])
		}
	case c.search != nil:
		var seen map[string]bool
		if len(c.search) > 1 {
			seen = map[string]bool{}
		}
		for _, s := range c.search {
			t.tree.Search(s.Min, s.Max, func(_, _ [2]float64, id string) bool {
				if seen != nil {
					if seen[id] {
						return true
					}
					seen[id] = true
				}
				consider(t.twins[id])
				return true
			})
		}
	case c.sort == "id" && (c.q.Type != "" || (len(c.q.Labels) == 0 && len(c.q.Props) == 0)):
		// In order from the type's (or all) sorted ids: no sort, and a
		// page stops at its limit (10,000 ids sorted took 1.6 ms a query).
		// (A filter on all twins by label or property scans them as they
		// come: a lookup per id in order would cost more than it saves.)
		ids := t.typeIDs(c.q.Type)
		i, step, end := 0, 1, len(ids)
		if c.desc {
			i, step, end = len(ids)-1, -1, -1
		}
		if c.after != nil {
			k, found := slices.BinarySearch(ids, c.after.ID)
			switch {
			case c.desc:
				i = k - 1
			case found:
				i = k + 1
			default:
				i = k
			}
		}
		for ; i != end && len(hits) < limit; i += step {
			consider(t.twins[ids[i]])
		}
		ordered = true
	case c.q.Type != "":
		for id := range t.byType[c.q.Type] {
			consider(t.twins[id])
		}
	default:
		for _, tw := range t.twins {
			consider(tw)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	return hits, ordered, nil
}

// page sorts the hits and cuts one page; only the first limit+1 are
// ordered fully (a partial selection keeps large result sets cheap).
func (c *compiled) page(hits []*Twin, ordered bool) Page {
	limit := c.q.Limit
	less := func(a, b *Twin) int {
		d := compareKeys(keyOf(a, c.sort), keyOf(b, c.sort))
		if c.desc {
			return -d
		}
		return d
	}
	if !ordered {
		if len(hits) > 4*(limit+1) {
			hits = smallest(hits, limit+1, less)
		}
		slices.SortFunc(hits, less)
	}
	p := Page{Items: make([]Twin, 0, min(limit, len(hits)))}
	for i, tw := range hits {
		if i == limit {
			p.Next = encodeCursor(withSort(keyOf(hits[i-1], c.sort), c.q.Sort))
			break
		}
		p.Items = append(p.Items, tw.clone())
	}
	return p
}

func withSort(k cursor, sort string) cursor {
	k.Sort = sort
	return k
}

// smallest returns the k smallest items of s (in no particular order) by
// repeated partitioning (quickselect), O(len(s)) on average.
func smallest(s []*Twin, k int, less func(a, b *Twin) int) []*Twin {
	lo, hi := 0, len(s)
	for hi-lo > 1 {
		p := s[lo+(hi-lo)/2]
		// three-way partition of s[lo:hi] around p
		i, lt, gt := lo, lo, hi
		for i < gt {
			switch d := less(s[i], p); {
			case d < 0:
				s[lt], s[i] = s[i], s[lt]
				lt++
				i++
			case d > 0:
				gt--
				s[gt], s[i] = s[i], s[gt]
			default:
				i++
			}
		}
		switch {
		case k <= lt:
			hi = lt
		case k >= gt:
			lo = gt
		default:
			return s[:k]
		}
	}
	return s[:k]
}

// traverse returns the ids reachable from q.From within q.Depth hops.
func (t *tenant) traverse(q Query) ([]string, error) {
	if t.twins[q.From] == nil {
		return nil, fmt.Errorf("from %s: %w", q.From, ErrNotFound)
	}
	seen := map[string]bool{q.From: true}
	frontier := []string{q.From}
	var out []string
	for depth := 0; depth < q.Depth && len(frontier) > 0; depth++ {
		var next []string
		visit := func(id string) {
			if !seen[id] {
				seen[id] = true
				next = append(next, id)
				out = append(out, id)
			}
		}
		for _, id := range frontier {
			if q.Dir == "out" {
				tw := t.twins[id]
				for name, targets := range tw.Relationships {
					if q.Rel == "*" || q.Rel == name {
						for _, target := range targets {
							visit(target)
						}
					}
				}
				continue
			}
			for src := range t.in[id] {
				if q.Rel == "*" || slices.Contains(t.twins[src].Relationships[q.Rel], id) {
					visit(src)
				}
			}
		}
		frontier = next
	}
	return out, nil
}
