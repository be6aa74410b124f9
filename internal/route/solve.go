package route

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"time"
)

// Options tunes Solve. The zero value uses the published HGS parameters
// and runs until ctx is done.
type Options struct {
	// Seed makes the search deterministic: with the same Seed, problem and
	// MaxIterations (and no time limit or cancellation cutting it short)
	// Solve returns the same solution.
	Seed uint64
	// TimeLimit bounds the wall-clock time of Solve (0: no limit). The
	// search stops early enough to return within it.
	TimeLimit time.Duration
	// MaxIterations bounds the number of genetic iterations (0: no limit).
	MaxIterations int
	// Granular is the number of neighbours per stop in the local search
	// (default 40).
	Granular int
	// PopMin (mu), Generation (lambda), Elite and Close are the population
	// parameters of Vidal (2022); defaults 25, 40, 4, 5.
	PopMin, Generation, Elite, Close int
	// TargetFeasible is the share of feasible local-search results the
	// penalty management aims at (default 0.2).
	TargetFeasible float64
	// PenaltyUpdate is the number of local-search results between penalty
	// adjustments (default 50).
	PenaltyUpdate int
	// NoImprove restarts the population after that many iterations without
	// improvement of the best solution (default 20000).
	NoImprove int

	crossover string // experiments: "ox", "srex" or "" (both)
}

func (o Options) withDefaults() Options {
	def := func(x *int, v int) {
		if *x <= 0 {
			*x = v
		}
	}
	def(&o.Granular, 40)
	def(&o.PopMin, 25)
	def(&o.Generation, 40)
	def(&o.Elite, 4)
	def(&o.Close, 5)
	def(&o.NoImprove, 20000)
	def(&o.PenaltyUpdate, 50)
	if o.TargetFeasible <= 0 || o.TargetFeasible >= 1 {
		o.TargetFeasible = 0.2
	}
	return o
}

// Improvement is reported each time the best feasible solution improves.
type Improvement struct {
	Elapsed   time.Duration
	Iteration int
	Distance  float64 // in problem units
	Vehicles  int
	Solution  *Solution
}

// Result is what Solve returns.
type Result struct {
	Solution   *Solution
	Report     *Report // the checker's report on Solution
	Feasible   bool
	Iterations int
	Elapsed    time.Duration
	// LocalSearchEvals counts move evaluations (for throughput figures).
	LocalSearchEvals int64
}

// Solve searches for a feasible solution of p of least cost until the time
// limit, the iteration limit or ctx ends it, and returns the best found.
// Every returned solution has been verified by Check. onImprove, when not
// nil, is called synchronously from Solve's goroutine with each new best
// feasible solution (best-so-far, anytime); it should return quickly.
//
// Errors: a validation error (*StopError, *VehicleError, *MatrixError,
// ErrNoVehicles) when p is invalid; an error wrapping ErrInfeasible, with a
// non-nil Result holding the least-violating solution, when no feasible
// solution was found; an error when no stopping rule is given.
func Solve(ctx context.Context, p *Problem, opts Options, onImprove func(Improvement)) (*Result, error) {
	start := time.Now()
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if opts.TimeLimit <= 0 && opts.MaxIterations <= 0 && ctx.Done() == nil {
		return nil, errors.New("route: solve needs a time limit, an iteration limit or a cancellable context")
	}
	opts = opts.withDefaults()
	var deadline time.Time
	if opts.TimeLimit > 0 {
		// Stop 1% early (at most 250ms): checking and output take about a
		// millisecond, the rest absorbs descheduling on a loaded machine
		// (gaps of 0.3-0.6 s between two clock reads were measured with
		// the process niced under a load average of 10 on 2 cores).
		reserve := min(opts.TimeLimit/100, 250*time.Millisecond)
		deadline = start.Add(opts.TimeLimit - reserve)
	}
	if d, ok := ctx.Deadline(); ok && (deadline.IsZero() || d.Before(deadline)) {
		deadline = d
	}
	in := newInstance(p, opts.Granular)
	h := &hgs{
		p: p, in: in, opts: opts, start: start,
		rng:       rand.New(rand.NewPCG(opts.Seed, 0x9e3779b97f4a7c15)),
		onImprove: onImprove,
		pp:        popParams{mu: opts.PopMin, lambda: opts.Generation, nbElite: opts.Elite, nbClose: opts.Close},
	}
	h.stop = deadlineStop(ctx.Done(), deadline)
	h.ls = newLocalSearch(in, h.rng, h.stop)
	h.run()
	best := h.best
	feasible := best != nil
	if best == nil {
		best = h.leastViolating()
	}
	res := &Result{Iterations: h.iter, LocalSearchEvals: h.ls.evals, Feasible: feasible}
	if best == nil { // no individual at all: stopped before the first
		res.Elapsed = time.Since(start)
		return res, fmt.Errorf("%w: stopped before any solution was built", ErrInfeasible)
	}
	res.Solution = h.toSolution(best)
	rep, err := Check(p, res.Solution)
	res.Report = rep
	res.Elapsed = time.Since(start)
	if err != nil {
		res.Feasible = false
		if feasible {
			// The solver believed it feasible: a solver bug, report loudly.
			return res, fmt.Errorf("route: checker rejected the solver's solution: %w", err)
		}
		return res, fmt.Errorf("%w: no feasible solution found in %d iterations: %v", ErrInfeasible, h.iter, err)
	}
	return res, nil
}

type hgs struct {
	p         *Problem
	in        *instance
	opts      Options
	pp        popParams
	start     time.Time
	rng       *rand.Rand
	stop      func() bool
	ls        *localSearch
	onImprove func(Improvement)

	pen         penalties
	pen0        penalties // the initial penalties
	feas, inf   subpop
	best        *indiv
	bestInf     *indiv
	iter        int
	noImprove   int
	histLoad    []bool
	histWarp    []bool
	penFactor   float64
	splitP      []float64
	splitPred   []int
	representat int
	sx          srexData
	// parent is the full-fleet search when this one runs with a limited
	// fleet (route minimisation); its best solutions are forwarded.
	parent *hgs
	// maxIter (when > 0) replaces the iteration limit of a fleet-limited
	// search; budget (when not nil) ends it early.
	maxIter int
	budget  func() bool
}

// useSREX chooses the crossover of one iteration.
func (h *hgs) useSREX() bool {
	switch h.opts.crossover {
	case "ox":
		return false
	case "srex":
		return true
	}
	return h.rng.IntN(2) == 0
}

func (h *hgs) run() {
	in := h.in
	var maxDist int64
	for _, x := range in.dist {
		maxDist = max(maxDist, x)
	}
	// Initial penalties as in Vidal (2022), in the solver's scaled units;
	// with a fixed cost per vehicle (hierarchical objective) they start
	// high enough that merging routes by breaking constraints does not pay.
	h.penFactor = math.Max(1, in.fixedCost/math.Max(1, float64(maxDist)))
	h.pen = penalties{cap: 1, tw: h.penFactor}
	if in.maxDem > 0 {
		h.pen.cap = math.Max(0.1, math.Min(1000*in.scale, float64(maxDist)/float64(in.maxDem))) * h.penFactor
	}
	h.pen0 = h.pen
	h.representat = 0
	for v := range in.veh {
		if !in.veh[v].served && (in.veh[h.representat].served || in.veh[v].cap > in.veh[h.representat].cap) {
			h.representat = v
		}
	}
	if len(in.clients) == 0 {
		h.consider(newIndiv(in, make([][]int32, len(in.veh))))
		return
	}
	if in.objFixed > 0 && in.fixedCost == 0 {
		h.runFleetMin()
		return
	}
	h.initPopulation()
	for !h.done() {
		h.iterate()
	}
}

// done reports whether the search must stop: the stop function (time,
// cancellation) or the iteration limit.
func (h *hgs) done() bool {
	if h.maxIter > 0 {
		return h.iter >= h.maxIter || h.stop()
	}
	return h.stop() || (h.opts.MaxIterations > 0 && h.iter >= h.opts.MaxIterations)
}

// iterate runs one genetic iteration: selection, crossover, education,
// and a restart after too many iterations without improvement.
func (h *hgs) iterate() {
	h.iter++
	h.noImprove++
	p1 := h.tournament()
	p2 := h.tournament()
	for tries := 0; p2 == p1 && tries < 3; tries++ {
		p2 = h.tournament()
	}
	var child [][]int32
	if h.in.homog && h.useSREX() {
		child = h.srex(p1, p2)
	}
	if child == nil {
		child = h.split(h.crossover(p1.giant(), p2.giant()))
	}
	h.educate(child)
	if h.noImprove >= h.opts.NoImprove {
		h.feas.members, h.inf.members = nil, nil
		h.noImprove = 0
		h.initPopulation()
	}
}

func (h *hgs) initPopulation() {
	g := append([]int32(nil), h.in.clients...)
	for i := 0; i < 4*h.opts.PopMin && !h.done(); i++ {
		h.rng.Shuffle(len(g), func(a, b int) { g[a], g[b] = g[b], g[a] })
		h.educate(h.split(g))
	}
}

// educate runs the local search on routes, adds the result to the
// population, and repairs an infeasible result with probability 1/2 by a
// local search with ten-fold penalties.
func (h *hgs) educate(routes [][]int32) {
	h.ls.load(routes)
	h.ls.run(h.pen)
	x := newIndiv(h.in, h.ls.export())
	h.histLoad = append(h.histLoad, x.load == 0)
	h.histWarp = append(h.histWarp, x.warp == 0)
	if len(h.histLoad) >= h.opts.PenaltyUpdate {
		h.managePenalties()
	}
	h.insert(x)
	if x.feasible() || h.ls.aborted {
		return
	}
	// Until a first feasible solution exists, always repair, and escalate
	// the booster (x10, then x100): with tight windows the initial
	// penalties are far too low and adapt only slowly.
	noneYet := h.best == nil
	if !noneYet && h.rng.IntN(2) != 0 {
		return
	}
	for _, boost := range []float64{10, 100} {
		h.ls.run(penalties{cap: boost * h.pen.cap, tw: boost * h.pen.tw})
		y := newIndiv(h.in, h.ls.export())
		if y.feasible() {
			h.insert(y)
			return
		}
		if !noneYet || h.ls.aborted {
			return
		}
	}
}

func (h *hgs) insert(x *indiv) {
	h.consider(x)
	if x.feasible() {
		h.feas.add(h.in, x, h.pen, h.pp)
	} else {
		h.inf.add(h.in, x, h.pen, h.pp)
	}
}

// consider records x as best if it improves the best feasible solution.
func (h *hgs) consider(x *indiv) {
	if !x.feasible() {
		if h.bestInf == nil || x.cost(h.in, h.pen) < h.bestInf.cost(h.in, h.pen) {
			h.bestInf = x
		}
		return
	}
	if h.best != nil && x.objective(h.in) >= h.best.objective(h.in)-eps {
		return
	}
	h.best = x
	h.noImprove = 0
	if h.parent != nil {
		h.parent.considerChild(x)
		return
	}
	if h.onImprove != nil {
		h.onImprove(Improvement{
			Elapsed:   time.Since(h.start),
			Iteration: h.iter,
			Distance:  float64(x.dist) / h.in.scale,
			Vehicles:  x.nRoutes,
			Solution:  h.toSolution(x),
		})
	}
}

func (h *hgs) leastViolating() *indiv {
	if b := h.inf.best(h.in, h.pen); b != nil {
		return b
	}
	return h.bestInf
}

// managePenalties adapts the penalty weights so that about TargetFeasible
// of local-search results are feasible (Vidal 2022, section 3).
func (h *hgs) managePenalties() {
	adapt := func(w float64, hist []bool) float64 {
		if len(hist) == 0 {
			return w
		}
		ok := 0
		for _, b := range hist {
			if b {
				ok++
			}
		}
		frac := float64(ok) / float64(len(hist))
		switch {
		case frac < h.opts.TargetFeasible-0.05:
			w = math.Min(100000*h.in.scale*h.penFactor, w*1.2)
		case frac > h.opts.TargetFeasible+0.05:
			w = math.Max(0.1, w*0.85)
		}
		return w
	}
	h.pen.cap = adapt(h.pen.cap, h.histLoad)
	h.pen.tw = adapt(h.pen.tw, h.histWarp)
	h.histLoad, h.histWarp = h.histLoad[:0], h.histWarp[:0]
}

// tournament picks the better (by biased fitness) of two random members.
func (h *hgs) tournament() *indiv {
	h.feas.updateFitness(h.in, h.pen, h.pp)
	h.inf.updateFitness(h.in, h.pen, h.pp)
	nf, ni := len(h.feas.members), len(h.inf.members)
	pick := func() *indiv {
		k := h.rng.IntN(nf + ni)
		if k < nf {
			return h.feas.members[k]
		}
		return h.inf.members[k-nf]
	}
	a, b := pick(), pick()
	if b.fit < a.fit {
		return b
	}
	return a
}

// crossover is the ordered crossover (OX) on giant tours.
func (h *hgs) crossover(a, b []int32) []int32 {
	n := len(a)
	child := make([]int32, n)
	in := make([]bool, h.in.n)
	i := h.rng.IntN(n)
	j := h.rng.IntN(n)
	for j == i && n > 1 {
		j = h.rng.IntN(n)
	}
	k := i
	for {
		child[k%n] = a[k%n]
		in[a[k%n]] = true
		if k%n == j {
			break
		}
		k++
	}
	pos := (j + 1) % n
	for t := 1; t <= n; t++ {
		c := b[(j+t)%n]
		if in[c] {
			continue
		}
		child[pos] = c
		pos = (pos + 1) % n
	}
	return child
}

// split cuts a giant tour into routes optimally for the representative
// vehicle under the current penalties (Bellman recursion, Prins 2004 /
// Vidal 2013), then assigns the routes to vehicles.
func (h *hgs) split(g []int32) [][]int32 {
	in := h.in
	n := len(g)
	if cap(h.splitP) < n+1 {
		h.splitP = make([]float64, n+1)
		h.splitPred = make([]int, n+1)
	}
	p, pred := h.splitP[:n+1], h.splitPred[:n+1]
	for i := range p {
		p[i] = math.Inf(1)
	}
	p[0] = 0
	rep := h.representat
	vr := &in.veh[rep]
	limit := vr.cap + vr.cap/2
	for i := 0; i < n; i++ {
		if math.IsInf(p[i], 1) {
			continue
		}
		acc := vr.startSeg
		acc.first, acc.last = 0, 0
		for j := i + 1; j <= n; j++ {
			acc = in.cat(acc, in.single[g[j-1]])
			if acc.load > limit && j > i+1 {
				break
			}
			c := p[i] + in.routeCost(rep, in.cat(acc, vr.endSeg), j-i, h.pen)
			if c < p[j] {
				p[j], pred[j] = c, i
			}
		}
	}
	var routes [][]int32
	for j := n; j > 0; j = pred[j] {
		routes = append(routes, append([]int32(nil), g[pred[j]:j]...))
	}
	// Reverse to giant-tour order.
	for a, b := 0, len(routes)-1; a < b; a, b = a+1, b-1 {
		routes[a], routes[b] = routes[b], routes[a]
	}
	return h.assign(routes)
}

// assign maps routes to vehicles: in order for a homogeneous fleet, else
// the heaviest routes to the largest vehicles; surplus routes are merged,
// and stops fixed to a vehicle are moved to it (the local search repairs
// what this breaks, through the penalties).
func (h *hgs) assign(routes [][]int32) [][]int32 {
	in := h.in
	nv := len(in.veh)
	out := make([][]int32, nv)
	order := make([]int, 0, nv)
	for v := range in.veh {
		if !in.veh[v].served {
			order = append(order, v)
		}
	}
	if !in.homog {
		load := func(r []int32) int64 {
			var s int64
			for _, c := range r {
				s += in.dem[c]
			}
			return s
		}
		sort.SliceStable(routes, func(a, b int) bool { return load(routes[a]) > load(routes[b]) })
		sort.SliceStable(order, func(a, b int) bool { return in.veh[order[a]].cap > in.veh[order[b]].cap })
		for v := range in.veh {
			if in.veh[v].served {
				order = append(order, v)
			}
		}
	}
	for i, r := range routes {
		v := order[i%len(order)]
		out[v] = append(out[v], r...)
	}
	if in.homog {
		return out
	}
	for v := range out {
		kept := out[v][:0]
		var moved []int32
		for _, c := range out[v] {
			if f := in.fixedVeh[c]; f >= 0 && int(f) != v {
				moved = append(moved, c)
			} else {
				kept = append(kept, c)
			}
		}
		out[v] = kept
		for _, c := range moved {
			f := in.fixedVeh[c]
			out[f] = append(out[f], c)
		}
	}
	return out
}

// toSolution converts an individual into stop IDs, served prefixes first.
func (h *hgs) toSolution(x *indiv) *Solution {
	sol := &Solution{}
	for v, r := range x.routes {
		veh := &h.p.Vehicles[v]
		if len(r) == 0 && len(veh.Served) == 0 {
			continue
		}
		route := Route{Vehicle: veh.ID, Stops: append([]string(nil), veh.Served...)}
		for _, c := range r {
			route.Stops = append(route.Stops, h.p.Stops[c-1].ID)
		}
		sol.Routes = append(sol.Routes, route)
	}
	return sol
}
