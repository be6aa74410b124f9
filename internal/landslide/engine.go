package landslide

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"sync"
)

// EngineConfig configures an Engine.
type EngineConfig struct {
	// Nodes is the number of depth intervals per column (nodes = Nodes+1,
	// from 0 to the column's DepthToBase); default 20.
	Nodes int
	// Workers is the number of goroutines Evaluate uses; default
	// runtime.GOMAXPROCS(0).
	Workers int
	// Step is the time step (s) of the unsaturated model; period
	// boundaries and evaluation times of unsaturated slopes must be
	// multiples of it. Required when any slope is unsaturated.
	Step float64
}

// fourierTerms caps the Fourier terms of the finite-depth fast path.
const fourierTerms = 64

// Summary is a column's result at one time.
type Summary struct {
	MinFS, ZAtMinFS, PsiAtMinFS float64
}

// Engine evaluates the factor-of-safety profiles of many slopes under a
// rainfall history that grows period by period (one rate per slope and
// period), as a monitoring platform does when new rainfall arrives. It
// precomputes everything that does not depend on time (trigonometry, node
// constants, the eigenvalues and weights of the unsaturated solution) and
// keeps the running integral of the basal flux, so an update costs
// O(periods) per node for saturated slopes and O(periods·roots + nodes·roots)
// per slope for unsaturated ones; the results equal SaturatedProfile and
// UnsaturatedProfiles (see the tests for the bound). Evaluate runs slopes
// in parallel; the Engine itself is not safe for concurrent use.
type Engine struct {
	cfg    EngineConfig
	cosTab [][]float64 // (−1)ⁿ/n²·cos(nπ(1 − j/Nodes)) of the Fourier form
	ierfc  *ierfcTable
	slopes []*engSlope
	capt   []float64   // shared period boundaries, len(rates)+1
	rates  [][]float64 // rates[period][slope], m/s
}

type engSlope struct {
	c     *column
	z     []float64
	u     *unsatColumn // nil: saturated model
	nroot int
	// unsaturated precomputation
	sa, invBot, invBotTr []float64 // sin(r·a), 1/bot, 1/((r²+1/4)·bot) per root
	r2tf                 []float64 // r²·tf per root
	rhoStep              []float64 // exp(−r²·tf·Step) per root
	xTab                 []float64 // 1 − X(n·Step/2) of the basal flux, or NaN when early
	// running basal-flux integral
	half    int       // half steps evaluated so far
	f       []float64 // excess basal flux at each half step
	vol     []float64 // cumulative volume at each step
	simpSum float64
}

// NewEngine prepares slopes for repeated evaluation.
func NewEngine(cfg EngineConfig, slopes []Params) (*Engine, error) {
	if cfg.Nodes == 0 {
		cfg.Nodes = 20
	}
	if cfg.Workers <= 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	if cfg.Nodes < 1 || cfg.Nodes > 10000 {
		return nil, fmt.Errorf("%w: %d nodes", ErrBadParams, cfg.Nodes)
	}
	e := &Engine{cfg: cfg, slopes: make([]*engSlope, len(slopes))}
	e.ierfc = newIerfcTable()
	e.cosTab = make([][]float64, fourierTerms+1)
	for m := 1; m <= fourierTerms; m++ {
		e.cosTab[m] = make([]float64, cfg.Nodes+1)
		sg := -1.0
		if m%2 == 0 {
			sg = 1
		}
		for j := range e.cosTab[m] {
			e.cosTab[m][j] = sg / float64(m*m) * math.Cos(float64(m)*math.Pi*(1-float64(j)/float64(cfg.Nodes)))
		}
	}
	for i, p := range slopes {
		c, err := newColumn(p, nil)
		if err != nil {
			return nil, fmt.Errorf("slope %d: %w", i, err)
		}
		s := &engSlope{c: c, z: Depths(0, p.DepthToBase, cfg.Nodes)}
		if p.Soil.Unsaturated() && p.WaterTableDepth-1/p.Soil.Alpha > 0 {
			if !(cfg.Step > 0) {
				return nil, fmt.Errorf("%w: slope %d is unsaturated: EngineConfig.Step is required", ErrBadParams, i)
			}
			s.initUnsat(cfg.Step)
		}
		e.slopes[i] = s
	}
	return e, nil
}

// Reset forgets the rainfall history (keeping the precomputation), so the
// next period starts a new event from the steady initial state. The model
// is event-based like TRIGRS: memory grows by 8 bytes per slope per period,
// so a long-running platform starts a new event after a dry spell.
func (e *Engine) Reset() {
	e.capt, e.rates = nil, nil
	for _, s := range e.slopes {
		if s.u != nil {
			s.half, s.f, s.vol, s.simpSum = 0, s.f[:0], []float64{0}, 0
		}
	}
}

// Slopes returns the number of slopes.
func (e *Engine) Slopes() int { return len(e.slopes) }

// AddPeriod appends the rainfall period [start, end] with rates[i] (m/s)
// on slope i; start must be the end of the previous period.
func (e *Engine) AddPeriod(start, end float64, rates []float64) error {
	if len(rates) != len(e.slopes) {
		return fmt.Errorf("%w: %d rates for %d slopes", ErrBadRainfall, len(rates), len(e.slopes))
	}
	if n := len(e.capt); n > 0 && start != e.capt[n-1] {
		return fmt.Errorf("%w: period starts at %g s, the previous one ends at %g s", ErrBadRainfall, start, e.capt[n-1])
	}
	if !(end > start) || !finite(start, end) {
		return fmt.Errorf("%w: period [%g, %g]", ErrBadRainfall, start, end)
	}
	if e.cfg.Step > 0 && e.hasUnsat() {
		for _, v := range []float64{start, end} {
			if k := v / e.cfg.Step; math.Abs(k-math.Round(k)) > 1e-9 {
				return fmt.Errorf("%w: boundary %g s is not a multiple of the step %g s", ErrBadRainfall, v, e.cfg.Step)
			}
		}
	}
	for i, r := range rates {
		if !finite(r) || r < 0 {
			return fmt.Errorf("%w: slope %d rate %g", ErrBadRainfall, i, r)
		}
	}
	if len(e.capt) == 0 {
		e.capt = append(e.capt, start)
	}
	e.capt = append(e.capt, end)
	e.rates = append(e.rates, append([]float64(nil), rates...))
	return nil
}

func (e *Engine) hasUnsat() bool {
	for _, s := range e.slopes {
		if s.u != nil {
			return true
		}
	}
	return false
}

// Evaluate computes every slope at time t (within the periods added so
// far) and writes the minimum factor of safety and where it occurs into
// out (len Slopes()). If profiles is not nil, profiles[i] receives slope
// i's full profile.
func (e *Engine) Evaluate(ctx context.Context, t float64, out []Summary, profiles []Profile) error {
	if len(out) != len(e.slopes) || (profiles != nil && len(profiles) != len(e.slopes)) {
		return fmt.Errorf("%w: output length", ErrBadParams)
	}
	if len(e.capt) == 0 || t < e.capt[0] || t > e.capt[len(e.capt)-1] {
		return fmt.Errorf("%w: time %g outside the rainfall history", ErrBadParams, t)
	}
	step := -1
	if e.hasUnsat() {
		k := t / e.cfg.Step
		if math.Abs(k-math.Round(k)) > 1e-9 {
			return fmt.Errorf("%w: time %g is not a multiple of the step %g", ErrBadParams, t, e.cfg.Step)
		}
		step = int(math.Round(k))
	}
	var wg sync.WaitGroup
	errs := make([]error, e.cfg.Workers)
	chunk := (len(e.slopes) + e.cfg.Workers - 1) / e.cfg.Workers
	for w := 0; w < e.cfg.Workers; w++ {
		lo, hi := w*chunk, min((w+1)*chunk, len(e.slopes))
		if lo >= hi {
			break
		}
		wg.Add(1)
		go func(w, lo, hi int) {
			defer wg.Done()
			sc := &scratch{}
			for i := lo; i < hi; i++ {
				if i%256 == 0 && ctx.Err() != nil {
					errs[w] = ctx.Err()
					return
				}
				pr := e.evalSlope(i, t, step, sc)
				out[i] = Summary{pr.MinFS, pr.ZAtMinFS, pr.PsiAtMinFS}
				if profiles != nil {
					pr.Nodes = append([]Node(nil), pr.Nodes...)
					profiles[i] = pr
				}
			}
		}(w, lo, hi)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// scratch is per-worker memory reused across slopes.
type scratch struct {
	tr     []float64
	w, v   []float64
	work   unsatWork
	s, c   []float64
	psi    []float64
	nodes  []Node
	hs, hc []float64
	e, rho []float64
	q      []float64
}

func grow(b []float64, n int) []float64 {
	if cap(b) < n {
		return make([]float64, n)
	}
	b = b[:n]
	for i := range b {
		b[i] = 0
	}
	return b
}

func (e *Engine) evalSlope(i int, t float64, step int, sc *scratch) Profile {
	s := e.slopes[i]
	if s.u != nil {
		return e.evalUnsat(s, i, t, step, sc)
	}
	return e.evalSat(s, i, t, sc)
}

// evalSat: ψ(t) = β(z − d) + Σ_k (rik_k − rik_{k−1})·G(z, t − c_k) (Abel
// summation of the period superposition: one response per rate change).
func (e *Engine) evalSat(s *engSlope, i int, t float64, sc *scratch) Profile {
	c := s.c
	p := &c.p
	n := len(s.z)
	sc.tr = grow(sc.tr, n)
	ks := p.Soil.Ksat
	prev := 0.0
	d1 := p.Soil.Diffusivity / (c.cosD * c.cosD)
	L := p.DepthToBase
	// Finite depth, nodes at fixed fractions of L: the Fourier form
	// G = D1τ/L + (3x²−L²)/(6L) − (2L/π²)Σ(−1)ⁿ/n²·exp(−n²π²θ)·cos(nπx/L),
	// x = L − z, θ = D1τ/L², separates time from depth, so the rate changes
	// are combined per term first (W_n = Σ_k Δ_k·exp(−n²π²θ_k)) and the
	// depth sum costs O(terms) per node. Terms stop at exp(−n²π²θ) < 1e-17;
	// a change so young that more than fourierTerms terms would be needed
	// (θ < 1e-3) is added with the image series instead.
	fourier := p.FiniteDepth
	var lin, sumD float64
	if fourier {
		sc.w = grow(sc.w, fourierTerms+1)
	}
	used := false
	for k := 0; k < len(e.capt); k++ {
		tau := t - e.capt[k]
		if tau <= 0 {
			break
		}
		rik := 0.0
		if k < len(e.rates) {
			rik = math.Min(e.rates[k][i], ks) / ks
			if e.rates[k][i] > ks {
				rik = 1
			}
		}
		dr := rik - prev
		prev = rik
		if dr == 0 {
			continue
		}
		if fourier {
			th := d1 * tau / (L * L)
			if 1.99/math.Sqrt(th) < fourierTerms {
				used = true
				lin += dr * d1 * tau / L
				sumD += dr
				q := math.Exp(-math.Pi * math.Pi * th)
				q2, f, en := q*q, q, 1.0
				for m := 1; m <= fourierTerms; m++ {
					en *= f // exp(−m²π²θ)
					f *= q2
					if en < 1e-17 {
						break
					}
					sc.w[m] += dr * en
				}
				continue
			}
		}
		if p.FiniteDepth {
			for j, z := range s.z {
				sc.tr[j] += dr * finiteStep(z, tau, d1, L, p.maxTerms())
			}
			continue
		}
		// Infinite depth: z·R(t*) = σ·ierfc(z/σ), σ = sqrt(D̂τ), from the
		// interpolation table (error < 1.4e-12·σ); nodes deeper than
		// farField·σ get nothing (< 4e-21·σ), and z only grows.
		sg := math.Sqrt(4 * d1 * tau)
		inv := 1 / sg
		for j, z := range s.z {
			x := z * inv
			if x >= farField {
				break
			}
			sc.tr[j] += dr * sg * e.ierfc.at(x)
		}
	}
	if used {
		for j, z := range s.z {
			x := L - z
			ser := 0.0
			for m := 1; m <= fourierTerms; m++ {
				ser += sc.w[m] * e.cosTab[m][j]
			}
			sc.tr[j] += lin + sumD*(3*x*x-L*L)/(6*L) - 2*L/(math.Pi*math.Pi)*ser
		}
	}
	if cap(sc.nodes) < n {
		sc.nodes = make([]Node, n)
	}
	pr := Profile{Time: t, Nodes: sc.nodes[:n]}
	sc.psi = grow(sc.psi, n)
	psi := sc.psi
	for j, z := range s.z {
		p0 := c.beta * (z - p.WaterTableDepth)
		v := p0 + sc.tr[j]
		if bl := c.beta * z; v > bl {
			v = bl
		}
		psi[j] = v
		pr.Nodes[j] = Node{Z: z, PsiSteady: p0, PsiTransient: sc.tr[j], Theta: p.Soil.ThetaSat}
	}
	c.upwardSeepage(s.z, psi)
	for j, z := range s.z {
		pr.Nodes[j].Psi = psi[j]
		pr.Nodes[j].FS = c.fsSaturated(z, psi[j])
	}
	c.minFS(&pr, p.IgnoreNegativePressure)
	return pr
}

// rootsNeeded bounds the roots of the unsaturated series: terms carry
// exp(−r²·t*) with t* ≥ 0.1 in the series branch, so roots with
// r²·0.1 > 40 (r > 20) contribute below exp(−40) ≈ 4e-18 of the first.
// The k-th root is above (k−½)π/a, hence k ≤ 20a/π + 1 suffices.
func rootsNeeded(a float64, maxTerms int) int {
	return min(maxTerms, int(math.Ceil(20*a/math.Pi))+2)
}

func (s *engSlope) initUnsat(step float64) {
	c := s.c
	p := &c.p
	d := p.WaterTableDepth
	if p.PsiZeroAirEntry {
		d -= 1 / p.Soil.Alpha
	}
	a := p.Soil.Alpha * c.cosD * c.cosD * d
	s.nroot = rootsNeeded(a, p.maxTerms())
	u := newUnsat(c, TimeGrid{Step: step, Steps: 1}, s.z, s.nroot)
	u.q, u.capt = nil, nil
	s.u = u
	s.sa = make([]float64, s.nroot)
	s.invBot = make([]float64, s.nroot)
	s.invBotTr = make([]float64, s.nroot)
	s.r2tf = make([]float64, s.nroot)
	s.rhoStep = make([]float64, s.nroot)
	for k, r := range u.roots {
		s.sa[k] = math.Sin(r * a)
		s.invBot[k] = 1 / u.bot[k]
		s.invBotTr[k] = 1 / ((r*r + 0.25) * u.bot[k])
		s.r2tf[k] = r * r * u.tf
		s.rhoStep[k] = math.Exp(-s.r2tf[k] * step)
	}
	s.vol = []float64{0}
	s.f = nil
}

// basalY returns 1 − X(τ) of the basal-flux step response for
// τ = n·Step/2 (tabulated), or NaN in TRIGRS's early time, where the
// response is zero.
func (s *engSlope) basalY(n int, step float64) float64 {
	for len(s.xTab) <= n {
		m := len(s.xTab)
		tau := float64(m) * step / 2
		ts := s.u.tf * tau
		if tau <= 0 || ts < smallTime {
			s.xTab = append(s.xTab, math.NaN())
			continue
		}
		sum := 0.0
		for k := range s.u.roots {
			sum += s.u.qtops[k] * math.Exp(-s.r2tf[k]*tau) * s.invBot[k]
		}
		x := 4 * math.Exp(s.u.al*s.u.d/2) * sum * math.Exp(-ts/4)
		s.xTab = append(s.xTab, 1-x)
	}
	return s.xTab[n]
}

// advanceFlux extends the Simpson integral of the excess basal flux to
// step index step, using the engine's rain history.
func (e *Engine) advanceFlux(s *engSlope, qs []float64, step int) {
	u := s.u
	p := &u.p
	h := e.cfg.Step / 2
	qmax := 0.0
	q := func(k int) float64 { return qs[k] }
	for _, v := range qs {
		qmax = math.Max(qmax, v)
	}
	tol := u.ks * 5e-7
	for s.half <= 2*step {
		n := s.half
		ts := float64(n) * h
		qt := 0.0
		prev := u.qa
		for k := 0; k < len(e.rates); k++ {
			tau := ts - e.capt[k]
			if tau < 0 {
				break
			}
			qk := q(k)
			m := int(math.Round(tau / h))
			y := s.basalY(m, e.cfg.Step)
			if !math.IsNaN(y) {
				if k == 0 {
					qt += u.qa
				}
				qt += (qk - prev) * y
			}
			prev = qk
		}
		if qmax < qt || qt < 0 {
			if u.ks/(u.ths*ts) < u.d {
				qt = 0
			}
		}
		if qt < u.rizero {
			qt = u.rizero
		}
		lim := u.ks + tol
		if p.BackgroundFlux {
			lim += u.rizero
		}
		if qt > lim {
			qt = u.ks
		}
		f := 0.0
		if qt > u.qzmax {
			f = qt - u.qzmax
		}
		s.f = append(s.f, f)
		s.half++
		if n > 0 && n%2 == 0 {
			s.simpSum += s.f[n-2] + 4*s.f[n-1] + s.f[n]
			s.vol = append(s.vol, s.simpSum*h/3)
		}
	}
}

func (e *Engine) evalUnsat(s *engSlope, i int, t float64, step int, sc *scratch) Profile {
	u := s.u
	// surface flux of every period on this slope (TRIGRS's q)
	sc.q = grow(sc.q, len(e.rates))
	for k := range e.rates {
		r := e.rates[k][i]
		rik := math.Min(r, u.ks) / u.ks
		if r > u.ks {
			rik = 1
		}
		if u.p.BackgroundFlux {
			sc.q[k] = u.ks * (rik + u.rikzero)
		} else {
			sc.q[k] = u.ks * rik
		}
	}
	e.advanceFlux(s, sc.q, step)
	// step start time accumulated as TRIGRS does
	ts := 0.0
	for j := 0; j < step; j++ {
		ts += e.cfg.Step
	}
	vqt := math.Max(s.vol[step]-ts*u.rizero, 0)
	n := len(s.z)
	w := &sc.work
	w.kz, w.trz, w.psiU, w.thz = grow(w.kz, n), grow(w.trz, n), grow(w.psiU, n), grow(w.thz, n)
	if ts == 0 {
		// steady state: no period has started
		u.q, u.capt = []float64{0}, []float64{0, math.Inf(1)}
		u.kProfile(0, w)
		return u.finish(0, vqt, w)
	}
	e.kFast(s, i, ts, sc)
	return u.finish(ts, vqt, w)
}

// kFast computes K(z,t) and the transmissivity at every node by Abel
// summation over the rate changes, with the per-root weights of all
// changes combined before the sum over nodes.
func (e *Engine) kFast(s *engSlope, i int, t float64, sc *scratch) {
	u := s.u
	p := &u.p
	w := &sc.work
	al, d, ks, qa := u.al, u.d, u.ks, u.qaU
	dth := u.ths - u.thr
	nr := s.nroot
	sc.w, sc.v = grow(sc.w, nr), grow(sc.v, nr)
	// surface flux per period (computed by evalUnsat) and the current one
	q := func(k int) float64 { return sc.q[k] }
	qts := 0.0
	for k := range e.rates {
		if t > e.capt[k] && t <= e.capt[k+1] {
			qts = q(k)
		}
	}
	// Boundaries: steady coefficient, per-root weights, early terms.
	// TRIGRS's order (oldest first) decides which boundaries are active
	// and its last dimensionless time; the weights are then accumulated
	// newest first so that exp(−r²·tf·τ) follows from the previous
	// boundary by one multiplication per root.
	steadyQ, steadyKs := 0.0, 0.0 // Σ Δq over late boundaries, and the Ks·e coefficient of boundary 0
	tstar1 := 0.0
	early0 := math.NaN() // t* of boundary 0 when it is early
	allLate := true
	kend := 0
	for k := 0; k < len(e.rates); k++ {
		tau := t - e.capt[k]
		if tau < 0 {
			break
		}
		if tau <= 1e-10 {
			tstar1 = 0
			allLate = false
			break
		}
		kend = k + 1
		tstar1 = u.tf * tau
	}
	sc.e = grow(sc.e, nr)
	ex := sc.e
	nlive, nUsed := nr, 0
	for k := kend - 1; k >= 0; k-- {
		tau := t - e.capt[k]
		if k == kend-1 {
			for r := 0; r < nr; r++ {
				ex[r] = math.Exp(-s.r2tf[r] * tau)
			}
		} else {
			rho := s.rhoStep
			if dt := e.capt[k+1] - e.capt[k]; dt != e.cfg.Step {
				sc.rho = grow(sc.rho, nr)
				for r := 0; r < nr; r++ {
					sc.rho[r] = math.Exp(-s.r2tf[r] * dt)
				}
				rho = sc.rho
			}
			for r := 0; r < nlive; r++ {
				ex[r] *= rho[r]
			}
		}
		for nlive > 0 && ex[nlive-1] < 1e-20 {
			nlive-- // below 1e-20 of the leading term's scale; also avoids subnormals
		}
		qk := q(k)
		dq := qk - qa
		if k > 0 {
			dq = qk - q(k-1)
		}
		tstar := u.tf * tau
		if tstar < smallTime {
			allLate = false
			if k == 0 {
				early0 = tstar
			}
			continue // early pairs cancel except at boundary 0
		}
		if k == 0 {
			steadyQ += qk
			steadyKs = ks
		} else {
			steadyQ += dq
		}
		g := dq * math.Exp(-tstar/4)
		for r := 0; r < nlive; r++ {
			wt := g * s.sa[r] * ex[r]
			sc.w[r] += wt * s.invBot[r]
			sc.v[r] += wt * s.invBotTr[r]
		}
		nUsed = max(nUsed, nlive)
	}
	nr = nUsed // roots beyond carry no weight at any boundary
	// nodes: Σ_r sin(r·al·(d−z))·W_r by a rotation recurrence over roots
	sc.s, sc.c = grow(sc.s, nr), grow(sc.c, nr)
	ead2 := math.Exp(al * d / 2)
	sumRV := 0.0
	for r := 0; r < nr; r++ {
		sumRV += u.roots[r] * sc.v[r]
	}
	// sin and cos of r·al·(d − z_j) by rotation from node to node
	// (z_j = j·Δz): two Sincos per root instead of one per root and node.
	hs, hc := grow(sc.hs, nr), grow(sc.hc, nr)
	sc.hs, sc.hc = hs, hc
	x0 := al * d
	dx := al * (s.z[len(s.z)-1] - s.z[0]) / float64(len(s.z)-1)
	for r := 0; r < nr; r++ {
		sc.s[r], sc.c[r] = math.Sincos(u.roots[r] * x0)
		hs[r], hc[r] = math.Sincos(u.roots[r] * dx)
	}
	for j, zj := range s.z {
		if j > 0 {
			for r := 0; r < nr; r++ { // angle decreases by r·dx
				sn, cs := sc.s[r], sc.c[r]
				sc.s[r] = sn*hc[r] - cs*hs[r]
				sc.c[r] = cs*hc[r] + sn*hs[r]
			}
		}
		if zj >= d {
			w.kz[j], w.thz[j], w.trz[j], w.psiU[j] = ks, u.ths, (p.DepthToBase-zj)*ks, 0
			continue
		}
		x := al * (d - zj)
		ex := math.Exp(-x)
		ck0 := qa - (qa-ks)*ex
		psi0 := math.Log(ck0/ks) / al
		var k2, trs float64
		for r := 0; r < nr; r++ {
			sn := sc.s[r]
			k2 += sn * sc.w[r]
			trs += (sn + 2*u.roots[r]*sc.c[r]) * sc.v[r]
		}
		eaz := math.Exp(al * zj / 2)
		kz := steadyQ*(1-ex) + steadyKs*ex - 4*eaz*k2
		if !math.IsNaN(early0) {
			f0 := 2 * (qts - qa) * math.Exp(al*(d-zj)/2)
			kz += ck0 + f0*earlyK(al, zj, d, early0)/4
		}
		steadyTr := qa*(d-zj) + (qa-ks)*(ex-1)/al
		var tr float64
		if allLate {
			tr = steadyQ*(d-zj) - (steadyQ-steadyKs)*(1-ex)/al - 2/al*(2*ead2*sumRV-eaz*trs)
		}
		w.kz[j], w.trz[j] = kz, tr
		var ps float64
		if kz > 0 {
			ps = u.cosD * (math.Log(kz/ks) - u.lps0) / al
		} else {
			ps = -u.cosD / al
		}
		if ps < psi0*u.cosD {
			ps, w.trz[j] = psi0*u.cosD, steadyTr
		} else if ps > 0 {
			ps, w.trz[j] = 0, (d-zj)*(qa-ks)
		}
		w.psiU[j] = ps
		w.thz[j] = math.Min(u.thr+dth*math.Exp(al*ps), u.ths)
	}
	w.tstar1 = tstar1
}
