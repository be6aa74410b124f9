package route

import "math"

// Route minimisation by an ejection pool, after Nagata & Bräysy (2009),
// "A powerful route minimization heuristic for the vehicle routing problem
// with time windows", Operations Research Letters 37(5):333-338. Written
// from the paper's description; the parts and where they differ:
//
//   - One route of a feasible solution is removed and its clients go to the
//     ejection pool (EP), a stack. Every solution kept is feasible.
//   - A client taken from the EP is inserted at the feasible position of
//     least added distance (the paper picks one at random).
//   - Else "squeeze": it is inserted where the penalty F = time warp +
//     alpha * excess load is least, and relocate, swap and 2-opt* moves
//     between an infeasible route and the routes of its granular
//     neighbours are applied, best first, while they lower the total F;
//     if F does not reach 0 the solution is restored.
//   - Else the client's failure counter p is raised and it is inserted with
//     the ejection of at most kmax clients of the receiving route, chosen
//     by a depth-first lexicographic search that minimises the sum of
//     their counters (then the route's distance); a prefix with time warp
//     is pruned, since removing later clients cannot repair it. The
//     ejected clients go to the EP. The paper allows kmax = 5; we use 3
//     and cap the nodes searched per insertion position, which keeps the
//     search linear on long routes (wide windows).
//   - Then a perturbation applies random feasible relocate, swap and 2-opt*
//     moves between neighbouring routes (the paper's I_rand moves).
//
// The search ends with an empty EP (success: one route fewer) or when its
// budget ends. It needs a homogeneous fleet without fixed stops or served
// prefixes (every route uses vehicle 0's data), which runFleetMin ensures.

const (
	ejectKMax      = 3
	ejectDFSNodes  = 1000 // depth-first nodes per (route, position)
	ejectPerturb   = 100  // random moves tried after an ejection
	squeezeMaxMove = 50
)

type ejector struct {
	in      *instance
	h       *hgs
	routes  [][]int32
	where   []int32 // per node: route index, -1 in the pool
	pool    []int32
	p       []int32 // per node: failed insertions (Nagata & Bräysy's p[v])
	alpha   float64 // weight of excess load in the squeeze penalty
	pre     []seg
	suf     []seg
	seqBuf  []int32
	remBuf  []int32
	nearBuf []int32

	// best ejection found by the depth-first search
	bestPsum  int32
	bestDist  int64
	bestRem   []int32
	bestRoute int
	bestSeq   []int32
	dfsNodes  int
}

// ejectionPool tries to remove one route from the feasible solution x. It
// returns the routes of a feasible solution with at most x.nRoutes-1
// non-empty routes (fewer entries than vehicles), or nil when stop reports
// true first.
func (h *hgs) ejectionPool(x *indiv, stop func() bool) [][]int32 {
	in := h.in
	e := &ejector{in: in, h: h, where: make([]int32, in.n), p: make([]int32, in.n)}
	var maxDist int64
	for _, d := range in.dist {
		maxDist = max(maxDist, d)
	}
	e.alpha = float64(max(maxDist, 1)) / float64(max(in.maxDem, 1))
	for i := range e.where {
		e.where[i] = -1
	}
	for _, c := range in.clients {
		e.p[c] = 1
	}
	var nonEmpty [][]int32
	for _, r := range x.routes {
		if len(r) > 0 {
			nonEmpty = append(nonEmpty, r)
		}
	}
	if len(nonEmpty) < 2 {
		return nil
	}
	drop := h.rng.IntN(len(nonEmpty))
	for i, r := range nonEmpty {
		if i == drop {
			e.pool = append(e.pool, r...)
			continue
		}
		e.routes = append(e.routes, nil)
		e.setRoute(len(e.routes)-1, r)
	}
	h.rng.Shuffle(len(e.pool), func(a, b int) { e.pool[a], e.pool[b] = e.pool[b], e.pool[a] })
	for len(e.pool) > 0 {
		if stop() {
			return nil
		}
		h.iter++ // one unit of work, so that iteration limits bound this phase too
		c := e.pool[len(e.pool)-1]
		e.pool = e.pool[:len(e.pool)-1]
		if e.insertFeasible(c) || e.squeeze(c) {
			continue
		}
		e.p[c]++
		if !e.eject(c) {
			// No insertion with at most kmax ejections: retry later.
			e.pool = append([]int32{c}, e.pool...)
		}
		e.perturb(ejectPerturb)
	}
	return e.routes
}

func (e *ejector) setRoute(ri int, seq []int32) {
	e.routes[ri] = append(e.routes[ri][:0], seq...)
	for _, c := range seq {
		e.where[c] = int32(ri)
	}
}

// catEnd closes a segment that starts at the depot with the return to
// the depot of vehicle 0.
func (s seg) catEnd(in *instance) seg { return in.cat(s, in.veh[0].endSeg) }

// segOf is the complete route segment (depot to depot) of the parts in
// order, for vehicle 0.
func (e *ejector) segOf(parts ...[]int32) seg {
	in := e.in
	acc := in.veh[0].startSeg
	for _, p := range parts {
		for _, c := range p {
			acc = in.cat(acc, in.single[c])
		}
	}
	return in.cat(acc, in.veh[0].endSeg)
}

func (e *ejector) feasible(s seg) bool {
	lo, w := e.in.excess(0, s)
	return lo == 0 && w == 0
}

// penalty is the squeeze penalty F of a complete route segment.
func (e *ejector) penalty(s seg) float64 {
	lo, w := e.in.excess(0, s)
	return float64(w) + e.alpha*float64(lo)
}

// prepare fills e.pre and e.suf for route r: pre[k] covers the depot and
// the first k clients, suf[k] clients k.. and the return to the depot.
func (e *ejector) prepare(r []int32) {
	in := e.in
	m := len(r)
	if cap(e.pre) < m+1 {
		e.pre = make([]seg, m+1, 2*m+2)
		e.suf = make([]seg, m+1, 2*m+2)
	}
	e.pre, e.suf = e.pre[:m+1], e.suf[:m+1]
	e.pre[0] = in.veh[0].startSeg
	for k := 1; k <= m; k++ {
		e.pre[k] = in.cat(e.pre[k-1], in.single[r[k-1]])
	}
	e.suf[m] = in.veh[0].endSeg
	for k := m - 1; k >= 0; k-- {
		e.suf[k] = in.cat(in.single[r[k]], e.suf[k+1])
	}
}

func insertAt(dst, r []int32, pos int, c int32) []int32 {
	dst = append(dst[:0], r[:pos]...)
	dst = append(dst, c)
	return append(dst, r[pos:]...)
}

// insertFeasible inserts c at the feasible position of least added
// distance, if there is one.
func (e *ejector) insertFeasible(c int32) bool {
	in := e.in
	bestR, bestP := -1, 0
	var bestD int64 = math.MaxInt64
	for ri, r := range e.routes {
		e.prepare(r)
		if e.pre[len(r)].load+in.dem[c] > in.veh[0].cap {
			continue
		}
		for p := 0; p <= len(r); p++ {
			var a, b int32
			if p > 0 {
				a = r[p-1]
			}
			if p < len(r) {
				b = r[p]
			}
			dd := in.d(a, c) + in.d(c, b) - in.d(a, b)
			if dd >= bestD {
				continue
			}
			if e.feasible(in.cat(in.cat(e.pre[p], in.single[c]), e.suf[p])) {
				bestR, bestP, bestD = ri, p, dd
			}
		}
	}
	if bestR < 0 {
		return false
	}
	e.seqBuf = insertAt(e.seqBuf, e.routes[bestR], bestP, c)
	e.setRoute(bestR, e.seqBuf)
	return true
}

// squeeze inserts c where the penalty is least and then lowers the total
// penalty by moves between an infeasible route and its neighbours' routes;
// it keeps the result only if every route ends feasible.
func (e *ejector) squeeze(c int32) bool {
	in := e.in
	saved := make([][]int32, len(e.routes))
	for i, r := range e.routes {
		saved[i] = append([]int32(nil), r...)
	}
	bestR, bestP := -1, 0
	bestF := math.Inf(1)
	for ri, r := range e.routes {
		e.prepare(r)
		for p := 0; p <= len(r); p++ {
			if f := e.penalty(in.cat(in.cat(e.pre[p], in.single[c]), e.suf[p])); f < bestF {
				bestR, bestP, bestF = ri, p, f
			}
		}
	}
	e.seqBuf = insertAt(e.seqBuf, e.routes[bestR], bestP, c)
	e.setRoute(bestR, e.seqBuf)
	// Per-route prefix and suffix segments, so that each move is
	// evaluated in O(1).
	pres := make([][]seg, len(e.routes))
	sufs := make([][]seg, len(e.routes))
	pen := make([]float64, len(e.routes))
	refresh := func(ri int) {
		e.prepare(e.routes[ri])
		pres[ri] = append(pres[ri][:0], e.pre...)
		sufs[ri] = append(sufs[ri][:0], e.suf...)
		pen[ri] = e.penalty(pres[ri][len(e.routes[ri])].catEnd(in))
	}
	for ri := range e.routes {
		refresh(ri)
	}
	var na, nb []int32
	for step := 0; step < squeezeMaxMove; step++ {
		total := 0.0
		for _, f := range pen {
			total += f
		}
		if total == 0 {
			return true
		}
		// Best move from an infeasible route to a neighbour's route.
		bestGain := 1e-9
		bestRA, bestRB, bestPU, bestPW, bestMv := -1, -1, 0, 0, 0
		for ra, r := range e.routes {
			if pen[ra] == 0 {
				continue
			}
			pr, sr := pres[ra], sufs[ra]
			for pu, u := range r {
				for _, w := range in.nbrs[u] {
					rb := int(e.where[w])
					if rb < 0 || rb == ra {
						continue
					}
					ps, ss := pres[rb], sufs[rb]
					pw := indexOf(e.routes[rb], w)
					for mv := 0; mv < 4; mv++ {
						var a, b seg
						switch mv {
						case 0: // u after w
							a = in.cat(pr[pu], sr[pu+1])
							b = in.cat(in.cat(ps[pw+1], in.single[u]), ss[pw+1])
						case 1: // u before w
							a = in.cat(pr[pu], sr[pu+1])
							b = in.cat(in.cat(ps[pw], in.single[u]), ss[pw])
						case 2: // swap
							a = in.cat(in.cat(pr[pu], in.single[w]), sr[pu+1])
							b = in.cat(in.cat(ps[pw], in.single[u]), ss[pw+1])
						case 3: // 2-opt*: tails after u and w exchanged
							a = in.cat(pr[pu+1], ss[pw+1])
							b = in.cat(ps[pw+1], sr[pu+1])
						}
						gain := pen[ra] + pen[rb] - e.penalty(a) - e.penalty(b)
						if gain > bestGain {
							bestGain = gain
							bestRA, bestRB, bestPU, bestPW, bestMv = ra, rb, pu, pw, mv
						}
					}
				}
			}
		}
		if bestRA < 0 {
			break
		}
		na, nb = e.move(na, nb, e.routes[bestRA], e.routes[bestRB], bestPU, bestPW, bestMv)
		e.setRoute(bestRA, na)
		e.setRoute(bestRB, nb)
		refresh(bestRA)
		refresh(bestRB)
	}
	for i, r := range saved {
		e.setRoute(i, r)
	}
	e.where[c] = -1
	return false
}

func indexOf(r []int32, c int32) int {
	for i, x := range r {
		if x == c {
			return i
		}
	}
	return -1
}

// move builds the two routes after move mv between r (client at pu) and
// s (client at pw): 0 relocate r[pu] after s[pw], 1 relocate it before,
// 2 swap, 3 2-opt* (tails after pu and pw exchanged). It returns nil
// slices when the move does not apply.
func (e *ejector) move(na, nb, r, s []int32, pu, pw, mv int) ([]int32, []int32) {
	na, nb = na[:0], nb[:0]
	u := r[pu]
	switch mv {
	case 0, 1:
		na = append(na, r[:pu]...)
		na = append(na, r[pu+1:]...)
		at := pw + 1
		if mv == 1 {
			at = pw
		}
		nb = append(nb, s[:at]...)
		nb = append(nb, u)
		nb = append(nb, s[at:]...)
	case 2:
		na = append(na, r...)
		nb = append(nb, s...)
		na[pu], nb[pw] = s[pw], u
	case 3:
		na = append(na, r[:pu+1]...)
		na = append(na, s[pw+1:]...)
		nb = append(nb, s[:pw+1]...)
		nb = append(nb, r[pu+1:]...)
	default:
		return nil, nil
	}
	return na, nb
}

// eject inserts c into some route, ejecting at most ejectKMax of its
// clients so that it stays feasible, with the least sum of the ejected
// clients' counters (then the least route distance). The ejected clients
// go to the pool.
func (e *ejector) eject(c int32) bool {
	e.bestPsum = math.MaxInt32
	e.bestDist = math.MaxInt64
	e.bestRoute = -1
	// Only routes that hold a granular neighbour of c are tried.
	near := e.nearBuf[:0]
	for _, w := range e.in.nbrs[c] {
		if ri := e.where[w]; ri >= 0 && indexOf(near, ri) < 0 {
			near = append(near, ri)
		}
	}
	e.nearBuf = near
	for _, ri32 := range near {
		ri := int(ri32)
		r := e.routes[ri]
		for p := 0; p <= len(r); p++ {
			e.seqBuf = insertAt(e.seqBuf, r, p, c)
			e.dfsNodes = 0
			e.remBuf = e.remBuf[:0]
			e.dfs(ri, c, e.seqBuf, 0, e.in.veh[0].startSeg, 0)
		}
	}
	if e.bestRoute < 0 {
		return false
	}
	kept := e.seqBuf[:0]
	for _, x := range e.bestSeq {
		if indexOf(e.bestRem, x) < 0 {
			kept = append(kept, x)
		}
	}
	e.setRoute(e.bestRoute, kept)
	for _, x := range e.bestRem {
		e.where[x] = -1
		e.pool = append(e.pool, x)
	}
	return true
}

// dfs decides, client by client along seq, whether to keep or eject it.
func (e *ejector) dfs(ri int, c int32, seq []int32, j int, acc seg, psum int32) {
	in := e.in
	e.dfsNodes++
	if e.dfsNodes > ejectDFSNodes {
		return
	}
	if j == len(seq) {
		full := in.cat(acc, in.veh[0].endSeg)
		if !e.feasible(full) {
			return
		}
		if psum < e.bestPsum || (psum == e.bestPsum && full.dist < e.bestDist) {
			e.bestPsum, e.bestDist, e.bestRoute = psum, full.dist, ri
			e.bestRem = append(e.bestRem[:0], e.remBuf...)
			e.bestSeq = append(e.bestSeq[:0], seq...)
		}
		return
	}
	x := seq[j]
	// Keep x: a prefix with time warp cannot be repaired later.
	if a := in.cat(acc, in.single[x]); a.tw == 0 {
		e.dfs(ri, c, seq, j+1, a, psum)
	}
	if x != c && len(e.remBuf) < ejectKMax && psum+e.p[x] <= e.bestPsum {
		e.remBuf = append(e.remBuf, x)
		e.dfs(ri, c, seq, j+1, acc, psum+e.p[x])
		e.remBuf = e.remBuf[:len(e.remBuf)-1]
	}
}

// perturbCopy returns a copy of the feasible routes (one entry per
// vehicle) after tries random feasible moves (see perturb). Homogeneous
// fleets only.
func (h *hgs) perturbCopy(routes [][]int32, tries int) [][]int32 {
	e := &ejector{in: h.in, h: h, where: make([]int32, h.in.n)}
	for i := range e.where {
		e.where[i] = -1
	}
	e.routes = make([][]int32, len(routes))
	for ri, r := range routes {
		e.setRoute(ri, r)
	}
	e.perturb(tries)
	return e.routes
}

// perturb applies random feasible relocate, swap and 2-opt* moves between
// a client and a granular neighbour in another route (tries attempts).
func (e *ejector) perturb(tries int) {
	in, rng := e.in, e.h.rng
	var na, nb []int32
	for t := 0; t < tries; t++ {
		u := in.clients[rng.IntN(len(in.clients))]
		ra := int(e.where[u])
		if ra < 0 || len(in.nbrs[u]) == 0 {
			continue
		}
		w := in.nbrs[u][rng.IntN(len(in.nbrs[u]))]
		rb := int(e.where[w])
		if rb < 0 || rb == ra {
			continue
		}
		r, s := e.routes[ra], e.routes[rb]
		na, nb = e.move(na, nb, r, s, indexOf(r, u), indexOf(s, w), rng.IntN(4))
		if na == nil || !e.feasible(e.segOf(na)) || !e.feasible(e.segOf(nb)) {
			continue
		}
		e.setRoute(ra, na)
		e.setRoute(rb, nb)
	}
}
