package landslide

import (
	"fmt"
	"math"
)

// FSMax is the cap on the factor of safety (TRIGRS finf); nodes at depth
// ≤ 1 cm also get FSMax.
const FSMax = 10.0

// Node is the state of one depth node.
type Node struct {
	Z     float64 // depth below the ground surface, m
	Psi   float64 // pressure head ψ, m
	FS    float64 // factor of safety
	Theta float64 // volumetric water content (θs below the water table)
	// PsiSteady and PsiTransient are the initial (steady) pressure head and
	// the transient part before the β-line cap (saturated model; the
	// unsaturated model reports the water-table-rise part as transient).
	PsiSteady, PsiTransient float64
}

// Profile is the state of a column at one time.
type Profile struct {
	Time  float64 // s
	Nodes []Node
	// MinFS is the first (shallowest) minimum of FS over the nodes, at
	// ZAtMinFS with pressure head PsiAtMinFS. When every node is at FSMax
	// the depth is the base and the pressure head that of the deepest node.
	MinFS, ZAtMinFS, PsiAtMinFS float64
}

// column holds what does not change with time for one slope.
type column struct {
	p          Params
	sinD, cosD float64
	tanPhi     float64
	ff         float64 // tanφ/tanδ, frictional part
	beta       float64
	rikzero    float64   // Iz_LT/Ks after TRIGRS's reset
	capt       []float64 // period boundaries, len(rik)+1
	rik        []float64 // infiltration/Ks per period
	gw         float64
}

func newColumn(p Params, rain Rainfall) (*column, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if err := rain.Validate(); err != nil {
		return nil, err
	}
	c := &column{p: p, gw: p.gammaW()}
	d := p.SlopeDeg * math.Pi / 180
	c.sinD, c.cosD = math.Sin(d), math.Cos(d)
	c.tanPhi = math.Tan(p.Soil.FrictionDeg * math.Pi / 180)
	if math.Abs(d) > 1e-5 {
		c.ff = c.tanPhi / math.Tan(d)
	} else {
		c.ff = FSMax
	}
	ks := p.Soil.Ksat
	c.rikzero = p.SteadyFlux / ks
	if c.rikzero >= c.cosD*c.cosD {
		c.rikzero = c.cosD
	}
	switch p.Flow {
	case FlowSlopeParallel:
		c.beta = c.cosD * c.cosD
	case FlowHydrostatic:
		c.beta = 1
	default:
		c.beta = c.cosD*c.cosD - c.rikzero
	}
	if math.Abs(c.cosD-c.rikzero) < 1e-6 {
		c.beta = 0
	}
	c.capt = make([]float64, 0, len(rain)+1)
	c.rik = make([]float64, 0, len(rain))
	for k, q := range rain {
		if k == 0 {
			c.capt = append(c.capt, q.Start)
		}
		c.capt = append(c.capt, q.End)
		if ks < q.Rate {
			c.rik = append(c.rik, 1)
		} else {
			c.rik = append(c.rik, q.Rate/ks)
		}
	}
	return c, nil
}

// iversonStep is z·R(t*) of Iverson (2000), eq. 27, the normalised
// pressure-head response at depth z to a unit step of Iz/Ks applied for a
// time tau, with R(t*) = sqrt(t*/π)·exp(−1/t*) − erfc(1/sqrt(t*)),
// t* = tau·D̂/z², D̂ = 4·D0/cos²δ. At z = 0 the limit sqrt(tau·D̂/π).
func iversonStep(z, tau, dhat float64) float64 {
	if tau <= 0 {
		return 0
	}
	if z == 0 {
		return math.Sqrt(tau * dhat / math.Pi)
	}
	ts := tau * dhat / (z * z)
	if ts < 1/(farField*farField) {
		return 0 // z·R(t*) < z·e^(−42)/(2·6.5³·√π) < 1e-21·z
	}
	return z * (math.Sqrt(ts/math.Pi)*math.Exp(-1/ts) - math.Erfc(1/math.Sqrt(ts)))
}

func ierfc(x float64) float64 { return math.Exp(-x*x)/math.SqrtPi - x*math.Erfc(x) }

// finiteLateTime is the dimensionless time θ = D1·τ/L² above which the
// Fourier (late-time) series is used instead of the image (early-time)
// series. Both are exact; at θ = 1/3 each needs at most about four terms
// for full double precision (Fourier terms fall as exp(−n²π²θ), image
// terms as ierfc((2n−1)/(2√θ))). TRIGRS switches at θ = 5; the values agree
// to rounding (see TestFiniteDepthSeriesAgree).
const finiteLateTime = 1.0 / 3

// farField is the argument beyond which erfc-type terms are dropped:
// ierfc(6.5) < 4e-21 and erfc(6.5) < 4e-20, far below double resolution of
// the pressure heads they add to.
const farField = 6.5

// finiteStep is the response at depth z of a layer of thickness L with an
// impermeable base to a unit step of normalised flux Iz/Ks applied for a
// time tau (Baum et al. 2008, eq. 7 integrated; Carslaw & Jaeger §3.3):
// early time by images, 2·sqrt(D1τ)·Σ[ierfc(((2n−1)L−(L−z))/(2sqrt(D1τ))) +
// ierfc(((2n−1)L+(L−z))/(2sqrt(D1τ)))]; late time by the Fourier series
// D1τ/L + (3(L−z)²−L²)/(6L) − (2L/π²)·Σ(−1)ⁿ/n²·exp(−n²π²D1τ/L²)·cos(nπ(L−z)/L).
// Both series are summed until the next term is below 1e-17 of the sum,
// or maxTerms terms.
func finiteStep(z, tau, d1, L float64, maxTerms int) float64 {
	if tau <= 0 {
		return 0
	}
	x := L - z
	if d1*tau/(L*L) > finiteLateTime {
		s := 0.0
		for n := 1; n <= maxTerms; n++ {
			rn := float64(n)
			sign := -1.0
			if n%2 == 0 {
				sign = 1
			}
			term := sign / (rn * rn) * math.Exp(-d1*tau*rn*rn*math.Pi*math.Pi/(L*L)) * math.Cos(rn*math.Pi*x/L)
			s += term
			if math.Abs(term) <= 1e-17*math.Abs(s) {
				break
			}
		}
		return d1*tau/L + (3*x*x-L*L)/(6*L) - 2*L*s/(math.Pi*math.Pi)
	}
	t1 := math.Sqrt(tau * d1)
	s := 0.0
	for n := 1; n <= maxTerms; n++ {
		rn := 2*float64(n) - 1
		a := (rn*L - x) / (2 * t1)
		b := (rn*L + x) / (2 * t1)
		term := ierfc(a) + ierfc(b)
		s += term
		if math.Abs(term) <= 1e-17*math.Abs(s) || a > farField {
			break
		}
	}
	return 2 * t1 * s
}

// transientSat is the transient pressure head ψ − ψ0 at depth z and time t
// of the saturated model: the response to the rainfall history by
// superposition of steps (Iverson 2000, eq. 28; Baum et al. 2008).
func (c *column) transientSat(z, t float64) float64 {
	p := &c.p
	rf := 0.0
	if p.FiniteDepth {
		d1 := p.Soil.Diffusivity / (c.cosD * c.cosD)
		L := p.DepthToBase
		for n, rik := range c.rik {
			ta, tb := t-c.capt[n], t-c.capt[n+1]
			if ta <= 0 {
				break
			}
			rf += rik * (finiteStep(z, ta, d1, L, p.maxTerms()) - finiteStep(z, tb, d1, L, p.maxTerms()))
		}
		return rf
	}
	dhat := 4 * p.Soil.Diffusivity / (c.cosD * c.cosD)
	for n, rik := range c.rik {
		ta, tb := t-c.capt[n], t-c.capt[n+1]
		if ta <= 0 {
			break
		}
		rf += rik * (iversonStep(z, ta, dhat) - iversonStep(z, tb, dhat))
	}
	return rf
}

// fsSaturated is the infinite-slope factor of safety of the saturated model
// at depth z with pressure head psi (Iverson 2000, eq. 29; Baum et al. 2008,
// eq. 9): FS = tanφ/tanδ + [c' − ψ·γw·tanφ]/(γs·z·sinδ·cosδ), with the
// frictional part not below zero, FS ≤ FSMax and FS = FSMax at z ≤ 1 cm.
func (c *column) fsSaturated(z, psi float64) float64 {
	p := &c.p
	zn := math.Max(z, 1e-30)
	fc, fw := 0.0, 0.0
	den := p.Soil.UnitWeight * c.sinD * c.cosD
	if math.Abs(c.sinD) > 1e-5 {
		fc = p.Soil.Cohesion / (den * zn)
		if z > 1e-30 && !(p.IgnoreNegativePressure && psi < 0) {
			fw = -(psi * c.gw * c.tanPhi) / (den * z)
		}
	}
	fs := c.ff + fw + fc
	if c.ff+fw < 0 {
		fs = fc
	}
	if fs > FSMax {
		fs = FSMax
	}
	if z <= 1e-2 {
		fs = FSMax
	}
	return fs
}

// FactorOfSafety returns the infinite-slope factor of safety of the
// saturated model at depth z (m) for pressure head psi (m), with the
// conventions of SaturatedProfile.
func FactorOfSafety(p Params, z, psi float64) (float64, error) {
	c, err := newColumn(p, nil)
	if err != nil {
		return 0, err
	}
	return c.fsSaturated(z, psi), nil
}

// upwardSeepage re-levels pressure heads when the steady flux is upward
// (Iz_LT < 0), as TRIGRS does: the new water table is the deepest node with
// ψ < 0; above it ψ ≥ 0 becomes 0, below it ψ = β(z − newdep).
func (c *column) upwardSeepage(z []float64, psi []float64) {
	if c.rikzero >= 0 {
		return
	}
	newdep := 0.0
	for j := range z {
		if psi[j] < 0 {
			newdep = z[j]
		}
	}
	for j := range z {
		if psi[j] > 0 && z[j] < newdep {
			psi[j] = 0
		}
		if psi[j] >= 0 && z[j] >= newdep {
			psi[j] = c.beta * (z[j] - newdep)
		}
	}
}

func (c *column) minFS(pr *Profile, ignoreNeg bool) {
	pr.MinFS = 1e25
	for _, n := range pr.Nodes {
		if n.FS < pr.MinFS {
			pr.MinFS, pr.ZAtMinFS, pr.PsiAtMinFS = n.FS, n.Z, n.Psi
		}
	}
	if pr.MinFS == FSMax && len(pr.Nodes) > 0 {
		pr.PsiAtMinFS = pr.Nodes[len(pr.Nodes)-1].Psi
		pr.ZAtMinFS = c.p.DepthToBase
	}
	if ignoreNeg && pr.PsiAtMinFS < 0 {
		pr.PsiAtMinFS = 0
	}
}

// SaturatedProfile computes pressure head and factor of safety at the
// depths z and time t (s) for the fully saturated model (Iverson 2000 for
// infinite depth, Baum et al. 2008 for a finite depth): initial pressure
// head ψ0 = β(z − d), plus the transient response to the infiltration
// min(rain, Ks) of each period, capped by the β line ψ ≤ β·z.
func SaturatedProfile(p Params, rain Rainfall, t float64, z []float64) (Profile, error) {
	c, err := newColumn(p, rain)
	if err != nil {
		return Profile{}, err
	}
	return c.saturated(t, z), nil
}

func (c *column) saturated(t float64, z []float64) Profile {
	pr := Profile{Time: t, Nodes: make([]Node, len(z))}
	psi := make([]float64, len(z))
	for j, zj := range z {
		p0 := c.beta * (zj - c.p.WaterTableDepth)
		tr := c.transientSat(zj, t)
		v := p0 + tr
		if bl := c.beta * zj; v > bl {
			v = bl
		}
		psi[j] = v
		pr.Nodes[j] = Node{Z: zj, PsiSteady: p0, PsiTransient: tr, Theta: c.p.Soil.ThetaSat}
	}
	c.upwardSeepage(z, psi)
	for j := range z {
		pr.Nodes[j].Psi = psi[j]
		pr.Nodes[j].FS = c.fsSaturated(z[j], psi[j])
	}
	c.minFS(&pr, c.p.IgnoreNegativePressure)
	return pr
}

// String describes the model a Params selects, for logs and reports.
func (p Params) String() string {
	m := "saturated"
	if p.Soil.Unsaturated() {
		m = "unsaturated(Gardner)"
	}
	d := "infinite-depth"
	if p.FiniteDepth {
		d = "finite-depth"
	}
	return fmt.Sprintf("%s %s slope=%.1f° zmax=%.2fm d=%.2fm", m, d, p.SlopeDeg, p.DepthToBase, p.WaterTableDepth)
}
