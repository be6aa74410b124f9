package route

import (
	"math"
	"sort"
)

// instance is the solver's integer copy of a Problem. Node 0 is the depot,
// node i+1 is stop i. Distances and times are scaled by scale and stored as
// int64, so that move evaluation is exact: under EuclideanDIMACS the scale
// is 10 and truncation gives exactly the DIMACS values; otherwise times
// are rounded up (a plan feasible here is feasible in float64) and
// distances to the nearest unit.
type instance struct {
	n     int // number of nodes (depot + stops)
	scale float64
	dist  []int64 // n*n
	tim   []int64 // n*n
	dem   []int64
	svc   []int64
	rdy   []int64
	due   []int64

	clients  []int32 // nodes to plan (stops not already served)
	isClient []bool
	fixedVeh []int32 // per node: the only allowed vehicle index, or -1
	veh      []vinfo
	nbrs     [][]int32 // granular neighbours per client node
	single   []seg     // singleton segment per node
	x, y     []float64 // coordinates (for SWAP* sectors), nil with matrices
	// fixedCost is added per used vehicle (hierarchical objective).
	fixedCost float64
	// objFixed is the cost per used vehicle when comparing feasible
	// solutions (hierarchical objective); equal to fixedCost unless
	// route minimisation by fleet limits is used.
	objFixed  float64
	maxDem    int64
	homog     bool // all vehicles identical, none pre-loaded, no fixed stops
	symmetric bool // dist[a][b] == dist[b][a] for all a, b
}

type vinfo struct {
	cap      int64 // capacity left
	start    int32 // start node (depot or last served stop)
	startSeg seg   // window of departure
	endSeg   seg   // window of return to the depot
	maxDur   int64 // 0: none
	served   bool  // has a fixed prefix: always counted as used
}

func (in *instance) d(a, b int32) int64 { return in.dist[int(a)*in.n+int(b)] }
func (in *instance) t(a, b int32) int64 { return in.tim[int(a)*in.n+int(b)] }

// newInstance compiles a validated problem.
func newInstance(p *Problem, nbGranular int) *instance {
	n := len(p.Stops) + 1
	in := &instance{n: n, scale: 1e4}
	if p.Distance == nil && p.Metric == EuclideanDIMACS {
		in.scale = 10
	}
	in.dist = make([]int64, n*n)
	in.tim = make([]int64, n*n)
	for a := 0; a < n; a++ {
		for b := 0; b < n; b++ {
			if a == b {
				continue
			}
			var dd, tt float64
			switch {
			case p.Distance != nil:
				dd = p.Distance[a][b]
				tt = dd
				if p.Time != nil {
					tt = p.Time[a][b]
				}
				in.dist[a*n+b] = int64(math.Round(dd * in.scale))
				in.tim[a*n+b] = int64(math.Ceil(tt*in.scale - 1e-7))
			case p.Metric == EuclideanDIMACS:
				ax, ay := p.nodeXY(a)
				bx, by := p.nodeXY(b)
				v := int64(math.Floor(10*math.Hypot(ax-bx, ay-by) + 1e-9))
				in.dist[a*n+b] = v
				in.tim[a*n+b] = v
			default:
				ax, ay := p.nodeXY(a)
				bx, by := p.nodeXY(b)
				e := math.Hypot(ax-bx, ay-by) * in.scale
				in.dist[a*n+b] = int64(math.Round(e))
				in.tim[a*n+b] = int64(math.Ceil(e - 1e-7))
			}
		}
	}
	in.symmetric = true
	for a := 0; a < n && in.symmetric; a++ {
		for b := a + 1; b < n; b++ {
			if in.dist[a*n+b] != in.dist[b*n+a] {
				in.symmetric = false
				break
			}
		}
	}
	if p.Distance == nil {
		in.x = make([]float64, n)
		in.y = make([]float64, n)
		for a := 0; a < n; a++ {
			in.x[a], in.y[a] = p.nodeXY(a)
		}
	}
	sc := func(x float64) int64 { return int64(math.Round(x * in.scale)) }
	in.dem = make([]int64, n)
	in.svc = make([]int64, n)
	in.rdy = make([]int64, n)
	in.due = make([]int64, n)
	in.isClient = make([]bool, n)
	in.fixedVeh = make([]int32, n)
	in.single = make([]seg, n)
	stopIdx := make(map[string]int, len(p.Stops))
	for i, s := range p.Stops {
		stopIdx[s.ID] = i
	}
	vehIdx := make(map[string]int, len(p.Vehicles))
	for i, v := range p.Vehicles {
		vehIdx[v.ID] = i
	}
	servedSet := make(map[int]bool)
	for _, v := range p.Vehicles {
		for _, id := range v.Served {
			servedSet[stopIdx[id]+1] = true
		}
	}
	in.fixedVeh[0] = -1
	in.homog = true
	for i, s := range p.Stops {
		node := i + 1
		in.dem[node] = s.Demand
		in.svc[node] = sc(s.Service)
		in.rdy[node] = sc(s.Ready)
		in.due[node] = int64(math.Floor(s.Due*in.scale + 1e-7))
		in.fixedVeh[node] = -1
		if s.Vehicle != "" {
			in.fixedVeh[node] = int32(vehIdx[s.Vehicle])
			in.homog = false
		}
		in.single[node] = seg{first: int32(node), last: int32(node), load: s.Demand, dur: in.svc[node], e: in.rdy[node], l: in.due[node]}
		if s.Demand > in.maxDem {
			in.maxDem = s.Demand
		}
		if !servedSet[node] {
			in.clients = append(in.clients, int32(node))
			in.isClient[node] = true
		}
	}
	starts := p.vehicleStarts(stopIdx)
	in.veh = make([]vinfo, len(p.Vehicles))
	for vi, v := range p.Vehicles {
		st := starts[vi]
		vinf := vinfo{cap: v.Capacity - st.load, start: int32(st.node), served: len(v.Served) > 0}
		e := sc(v.ShiftStart)
		end := int64(math.Floor(v.ShiftEnd*in.scale + 1e-7))
		if vinf.served {
			dep := int64(math.Ceil(st.time*in.scale - 1e-7))
			vinf.startSeg = seg{first: vinf.start, last: vinf.start, e: dep, l: dep}
			if v.MaxDuration > 0 {
				vinf.maxDur = int64(math.Floor((v.MaxDuration-(st.time-v.ShiftStart))*in.scale + 1e-7))
				if vinf.maxDur <= 0 {
					vinf.maxDur = 1 // nothing more fits; penalised, never feasible with stops
				}
			}
			in.homog = false
		} else {
			vinf.startSeg = seg{first: 0, last: 0, e: e, l: end}
			if v.MaxDuration > 0 {
				vinf.maxDur = int64(math.Floor(v.MaxDuration*in.scale + 1e-7))
			}
		}
		vinf.endSeg = seg{first: 0, last: 0, e: e, l: end}
		in.veh[vi] = vinf
		if vi > 0 {
			a, b := p.Vehicles[0], v
			if a.Capacity != b.Capacity || a.ShiftStart != b.ShiftStart || a.ShiftEnd != b.ShiftEnd || a.MaxDuration != b.MaxDuration {
				in.homog = false
			}
		}
	}
	if p.Objective == MinVehiclesThenDistance {
		var maxArc int64
		for _, x := range in.dist {
			maxArc = max(maxArc, x)
		}
		in.objFixed = float64(maxArc) * float64(n+len(p.Vehicles)+1)
		in.fixedCost = in.objFixed
		if in.homog && len(p.Vehicles) > 1 {
			// Route minimisation by fleet limits (fleetmin.go): the search
			// itself minimises distance plus penalties.
			in.fixedCost = 0
		}
	}
	in.buildNeighbours(nbGranular)
	return in
}

// buildNeighbours keeps, per client, the nbGranular clients closest by the
// time-window-aware correlation of Vidal et al. (2013): distance plus
// weighted forced waiting and time warp when one directly follows the
// other, symmetrised by taking the smaller direction.
func (in *instance) buildNeighbours(nbGranular int) {
	const wWait, wTW = 0.2, 1.0
	in.nbrs = make([][]int32, in.n)
	type cand struct {
		v int32
		p float64
	}
	prox := func(i, j int32) float64 {
		ai := in.rdy[i] + in.svc[i] + in.t(i, j) // earliest arrival at j
		li := in.due[i] + in.svc[i] + in.t(i, j) // latest arrival at j
		wait := max(in.rdy[j]-li, 0)
		warp := max(ai-in.due[j], 0)
		return float64(in.d(i, j)) + wWait*float64(wait) + wTW*float64(warp)
	}
	cands := make([]cand, 0, len(in.clients))
	for _, i := range in.clients {
		cands = cands[:0]
		for _, j := range in.clients {
			if i == j {
				continue
			}
			// Stops fixed to different vehicles never share a route.
			if fi, fj := in.fixedVeh[i], in.fixedVeh[j]; fi >= 0 && fj >= 0 && fi != fj {
				continue
			}
			cands = append(cands, cand{j, math.Min(prox(i, j), prox(j, i))})
		}
		sort.Slice(cands, func(a, b int) bool {
			if cands[a].p != cands[b].p {
				return cands[a].p < cands[b].p
			}
			return cands[a].v < cands[b].v
		})
		k := min(nbGranular, len(cands))
		nb := make([]int32, k)
		for x := 0; x < k; x++ {
			nb[x] = cands[x].v
		}
		in.nbrs[i] = nb
	}
}

// seg summarises a sequence of nodes for O(1) concatenation (Vidal et al.
// 2013, section 4.2): its distance, load, minimal duration dur, time warp
// tw, and the earliest and latest start of service at its first node (e, l)
// that achieve them.
type seg struct {
	first, last int32
	dist, load  int64
	dur, tw     int64
	e, l        int64
}

// cat returns the segment of a followed by b.
func (in *instance) cat(a, b seg) seg {
	t := in.t(a.last, b.first)
	delta := a.dur - a.tw + t
	wt := max(b.e-delta-a.l, 0)
	tw := max(a.e+delta-b.l, 0)
	return seg{
		first: a.first,
		last:  b.last,
		dist:  a.dist + b.dist + in.d(a.last, b.first),
		load:  a.load + b.load,
		dur:   a.dur + b.dur + t + wt,
		tw:    a.tw + b.tw + tw,
		e:     max(b.e-delta, a.e) - wt,
		l:     min(b.l-delta, a.l) + tw,
	}
}

// penalties weights constraint violations in the penalised cost.
type penalties struct {
	cap float64 // per unit of excess load
	tw  float64 // per (scaled) unit of time warp or excess duration
}

// excess returns the load excess and time-warp (including excess duration)
// of a complete route segment (start depot to end depot) for vehicle v.
func (in *instance) excess(v int, s seg) (load, warp int64) {
	vi := &in.veh[v]
	load = max(s.load-vi.cap, 0)
	warp = s.tw
	if vi.maxDur > 0 && s.dur > vi.maxDur {
		warp += s.dur - vi.maxDur
	}
	return load, warp
}

// routeCost is the penalised cost of a complete route segment for vehicle
// v with nClients clients.
func (in *instance) routeCost(v int, s seg, nClients int, pen penalties) float64 {
	if nClients == 0 && !in.veh[v].served {
		return 0
	}
	lo, w := in.excess(v, s)
	c := float64(s.dist) + pen.cap*float64(lo) + pen.tw*float64(w)
	if nClients > 0 || in.veh[v].served {
		c += in.fixedCost
	}
	return c
}
