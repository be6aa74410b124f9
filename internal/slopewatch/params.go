package slopewatch

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"

	"github.com/tsingma/tsingma/internal/landslide"
	"github.com/tsingma/tsingma/internal/twin"
)

// Defaults for slope properties a twin does not carry. They describe a
// typical Hong Kong cut slope in completely decomposed granite and are
// listed per slope under "defaults" so that a reader sees which numbers
// were not the slope's own.
var propertyDefaults = map[string]float64{
	"slopeAngle":             35,   // deg (or the twin's "gradient")
	"soilDepth":              3,    // m
	"ksat":                   1e-5, // m/s
	"diffusivity":            5e-5, // m²/s
	"cohesion":               5,    // kPa
	"frictionAngle":          35,   // deg
	"unitWeight":             19,   // kN/m³
	"initialWaterTableDepth": -1,   // m; -1: at the base of the soil (soilDepth)
}

// SI units of each property and the factors from the units a type may
// declare. A property in a unit not listed here is an error for that
// slope (reported in the status, the slope is left out).
var propertyUnits = map[string]map[string]float64{
	"slopeAngle":             {"deg": 1, "rad": 180 / math.Pi},
	"gradient":               {"deg": 1, "rad": 180 / math.Pi},
	"soilDepth":              {"m": 1, "cm": 0.01},
	"ksat":                   {"m/s": 1, "cm/s": 0.01, "mm/s": 0.001, "m/h": 1.0 / 3600, "m/d": 1.0 / 86400},
	"diffusivity":            {"m2/s": 1, "cm2/s": 1e-4, "m2/h": 1.0 / 3600, "m2/d": 1.0 / 86400},
	"cohesion":               {"kPa": 1, "Pa": 0.001, "MPa": 1000},
	"frictionAngle":          {"deg": 1, "rad": 180 / math.Pi},
	"unitWeight":             {"kN/m3": 1, "N/m3": 0.001},
	"initialWaterTableDepth": {"m": 1, "cm": 0.01},
}

// number reads a property value as a float64 (JSON numbers arrive as
// float64 or json.Number).
func number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	}
	return 0, false
}

// slopeParams turns a slope twin's properties into model parameters, in SI
// units, with the type's declared units checked and converted. It returns
// the names of the properties that took their default.
func slopeParams(tw twin.Twin, typ twin.Type, finiteDepth bool) (landslide.Params, []string, error) {
	var defaulted []string
	get := func(name string) (float64, bool, error) {
		raw, ok := tw.Properties[name]
		if !ok {
			return 0, false, nil
		}
		v, ok := number(raw)
		if !ok || math.IsNaN(v) || math.IsInf(v, 0) {
			return 0, false, fmt.Errorf("property %s: %v is not a number", name, raw)
		}
		unit := ""
		if p, ok := typ.Properties[name]; ok {
			unit = p.Unit
		}
		conv := propertyUnits[name]
		if unit == "" { // undeclared: the documented unit is assumed
			return v, true, nil
		}
		f, ok := conv[unit]
		if !ok {
			return 0, false, fmt.Errorf("property %s: unit %q is not one of %v", name, unit, keys(conv))
		}
		return v * f, true, nil
	}
	val := func(name string) (float64, error) {
		v, ok, err := get(name)
		if err != nil {
			return 0, err
		}
		if !ok {
			defaulted = append(defaulted, name)
			return propertyDefaults[name], nil
		}
		return v, nil
	}
	angle, ok, err := get("slopeAngle")
	if err == nil && !ok {
		angle, ok, err = get("gradient")
		if err == nil && !ok {
			angle = propertyDefaults["slopeAngle"]
			defaulted = append(defaulted, "slopeAngle")
		}
	}
	if err != nil {
		return landslide.Params{}, nil, err
	}
	depth, err := val("soilDepth")
	if err != nil {
		return landslide.Params{}, nil, err
	}
	ks, err := val("ksat")
	if err != nil {
		return landslide.Params{}, nil, err
	}
	d0, err := val("diffusivity")
	if err != nil {
		return landslide.Params{}, nil, err
	}
	c, err := val("cohesion")
	if err != nil {
		return landslide.Params{}, nil, err
	}
	phi, err := val("frictionAngle")
	if err != nil {
		return landslide.Params{}, nil, err
	}
	gs, err := val("unitWeight")
	if err != nil {
		return landslide.Params{}, nil, err
	}
	wt, err := val("initialWaterTableDepth")
	if err != nil {
		return landslide.Params{}, nil, err
	}
	if wt < 0 || wt > depth {
		wt = depth // no water table above the base given (or below it): at the base
	}
	if depth < 0.1 {
		return landslide.Params{}, nil, fmt.Errorf("property soilDepth: %g m is too shallow to model (< 0.1 m)", depth)
	}
	p := landslide.Params{
		SlopeDeg: angle, DepthToBase: depth, WaterTableDepth: wt,
		Soil: landslide.Soil{Cohesion: c * 1000, FrictionDeg: phi, UnitWeight: gs * 1000, Ksat: ks, Diffusivity: d0},
		// Slope-parallel seepage (β = cos²δ) with no long-term infiltration:
		// the steady state is the initial water table with seepage parallel
		// to the slope, the usual assumption for a slope with no data.
		Flow:        landslide.FlowSlopeParallel,
		FiniteDepth: finiteDepth,
	}
	if err := p.Validate(); err != nil {
		return landslide.Params{}, nil, err
	}
	return p, defaulted, nil
}

func keys(m map[string]float64) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// centroid returns the mean position of a geometry (lon, lat), or false.
func centroid(g *twin.Geometry) (lon, lat float64, ok bool) {
	if g == nil {
		return 0, 0, false
	}
	b := g.Bounds()
	if math.IsInf(b.Min[0], 0) {
		return 0, 0, false
	}
	return (b.Min[0] + b.Max[0]) / 2, (b.Min[1] + b.Max[1]) / 2, true
}

// projector maps WGS84 to local metres (equirectangular about a reference
// latitude): within a territory of ~50 km the distance error is < 0.1 %,
// far below what inverse-distance weighting is sensitive to.
type projector struct{ lat0, kx float64 }

const earthRadius = 6371008.8

func newProjector(lat0 float64) projector {
	return projector{lat0: lat0, kx: math.Cos(lat0 * math.Pi / 180)}
}

func (p projector) xy(lon, lat float64) (float64, float64) {
	return earthRadius * lon * math.Pi / 180 * p.kx, earthRadius * lat * math.Pi / 180
}
