package route

import (
	"math/rand/v2"
	"testing"
)

// TestSREXKeepsEveryClientOnce crosses random parents many times and
// checks that every child visits each client exactly once within the
// fleet.
func TestSREXKeepsEveryClientOnce(t *testing.T) {
	p := randomProblem(3, 60, 12, 40, 500)
	in := newInstance(p, 20)
	h := &hgs{in: in, rng: rand.New(rand.NewPCG(5, 5)), pen: penalties{cap: 10, tw: 1}}
	g := append([]int32(nil), in.clients...)
	randomIndiv := func() *indiv {
		h.rng.Shuffle(len(g), func(a, b int) { g[a], g[b] = g[b], g[a] })
		return newIndiv(in, h.split(g))
	}
	for trial := 0; trial < 200; trial++ {
		a, b := randomIndiv(), randomIndiv()
		child := h.srex(a, b)
		if child == nil {
			t.Fatalf("trial %d: no child", trial)
		}
		if len(child) != len(in.veh) {
			t.Fatalf("trial %d: %d routes, want one per vehicle (%d)", trial, len(child), len(in.veh))
		}
		seen := make(map[int32]int)
		for _, r := range child {
			for _, c := range r {
				seen[c]++
			}
		}
		for _, c := range in.clients {
			if seen[c] != 1 {
				t.Fatalf("trial %d: client %d visited %d times", trial, c, seen[c])
			}
		}
		if len(seen) != len(in.clients) {
			t.Fatalf("trial %d: %d distinct nodes, want %d", trial, len(seen), len(in.clients))
		}
	}
}

// TestHierarchicalDeterministic: the route-minimisation phases keep the
// search deterministic for a seed and an iteration limit.
func TestHierarchicalDeterministic(t *testing.T) {
	p := randomProblem(13, 40, 12, 30, 400)
	p.Objective = MinVehiclesThenDistance
	p.Metric = Euclidean
	opts := Options{Seed: 7, MaxIterations: 60, PopMin: 8, Generation: 8}
	a := solveTwiceSame(t, p, opts)
	if a.Iterations > opts.MaxIterations {
		t.Errorf("%d iterations, limit %d", a.Iterations, opts.MaxIterations)
	}
}

// TestHierarchicalNoWorseThanDistance: with the same budget, the
// hierarchical objective never ends with more vehicles than the
// distance objective's solution.
func TestHierarchicalNoWorseThanDistance(t *testing.T) {
	for seed := uint64(1); seed <= 2; seed++ {
		p := randomProblem(20+seed, 50, 15, 40, 300)
		opts := Options{Seed: seed, MaxIterations: 80, PopMin: 8, Generation: 8}
		d, err := Solve(t.Context(), p, opts, nil)
		if err != nil {
			t.Fatal(err)
		}
		p.Objective = MinVehiclesThenDistance
		h, err := Solve(t.Context(), p, opts, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("seed %d: distance objective %d vehicles %.1f, hierarchical %d vehicles %.1f", seed, d.Report.Vehicles, d.Report.Distance, h.Report.Vehicles, h.Report.Distance)
		if h.Report.Vehicles > d.Report.Vehicles {
			t.Errorf("seed %d: hierarchical used %d vehicles, distance objective %d", seed, h.Report.Vehicles, d.Report.Vehicles)
		}
	}
}
