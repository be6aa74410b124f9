package route

import (
	"math/rand/v2"
	"testing"
)

// newTestHGS builds the search state Solve would build, without running it.
func newTestHGS(p *Problem, seed uint64) *hgs {
	in := newInstance(p, 40)
	h := &hgs{p: p, in: in, opts: Options{}.withDefaults(), rng: rand.New(rand.NewPCG(seed, 1))}
	h.stop = func() bool { return false }
	return h
}

// TestEjectionPoolRemovesRoutes starts from one route per stop and
// removes routes one by one with the ejection pool: each result is checked
// by Check (every stop once, every constraint) and has one route fewer.
func TestEjectionPoolRemovesRoutes(t *testing.T) {
	p := randomProblem(3, 40, 40, 60, 400)
	p.Objective = MinVehiclesThenDistance
	h := newTestHGS(p, 1)
	routes := make([][]int32, len(h.in.veh))
	for i, c := range h.in.clients {
		routes[i] = []int32{c}
	}
	x := newIndiv(h.in, routes)
	if !x.feasible() || x.nRoutes != 40 {
		t.Fatalf("start: feasible %v with %d routes", x.feasible(), x.nRoutes)
	}
	for want := 39; want >= 30; want-- {
		limit := h.iter + 20000
		got := h.ejectionPool(x, func() bool { return h.iter >= limit })
		if got == nil {
			t.Fatalf("no solution with %d routes within 20000 iterations", want)
		}
		full := make([][]int32, len(h.in.veh))
		copy(full, got)
		x = newIndiv(h.in, full)
		if x.nRoutes > want {
			t.Fatalf("got %d routes, want at most %d", x.nRoutes, want)
		}
		if _, err := Check(p, h.toSolution(x)); err != nil {
			t.Fatalf("%d routes: checker rejects the result: %v", x.nRoutes, err)
		}
		want = x.nRoutes
	}
}

// TestEjectionPoolStops: a stop rule that is already true ends the search
// with no result.
func TestEjectionPoolStops(t *testing.T) {
	p := randomProblem(4, 20, 20, 60, 400)
	h := newTestHGS(p, 1)
	routes := make([][]int32, len(h.in.veh))
	for i, c := range h.in.clients {
		routes[i] = []int32{c}
	}
	if got := h.ejectionPool(newIndiv(h.in, routes), func() bool { return true }); got != nil {
		t.Errorf("got %v after a stop", got)
	}
}
