package landslide

import (
	"errors"
	"fmt"
	"math"
)

// FlowDirection selects the steady seepage direction that sets the slope of
// Iverson's "beta line" (the initial pressure-head gradient below the water
// table), as TRIGRS's flowdir option does.
type FlowDirection uint8

const (
	// FlowGeneral: β = cos²δ − Iz_LT/Ks (TRIGRS "gener").
	FlowGeneral FlowDirection = iota
	// FlowSlopeParallel: β = cos²δ (TRIGRS "slope").
	FlowSlopeParallel
	// FlowHydrostatic: β = 1 (TRIGRS "hydro").
	FlowHydrostatic
)

// Soil holds the material properties of one soil unit.
type Soil struct {
	Cohesion    float64 // effective cohesion c', Pa
	FrictionDeg float64 // effective friction angle φ', degrees
	UnitWeight  float64 // saturated unit weight γs, N/m³
	Ksat        float64 // saturated hydraulic conductivity Ks, m/s
	Diffusivity float64 // saturated hydraulic diffusivity D0, m²/s
	ThetaSat    float64 // saturated volumetric water content θs, m³/m³
	ThetaRes    float64 // residual volumetric water content θr, m³/m³
	// Alpha is the Gardner (1958) exponent α of K(ψ) = Ks·exp(αψ), 1/m.
	// Alpha ≤ 0 selects the fully saturated model for this soil.
	Alpha float64
}

// Unsaturated reports whether the soil uses the unsaturated (Gardner) model.
func (s Soil) Unsaturated() bool { return s.Alpha > 0 && s.ThetaSat > s.ThetaRes }

// Params describes one slope column (one grid cell or one registered slope).
type Params struct {
	SlopeDeg        float64 // slope angle δ, degrees
	DepthToBase     float64 // zmax: depth of the impermeable/failure base, m (> 0)
	WaterTableDepth float64 // initial water-table depth d, m (≥ 0)
	// SteadyFlux is the long-term (background) infiltration rate Iz_LT,
	// m/s. If Iz_LT/Ks ≥ cos²δ it is reset to Ks·cosδ, as TRIGRS does.
	SteadyFlux float64
	Soil       Soil
	// UnitWeightWater is γw, N/m³; 0 means 9810.
	UnitWeightWater float64
	Flow            FlowDirection
	// FiniteDepth puts an impermeable base at DepthToBase (Baum et al.
	// 2008 series solution); false uses Iverson's infinite-depth solution.
	FiniteDepth bool
	// IgnoreNegativePressure replaces ψ < 0 by 0 in the saturated-model
	// factor of safety (TRIGRS lpge0).
	IgnoreNegativePressure bool
	// WaterTableRise estimates the rise of the water table from the flux
	// that leaves the unsaturated zone (TRIGRS llus). Unsaturated model only.
	WaterTableRise bool
	// BackgroundFlux adds the steady flux to the transient surface flux in
	// the unsaturated model (TRIGRS bkgrof).
	BackgroundFlux bool
	// AnalyticFillable uses the analytic transmissivity for the fillable
	// porosity above the water table (TRIGRS lany). Unsaturated model only.
	AnalyticFillable bool
	// PsiZeroAirEntry sets the initial pressure head at the top of the
	// capillary fringe to −1/α instead of 0 (TRIGRS lps0): the unsaturated
	// zone then ends at d − 1/α. Unsaturated model only.
	PsiZeroAirEntry bool
	// MaxTerms bounds the series of the finite-depth and unsaturated
	// solutions (TRIGRS mmax / nmax); 0 means 100.
	MaxTerms int
}

// Errors returned by Validate.
var (
	ErrBadParams   = errors.New("landslide: invalid parameters")
	ErrBadRainfall = errors.New("landslide: invalid rainfall history")
)

func finite(vs ...float64) bool {
	for _, v := range vs {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
	}
	return true
}

// Validate checks ranges and returns an error wrapping ErrBadParams.
func (p *Params) Validate() error {
	s := p.Soil
	switch {
	case !finite(p.SlopeDeg, p.DepthToBase, p.WaterTableDepth, p.SteadyFlux, p.UnitWeightWater,
		s.Cohesion, s.FrictionDeg, s.UnitWeight, s.Ksat, s.Diffusivity, s.ThetaSat, s.ThetaRes, s.Alpha):
		return fmt.Errorf("%w: non-finite value", ErrBadParams)
	case p.SlopeDeg < 0 || p.SlopeDeg >= 90:
		return fmt.Errorf("%w: slope %g° outside [0, 90)", ErrBadParams, p.SlopeDeg)
	case p.DepthToBase <= 0:
		return fmt.Errorf("%w: depth to base %g m must be > 0", ErrBadParams, p.DepthToBase)
	case p.WaterTableDepth < 0:
		return fmt.Errorf("%w: water-table depth %g m must be ≥ 0", ErrBadParams, p.WaterTableDepth)
	case s.Ksat <= 0 || s.Diffusivity <= 0:
		return fmt.Errorf("%w: Ks %g and D0 %g must be > 0", ErrBadParams, s.Ksat, s.Diffusivity)
	case s.UnitWeight <= 0 || p.UnitWeightWater < 0:
		return fmt.Errorf("%w: unit weights must be > 0", ErrBadParams)
	case s.Cohesion < 0 || s.FrictionDeg < 0 || s.FrictionDeg >= 90:
		return fmt.Errorf("%w: cohesion %g Pa / friction %g° out of range", ErrBadParams, s.Cohesion, s.FrictionDeg)
	case p.Flow > FlowHydrostatic:
		return fmt.Errorf("%w: unknown flow direction %d", ErrBadParams, p.Flow)
	case p.MaxTerms < 0:
		return fmt.Errorf("%w: MaxTerms %d < 0", ErrBadParams, p.MaxTerms)
	}
	if s.Unsaturated() && (s.ThetaRes < 0 || s.ThetaSat > 1) {
		return fmt.Errorf("%w: water contents θr %g θs %g out of [0, 1]", ErrBadParams, s.ThetaRes, s.ThetaSat)
	}
	return nil
}

func (p *Params) gammaW() float64 {
	if p.UnitWeightWater == 0 {
		return 9810
	}
	return p.UnitWeightWater
}

func (p *Params) maxTerms() int {
	if p.MaxTerms == 0 {
		return 100
	}
	return p.MaxTerms
}

// Period is one interval of constant rainfall intensity.
type Period struct {
	Start, End float64 // s from the start of the history
	Rate       float64 // rainfall intensity, m/s (≥ 0)
}

// Rainfall is a piecewise-constant rainfall history: contiguous periods in
// time order (Periods[k].End == Periods[k+1].Start). After the last period
// the rain is zero.
type Rainfall []Period

// Validate checks that the periods are contiguous, ordered and finite.
func (r Rainfall) Validate() error {
	for k, q := range r {
		if !finite(q.Start, q.End, q.Rate) || q.Rate < 0 || q.End <= q.Start {
			return fmt.Errorf("%w: period %d [%g, %g] rate %g", ErrBadRainfall, k, q.Start, q.End, q.Rate)
		}
		if k > 0 && q.Start != r[k-1].End {
			return fmt.Errorf("%w: period %d starts at %g, previous ends at %g", ErrBadRainfall, k, q.Start, r[k-1].End)
		}
	}
	return nil
}

// Infiltration returns the infiltration rate of a rainfall intensity on a
// soil without runoff routing: min(rate, Ks).
func Infiltration(rate, ks float64) float64 { return math.Min(rate, ks) }

// Depths returns the n+1 node depths zmin, zmin+Δz, …, zmax with
// Δz = (zmax−zmin)/n, accumulated by repeated addition exactly as TRIGRS
// does so that node depths can be compared bit for bit.
func Depths(zmin, zmax float64, n int) []float64 {
	z := make([]float64, n+1)
	inc := (zmax - zmin) / float64(n)
	v := zmin
	for j := range z {
		z[j] = v
		v += inc
	}
	return z
}
