package landslide

import (
	"fmt"
	"math"
)

// TimeGrid is the uniform time stepping of the unsaturated model: the
// basal flux leaving the unsaturated zone is integrated with Simpson's rule
// on half steps of Step from 0 to Step·Steps (TRIGRS's tinc and nts).
type TimeGrid struct {
	Step  float64 // s
	Steps int
}

// smallTime is TRIGRS's switch (smt) from the series solutions of the
// unsaturated zone to its early-time approximations, in t* = α·Ks·t/(θs−θr).
const smallTime = 0.1

// unsatTol is TRIGRS's convergence test of the unsaturated series (terms
// below 1e-6·Ks, in m/s).
const unsatTol = 1e-6

// gardnerRoots returns the first n positive roots of
// sin(a·x) + 2x·cos(a·x) = 0, a = α·d (the eigenvalues of the Srivastava &
// Yeh (1991) solution for a layer of thickness d), one in each interval
// ((k−½)π/a, kπ/a), by Newton's method kept inside a shrinking bracket
// (bisection when a step leaves it), to full double precision.
func gardnerRoots(a float64, n int) []float64 {
	r := make([]float64, n)
	f := func(x float64) (float64, float64) {
		s, c := math.Sincos(a * x)
		return s + 2*x*c, (a+2)*c - 2*a*x*s
	}
	for k := 1; k <= n; k++ {
		lo := (float64(k) - 0.5) * math.Pi / a
		hi := float64(k) * math.Pi / a
		flo, _ := f(lo)
		x := 0.5 * (lo + hi)
		for it := 0; it < 200; it++ {
			fx, dfx := f(x)
			if fx == 0 {
				break
			}
			if (fx > 0) == (flo > 0) {
				lo, flo = x, fx
			} else {
				hi = x
			}
			nx := x - fx/dfx
			if !(nx > lo && nx < hi) {
				nx = 0.5 * (lo + hi)
			}
			if math.Abs(nx-x) <= 4e-16*x || hi-lo <= 4e-16*x {
				x = nx
				break
			}
			x = nx
		}
		r[k-1] = x
	}
	return r
}

// unsatColumn is the per-slope state of the coupled unsaturated/saturated
// model (Baum et al. 2008, §"Unsaturated zone"; Savage et al. 2004).
type unsatColumn struct {
	*column
	al, d, ks, ths, thr float64
	qa, qaU, rizero     float64
	q                   []float64 // surface flux per period (incl. a dry period after the last)
	capt                []float64 // period boundaries (last may be +Inf)
	qmax, qzmax, tf     float64
	roots, bot, qtops   []float64
	gs                  float64
	lps0                float64 // 1 when ψ0 = −1/α (PsiZeroAirEntry), else 0
	dz                  float64
	z                   []float64
}

// UnsaturatedProfiles computes the profiles of the unsaturated (Gardner)
// model over a saturated zone at the output steps outSteps of the time grid
// g (time = step·g.Step), on nzs+1 nodes from zmin to p.DepthToBase. The
// method is TRIGRS's (Baum et al. 2008): the Srivastava & Yeh (1991)
// solution for the hydraulic conductivity K(z,t) of the unsaturated zone
// with Gardner's K = Ks·exp(αψ) and θ = θr + (θs−θr)·exp(αψ); the flux
// reaching the water table, minus what the base drains, integrated by
// Simpson's rule, fills the fillable porosity above the water table and
// raises it by Δh; Δh diffuses into the saturated zone (infinite or finite
// depth), and the factor of safety uses the suction stress χ·ψ with
// χ = (θ−θr)/(θs−θr) and the depth-averaged unit weight. Soils that are not
// unsaturated, or whose capillary fringe reaches the surface, use the
// saturated model at the same times.
func UnsaturatedProfiles(p Params, rain Rainfall, g TimeGrid, outSteps []int, zmin float64, nzs int) ([]Profile, error) {
	c, err := newColumn(p, rain)
	if err != nil {
		return nil, err
	}
	if !(g.Step > 0) || g.Steps < 1 || nzs < 1 || !(zmin >= 0) || zmin >= p.DepthToBase {
		return nil, fmt.Errorf("%w: time grid %+v, nzs %d, zmin %g", ErrBadParams, g, nzs, zmin)
	}
	for _, s := range outSteps {
		if s < 0 || s > g.Steps {
			return nil, fmt.Errorf("%w: output step %d outside 0..%d", ErrBadParams, s, g.Steps)
		}
	}
	z := Depths(zmin, p.DepthToBase, nzs)
	tcap := make([]float64, g.Steps+1) // step start times, accumulated as TRIGRS does
	for j := 1; j <= g.Steps; j++ {
		tcap[j] = tcap[j-1] + g.Step
	}
	out := make([]Profile, len(outSteps))
	if !p.Soil.Unsaturated() || p.WaterTableDepth-1/p.Soil.Alpha <= 0 {
		for k, s := range outSteps {
			out[k] = c.saturated(tcap[s], z)
		}
		return out, nil
	}
	u := newUnsat(c, g, z, p.maxTerms())
	flux := u.basalVolume(g)
	for k, s := range outSteps {
		out[k] = u.profile(tcap[s], flux[s])
	}
	return out, nil
}

func newUnsat(c *column, g TimeGrid, z []float64, nroots int) *unsatColumn {
	p := &c.p
	s := p.Soil
	u := &unsatColumn{column: c, ks: s.Ksat, ths: s.ThetaSat, thr: s.ThetaRes, z: z}
	u.al = s.Alpha * c.cosD * c.cosD
	u.d = p.WaterTableDepth
	if p.PsiZeroAirEntry {
		u.d = p.WaterTableDepth - 1/s.Alpha // top of the tension-saturated zone
	}
	u.rizero = p.SteadyFlux
	u.qa = p.SteadyFlux        // initial flux in the basal-flux solution
	u.qaU = s.Ksat * c.rikzero // initial flux in the K(z,t) solution
	u.capt = append([]float64(nil), c.capt...)
	for k, rik := range c.rik {
		q := s.Ksat * rik
		if p.BackgroundFlux {
			q = s.Ksat * (rik + c.rikzero)
		}
		u.q = append(u.q, q)
		_ = k
	}
	if end := g.Step * float64(g.Steps); len(u.capt) > 0 && end > u.capt[len(u.capt)-1] {
		u.q = append(u.q, 0)
		u.capt = append(u.capt, math.Inf(1))
	}
	for _, q := range u.q {
		u.qmax = math.Max(u.qmax, q)
	}
	cd := 1.0 // complete drainage at the base of an infinite-depth zone
	if p.FiniteDepth {
		cd = 0.1 // partial drainage above an impermeable base
	}
	switch p.Flow {
	case FlowSlopeParallel:
		u.qzmax = (1 - c.beta) * cd * s.Ksat
	case FlowHydrostatic:
		u.qzmax = 0
	default:
		u.qzmax = (1-c.beta)*cd*s.Ksat - cd*p.SteadyFlux
	}
	u.tf = u.al * s.Ksat / (s.ThetaSat - s.ThetaRes)
	if p.PsiZeroAirEntry {
		u.lps0 = 1
	}
	a := u.al * u.d
	u.roots = gardnerRoots(a, nroots)
	u.bot = make([]float64, len(u.roots))
	u.qtops = make([]float64, len(u.roots))
	for k, r := range u.roots {
		u.bot[k] = 1 + a/2 + 2*a*r*r
		u.qtops[k] = r * math.Sin(r*a)
	}
	gw := c.gw
	u.gs = ((s.UnitWeight / gw) - s.ThetaSat) / (1 - s.ThetaSat)
	u.dz = (p.DepthToBase - z[0]) / float64(len(z)-1)
	return u
}

// basalStep is the flux at the water table at time tau after the surface
// flux changed from qa to q (Srivastava & Yeh 1991 series); TRIGRS's
// early-time approximation evaluated at the water table is exactly zero.
func (u *unsatColumn) basalStep(q, tau float64) float64 {
	if tau <= 0 {
		return 0
	}
	ts := u.tf * tau
	if ts < smallTime {
		return 0
	}
	s := 0.0
	for k := range u.roots {
		r := u.roots[k]
		term := u.qtops[k] * math.Exp(-r*r*ts) / u.bot[k]
		s += term
		if math.Abs(s) <= unsatTol && k+1 > 3 {
			break
		}
		if math.Abs(term)/u.ks <= unsatTol {
			break
		}
	}
	return q - 4*(q-u.qa)*math.Exp(u.al*u.d/2)*s*math.Exp(-ts/4)
}

// basalFlux is the flux leaving the unsaturated zone at time t0.
func (u *unsatColumn) basalFlux(t0 float64) float64 {
	qt := 0.0
	for i, q := range u.q {
		ta := t0 - u.capt[i]
		if ta < 0 {
			break
		}
		qt += u.basalStep(q, ta) - u.basalStep(q, t0-u.capt[i+1])
	}
	if u.qmax < qt || qt < 0 {
		if u.ks/(u.ths*t0) < u.d { // front cannot have crossed the zone yet
			qt = 0
		}
	}
	return qt
}

// basalVolume returns, for every step start, the cumulative volume per
// unit area that reached the water table and was not drained by the base
// (Simpson's rule on half steps), minus the steady flux.
func (u *unsatColumn) basalVolume(g TimeGrid) []float64 {
	n := 2*g.Steps + 1
	f := make([]float64, n)
	tol := u.ks * 5e-7
	ts := 0.0
	for j := 0; j < n; j++ {
		qt := u.basalFlux(ts)
		if qt < u.rizero {
			qt = u.rizero
		}
		lim := u.ks + tol
		if u.p.BackgroundFlux {
			lim += u.rizero
		}
		if qt > lim {
			qt = u.ks
		}
		if qt > u.qzmax {
			f[j] = qt - u.qzmax
		}
		ts += g.Step / 2
	}
	vol := make([]float64, g.Steps+1)
	h := g.Step / 2
	sum := 0.0
	ts = 0
	for i := 1; i <= g.Steps; i++ {
		sum += f[2*i-2] + 4*f[2*i-1] + f[2*i]
		vol[i] = sum * h / 3
	}
	t := 0.0
	for i := range vol {
		vol[i] -= t * u.rizero
		if vol[i] < 0 {
			vol[i] = 0
		}
		t += g.Step
	}
	return vol
}

// surfaceFlux is the surface flux of the period containing t (0 at t = 0
// and after the last period).
func (u *unsatColumn) surfaceFlux(t float64) float64 {
	for k, q := range u.q {
		if t > u.capt[k] && t <= u.capt[k+1] && !math.IsInf(u.capt[k+1], 1) {
			return q
		}
	}
	return 0
}

func earlyK(al, z, d, ts float64) float64 {
	sq := math.Sqrt(ts)
	a1 := al * z / (2 * sq)
	f1 := math.Erfc(a1) - math.Exp(a1*sq+ts/4)*math.Erfc(a1+math.Sqrt(ts/4))
	a2 := al * (2*d - z) / (2 * sq)
	f2 := -math.Erfc(a2) + math.Exp(a2*sq+ts/4)*math.Erfc(a2+math.Sqrt(ts/4))
	return f1 + f2
}

// lateK returns the K and transmissivity series of the Srivastava & Yeh
// solution at depth z (d − z above the water table) and time t*.
func (u *unsatColumn) lateK(z, ts float64) (k2, tr float64) {
	al, d := u.al, u.d
	for k, r := range u.roots {
		e := math.Exp(-r * r * ts)
		top := math.Sin(r*al*(d-z)) * math.Sin(r*al*d) * e
		dk := top / u.bot[k]
		k2 += dk
		t1 := math.Sin(al*r*(d-z)) + 2*r*math.Cos(r*al*(d-z))
		t2 := 2*r*math.Exp(al*d/2) - math.Exp(al*z/2)*t1
		dt := t2 * math.Sin(r*al*d) * e / ((r*r + 0.25) * u.bot[k])
		tr += dt
		if math.Abs(dk)/u.ks <= unsatTol && math.Abs(dt)/u.ks <= unsatTol {
			break
		}
	}
	return k2, tr
}

// profile computes the column at time t with vqt the volume available to
// raise the water table.
func (u *unsatColumn) profile(t, vqt float64) Profile {
	n := len(u.z)
	w := &unsatWork{kz: make([]float64, n), trz: make([]float64, n), psiU: make([]float64, n), thz: make([]float64, n)}
	u.kProfile(t, w)
	return u.finish(t, vqt, w)
}

// unsatWork holds the unsaturated-zone state at one time: hydraulic
// conductivity, normalised transmissivity, pressure head and water content
// per node, and TRIGRS's last dimensionless time (which selects the
// numerical transmissivity when it is early).
type unsatWork struct {
	kz, trz, psiU, thz []float64
	tstar1             float64
	// buffers of finish and saturatedZone, reused by the Engine
	vf, vfa, ptr, pz, psi, uwsp []float64
	nodes                       []Node
}

// kProfile computes K(z,t) and the transmissivity by superposing the
// Srivastava & Yeh response of every period, node by node, in TRIGRS's
// order of operations.
func (u *unsatColumn) kProfile(t float64, w *unsatWork) {
	p := &u.p
	z := u.z
	kz, trz := w.kz, w.trz
	al, d, ks, qa := u.al, u.d, u.ks, u.qaU
	dth := u.ths - u.thr
	qts := u.surfaceFlux(t)
	tstar1 := 0.0
	for j, zj := range z {
		if zj >= d {
			kz[j], w.thz[j], trz[j] = ks, u.ths, (p.DepthToBase-zj)*ks
			w.psiU[j] = 0
			continue
		}
		e := math.Exp(-al * (d - zj))
		ck0 := qa - (qa-ks)*e
		psi0 := math.Log(ck0/ks) / al
		f0 := 2 * (qts - qa) * math.Exp(al*(d-zj)/2)
		var kas, kbs, trsa, trsb float64
		for m, q := range u.q {
			ta := t - u.capt[m]
			if ta < 0 {
				break
			}
			var ka, kb, tra, trb float64
			tstar1 = 0
			if ta > 1e-10 {
				ts := u.tf * ta
				tstar1 = ts
				if ts < smallTime {
					ka = ck0 + f0*earlyK(al, zj, d, ts)/4
					tra = ka * u.dz
				} else {
					k2, tr := u.lateK(zj, ts)
					f1 := 2 * (q - qa) * math.Exp(al*zj/2) * math.Exp(-ts/4)
					ka = q - (q-ks)*e - 2*f1*k2
					tra = q*(d-zj) - (q-ks)*(1-e)/al - 2*(q-qa)*math.Exp(-ts/4)/al*tr
				}
			}
			kas += ka
			trsa += tra
			if tb := t - u.capt[m+1]; tb > 1e-10 {
				ts := u.tf * tb
				if ts < smallTime {
					kb = ck0 + f0*earlyK(al, zj, d, ts)/4
					trb = ka * u.dz // TRIGRS uses ka here
				} else {
					k2, tr := u.lateK(zj, ts)
					f1 := 2 * (q - qa) * math.Exp(al*zj/2) * math.Exp(-ts/4)
					kb = q - (q-ks)*e - 2*f1*k2
					trb = q*(d-zj) - (q-ks)*(1-e)/al - 2*(q-qa)*math.Exp(-ts/4)/al*tr
				}
			}
			kbs += kb
			trsb += trb
			if ka == 0 && kb == 0 {
				break
			}
		}
		steadyTr := qa*(d-zj) + (qa-ks)*(e-1)/al
		if t == 0 {
			kz[j], trz[j] = ck0, steadyTr
		} else {
			kz[j], trz[j] = kas-kbs, trsa-trsb
		}
		var ps float64
		if kz[j] > 0 {
			ps = u.cosD * (math.Log(kz[j]/ks) - u.lps0) / al
		} else {
			ps = -u.cosD / al
		}
		if ps < psi0*u.cosD {
			ps, trz[j] = psi0*u.cosD, steadyTr
		} else if ps > 0 {
			ps, trz[j] = 0, (d-zj)*(qa-ks)
		}
		w.psiU[j] = ps
		w.thz[j] = math.Min(u.thr+dth*math.Exp(al*ps), u.ths)
	}
	w.tstar1 = tstar1
}

// finish derives the fillable porosity and the water-table rise from the
// unsaturated-zone state, then the saturated zone and the factor of safety.
func (u *unsatColumn) finish(t, vqt float64, w *unsatWork) Profile {
	p := &u.p
	z := u.z
	n := len(z)
	kz, trz, tstar1 := w.kz, w.trz, w.tstar1
	d, ks := u.d, u.ks
	dth := u.ths - u.thr
	// fillable porosity above each node and the water-table rise
	w.vf, w.vfa = grow(w.vf, n), grow(w.vfa, n)
	vf, vfa := w.vf, w.vfa
	trv := -(p.DepthToBase - d) * ks
	zz := p.DepthToBase - u.dz
	for j := n - 2; j >= 0; j-- {
		trv += u.dz * (kz[j] + kz[j+1]) / 2
		if tstar1 < smallTime {
			trz[j] = trv
		}
		if zz < d {
			vf[j] = math.Abs(dth * ((d - zz) - trv/ks))
		}
		if zz <= d {
			vfa[j] = math.Abs(dth * ((d - zz) - trz[j]/ks))
		}
		zz -= u.dz
	}
	if p.AnalyticFillable {
		vf = vfa
	}
	dh := 0.0
	if p.WaterTableRise && vqt > 0 {
		zhi, zlo := 0.0, p.DepthToBase
		vhi, vlo := u.ths*p.DepthToBase, 0.0
		zc := z[0]
		for j := 0; j < n-1; j++ {
			if vf[j] > 0 {
				if vf[j]-vqt == 0 {
					break
				} else if vf[j]-vqt > 0 && vf[j+1]-vqt < 0 {
					vhi, zhi, vlo, zlo = vf[j], zc, vf[j+1], zc+u.dz
				}
			}
			zc += u.dz
		}
		if vqt > vf[0] {
			zlo, zhi, vhi, vlo = p.DepthToBase, 0, vqt, 0
		}
		var newd float64
		if zlo < d {
			newd = zhi + u.dz*(vhi-vqt)/(vhi-vlo)
		} else {
			newd = d - u.dz*vqt/(vhi-vlo)
		}
		dh = d - newd
		if p.WaterTableDepth > p.DepthToBase {
			dh -= p.WaterTableDepth - p.DepthToBase
		}
		if vqt > vf[0] {
			dh = p.WaterTableDepth
		}
	}
	return u.saturatedZone(t, dh, w)
}

// saturatedZone adds the diffusion of the water-table rise dh into the
// saturated zone and computes the factor of safety with suction stress.
func (u *unsatColumn) saturatedZone(t, dh float64, w *unsatWork) Profile {
	psiU, thz := w.psiU, w.thz
	p := &u.p
	z := u.z
	n := len(z)
	depth := p.WaterTableDepth
	beta := u.beta
	d0 := depth // top of the saturated zone: the water table (ψ0 = 0) …
	if p.PsiZeroAirEntry {
		d0 = depth - 1/p.Soil.Alpha // … or the top of the capillary fringe (ψ0 = −1/α)
	}
	dlz := p.DepthToBase - d0
	zm := p.DepthToBase
	d1 := p.Soil.Diffusivity / (u.cosD * u.cosD)
	nstp := int(float64(float32(1/p.Soil.Alpha)) / u.dz)
	if cap(w.nodes) < n {
		w.nodes = make([]Node, n)
	}
	pr := Profile{Time: t, Nodes: w.nodes[:n]}
	w.ptr, w.pz, w.psi, w.uwsp = grow(w.ptr, n), grow(w.pz, n), grow(w.psi, n), grow(w.uwsp, n)
	ptr, pz, psi, uwsp := w.ptr, w.pz, w.psi, w.uwsp
	uwsum := 0.0
	jmark := 0
	for j, zj := range z {
		if zj < depth {
			jmark = j
		}
		pz[j] = beta * (zj - depth)
		var rf float64
		switch {
		case zj <= depth && p.PsiZeroAirEntry:
			pz[j] = 0
			ia := 1 / p.Soil.Alpha
			switch {
			case p.WaterTableRise && zj > d0-dh && zj < depth-dh:
				rf = -ia + (zj - d0 + dh)
			case p.WaterTableRise && zj >= depth-dh:
				rf = beta * (zj - depth + dh)
			case !p.WaterTableRise && zj > d0 && zj < depth:
				rf = -ia + (zj - d0)
			case !p.WaterTableRise && zj >= depth:
				rf = beta * (zj - depth)
			default:
				rf = psiU[j]
			}
		case zj <= depth:
			pz[j] = 0
			if zj >= d0-dh && p.WaterTableRise {
				rf = beta * (zj + dh - d0)
			} else {
				rf = psiU[j]
			}
		case zj >= zm && dlz < 0.001:
			rf = beta * (zj + dh - d0)
		case p.WaterTableRise && t > 0:
			t1 := math.Sqrt(d1 * t)
			if p.FiniteDepth {
				rf = dh * beta * finiteLoadStep(zm-zj, dlz, t1, p.maxTerms())
			} else {
				rf = dh * beta * math.Erfc((zj-d0)/(2*t1))
			}
		}
		ptr[j] = rf
		v := pz[j] + rf
		if bl := zj * beta; v > bl {
			v = bl
		}
		psi[j] = v
		uw := p.Soil.UnitWeight
		if v < -1/p.Soil.Alpha {
			uw = (u.gs*(1-u.ths) + thz[j]) * u.gw
		}
		uwsum += uw
		uwsp[j] = uwsum / float64(j+1)
	}
	u.upwardSeepage(z, psi)
	if p.WaterTableRise && zm > depth {
		jtop := max(jmark-nstp, 0)
		for j := jmark; j >= jtop; j-- {
			if ptr[j] > ptr[j+1] {
				ptr[j] = ptr[j+1]
				psi[j] = ptr[j] + pz[j]
			}
		}
	}
	tanPhi := u.tanPhi
	for j, zj := range z {
		chi := 1.0
		th := thz[j]
		if psi[j] < 0 {
			chi = (th - u.thr) / (u.ths - u.thr)
		} else {
			th = u.ths
		}
		var fw, fc float64
		if math.Abs(u.sinD) > 1e-5 && zj > 0 {
			den := uwsp[j] * zj * u.sinD * u.cosD
			fw = -(chi * psi[j] * u.gw * tanPhi) / den
			fc = p.Soil.Cohesion / den
		}
		fs := u.ff + fw + fc
		if u.ff+fw < 0 {
			fs = fc
		}
		if fs > FSMax {
			fs = FSMax
		}
		if zj <= 1e-2 {
			fs = FSMax
		}
		pr.Nodes[j] = Node{Z: zj, Psi: psi[j], FS: fs, Theta: th, PsiSteady: pz[j], PsiTransient: ptr[j]}
	}
	u.minFS(&pr, false)
	return pr
}

// finiteLoadStep is the normalised pressure response at height h above an
// impermeable base of a layer of thickness L to a unit rise of the head at
// its top, after a time with sqrt(D1·t) = t1. Early time by images,
// Σ(−1)^(n+1)[erfc(((2n−1)L − h)/(2t1)) + erfc(((2n−1)L + h)/(2t1))];
// late time (θ = t1²/L² > 1/3) by the Fourier series
// 1 − (4/π)Σ(−1)^(n−1)/(2n−1)·cos((2n−1)πh/(2L))·exp(−(2n−1)²π²θ/4).
func finiteLoadStep(h, L, t1 float64, maxTerms int) float64 {
	if th := t1 * t1 / (L * L); th > finiteLateTime {
		s := 0.0
		for n := 1; n <= maxTerms; n++ {
			m := 2*float64(n) - 1
			term := math.Cos(m*math.Pi*h/(2*L)) * math.Exp(-m*m*math.Pi*math.Pi*th/4) / m
			if n%2 == 0 {
				term = -term
			}
			s += term
			if math.Abs(term) <= 1e-17 {
				break
			}
		}
		return 1 - 4/math.Pi*s
	}
	s := 0.0
	for n := 1; n <= maxTerms; n++ {
		rn := 2*float64(n) - 1
		a := (rn*L - h) / (2 * t1)
		term := math.Erfc(a) + math.Erfc((rn*L+h)/(2*t1))
		if n%2 == 0 {
			term = -term
		}
		s += term
		if math.Abs(term) <= 1e-17*math.Abs(s) || a > farField {
			break
		}
	}
	return s
}
