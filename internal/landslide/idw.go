package landslide

import (
	"errors"
	"fmt"
	"math"
	"sort"
)

// Gauge is a rain gauge at projected coordinates (m), e.g. HK1980 Grid.
type Gauge struct {
	ID   string
	X, Y float64
}

// IDWConfig configures inverse-distance weighting.
type IDWConfig struct {
	Radius float64 // m; gauges farther away are not used unless falling back
	K      int     // at most K nearest gauges (default 3)
	Power  float64 // weight = 1/distance^Power (default 2)
}

// IDW interpolates gauge readings at points. It is immutable after
// NewIDW and safe for concurrent use.
type IDW struct {
	cfg    IDWConfig
	gauges []Gauge
}

// ErrNoGauge is returned when no gauge has a usable reading.
var ErrNoGauge = errors.New("landslide: no gauge with a valid reading")

// NewIDW validates cfg and the gauges (unique IDs, finite coordinates).
func NewIDW(cfg IDWConfig, gauges []Gauge) (*IDW, error) {
	if cfg.K == 0 {
		cfg.K = 3
	}
	if cfg.Power == 0 {
		cfg.Power = 2
	}
	if !(cfg.Radius > 0) || cfg.K < 1 || !(cfg.Power > 0) || math.IsInf(cfg.Radius, 0) {
		return nil, fmt.Errorf("%w: IDW radius %g, K %d, power %g", ErrBadParams, cfg.Radius, cfg.K, cfg.Power)
	}
	seen := map[string]bool{}
	for _, g := range gauges {
		if seen[g.ID] || !finite(g.X, g.Y) {
			return nil, fmt.Errorf("%w: gauge %q duplicated or at a non-finite position", ErrBadParams, g.ID)
		}
		seen[g.ID] = true
	}
	return &IDW{cfg: cfg, gauges: append([]Gauge(nil), gauges...)}, nil
}

// Fallback says how an estimate was obtained.
type Fallback uint8

const (
	// FallbackNone: K or fewer gauges within the radius were used.
	FallbackNone Fallback = iota
	// FallbackNearest: no valid gauge within the radius; the nearest valid
	// gauge beyond it was used.
	FallbackNearest
)

// String names the fallback ("none", "nearest-beyond-radius").
func (f Fallback) String() string {
	if f == FallbackNearest {
		return "nearest-beyond-radius"
	}
	return "none"
}

// Used is one gauge that contributed to an estimate.
type Used struct {
	ID       string
	Distance float64 // m
	Weight   float64 // normalised, sums to 1
}

// Estimate is an interpolated value with its provenance.
type Estimate struct {
	Value    float64
	Used     []Used
	Fallback Fallback
}

// At estimates the value at (x, y) from the readings that valid reports
// as usable (a dropped, stuck or flagged gauge returns ok = false): the
// inverse-distance-weighted mean of the K nearest valid gauges within the
// radius; a gauge at the point itself is used alone; with none within the
// radius, the nearest valid gauge anywhere (Fallback = FallbackNearest).
func (ip *IDW) At(x, y float64, valid func(id string) (v float64, ok bool)) (Estimate, error) {
	type cand struct {
		id   string
		d, v float64
	}
	var all []cand
	for _, g := range ip.gauges {
		v, ok := valid(g.ID)
		if !ok || math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		all = append(all, cand{g.ID, math.Hypot(g.X-x, g.Y-y), v})
	}
	if len(all) == 0 {
		return Estimate{}, ErrNoGauge
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].d != all[j].d {
			return all[i].d < all[j].d
		}
		return all[i].id < all[j].id
	})
	if all[0].d > ip.cfg.Radius {
		c := all[0]
		return Estimate{Value: c.v, Used: []Used{{c.id, c.d, 1}}, Fallback: FallbackNearest}, nil
	}
	if all[0].d == 0 {
		c := all[0]
		return Estimate{Value: c.v, Used: []Used{{c.id, 0, 1}}}, nil
	}
	var est Estimate
	wsum := 0.0
	for _, c := range all {
		if len(est.Used) == ip.cfg.K || c.d > ip.cfg.Radius {
			break
		}
		w := 1 / math.Pow(c.d, ip.cfg.Power)
		est.Used = append(est.Used, Used{c.id, c.d, w})
		wsum += w
		est.Value += w * c.v
	}
	est.Value /= wsum
	for i := range est.Used {
		est.Used[i].Weight /= wsum
	}
	return est, nil
}
