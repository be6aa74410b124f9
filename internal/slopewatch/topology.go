package slopewatch

import (
	"context"
	"fmt"
	"math"
	"sort"

	"github.com/tsingma/tsingma/internal/landslide"
	"github.com/tsingma/tsingma/internal/twin"
)

// Catalog is what the service needs of the twin registry.
type Catalog interface {
	Tenants() []string
	Query(ctx context.Context, tenant string, q twin.Query) (twin.Page, error)
	GetType(ctx context.Context, tenant, name string) (twin.Type, error)
}

// Twin types the service reads.
const (
	TypeSlope        = "slope"
	TypeRainGauge    = "rain-gauge"
	TypePiezometer   = "piezometer"
	TypeExtensometer = "extensometer"
	TypeInclinometer = "inclinometer"
)

func relevantType(t string) bool {
	switch t {
	case TypeSlope, TypeRainGauge, TypePiezometer, TypeExtensometer, TypeInclinometer:
		return true
	}
	return false
}

// slopeInfo is one modelled slope.
type slopeInfo struct {
	id, name   string
	x, y       float64 // local metres
	lon, lat   float64
	params     landslide.Params
	defaulted  []string
	candidates []int // gauge indexes within the radius, nearest first (at most K)
	// near interpolates from the nearestM gauges only: when at least K of
	// them are valid, the K nearest valid gauges of the whole network are
	// among them, so the estimate equals the full one at a fraction of
	// the cost (the full IDW sorts every valid gauge for every slope).
	near    *landslide.IDW
	nearIDs []string
}

// nearestM is the size of each slope's nearest-gauge set.
const nearestM = 8

// topology is an immutable snapshot of a tenant's slopes, gauges and
// sensors; it is rebuilt when a relevant twin changes.
type topology struct {
	slopes  []slopeInfo
	index   map[string]int // slope id → index
	invalid map[string]string
	gauges  []landslide.Gauge
	gindex  map[string]int
	idw     *landslide.IDW
	sensor  map[string]int // displacement/piezometer twin → slope index
	kind    map[string]string
}

func listTwins(ctx context.Context, cat Catalog, tenant, typ string) ([]twin.Twin, error) {
	var out []twin.Twin
	q := twin.Query{Type: typ, Limit: twin.MaxLimit, Sort: "id"}
	for {
		p, err := cat.Query(ctx, tenant, q)
		if err != nil {
			return nil, fmt.Errorf("list %s twins: %w", typ, err)
		}
		out = append(out, p.Items...)
		if p.Next == "" {
			return out, nil
		}
		q.Cursor = p.Next
	}
}

func buildTopology(ctx context.Context, cat Catalog, tenant string, cfg *Config) (*topology, error) {
	slopes, err := listTwins(ctx, cat, tenant, TypeSlope)
	if err != nil {
		return nil, err
	}
	gauges, err := listTwins(ctx, cat, tenant, TypeRainGauge)
	if err != nil {
		return nil, err
	}
	st, err := cat.GetType(ctx, tenant, TypeSlope)
	if err != nil && len(slopes) > 0 {
		return nil, fmt.Errorf("slope type: %w", err)
	}
	tp := &topology{index: map[string]int{}, invalid: map[string]string{}, gindex: map[string]int{}, sensor: map[string]int{}, kind: map[string]string{}}
	// The projection's reference latitude: the mean of all positions.
	var latSum float64
	var n int
	for _, tw := range append(append([]twin.Twin(nil), slopes...), gauges...) {
		if _, lat, ok := centroid(tw.Geometry); ok {
			latSum += lat
			n++
		}
	}
	pj := newProjector(0)
	if n > 0 {
		pj = newProjector(latSum / float64(n))
	}
	for _, g := range gauges {
		lon, lat, ok := centroid(g.Geometry)
		if !ok {
			continue
		}
		x, y := pj.xy(lon, lat)
		tp.gindex[g.ID] = len(tp.gauges)
		tp.gauges = append(tp.gauges, landslide.Gauge{ID: g.ID, X: x, Y: y})
	}
	tp.idw, err = landslide.NewIDW(landslide.IDWConfig{Radius: cfg.Radius, K: cfg.K, Power: 2}, tp.gauges)
	if err != nil {
		return nil, err
	}
	for _, s := range slopes {
		lon, lat, ok := centroid(s.Geometry)
		if !ok {
			tp.invalid[s.ID] = "no geometry"
			continue
		}
		p, def, err := slopeParams(s, st, cfg.Model != ModelSaturatedInfinite)
		if err != nil {
			tp.invalid[s.ID] = err.Error()
			continue
		}
		x, y := pj.xy(lon, lat)
		si := slopeInfo{id: s.ID, name: s.Name, x: x, y: y, lon: lon, lat: lat, params: p, defaulted: def}
		type gd struct {
			i int
			d float64
		}
		var near []gd
		for i, g := range tp.gauges {
			near = append(near, gd{i, math.Hypot(g.X-x, g.Y-y)})
		}
		sort.Slice(near, func(a, b int) bool { return near[a].d < near[b].d || near[a].d == near[b].d && near[a].i < near[b].i })
		for k := 0; k < len(near) && k < cfg.K && near[k].d <= cfg.Radius; k++ {
			si.candidates = append(si.candidates, near[k].i)
		}
		var sub []landslide.Gauge
		for k := 0; k < len(near) && k < nearestM; k++ {
			sub = append(sub, tp.gauges[near[k].i])
			si.nearIDs = append(si.nearIDs, tp.gauges[near[k].i].ID)
		}
		if si.near, err = landslide.NewIDW(landslide.IDWConfig{Radius: cfg.Radius, K: cfg.K, Power: 2}, sub); err != nil {
			return nil, err
		}
		tp.index[s.ID] = len(tp.slopes)
		tp.slopes = append(tp.slopes, si)
	}
	for _, typ := range []string{TypeExtensometer, TypeInclinometer, TypePiezometer} {
		sensors, err := listTwins(ctx, cat, tenant, typ)
		if err != nil {
			return nil, err
		}
		for _, s := range sensors {
			for _, target := range s.Relationships["on"] {
				if i, ok := tp.index[target]; ok {
					tp.sensor[s.ID] = i
					tp.kind[s.ID] = typ
					break
				}
			}
		}
	}
	return tp, nil
}

func (tp *topology) params() []landslide.Params {
	out := make([]landslide.Params, len(tp.slopes))
	for i, s := range tp.slopes {
		out[i] = s.params
	}
	return out
}
