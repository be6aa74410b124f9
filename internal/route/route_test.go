package route

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"
)

// tiny is a 4-stop problem on a line, DIMACS metric:
// depot (0,0); a (10,0) b (20,0) c (0,10) d (0,20).
func tiny() *Problem {
	return &Problem{
		Name:   "tiny",
		Metric: EuclideanDIMACS,
		Stops: []Stop{
			{ID: "a", X: 10, Y: 0, Demand: 3, Service: 1, Ready: 0, Due: 100},
			{ID: "b", X: 20, Y: 0, Demand: 3, Service: 1, Ready: 15, Due: 30},
			{ID: "c", X: 0, Y: 10, Demand: 4, Service: 1, Ready: 0, Due: 100},
			{ID: "d", X: 0, Y: 20, Demand: 4, Service: 1, Ready: 0, Due: 100},
		},
		Vehicles: []Vehicle{
			{ID: "v1", Capacity: 8, ShiftStart: 0, ShiftEnd: 200},
			{ID: "v2", Capacity: 8, ShiftStart: 0, ShiftEnd: 200},
		},
	}
}

func TestCheckGolden(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mod    func(p *Problem)
		routes []Route
		kinds  []string // violation kinds, empty means feasible
		dist   float64
	}{
		{
			name:   "feasible",
			routes: []Route{{"v1", []string{"a", "b"}}, {"v2", []string{"c", "d"}}},
			dist:   80,
		},
		{
			name:   "missing",
			routes: []Route{{"v1", []string{"a", "b"}}, {"v2", []string{"c"}}},
			kinds:  []string{"missing"},
		},
		{
			name:   "repeated and unknown",
			routes: []Route{{"v1", []string{"a", "b", "a"}}, {"v2", []string{"c", "d", "zz"}}},
			kinds:  []string{"unknown-stop", "capacity", "repeated"},
		},
		{
			name:   "capacity",
			routes: []Route{{"v1", []string{"a", "b", "c"}}, {"v2", []string{"d"}}},
			kinds:  []string{"capacity"},
		},
		{
			// c, d first: arrive at b at 10+10+20+... > 30.
			name:   "window",
			routes: []Route{{"v1", []string{"c", "a", "b"}}, {"v2", []string{"d"}}},
			kinds:  []string{"capacity", "window"},
		},
		{
			name:   "shift",
			mod:    func(p *Problem) { p.Vehicles[1].ShiftEnd = 40 },
			routes: []Route{{"v1", []string{"a", "b"}}, {"v2", []string{"c", "d"}}},
			kinds:  []string{"shift"},
		},
		{
			// v1 serves a at 10 and b at 21 without waiting and is back at
			// 42: its minimal duration is 42, so a limit of 41 breaks it.
			name:   "duration",
			mod:    func(p *Problem) { p.Vehicles[0].MaxDuration = 41 },
			routes: []Route{{"v1", []string{"a", "b"}}, {"v2", []string{"c", "d"}}},
			kinds:  []string{"duration"},
		},
		{
			name:   "duration ok at limit",
			mod:    func(p *Problem) { p.Vehicles[0].MaxDuration = 42 },
			routes: []Route{{"v1", []string{"a", "b"}}, {"v2", []string{"c", "d"}}},
			dist:   80,
		},
		{
			name:   "fixed vehicle",
			mod:    func(p *Problem) { p.Stops[0].Vehicle = "v2" },
			routes: []Route{{"v1", []string{"a", "b"}}, {"v2", []string{"c", "d"}}},
			kinds:  []string{"fixed"},
		},
		{
			name:   "served prefix lost",
			mod:    func(p *Problem) { p.Vehicles[1].Served = []string{"d"} },
			routes: []Route{{"v1", []string{"a", "b"}}, {"v2", []string{"c", "d"}}},
			kinds:  []string{"served"},
		},
		{
			name:   "duplicate and unknown vehicle",
			routes: []Route{{"v1", []string{"a", "b"}}, {"v1", []string{"c"}}, {"v9", []string{"d"}}},
			kinds:  []string{"duplicate-vehicle", "unknown-vehicle", "missing", "missing"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := tiny()
			if tc.mod != nil {
				tc.mod(p)
			}
			rep, err := Check(p, &Solution{Routes: tc.routes})
			var got []string
			var ce *CheckError
			if errors.As(err, &ce) {
				for _, v := range ce.Violations {
					got = append(got, v.Kind)
				}
				if !errors.Is(err, ErrInfeasible) {
					t.Errorf("errors.Is(err, ErrInfeasible) = false")
				}
			} else if err != nil {
				t.Fatalf("unexpected error type %T: %v", err, err)
			}
			slices.Sort(got)
			want := slices.Clone(tc.kinds)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("violations: got %v, want %v (%v)", got, want, err)
			}
			if len(want) == 0 && math.Abs(rep.Distance-tc.dist) > 1e-9 {
				t.Errorf("distance: got %v, want %v", rep.Distance, tc.dist)
			}
		})
	}
}

func TestValidateNamesTheStop(t *testing.T) {
	for _, tc := range []struct {
		name  string
		mod   func(p *Problem)
		stop  string
		field string
	}{
		{"negative demand", func(p *Problem) { p.Stops[2].Demand = -1 }, "c", "demand"},
		{"window closes before it opens", func(p *Problem) { p.Stops[1].Ready, p.Stops[1].Due = 50, 40 }, "b", "window"},
		{"unreachable in time", func(p *Problem) { p.Stops[3].Due = 5 }, "d", "reach"},
		{"cannot return", func(p *Problem) { p.Stops[3].Ready, p.Stops[3].Due = 190, 195 }, "d", "reach"},
		{"too heavy", func(p *Problem) { p.Stops[0].Demand = 9 }, "a", "reach"},
		{"fixed to unknown vehicle", func(p *Problem) { p.Stops[0].Vehicle = "nope" }, "a", "vehicle"},
		{"negative service", func(p *Problem) { p.Stops[0].Service = -2 }, "a", "service"},
		{"duplicate id", func(p *Problem) { p.Stops[1].ID = "a" }, "a", "id"},
		{"NaN coordinate", func(p *Problem) { p.Stops[1].X = math.NaN() }, "b", "coordinates"},
		// Sums of these overflowed: two demands of 2^63-1 were planned
		// on one vehicle of that capacity (load -2), and times of 1e308
		// made a plan with infinite times.
		{"demand beyond MaxQuantity", func(p *Problem) { p.Stops[0].Demand = MaxQuantity + 1 }, "a", "demand"},
		{"huge window", func(p *Problem) { p.Stops[2].Due = 1e308 }, "c", "window"},
		{"huge coordinate", func(p *Problem) { p.Stops[3].Y = 1e200 }, "d", "coordinates"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := tiny()
			tc.mod(p)
			err := p.Validate()
			var se *StopError
			if !errors.As(err, &se) {
				t.Fatalf("got %v (%T), want a *StopError", err, err)
			}
			if se.StopID != tc.stop || se.Field != tc.field {
				t.Errorf("got stop %q field %q, want stop %q field %q (%v)", se.StopID, se.Field, tc.stop, tc.field, err)
			}
			if _, err := Solve(t.Context(), p, Options{MaxIterations: 1}, nil); !errors.As(err, &se) {
				t.Errorf("Solve: got %v, want the *StopError", err)
			}
		})
	}
	p := tiny()
	p.Vehicles = nil
	if err := p.Validate(); !errors.Is(err, ErrNoVehicles) {
		t.Errorf("no vehicles: got %v, want ErrNoVehicles", err)
	}
	p = tiny()
	p.Vehicles[0].Capacity = math.MaxInt64
	var ve *VehicleError
	if err := p.Validate(); !errors.As(err, &ve) || ve.Field != "capacity" {
		t.Errorf("capacity 2^63-1: got %v, want a *VehicleError on capacity", err)
	}
	p = tiny()
	p.Vehicles[0].ShiftEnd = 1e308
	if err := p.Validate(); !errors.As(err, &ve) || ve.Field != "shift" {
		t.Errorf("shift end 1e308: got %v, want a *VehicleError on shift", err)
	}
	p = tiny()
	p.Distance = [][]float64{{0, 1}, {1, 0}}
	var me *MatrixError
	if err := p.Validate(); !errors.As(err, &me) {
		t.Errorf("bad matrix: got %v, want *MatrixError", err)
	}
}

// randomProblem builds a seeded random problem with n stops in a 100x100
// square, DIMACS metric.
func randomProblem(seed uint64, n, vehicles int, capacity int64, horizon float64) *Problem {
	rng := rand.New(rand.NewPCG(seed, 7))
	p := &Problem{Name: fmt.Sprintf("rand-%d-%d", seed, n), DepotX: 50, DepotY: 50, Metric: EuclideanDIMACS}
	for i := 0; i < n; i++ {
		x, y := float64(rng.IntN(101)), float64(rng.IntN(101))
		d := math.Hypot(x-50, y-50)
		ready := math.Floor(d + rng.Float64()*(horizon-3*d-10))
		ready = math.Max(0, ready)
		width := 20 + float64(rng.IntN(int(horizon/3)))
		p.Stops = append(p.Stops, Stop{ID: strconv.Itoa(i + 1), X: x, Y: y, Demand: int64(1 + rng.IntN(10)), Service: 5, Ready: ready, Due: ready + width})
	}
	for v := 0; v < vehicles; v++ {
		p.Vehicles = append(p.Vehicles, Vehicle{ID: "v" + strconv.Itoa(v+1), Capacity: capacity, ShiftStart: 0, ShiftEnd: horizon})
	}
	return p
}

// bruteForce returns the least distance of a feasible solution with
// identical vehicles, by enumerating every permutation and every way to
// cut it into at most len(Vehicles) routes, each checked with Check.
func bruteForce(t *testing.T, p *Problem) float64 {
	t.Helper()
	n := len(p.Stops)
	ids := make([]string, n)
	for i, s := range p.Stops {
		ids[i] = s.ID
	}
	best := math.Inf(1)
	var perm func(k int)
	perm = func(k int) {
		if k == n {
			for cuts := 0; cuts < 1<<(n-1); cuts++ {
				routes := []Route{}
				cur := []string{ids[0]}
				for i := 1; i < n; i++ {
					if cuts&(1<<(i-1)) != 0 {
						routes = append(routes, Route{Stops: cur})
						cur = nil
					}
					cur = append(cur, ids[i])
				}
				routes = append(routes, Route{Stops: cur})
				if len(routes) > len(p.Vehicles) {
					continue
				}
				for i := range routes {
					routes[i].Vehicle = p.Vehicles[i].ID
				}
				rep, err := Check(p, &Solution{Routes: routes})
				if err == nil && rep.Distance < best {
					best = rep.Distance
				}
			}
			return
		}
		for i := k; i < n; i++ {
			ids[k], ids[i] = ids[i], ids[k]
			perm(k + 1)
			ids[k], ids[i] = ids[i], ids[k]
		}
	}
	perm(0)
	return best
}

func TestSolveReachesBruteForceOptimum(t *testing.T) {
	for seed := uint64(1); seed <= 3; seed++ {
		p := randomProblem(seed, 6, 3, 20, 300)
		want := bruteForce(t, p)
		if math.IsInf(want, 1) {
			t.Fatalf("seed %d: brute force found no feasible solution", seed)
		}
		res, err := Solve(t.Context(), p, Options{Seed: seed, MaxIterations: 150, PopMin: 10, Generation: 10}, nil)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		if math.Abs(res.Report.Distance-want) > 1e-6 {
			t.Errorf("seed %d: got distance %.1f, want the optimum %.1f", seed, res.Report.Distance, want)
		}
	}
}

func TestSolveDeterministic(t *testing.T) {
	solveTwiceSame(t, randomProblem(11, 25, 8, 40, 400), Options{Seed: 42, MaxIterations: 25, PopMin: 8, Generation: 8})
}

// solveTwiceSame solves p twice with opts and fails unless both runs give
// the same solution after the same number of iterations; it returns one.
func solveTwiceSame(t *testing.T, p *Problem, opts Options) *Result {
	t.Helper()
	a, err := Solve(t.Context(), p, opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Solve(t.Context(), p, opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(a.Solution) != fmt.Sprint(b.Solution) || a.Iterations != b.Iterations {
		t.Fatalf("same seed, different results:\n%v\n%v", a.Solution, b.Solution)
	}
	return a
}

func TestSolveTimeLimit(t *testing.T) {
	p := randomProblem(5, 100, 25, 60, 500)
	limit := 300 * time.Millisecond
	start := time.Now()
	var improvements int
	res, err := Solve(t.Context(), p, Options{Seed: 1, TimeLimit: limit}, func(Improvement) { improvements++ })
	el := time.Since(start)
	if err != nil && !errors.Is(err, ErrInfeasible) {
		t.Fatal(err)
	}
	t.Logf("time limit %v: elapsed %v (overshoot %+.2f%%), %d iterations, %d improvements", limit, el, 100*(el.Seconds()/limit.Seconds()-1), res.Iterations, improvements)
	// Generous bound only: shared machines stall processes.
	if el > limit+5*time.Second {
		t.Errorf("elapsed %v for a limit of %v", el, limit)
	}
}

func TestSolveCancel(t *testing.T) {
	p := randomProblem(5, 60, 20, 60, 500)
	ctx, cancel := context.WithCancel(t.Context())
	n := 0
	res, err := Solve(ctx, p, Options{Seed: 1, PopMin: 5, Generation: 5}, func(Improvement) {
		n++
		if n == 2 {
			cancel()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Feasible || res.Solution == nil {
		t.Fatal("no solution after cancel")
	}
}

func TestReplanKeepsServedStops(t *testing.T) {
	p := randomProblem(3, 30, 8, 50, 500)
	first, err := Solve(t.Context(), p, Options{Seed: 1, MaxIterations: 30, PopMin: 5, Generation: 5}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Each used vehicle has served the first two stops of its route.
	served := map[string][]string{}
	for _, r := range first.Solution.Routes {
		k := min(2, len(r.Stops))
		served[r.Vehicle] = r.Stops[:k]
	}
	q := *p
	q.Vehicles = slices.Clone(p.Vehicles)
	for i := range q.Vehicles {
		q.Vehicles[i].Served = served[q.Vehicles[i].ID]
	}
	// A new urgent-ish stop appears.
	q.Stops = append(slices.Clone(p.Stops), Stop{ID: "new", X: 60, Y: 60, Demand: 2, Service: 5, Ready: 0, Due: 480})
	res, err := Solve(t.Context(), &q, Options{Seed: 2, MaxIterations: 30, PopMin: 5, Generation: 5}, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, r := range res.Solution.Routes {
		got[r.Vehicle] = r.Stops
	}
	for v, pre := range served {
		if len(got[v]) < len(pre) || !slices.Equal(got[v][:len(pre)], pre) {
			t.Errorf("vehicle %s: route %v does not begin with served %v", v, got[v], pre)
		}
	}
}

func TestHeterogeneousFixedAndDuration(t *testing.T) {
	p := randomProblem(9, 25, 6, 30, 500)
	for i := range p.Vehicles {
		p.Vehicles[i].Capacity = int64(20 + 10*i)
		p.Vehicles[i].MaxDuration = 300
	}
	p.Stops[0].Vehicle = "v2"
	p.Stops[5].Vehicle = "v2"
	p.Stops[7].Vehicle = "v5"
	res, err := Solve(t.Context(), p, Options{Seed: 3, MaxIterations: 50, PopMin: 5, Generation: 5}, nil)
	if err != nil {
		t.Fatal(err)
	}
	where := map[string]string{}
	for _, r := range res.Solution.Routes {
		for _, s := range r.Stops {
			where[s] = r.Vehicle
		}
	}
	for _, k := range []int{0, 5, 7} {
		if where[p.Stops[k].ID] != p.Stops[k].Vehicle {
			t.Errorf("stop %s on %s, fixed to %s", p.Stops[k].ID, where[p.Stops[k].ID], p.Stops[k].Vehicle)
		}
	}
	for _, r := range res.Report.Routes {
		if r.Duration > 300+1e-6 {
			t.Errorf("vehicle %s: duration %.1f > 300", r.Vehicle, r.Duration)
		}
	}
}

func TestExplicitMatrix(t *testing.T) {
	p := tiny()
	n := len(p.Stops) + 1
	m := make([][]float64, n)
	for a := 0; a < n; a++ {
		m[a] = make([]float64, n)
		for b := 0; b < n; b++ {
			m[a][b] = p.nodeDist(a, b) * 1.5 // a detour factor
		}
	}
	p.Distance = m
	p.Vehicles[0].ShiftEnd, p.Vehicles[1].ShiftEnd = 400, 400
	p.Stops[1].Due = 60
	res, err := Solve(t.Context(), p, Options{Seed: 1, MaxIterations: 50}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(res.Report.Distance-120) > 1e-6 {
		t.Errorf("got distance %v, want 120", res.Report.Distance)
	}
}

func TestHierarchicalMinimisesVehicles(t *testing.T) {
	// Eight stops on a circle, capacity for all: distance-optimal uses
	// one route anyway; with a tight capacity of 4 stops per vehicle the
	// hierarchical objective must use exactly 2 vehicles.
	p := &Problem{Objective: MinVehiclesThenDistance}
	for i := 0; i < 8; i++ {
		a := 2 * math.Pi * float64(i) / 8
		p.Stops = append(p.Stops, Stop{ID: strconv.Itoa(i), X: 30 * math.Cos(a), Y: 30 * math.Sin(a), Demand: 1, Due: 1000})
	}
	for v := 0; v < 5; v++ {
		p.Vehicles = append(p.Vehicles, Vehicle{ID: strconv.Itoa(v), Capacity: 4, ShiftEnd: 1000})
	}
	res, err := Solve(t.Context(), p, Options{Seed: 1, MaxIterations: 100}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Report.Vehicles != 2 {
		t.Errorf("got %d vehicles, want 2", res.Report.Vehicles)
	}
}
