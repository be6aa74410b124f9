package route

import (
	"sort"
	"time"
)

// Route minimisation for the hierarchical objective (vehicles first, then
// distance), as in Vidal et al. (2013, section 5.1) and PyVRP's
// minimise_fleet: once a feasible solution with R routes is known, the
// genetic search is run again with only R-1 vehicles available, starting
// from the best solution with one route dissolved and its clients
// reinserted greedily (an infeasible start that the penalised local search
// repairs); each success lowers R and the next attempt starts from it. An
// attempt that finds no feasible solution within its budget ends the
// phase, and the rest of the time minimises distance with the smallest
// fleet found. Used for homogeneous fleets (the vehicles dropped are
// interchangeable with the ones kept).

// fleetMinShare is the share of the time limit (or iteration limit) one
// fleet-reduction attempt may use.
const fleetMinShare = 0.2

func (h *hgs) runFleetMin() {
	in := h.in
	// Phase 1: the ordinary search (fixed cost per vehicle) until a first
	// feasible solution exists.
	h.initPopulation()
	for h.best == nil && !h.done() {
		h.iterate()
	}
	var demand int64
	for _, c := range in.clients {
		demand += in.dem[c]
	}
	lb := 1
	if c := in.veh[0].cap; c > 0 {
		lb = max(1, int((demand+c-1)/c))
	}
	// Phase 2: one attempt per fleet size while attempts succeed.
	for h.best != nil && !h.done() && h.best.nRoutes > lb {
		sub := h.fleetLimited(h.best.nRoutes - 1)
		before := h.best
		sub.seedFleet(h.best)
		for sub.best == nil && !sub.done() {
			sub.iterate()
		}
		h.iter += sub.iter
		h.pen = sub.pen
		if h.best == before {
			break
		}
	}
	// Phase 3: distance with the smallest fleet found.
	if h.best == nil || h.done() {
		return
	}
	sub := h.fleetLimited(h.best.nRoutes)
	sub.budget = nil
	sub.maxIter = h.remainingIters()
	sub.seedFleet(h.best)
	for !sub.done() {
		sub.iterate()
	}
	h.iter += sub.iter
}

func (h *hgs) remainingIters() int {
	if h.opts.MaxIterations <= 0 {
		return 0
	}
	return max(1, h.opts.MaxIterations-h.iter)
}

// fleetLimited returns a search over the first k vehicles only, sharing
// the random stream, the stop rule and the penalties, forwarding its best
// solutions to h. Its own stop adds a budget of fleetMinShare of the time
// or iteration limit.
func (h *hgs) fleetLimited(k int) *hgs {
	in2 := *h.in
	in2.veh = h.in.veh[:k]
	sub := &hgs{
		p: h.p, in: &in2, opts: h.opts, pp: h.pp, start: h.start, rng: h.rng,
		pen: h.pen, penFactor: h.penFactor, parent: h,
	}
	sub.maxIter = h.remainingIters()
	if h.opts.MaxIterations > 0 {
		sub.maxIter = min(sub.maxIter, max(1, int(fleetMinShare*float64(h.opts.MaxIterations))))
	}
	stop := h.stop
	if h.opts.TimeLimit > 0 {
		end := time.Now().Add(time.Duration(fleetMinShare * float64(h.opts.TimeLimit)))
		sub.budget = func() bool { return !time.Now().Before(end) }
	} else if h.opts.MaxIterations <= 0 {
		// Cancellation only: a fixed number of iterations per attempt.
		sub.maxIter = 5000
	}
	sub.stop = func() bool {
		if stop() {
			return true
		}
		return sub.budget != nil && sub.budget()
	}
	sub.ls = newLocalSearch(&in2, h.rng, sub.stop)
	return sub
}

// seedFleet fills the population of a fleet-limited search: the best
// solution x of the parent with routes dissolved (the smallest ones first)
// until the fleet fits, clients reinserted greedily; then random
// individuals as usual.
func (h *hgs) seedFleet(x *indiv) {
	k := len(h.in.veh)
	var rs [][]int32
	for _, r := range x.routes {
		if len(r) > 0 {
			rs = append(rs, append([]int32(nil), r...))
		}
	}
	sort.SliceStable(rs, func(a, b int) bool { return len(rs[a]) < len(rs[b]) })
	// One seed per choice of the dissolved route among the smallest few.
	drop := len(rs) - k
	for first := 0; first < min(4, len(rs)) && !h.done(); first++ {
		if drop <= 0 && first > 0 {
			break
		}
		var kept [][]int32
		var out []int32
		for i, r := range rs {
			if drop > 0 && i >= first && i < first+drop {
				out = append(out, r...)
				continue
			}
			kept = append(kept, append([]int32(nil), r...))
		}
		h.rng.Shuffle(len(out), func(a, b int) { out[a], out[b] = out[b], out[a] })
		h.greedyRepair(kept, out)
		routes := make([][]int32, k)
		copy(routes, kept)
		h.educate(routes)
	}
	g := append([]int32(nil), h.in.clients...)
	for i := 0; i < h.opts.PopMin && !h.done(); i++ {
		h.rng.Shuffle(len(g), func(a, b int) { g[a], g[b] = g[b], g[a] })
		h.educate(h.split(g))
	}
}

// considerChild records a feasible solution of a fleet-limited search
// (vehicles 0..k-1 of h's fleet).
func (h *hgs) considerChild(x *indiv) {
	routes := make([][]int32, len(h.in.veh))
	copy(routes, x.routes)
	h.consider(newIndiv(h.in, routes))
}
