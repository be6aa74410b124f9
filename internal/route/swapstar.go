package route

import "sort"

// SWAP* (Vidal 2022, section 4): exchange u of route A with v of route B,
// each inserted at its best position in the other route rather than in the
// other's place. Candidates are estimated from precomputed removal costs and
// the three best insertion positions per node (computed with the full
// penalised concatenation, so time windows are accounted for, as PyVRP
// does); the best estimated exchange is then evaluated exactly.

type insPos struct {
	cost  float64
	after int // insert after this position
}

type swapStarData struct {
	angles []float64
	top    [][3]insPos // per node
	rem    []float64   // per node: removal delta
	seqA   []int32
	seqB   []int32
}

func sortFloats(a []float64) { sort.Float64s(a) }

func (ls *localSearch) swapStarAll() bool {
	improved := false
	if ls.sw.top == nil {
		ls.sw.top = make([][3]insPos, ls.in.n)
		ls.sw.rem = make([]float64, ls.in.n)
	}
	for i := range ls.routes {
		a := &ls.routes[i]
		if a.m() == 0 {
			continue
		}
		last := a.swapTested
		a.swapTested = ls.moves
		for j := i + 1; j < len(ls.routes); j++ {
			b := &ls.routes[j]
			if b.m() == 0 || max(a.mod, b.mod) <= last || !sectorsOverlap(a, b) {
				continue
			}
			if ls.stop() {
				ls.aborted = true
				return improved
			}
			if ls.swapStar(a, b) {
				improved = true
			}
		}
	}
	return improved
}

// topInsert fills the three cheapest positions (by distance) to insert
// node u into r.
func (ls *localSearch) topInsert(u int32, r *lsRoute) {
	in := ls.in
	t := &ls.sw.top[u]
	for k := range t {
		t[k] = insPos{cost: 1e300, after: -1}
	}
	for p := 0; p <= r.m(); p++ {
		a, b := r.nodes[p], r.nodes[p+1]
		c := float64(in.d(a, u) + in.d(u, b) - in.d(a, b))
		if c < t[2].cost {
			t[2] = insPos{c, p}
			if t[2].cost < t[1].cost {
				t[1], t[2] = t[2], t[1]
				if t[1].cost < t[0].cost {
					t[0], t[1] = t[1], t[0]
				}
			}
		}
	}
}

// bestNotAdjacent returns the best precomputed insertion of a node into a
// route from which the node at position pv is removed: positions that
// would sit next to the removed node are skipped.
func bestNotAdjacent(t *[3]insPos, pv int) (insPos, bool) {
	for _, c := range t {
		if c.after >= 0 && c.after != pv && c.after != pv-1 {
			return c, true
		}
	}
	return insPos{}, false
}

// swapStar estimates every exchange by distance (Vidal 2022), and
// evaluates the best estimated one exactly with the penalised cost.
func (ls *localSearch) swapStar(a, b *lsRoute) bool {
	if ls.hasFix {
		return false // fixed stops: the other moves handle them
	}
	in := ls.in
	rem := func(r *lsRoute, k int) float64 {
		p, x, n := r.nodes[k-1], r.nodes[k], r.nodes[k+1]
		return float64(in.d(p, n) - in.d(p, x) - in.d(x, n))
	}
	for k := 1; k <= a.m(); k++ {
		u := a.nodes[k]
		ls.sw.rem[u] = rem(a, k)
		ls.topInsert(u, b)
	}
	for k := 1; k <= b.m(); k++ {
		v := b.nodes[k]
		ls.sw.rem[v] = rem(b, k)
		ls.topInsert(v, a)
	}
	best := a.slack + b.slack
	var bu, bv int32
	var bpu, bpv int // insertion positions ("after"), -1 meaning in place
	for k := 1; k <= a.m(); k++ {
		u := a.nodes[k]
		pa, na := a.nodes[k-1], a.nodes[k+1]
		for l := 1; l <= b.m(); l++ {
			v := b.nodes[l]
			pb, nb := b.nodes[l-1], b.nodes[l+1]
			// u into b: in place of v, or at its best position away from v.
			dB := float64(in.d(pb, u) + in.d(u, nb) - in.d(pb, v) - in.d(v, nb))
			pu := -1
			if c, ok := bestNotAdjacent(&ls.sw.top[u], l); ok && ls.sw.rem[v]+c.cost < dB {
				dB, pu = ls.sw.rem[v]+c.cost, c.after
			}
			dA := float64(in.d(pa, v) + in.d(v, na) - in.d(pa, u) - in.d(u, na))
			pv := -1
			if c, ok := bestNotAdjacent(&ls.sw.top[v], k); ok && ls.sw.rem[u]+c.cost < dA {
				dA, pv = ls.sw.rem[u]+c.cost, c.after
			}
			if d := dA + dB; d < best-ls.eps {
				best, bu, bv, bpu, bpv = d, u, v, pu, pv
			}
		}
	}
	if bu == 0 {
		return false
	}
	// Exact evaluation of the best candidate.
	seqA := buildSwapSeq(ls.sw.seqA[:0], a.nodes, int(ls.pos[bu]), bv, bpv)
	seqB := buildSwapSeq(ls.sw.seqB[:0], b.nodes, int(ls.pos[bv]), bu, bpu)
	ls.sw.seqA, ls.sw.seqB = seqA, seqB
	ca := ls.fullCost(a.v, seqA)
	cb := ls.fullCost(b.v, seqB)
	if ca+cb < a.cost+b.cost-ls.eps {
		ls.moves++
		ls.setNodes(a, seqA)
		ls.setNodes(b, seqB)
		return true
	}
	return false
}

// buildSwapSeq returns nodes with the node at position p removed and w
// inserted after position after (in the original numbering), or in place
// when after is -1.
func buildSwapSeq(dst, nodes []int32, p int, w int32, after int) []int32 {
	for k, x := range nodes {
		if k == p {
			if after == -1 {
				dst = append(dst, w)
			}
			continue
		}
		dst = append(dst, x)
		if k == after {
			dst = append(dst, w)
		}
	}
	return dst
}

// fullCost evaluates a complete node sequence for vehicle v from scratch.
func (ls *localSearch) fullCost(v int, nodes []int32) float64 {
	in := ls.in
	acc := in.veh[v].startSeg
	for _, x := range nodes[1 : len(nodes)-1] {
		acc = in.cat(acc, in.single[x])
	}
	acc = in.cat(acc, in.veh[v].endSeg)
	return in.routeCost(v, acc, len(nodes)-2, ls.pen)
}
