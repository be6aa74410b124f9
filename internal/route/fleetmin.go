package route

import (
	"sort"
	"time"
)

// Route minimisation for the hierarchical objective (vehicles first, then
// distance), for homogeneous fleets (the vehicles dropped are
// interchangeable with the ones kept). Phase 1 runs the ordinary search
// until a first feasible solution exists. Phase 2 removes one route at a
// time: first by the ejection pool of Nagata & Bräysy (2009, ejection.go);
// if that attempt fails within its budget, by the genetic search run again
// with one vehicle fewer, as in Vidal et al. (2013, section 5.1) and
// PyVRP's minimise_fleet, starting from the best solution with one route
// dissolved and its clients reinserted greedily (an infeasible start that
// the penalised local search repairs). An attempt that fails both ways
// ends the phase. Phase 3 minimises distance with the smallest fleet
// found, from a population of perturbed copies of the best solution.

// ejectShare and fleetMinShare are the shares of the time limit (or
// iteration limit) that one ejection-pool attempt and one fleet-limited
// genetic attempt may use. An attempt below the least feasible fleet
// fails only when its budget ends, so these shares are what the last,
// failing, attempts cost the final distance phase.
const (
	ejectShare    = 0.15
	fleetMinShare = 0.1
)

// phase3Boost multiplies the initial penalties for the final distance
// phase of route minimisation.
const phase3Boost = 100

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
	// Phase 2: one attempt per fleet size while attempts succeed: first
	// the ejection pool (ejection.go), then, if it fails within its
	// budget, the genetic search with one vehicle fewer.
	for h.best != nil && !h.done() && h.best.nRoutes > lb {
		before := h.best
		if routes := h.ejectionPool(h.best, h.attemptStop()); routes != nil {
			full := make([][]int32, len(in.veh))
			copy(full, routes)
			h.consider(newIndiv(in, full))
			if h.best != before {
				continue
			}
		}
		if h.done() {
			break
		}
		sub := h.fleetLimited(h.best.nRoutes - 1)
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
	// Start from penalties high enough that the educated seeds stay
	// feasible (with a fleet this tight, low penalties drive every seed
	// into time warp that repair cannot undo); the usual adaptation
	// lowers them.
	sub.pen = penalties{cap: phase3Boost * h.pen0.cap, tw: phase3Boost * h.pen0.tw}
	sub.seedFleet(h.best)
	for !sub.done() {
		sub.iterate()
	}
	h.iter += sub.iter
}

// attemptStop is the stop rule of one ejection-pool attempt: h's own, or
// ejectShare of the time limit, or of the iteration limit (5000
// iterations with cancellation only), whichever comes first.
func (h *hgs) attemptStop() func() bool {
	iter0 := h.iter
	iters := 0
	switch {
	case h.opts.MaxIterations > 0:
		iters = max(1, int(ejectShare*float64(h.opts.MaxIterations)))
	case h.opts.TimeLimit <= 0:
		iters = 5000
	}
	var end time.Time
	if h.opts.TimeLimit > 0 {
		end = time.Now().Add(time.Duration(ejectShare * float64(h.opts.TimeLimit)))
	}
	return func() bool {
		if h.done() || (iters > 0 && h.iter-iter0 >= iters) {
			return true
		}
		return !end.IsZero() && !time.Now().Before(end)
	}
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
	if drop <= 0 {
		// The fleet fits x: the rest of the population are copies of x
		// changed by random feasible moves (ejection.go), which the local
		// search educates far faster than random giant tours, and which
		// stay feasible with a fleet this tight.
		base := make([][]int32, k)
		copy(base, rs)
		for i := 0; i < h.opts.PopMin && !h.done(); i++ {
			h.educate(h.perturbCopy(base, 2*len(h.in.clients)))
		}
		return
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
