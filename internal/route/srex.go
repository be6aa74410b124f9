package route

import (
	"math"
	"sort"
)

// Selective route exchange (SREX) crossover of Nagata and Kobayashi (2010),
// in the form PyVRP uses for the VRPTW: a run of consecutive routes (by
// polar angle of their centroids) of parent A replaces a run of the same
// length of parent B, both runs shifted so that they share as many clients
// as possible. Two children are built: one keeps B's other routes intact
// and drops the duplicated clients from A's routes, the other keeps A's
// routes intact and drops the duplicates from B's routes. Clients left out
// are inserted greedily at their cheapest position under the penalised
// cost; the better child is returned. Used for homogeneous fleets only
// (routes are interchangeable between vehicles).

type srexData struct {
	inA, inB []bool // per node: in A's / B's selected routes
	pre, suf []seg
}

// srex returns the routes (one per vehicle) of a child of a and b, or nil
// when a parent has no route.
func (h *hgs) srex(a, b *indiv) [][]int32 {
	in := h.in
	ra := h.sortedRoutes(a)
	rb := h.sortedRoutes(b)
	nA, nB := len(ra), len(rb)
	if nA == 0 || nB == 0 {
		return nil
	}
	sd := &h.sx
	if sd.inA == nil {
		sd.inA = make([]bool, in.n)
		sd.inB = make([]bool, in.n)
	}
	startA := h.rng.IntN(nA)
	startB := h.rng.IntN(nB)
	nMove := 1 + h.rng.IntN(min(nA, nB))

	mark := func(set []bool, rs [][]int32, start int, val bool) {
		for r := 0; r < nMove; r++ {
			for _, c := range rs[(start+r)%len(rs)] {
				set[c] = val
			}
		}
	}
	// diff counts the clients of the selected run of rs (from start) that
	// are not in other.
	diff := func(rs [][]int32, start int, other []bool) int {
		d := 0
		for r := 0; r < nMove; r++ {
			for _, c := range rs[(start+r)%len(rs)] {
				if !other[c] {
					d++
				}
			}
		}
		return d
	}
	shift := func(rs [][]int32, start *int, other []bool) {
		n := len(rs)
		if n == nMove {
			return
		}
		cur := diff(rs, *start, other)
		for it := 0; it < n; it++ {
			l, r := (*start+n-1)%n, (*start+1)%n
			dl, dr := diff(rs, l, other), diff(rs, r, other)
			switch {
			case dl < cur && dl <= dr:
				*start, cur = l, dl
			case dr < cur:
				*start, cur = r, dr
			default:
				return
			}
		}
	}
	mark(sd.inB, rb, startB, true)
	shift(ra, &startA, sd.inB)
	mark(sd.inA, ra, startA, true)
	mark(sd.inB, rb, startB, false)
	shift(rb, &startB, sd.inA)
	mark(sd.inB, rb, startB, true)

	selA := func(i int) bool { return (i-startA+nA)%nA < nMove }
	selB := func(i int) bool { return (i-startB+nB)%nB < nMove }
	var unplanned []int32
	for i, r := range rb {
		if selB(i) {
			for _, c := range r {
				if !sd.inA[c] {
					unplanned = append(unplanned, c)
				}
			}
		}
	}
	// Child 1: B's other routes intact, A's routes without duplicates.
	// Child 2: A's routes intact, B's other routes without A's clients.
	var c1, c2 [][]int32
	for i, r := range ra {
		if !selA(i) {
			continue
		}
		var k1 []int32
		for _, c := range r {
			if sd.inB[c] {
				k1 = append(k1, c)
			}
		}
		c1 = append(c1, k1)
		c2 = append(c2, append([]int32(nil), r...))
	}
	for i, r := range rb {
		if selB(i) {
			continue
		}
		c1 = append(c1, append([]int32(nil), r...))
		var k2 []int32
		for _, c := range r {
			if !sd.inA[c] {
				k2 = append(k2, c)
			}
		}
		c2 = append(c2, k2)
	}
	mark(sd.inA, ra, startA, false)
	mark(sd.inB, rb, startB, false)
	cost1 := h.greedyRepair(c1, unplanned)
	cost2 := h.greedyRepair(c2, unplanned)
	child := c1
	if cost2 < cost1 {
		child = c2
	}
	out := make([][]int32, len(in.veh))
	k := 0
	for _, r := range child {
		if len(r) == 0 {
			continue
		}
		out[k] = r
		k++
	}
	return out
}

// sortedRoutes returns x's non-empty routes ordered by the polar angle of
// their centroid around the depot (unordered without coordinates).
func (h *hgs) sortedRoutes(x *indiv) [][]int32 {
	in := h.in
	var rs [][]int32
	var ang []float64
	for _, r := range x.routes {
		if len(r) == 0 {
			continue
		}
		rs = append(rs, r)
		if in.x != nil {
			var sx, sy float64
			for _, c := range r {
				sx += in.x[c]
				sy += in.y[c]
			}
			m := float64(len(r))
			ang = append(ang, math.Atan2(sy/m-in.y[0], sx/m-in.x[0]))
		}
	}
	if in.x != nil {
		idx := make([]int, len(rs))
		for i := range idx {
			idx[i] = i
		}
		sort.SliceStable(idx, func(i, j int) bool { return ang[idx[i]] < ang[idx[j]] })
		out := make([][]int32, len(rs))
		for i, j := range idx {
			out[i] = rs[j]
		}
		rs = out
	}
	return rs
}

// greedyRepair inserts each unplanned client, in order, at its cheapest
// position (penalised cost, all routes) and returns the penalised cost of
// the result. Routes are indexed as vehicles 0, 1, ... (homogeneous fleet).
func (h *hgs) greedyRepair(routes [][]int32, unplanned []int32) float64 {
	in := h.in
	sd := &h.sx
	for _, c := range unplanned {
		bestR, bestP := -1, 0
		bestD := math.Inf(1)
		for ri, r := range routes {
			m := len(r)
			if cap(sd.pre) < m+2 {
				sd.pre = make([]seg, m+2, 2*m+4)
				sd.suf = make([]seg, m+2, 2*m+4)
			}
			pre, suf := sd.pre[:m+1], sd.suf[:m+2]
			pre[0] = in.veh[ri].startSeg
			for k := 1; k <= m; k++ {
				pre[k] = in.cat(pre[k-1], in.single[r[k-1]])
			}
			end := in.veh[ri].endSeg
			suf[m+1] = end
			for k := m; k >= 1; k-- {
				suf[k] = in.cat(in.single[r[k-1]], suf[k+1])
			}
			old := in.routeCost(ri, in.cat(pre[m], end), m, h.pen)
			for p := 0; p <= m; p++ {
				// Distance lower bound first.
				var a int32
				if p > 0 {
					a = r[p-1]
				}
				var b int32
				if p < m {
					b = r[p]
				}
				dd := float64(in.d(a, c) + in.d(c, b) - in.d(a, b))
				if m == 0 {
					dd += in.fixedCost
				}
				if dd >= bestD {
					continue
				}
				nc := in.routeCost(ri, in.cat(in.cat(pre[p], in.single[c]), suf[p+1]), m+1, h.pen) - old
				if nc < bestD {
					bestD, bestR, bestP = nc, ri, p
				}
			}
		}
		if bestR < 0 {
			routes = append(routes, []int32{c})
			continue
		}
		r := routes[bestR]
		r = append(r, 0)
		copy(r[bestP+1:], r[bestP:])
		r[bestP] = c
		routes[bestR] = r
	}
	total := 0.0
	for ri, r := range routes {
		acc := in.veh[ri].startSeg
		for _, c := range r {
			acc = in.cat(acc, in.single[c])
		}
		total += in.routeCost(ri, in.cat(acc, in.veh[ri].endSeg), len(r), h.pen)
	}
	return total
}
