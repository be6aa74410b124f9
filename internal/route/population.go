package route

import (
	"math"
	"sort"
)

// indiv is one solution of the genetic search: a client list per vehicle
// and its cost components.
type indiv struct {
	routes  [][]int32
	dist    int64
	load    int64 // total excess load
	warp    int64 // total time warp plus excess duration
	nRoutes int
	succ    []int32 // per node: next client, 0 for the route end
	pred    []int32 // per node: previous client, 0 for the route start
	prox    []proxItem
	fit     float64 // biased fitness, lower is better
}

type proxItem struct {
	d     float64
	other *indiv
}

func (x *indiv) feasible() bool { return x.load == 0 && x.warp == 0 }

func (x *indiv) cost(in *instance, pen penalties) float64 {
	return float64(x.dist) + in.fixedCost*float64(x.nRoutes) + pen.cap*float64(x.load) + pen.tw*float64(x.warp)
}

// objective is the cost of a feasible individual.
func (x *indiv) objective(in *instance) float64 {
	return float64(x.dist) + in.objFixed*float64(x.nRoutes)
}

func newIndiv(in *instance, routes [][]int32) *indiv {
	x := &indiv{routes: routes, succ: make([]int32, in.n), pred: make([]int32, in.n)}
	for v, r := range routes {
		acc := in.veh[v].startSeg
		prev := int32(0)
		for _, c := range r {
			acc = in.cat(acc, in.single[c])
			x.pred[c] = prev
			if prev != 0 {
				x.succ[prev] = c
			}
			prev = c
		}
		if prev != 0 {
			x.succ[prev] = 0
		}
		if len(r) == 0 && !in.veh[v].served {
			continue
		}
		acc = in.cat(acc, in.veh[v].endSeg)
		lo, w := in.excess(v, acc)
		x.dist += acc.dist
		x.load += lo
		x.warp += w
		x.nRoutes++
	}
	return x
}

// giant returns the clients of x in route order.
func (x *indiv) giant() []int32 {
	var g []int32
	for _, r := range x.routes {
		g = append(g, r...)
	}
	return g
}

// brokenPairs is the broken-pairs distance of Vidal et al. (2012): the
// share of clients whose neighbours differ between a and b.
func brokenPairs(in *instance, a, b *indiv) float64 {
	diff := 0
	for _, c := range in.clients {
		if a.succ[c] != b.succ[c] && a.succ[c] != b.pred[c] {
			diff++
		}
		if a.pred[c] == 0 && b.pred[c] != 0 && b.succ[c] != 0 {
			diff++
		}
	}
	return float64(diff) / float64(max(len(in.clients), 1))
}

// subpop is a feasible or infeasible subpopulation with biased-fitness
// survivor selection (Vidal et al. 2012, 2013).
type subpop struct {
	members []*indiv
}

type popParams struct {
	mu, lambda, nbElite, nbClose int
}

func (s *subpop) add(in *instance, x *indiv, pen penalties, pp popParams) {
	for _, y := range s.members {
		d := brokenPairs(in, x, y)
		insertProx(x, proxItem{d, y})
		insertProx(y, proxItem{d, x})
	}
	s.members = append(s.members, x)
	if len(s.members) > pp.mu+pp.lambda {
		for len(s.members) > pp.mu {
			s.removeWorst(in, pen, pp)
		}
	}
}

func insertProx(x *indiv, it proxItem) {
	i := sort.Search(len(x.prox), func(i int) bool { return x.prox[i].d > it.d })
	x.prox = append(x.prox, proxItem{})
	copy(x.prox[i+1:], x.prox[i:])
	x.prox[i] = it
}

func (x *indiv) diversity(nbClose int) float64 {
	k := min(nbClose, len(x.prox))
	if k == 0 {
		return 0
	}
	s := 0.0
	for i := 0; i < k; i++ {
		s += x.prox[i].d
	}
	return s / float64(k)
}

// updateFitness computes the biased fitness of every member: rank by
// penalised cost plus (1 - nbElite/size) times rank by diversity.
func (s *subpop) updateFitness(in *instance, pen penalties, pp popParams) {
	n := len(s.members)
	if n == 1 {
		s.members[0].fit = 0
		return
	}
	type kv struct {
		x    *indiv
		c, d float64
		idx  int
	}
	items := make([]kv, n)
	for i, x := range s.members {
		items[i] = kv{x, x.cost(in, pen), x.diversity(pp.nbClose), i}
	}
	sort.SliceStable(items, func(a, b int) bool { return items[a].c < items[b].c })
	fitRank := make(map[*indiv]float64, n)
	for i, it := range items {
		fitRank[it.x] = float64(i) / float64(n-1)
	}
	sort.SliceStable(items, func(a, b int) bool { return items[a].d > items[b].d })
	w := 1 - float64(pp.nbElite)/float64(n)
	for i, it := range items {
		it.x.fit = fitRank[it.x] + w*float64(i)/float64(n-1)
	}
}

func (s *subpop) removeWorst(in *instance, pen penalties, pp popParams) {
	s.updateFitness(in, pen, pp)
	worst, worstClone := -1, false
	for i, x := range s.members {
		clone := len(x.prox) > 0 && x.prox[0].d < 1e-9
		if worst < 0 || (clone && !worstClone) || (clone == worstClone && x.fit > s.members[worst].fit) {
			worst, worstClone = i, clone
		}
	}
	gone := s.members[worst]
	s.members = append(s.members[:worst], s.members[worst+1:]...)
	for _, y := range s.members {
		for i, p := range y.prox {
			if p.other == gone {
				y.prox = append(y.prox[:i], y.prox[i+1:]...)
				break
			}
		}
	}
	gone.prox = nil
}

func (s *subpop) best(in *instance, pen penalties) *indiv {
	var b *indiv
	bc := math.Inf(1)
	for _, x := range s.members {
		if c := x.cost(in, pen); c < bc {
			b, bc = x, c
		}
	}
	return b
}
