package route

import (
	"math"
	"math/rand/v2"
	"time"
)

// lsRoute is one vehicle's route inside the local search, with prefix and
// suffix segments so that inter-route moves are evaluated in O(1).
type lsRoute struct {
	v     int
	nodes []int32 // nodes[0] start node, nodes[1..m] clients, nodes[m+1] depot
	pre   []seg   // pre[k]: nodes[0..k]
	suf   []seg   // suf[k]: nodes[k..m] (clients only), k in 1..m
	cost  float64
	pen   bool    // has load excess or time warp
	slack float64 // penalty part of cost: the most any move can save beyond distance
	dist  int64   // distance of the route
	mod   int     // move counter when last modified
	// polar sector of the clients around the depot, for SWAP*
	secLo, secHi float64
	swapTested   int
}

func (r *lsRoute) m() int { return len(r.nodes) - 2 }

// localSearch improves a solution with granular relocate, swap, 2-opt and
// 2-opt* moves, and SWAP* between routes with overlapping sectors.
type localSearch struct {
	in      *instance
	pen     penalties
	rng     *rand.Rand
	routes  []lsRoute
	rt, pos []int32 // per node
	order   []int32
	nbr     [][]int32 // shuffled copy of the neighbour lists
	moves   int
	tested  []int // per node: move counter when last tested
	hasFix  bool
	useSwap bool
	stop    func() bool
	aborted bool
	buf     []int32
	buf2    []int32
	evals   int64
	sw      swapStarData
	// eps is the least improvement a move must bring: 1e-6, raised with the
	// magnitude of costs (a large fixed cost per vehicle) so that float64
	// rounding can never make moves cycle.
	eps float64
}

func newLocalSearch(in *instance, rng *rand.Rand, stop func() bool) *localSearch {
	ls := &localSearch{in: in, rng: rng, stop: stop, useSwap: in.x != nil}
	ls.eps = eps + 1e-12*in.fixedCost*float64(in.n+len(in.veh))
	ls.routes = make([]lsRoute, len(in.veh))
	for v := range ls.routes {
		ls.routes[v].v = v
	}
	ls.rt = make([]int32, in.n)
	ls.pos = make([]int32, in.n)
	ls.tested = make([]int, in.n)
	ls.order = append([]int32(nil), in.clients...)
	ls.nbr = make([][]int32, in.n)
	for _, c := range in.clients {
		ls.nbr[c] = append([]int32(nil), in.nbrs[c]...)
		if in.fixedVeh[c] >= 0 {
			ls.hasFix = true
		}
	}
	return ls
}

const eps = 1e-6

func (ls *localSearch) allowed(node int32, r *lsRoute) bool {
	f := ls.in.fixedVeh[node]
	return f < 0 || int(f) == r.v
}

// load copies the routes of a solution into the search.
func (ls *localSearch) load(routes [][]int32) {
	for v := range ls.routes {
		r := &ls.routes[v]
		r.nodes = r.nodes[:0]
		r.nodes = append(r.nodes, ls.in.veh[v].start)
		r.nodes = append(r.nodes, routes[v]...)
		r.nodes = append(r.nodes, 0)
		ls.update(r)
		r.mod = 0
		r.swapTested = -1
	}
	ls.moves = 1
	for i := range ls.tested {
		ls.tested[i] = -1
	}
}

// export returns the routes, one client list per vehicle.
func (ls *localSearch) export() [][]int32 {
	out := make([][]int32, len(ls.routes))
	for v := range ls.routes {
		r := &ls.routes[v]
		out[v] = append([]int32(nil), r.nodes[1:len(r.nodes)-1]...)
	}
	return out
}

func (ls *localSearch) update(r *lsRoute) {
	in := ls.in
	m := r.m()
	if cap(r.pre) < m+1 {
		r.pre = make([]seg, m+1, 2*m+2)
		r.suf = make([]seg, m+2, 2*m+3)
	}
	r.pre = r.pre[:m+1]
	r.suf = r.suf[:m+2]
	r.pre[0] = in.veh[r.v].startSeg
	for k := 1; k <= m; k++ {
		node := r.nodes[k]
		r.pre[k] = in.cat(r.pre[k-1], in.single[node])
		ls.rt[node] = int32(r.v)
		ls.pos[node] = int32(k)
	}
	if m > 0 {
		r.suf[m] = in.single[r.nodes[m]]
		for k := m - 1; k >= 1; k-- {
			r.suf[k] = in.cat(in.single[r.nodes[k]], r.suf[k+1])
		}
	}
	full := in.cat(r.pre[m], in.veh[r.v].endSeg)
	r.cost = in.routeCost(r.v, full, m, ls.pen)
	lo, w := in.excess(r.v, full)
	r.pen = lo > 0 || w > 0
	r.dist = full.dist
	r.slack = r.cost - float64(full.dist)
	if m > 0 || ls.in.veh[r.v].served {
		r.slack -= ls.in.fixedCost
	}
	r.mod = ls.moves
	if ls.useSwap {
		ls.sector(r)
	}
}

// evalRepl is the cost of route r with nodes[a:a+la] replaced by the
// segment ins holding insN clients (ins nil when insN is 0).
func (ls *localSearch) evalRepl(r *lsRoute, a, la int, ins *seg, insN int) float64 {
	in := ls.in
	ls.evals++
	acc := r.pre[a-1]
	if ins != nil {
		acc = in.cat(acc, *ins)
	}
	if a+la <= r.m() {
		acc = in.cat(acc, r.suf[a+la])
	}
	acc = in.cat(acc, in.veh[r.v].endSeg)
	return in.routeCost(r.v, acc, r.m()-la+insN, ls.pen)
}

// evalSeq is the cost of route r with its nodes replaced by seq (same
// length, same start and end), reusing the unchanged prefix and suffix.
func (ls *localSearch) evalSeq(r *lsRoute, seq []int32) float64 {
	in := ls.in
	ls.evals++
	m := r.m()
	f := 1
	for f <= m && seq[f] == r.nodes[f] {
		f++
	}
	if f > m {
		return r.cost
	}
	l := m
	for seq[l] == r.nodes[l] {
		l--
	}
	// Distance bound first: the move saves at most the distance change plus
	// the route's current penalty.
	var dd int64
	for k := f; k <= l+1; k++ {
		dd += in.d(seq[k-1], seq[k]) - in.d(r.nodes[k-1], r.nodes[k])
	}
	if float64(dd) >= r.slack-ls.eps {
		return r.cost
	}
	acc := r.pre[f-1]
	for k := f; k <= l; k++ {
		acc = in.cat(acc, in.single[seq[k]])
	}
	if l < m {
		acc = in.cat(acc, r.suf[l+1])
	}
	acc = in.cat(acc, in.veh[r.v].endSeg)
	return in.routeCost(r.v, acc, m, ls.pen)
}

// setNodes replaces r's nodes and refreshes its data.
func (ls *localSearch) setNodes(r *lsRoute, nodes []int32) {
	r.nodes = append(r.nodes[:0], nodes...)
	ls.update(r)
}

// replace sets r.nodes[a:a+la] = ins.
func (ls *localSearch) replace(r *lsRoute, a, la int, ins []int32) {
	b := append(ls.buf2[:0], r.nodes[:a]...)
	b = append(b, ins...)
	b = append(b, r.nodes[a+la:]...)
	ls.buf2 = b
	ls.setNodes(r, b)
}

// run improves the loaded routes until no move improves the penalised
// cost, or stop reports true (then aborted is set).
func (ls *localSearch) run(pen penalties) {
	ls.pen = pen
	ls.aborted = false
	for v := range ls.routes {
		ls.update(&ls.routes[v])
	}
	ls.rng.Shuffle(len(ls.order), func(i, j int) { ls.order[i], ls.order[j] = ls.order[j], ls.order[i] })
	for _, c := range ls.order {
		nb := ls.nbr[c]
		if len(nb) > 1 && ls.rng.IntN(4) == 0 {
			ls.rng.Shuffle(len(nb), func(i, j int) { nb[i], nb[j] = nb[j], nb[i] })
		}
	}
	for loop := 0; ; loop++ {
		improved := false
		for _, u := range ls.order {
			if ls.stop() {
				ls.aborted = true
				return
			}
			last := ls.tested[u]
			ls.tested[u] = ls.moves
			for _, v := range ls.nbr[u] {
				ru, rv := &ls.routes[ls.rt[u]], &ls.routes[ls.rt[v]]
				if loop > 0 && max(ru.mod, rv.mod) <= last {
					continue
				}
				if ls.tryPair(u, v) {
					improved = true
					continue
				}
				if ls.pos[v] == 1 && ls.tryPairDepot(u, &ls.routes[ls.rt[v]]) {
					improved = true
				}
			}
			if e := ls.emptyRoute(u); e != nil && (loop == 0 || e.mod > last || ls.routes[ls.rt[u]].mod > last) && ls.tryPairDepot(u, e) {
				improved = true
			}
		}
		if ls.useSwap && ls.swapStarAll() {
			improved = true
		}
		if !improved {
			return
		}
	}
}

func (ls *localSearch) emptyRoute(u int32) *lsRoute {
	f := ls.in.fixedVeh[u]
	if f >= 0 {
		r := &ls.routes[f]
		if r.m() == 0 {
			return r
		}
		return nil
	}
	for v := range ls.routes {
		if ls.routes[v].m() == 0 && !ls.in.veh[v].served {
			return &ls.routes[v]
		}
	}
	return nil
}

func (ls *localSearch) tryPair(u, v int32) bool {
	return ls.tryMoves(u, &ls.routes[ls.rt[v]], int(ls.pos[v]))
}

func (ls *localSearch) tryPairDepot(u int32, rv *lsRoute) bool {
	return ls.tryMoves(u, rv, 0)
}

// tryMoves tries, in order, the moves of u with the node at position pv of
// rv (the start depot when pv is 0), and applies the first improving one.
func (ls *localSearch) tryMoves(u int32, rv *lsRoute, pv int) bool {
	ru := &ls.routes[ls.rt[u]]
	pu := int(ls.pos[u])
	if ru == rv {
		return ls.tryIntra(ru, pu, pv)
	}
	in := ls.in
	mu, mv := ru.m(), rv.m()
	xc := pu < mu
	vc := pv > 0
	yc := pv < mv
	var x, v, y int32
	if xc {
		x = ru.nodes[pu+1]
	}
	v = rv.nodes[pv]
	if yc {
		y = rv.nodes[pv+1]
	}
	base := ru.cost + rv.cost
	// A move can save at most its distance change plus the current penalty
	// of both routes plus a fixed cost of a route it empties: moves whose
	// bound is not negative are not evaluated.
	slack := ru.slack + rv.slack
	fixU, fixV := 0.0, 0.0
	if in.fixedCost > 0 {
		if !in.veh[ru.v].served {
			fixU = in.fixedCost // saved if U is emptied
		}
		if mv == 0 && !in.veh[rv.v].served {
			fixV = in.fixedCost // paid if V is filled
		}
	}
	uOK := ls.allowed(u, rv)
	xOK := xc && ls.allowed(x, rv)
	vOK := vc && ls.allowed(v, ru)
	yOK := yc && ls.allowed(y, ru)
	su := in.single[u]
	pu0 := ru.nodes[pu-1]
	dd := func(a, b int32) float64 { return float64(in.d(a, b)) }
	// M1: relocate u after v.
	if uOK {
		gain := fixV
		if mu == 1 {
			gain = fixV - fixU
		}
		nu := ru.nodes[pu+1]
		lb := dd(pu0, nu) - dd(pu0, u) - dd(u, nu) + dd(v, u) + dd(u, rv.nodes[pv+1]) - dd(v, rv.nodes[pv+1]) + gain
		y1 := rv.nodes[pv+1]
		distV := float64(rv.dist) + dd(v, u) + dd(u, y1) - dd(v, y1)
		if lb < slack-ls.eps && ls.better(base, ls.evalRepl(ru, pu, 1, nil, 0), distV, rv, pv+1, 0, &su, 1) {
			ls.applyInter(ru, pu, 1, nil, rv, pv+1, 0, []int32{u})
			return true
		}
	}
	if xc && uOK && xOK {
		gain := fixV
		if mu == 2 {
			gain = fixV - fixU
		}
		nx := ru.nodes[pu+2]
		yy := rv.nodes[pv+1]
		rem := dd(pu0, nx) - dd(pu0, u) - dd(x, nx) - dd(v, yy) + gain
		// M2: relocate (u,x) after v.
		if lb := rem + dd(v, u) + dd(x, yy); lb < slack-ls.eps {
			cu := ls.evalRepl(ru, pu, 2, nil, 0)
			sux := in.cat(su, in.single[x])
			distV := float64(rv.dist) + dd(v, u) + dd(u, x) + dd(x, yy) - dd(v, yy)
			if ls.better(base, cu, distV, rv, pv+1, 0, &sux, 2) {
				ls.applyInter(ru, pu, 2, nil, rv, pv+1, 0, []int32{u, x})
				return true
			}
		}
		// M3: relocate (x,u) after v.
		if lb := rem + dd(v, x) + dd(u, yy) + dd(x, u) - dd(u, x); lb < slack-ls.eps {
			cu := ls.evalRepl(ru, pu, 2, nil, 0)
			sxu := in.cat(in.single[x], su)
			distV := float64(rv.dist) + dd(v, x) + dd(x, u) + dd(u, yy) - dd(v, yy)
			if ls.better(base, cu, distV, rv, pv+1, 0, &sxu, 2) {
				ls.applyInter(ru, pu, 2, nil, rv, pv+1, 0, []int32{x, u})
				return true
			}
		}
	}
	if vc && uOK && vOK {
		sv := in.single[v]
		pv0 := rv.nodes[pv-1]
		nu := ru.nodes[pu+1]
		nv := rv.nodes[pv+1]
		// M4: swap u and v.
		lb := dd(pu0, v) + dd(v, nu) - dd(pu0, u) - dd(u, nu) + dd(pv0, u) + dd(u, nv) - dd(pv0, v) - dd(v, nv)
		distV := float64(rv.dist) + dd(pv0, u) + dd(u, nv) - dd(pv0, v) - dd(v, nv)
		if lb < slack-ls.eps && ls.better(base, ls.evalRepl(ru, pu, 1, &sv, 1), distV, rv, pv, 1, &su, 1) {
			ls.applyInter(ru, pu, 1, []int32{v}, rv, pv, 1, []int32{u})
			return true
		}
		if xc && xOK {
			sux := in.cat(su, in.single[x])
			nx := ru.nodes[pu+2]
			// M5: swap (u,x) and v.
			lb := dd(pu0, v) + dd(v, nx) - dd(pu0, u) - dd(x, nx) + dd(pv0, u) + dd(x, nv) - dd(pv0, v) - dd(v, nv)
			distV := float64(rv.dist) + dd(pv0, u) + dd(u, x) + dd(x, nv) - dd(pv0, v) - dd(v, nv)
			if lb < slack-ls.eps && ls.better(base, ls.evalRepl(ru, pu, 2, &sv, 1), distV, rv, pv, 1, &sux, 2) {
				ls.applyInter(ru, pu, 2, []int32{v}, rv, pv, 1, []int32{u, x})
				return true
			}
			// M6: swap (u,x) and (v,y).
			if yc && yOK {
				ny := rv.nodes[pv+2]
				lb := dd(pu0, v) + dd(y, nx) - dd(pu0, u) - dd(x, nx) + dd(pv0, u) + dd(x, ny) - dd(pv0, v) - dd(y, ny) + dd(v, y) - dd(v, y)
				if lb < slack-ls.eps {
					svy := in.cat(sv, in.single[y])
					distV := float64(rv.dist) + dd(pv0, u) + dd(u, x) + dd(x, ny) - dd(pv0, v) - dd(v, y) - dd(y, ny)
					if ls.better(base, ls.evalRepl(ru, pu, 2, &svy, 2), distV, rv, pv, 2, &sux, 2) {
						ls.applyInter(ru, pu, 2, []int32{v, y}, rv, pv, 2, []int32{u, x})
						return true
					}
				}
			}
		}
	}
	// M9 (2-opt*): ru keeps nodes[..pu] then rv's clients after pv; rv
	// keeps nodes[..pv] then ru's clients after pu.
	nu, nv := ru.nodes[pu+1], rv.nodes[pv+1]
	gain := 0.0
	if pu == 0 && xc || pv == 0 && yc {
		// one route is emptied, the other may be filled
		gain = -fixU
		if mv == 0 {
			gain = 0
		}
	}
	lb := dd(u, nv) + dd(v, nu) - dd(u, nu) - dd(v, nv) + gain
	if lb < slack-ls.eps && (!ls.hasFix || ls.tailsAllowed(ru, pu, rv, pv)) {
		acc1 := ru.pre[pu]
		if yc {
			acc1 = in.cat(acc1, rv.suf[pv+1])
		}
		acc1 = in.cat(acc1, in.veh[ru.v].endSeg)
		acc2 := rv.pre[pv]
		if xc {
			acc2 = in.cat(acc2, ru.suf[pu+1])
		}
		acc2 = in.cat(acc2, in.veh[rv.v].endSeg)
		ls.evals += 2
		n1 := pu + (mv - pv)
		n2 := pv + (mu - pu)
		if in.routeCost(ru.v, acc1, n1, ls.pen)+in.routeCost(rv.v, acc2, n2, ls.pen) < base-ls.eps {
			t1 := append([]int32(nil), ru.nodes[pu+1:mu+1]...)
			t2 := append([]int32(nil), rv.nodes[pv+1:mv+1]...)
			ls.moves++
			ls.replace(ru, pu+1, mu-pu, t2)
			ls.replace(rv, pv+1, mv-pv, t1)
			return true
		}
	}
	return false
}

// better reports whether a move improves on base, given the new cost cu of
// route U: route V (nodes[b:b+lb] replaced by ins) is evaluated only when
// cu plus V's new distance distV (a lower bound of its cost) leaves room.
func (ls *localSearch) better(base, cu, distV float64, rv *lsRoute, b, lb int, ins *seg, insN int) bool {
	if cu+distV >= base-ls.eps {
		return false
	}
	return cu+ls.evalRepl(rv, b, lb, ins, insN) < base-ls.eps
}

func (ls *localSearch) tailsAllowed(ru *lsRoute, pu int, rv *lsRoute, pv int) bool {
	for k := pu + 1; k <= ru.m(); k++ {
		if !ls.allowed(ru.nodes[k], rv) {
			return false
		}
	}
	for k := pv + 1; k <= rv.m(); k++ {
		if !ls.allowed(rv.nodes[k], ru) {
			return false
		}
	}
	return true
}

func (ls *localSearch) applyInter(ru *lsRoute, a, la int, insU []int32, rv *lsRoute, b, lb int, insV []int32) {
	ls.moves++
	ls.replace(ru, a, la, insU)
	ls.replace(rv, b, lb, insV)
}

// tryIntra tries moves of the node at pu with the node at pv in the same
// route r.
func (ls *localSearch) tryIntra(r *lsRoute, pu, pv int) bool {
	m := r.m()
	if pu == pv {
		return false
	}
	nodes := r.nodes
	try := func(seq []int32) bool {
		if ls.evalSeq(r, seq) < r.cost-ls.eps {
			ls.moves++
			ls.setNodes(r, seq)
			return true
		}
		return false
	}
	in := ls.in
	dd := func(a, b int32) int64 { return in.d(a, b) }
	u, pu0, nu := nodes[pu], nodes[pu-1], nodes[pu+1]
	v, nv := nodes[pv], nodes[pv+1]
	// Distance bounds (O(1)) skip most moves before a sequence is built:
	// a move can save at most its distance change plus the route penalty.
	pass := func(delta int64) bool { return float64(delta) < r.slack-ls.eps }
	// M1: relocate u after v.
	if pv != pu-1 && pass(dd(pu0, nu)-dd(pu0, u)-dd(u, nu)+dd(v, u)+dd(u, nv)-dd(v, nv)) {
		if try(ls.moveBlock(nodes, pu, 1, pv, false)) {
			return true
		}
	}
	if pu < m && pv != pu+1 {
		x, nx := nodes[pu+1], nodes[pu+2]
		far := pv < pu-1 || pv > pu+1
		rem := dd(pu0, nx) - dd(pu0, u) - dd(x, nx) - dd(v, nv)
		// M2: (u,x) after v; M3: (x,u) after v.
		if pv != pu-1 && (!far || pass(rem+dd(v, u)+dd(x, nv))) && try(ls.moveBlock(nodes, pu, 2, pv, false)) {
			return true
		}
		if (!far || pass(rem+dd(v, x)+dd(u, nv)+dd(x, u)-dd(u, x))) && try(ls.moveBlock(nodes, pu, 2, pv, true)) {
			return true
		}
	}
	if pv == 0 {
		return false
	}
	// M4: swap u and v.
	if pu-pv > 1 || pv-pu > 1 {
		pv0 := nodes[pv-1]
		if pass(dd(pu0, v)+dd(v, nu)-dd(pu0, u)-dd(u, nu)+dd(pv0, u)+dd(u, nv)-dd(pv0, v)-dd(v, nv)) && try(ls.swapBlocks(nodes, pu, 1, pv, 1)) {
			return true
		}
	} else if try(ls.swapBlocks(nodes, pu, 1, pv, 1)) {
		return true
	}
	if pu < m && pv != pu+1 {
		// M5: swap (u,x) and v.
		if try(ls.swapBlocks(nodes, pu, 2, pv, 1)) {
			return true
		}
		// M6: swap (u,x) and (v,y).
		if pv < m && pv+1 != pu && try(ls.swapBlocks(nodes, pu, 2, pv, 2)) {
			return true
		}
	}
	// M7: 2-opt, reverse nodes[pu+1..pv].
	if pu+1 < pv && (!in.symmetric || pass(dd(u, v)+dd(nu, nv)-dd(u, nu)-dd(v, nv))) {
		seq := append(ls.buf[:0], nodes...)
		for i, j := pu+1, pv; i < j; i, j = i+1, j-1 {
			seq[i], seq[j] = seq[j], seq[i]
		}
		ls.buf = seq
		if try(seq) {
			return true
		}
	}
	return false
}

// moveBlock returns nodes with the block [a, a+k) moved after position b
// (b outside the block), reversed when rev.
func (ls *localSearch) moveBlock(nodes []int32, a, k, b int, rev bool) []int32 {
	blk := [2]int32{nodes[a], nodes[a+k-1]}
	if k == 2 && rev {
		blk[0], blk[1] = blk[1], blk[0]
	}
	s := ls.buf[:0]
	if b < a {
		s = append(s, nodes[:b+1]...)
		s = append(s, blk[:k]...)
		s = append(s, nodes[b+1:a]...)
		s = append(s, nodes[a+k:]...)
	} else {
		s = append(s, nodes[:a]...)
		s = append(s, nodes[a+k:b+1]...)
		s = append(s, blk[:k]...)
		s = append(s, nodes[b+1:]...)
	}
	ls.buf = s
	return s
}

// swapBlocks returns nodes with the non-overlapping blocks [a, a+ka) and
// [b, b+kb) exchanged.
func (ls *localSearch) swapBlocks(nodes []int32, a, ka, b, kb int) []int32 {
	if b < a {
		a, ka, b, kb = b, kb, a, ka
	}
	if a+ka > b {
		return nodes // overlapping: no move (evaluates to the same cost)
	}
	s := ls.buf[:0]
	s = append(s, nodes[:a]...)
	s = append(s, nodes[b:b+kb]...)
	s = append(s, nodes[a+ka:b]...)
	s = append(s, nodes[a:a+ka]...)
	s = append(s, nodes[b+kb:]...)
	ls.buf = s
	return s
}

// sector computes the polar sector of r's clients around the depot.
func (ls *localSearch) sector(r *lsRoute) {
	in := ls.in
	m := r.m()
	if m == 0 {
		r.secLo, r.secHi = 0, -1
		return
	}
	// Smallest arc containing all angles: found from the largest gap.
	ang := ls.sw.angles[:0]
	for k := 1; k <= m; k++ {
		ang = append(ang, in.angle(r.nodes[k]))
	}
	ls.sw.angles = ang
	sortFloats(ang)
	gap, at := ang[0]+2*math.Pi-ang[len(ang)-1], 0
	for i := 1; i < len(ang); i++ {
		if g := ang[i] - ang[i-1]; g > gap {
			gap, at = g, i
		}
	}
	lo := ang[at]
	hi := ang[(at+len(ang)-1)%len(ang)]
	if hi < lo {
		hi += 2 * math.Pi
	}
	r.secLo, r.secHi = lo, hi
}

func (in *instance) angle(node int32) float64 {
	return math.Atan2(in.y[node]-in.y[0], in.x[node]-in.x[0])
}

func sectorsOverlap(a, b *lsRoute) bool {
	if a.secHi < a.secLo || b.secHi < b.secLo {
		return false
	}
	for _, shift := range [3]float64{-2 * math.Pi, 0, 2 * math.Pi} {
		if a.secLo+shift <= b.secHi && b.secLo <= a.secHi+shift {
			return true
		}
	}
	return false
}

// deadlineStop returns a stop function that reports true once the context
// is done or the deadline passed, checking the clock at most every few
// calls.
func deadlineStop(done <-chan struct{}, deadline time.Time) func() bool {
	n := 0
	stopped := false
	return func() bool {
		if stopped {
			return true
		}
		n++
		if n&1 != 0 {
			return false
		}
		select {
		case <-done:
			stopped = true
			return true
		default:
		}
		if !deadline.IsZero() && !time.Now().Before(deadline) {
			stopped = true
		}
		return stopped
	}
}
