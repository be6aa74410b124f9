package dispatch

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/tsingma/tsingma/internal/route"
)

// Plan is a checked routing result: every route passed route.Check on the
// problem of the stops it serves; stops that had to be left out are in
// Unserved with the reason.
type Plan struct {
	Start      time.Time `json:"start"` // time 0 of every *_s field
	DistanceKM float64   `json:"distance_km"`
	// RemainingKM excludes the legs already driven when re-planning (up to
	// each vehicle's last served stop or current position); it equals
	// DistanceKM for a fresh plan.
	RemainingKM float64 `json:"remaining_km"`
	// Vehicles counts routes with at least one stop; Routes lists them
	// (a re-planned vehicle left with nothing but driving home from its
	// position is not listed; its legs are in DistanceKM).
	Vehicles   int            `json:"vehicles"`
	Routes     []PlannedRoute `json:"routes"`
	Unserved   []Unserved     `json:"unserved"`
	Iterations int            `json:"iterations"`
	ElapsedS   float64        `json:"elapsed_s"`
}

// PlannedRoute is one vehicle's schedule, depot to depot.
type PlannedRoute struct {
	Vehicle     string    `json:"vehicle"`
	DistanceKM  float64   `json:"distance_km"`
	RemainingKM float64   `json:"remaining_km"`
	Load        int64     `json:"load"` // delivered over the route
	DepartureS  float64   `json:"departure_s"`
	ReturnS     float64   `json:"return_s"`
	Departure   time.Time `json:"departure"`
	Return      time.Time `json:"return"`
	Visits      []Visit   `json:"visits"`
}

// Visit is one stop of a route in visiting order. Kind "position" is the
// vehicle's position when re-planned (a zero-demand pseudo-stop).
type Visit struct {
	Stop     string    `json:"stop"`
	Kind     string    `json:"kind"` // "stop" or "position"
	Served   bool      `json:"served,omitempty"`
	Lon      float64   `json:"lon"`
	Lat      float64   `json:"lat"`
	Demand   int64     `json:"demand"`
	ArrivalS float64   `json:"arrival_s"`
	StartS   float64   `json:"start_s"`
	LeaveS   float64   `json:"leave_s"`
	ETA      time.Time `json:"eta"` // start of service
	// LoadAfter is what is still on board after the visit.
	LoadAfter int64 `json:"load_after"`
	// SlackS is how much later service could start within the window.
	SlackS float64 `json:"slack_s"`
}

// Unserved is a stop the plan leaves out.
type Unserved struct {
	Stop   string `json:"stop"`
	Reason string `json:"reason"`
}

// solve runs the solver and turns its result into a checked plan. When no
// feasible solution is found, stops named by the checker's violations on
// the least-violating solution (or, for a route-level violation, the
// route's last movable stop) are dropped one round at a time until the rest
// passes the checker; they are reported as unserved with the violation.
func solve(ctx context.Context, def *Definition, start time.Time, opts route.Options, onImprove func(route.Improvement)) (*Plan, error) {
	p := def.problem()
	res, err := route.Solve(ctx, p, opts, onImprove)
	var unserved []Unserved
	switch {
	case err == nil:
	case errors.Is(err, route.ErrInfeasible) && res != nil && res.Solution != nil:
		sol := res.Solution
		p, sol, unserved, err = dropUntilFeasible(p, sol)
		if err != nil {
			return nil, err
		}
		rep, cerr := route.Check(p, sol)
		if cerr != nil {
			return nil, fmt.Errorf("check reduced plan: %w", cerr)
		}
		res = &route.Result{Solution: sol, Report: rep, Feasible: true, Iterations: res.Iterations, Elapsed: res.Elapsed}
	default:
		return nil, err
	}
	// Re-check independently of Solve (it already checked; the plan we
	// store must be the one checked against the problem we describe).
	rep, cerr := route.Check(p, res.Solution)
	if cerr != nil {
		return nil, fmt.Errorf("checker refused the plan: %w", cerr)
	}
	return buildPlan(def, p, res.Solution, rep, unserved, res, start), nil
}

func movable(p *route.Problem, vi int, id string) bool {
	if strings.HasPrefix(id, PositionPrefix) {
		return false
	}
	return !slices.Contains(p.Vehicles[vi].Served, id)
}

func dropUntilFeasible(p *route.Problem, sol *route.Solution) (*route.Problem, *route.Solution, []Unserved, error) {
	var out []Unserved
	for range len(p.Stops) + 1 {
		_, err := route.Check(p, sol)
		var ce *route.CheckError
		if err == nil {
			return p, sol, out, nil
		}
		if !errors.As(err, &ce) {
			return nil, nil, nil, err
		}
		vIdx := map[string]int{}
		for i, v := range p.Vehicles {
			vIdx[v.ID] = i
		}
		drop := map[string]string{}
		for _, v := range ce.Violations {
			switch {
			case v.Stop != "" && !strings.HasPrefix(v.Stop, PositionPrefix) && v.Kind != "served" && v.Kind != "fixed":
				if _, ok := drop[v.Stop]; !ok {
					drop[v.Stop] = v.String()
				}
			case v.Vehicle != "" && (v.Kind == "capacity" || v.Kind == "shift" || v.Kind == "duration" || v.Kind == "window"):
				vi, ok := vIdx[v.Vehicle]
				if !ok {
					continue
				}
				for _, r := range sol.Routes {
					if r.Vehicle != v.Vehicle {
						continue
					}
					for k := len(r.Stops) - 1; k >= 0; k-- {
						if id := r.Stops[k]; movable(p, vi, id) {
							if _, ok := drop[id]; !ok {
								drop[id] = v.String()
							}
							break
						}
					}
				}
			}
		}
		if len(drop) == 0 {
			return nil, nil, nil, fmt.Errorf("no feasible plan: %w", err)
		}
		ids := make([]string, 0, len(drop))
		for id := range drop {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		for _, id := range ids {
			out = append(out, Unserved{Stop: id, Reason: "left out: the best plan found breaks " + drop[id]})
		}
		p, sol = without(p, sol, drop)
	}
	return nil, nil, nil, errors.New("no feasible plan after dropping stops")
}

// without returns p and sol with the given stops removed.
func without(p *route.Problem, sol *route.Solution, drop map[string]string) (*route.Problem, *route.Solution) {
	q := *p
	q.Stops = nil
	keep := []int{0}
	for i, s := range p.Stops {
		if _, ok := drop[s.ID]; !ok {
			q.Stops = append(q.Stops, s)
			keep = append(keep, i+1)
		}
	}
	sub := func(m [][]float64) [][]float64 {
		if m == nil {
			return nil
		}
		out := make([][]float64, len(keep))
		for i, a := range keep {
			out[i] = make([]float64, len(keep))
			for j, b := range keep {
				out[i][j] = m[a][b]
			}
		}
		return out
	}
	q.Distance, q.Time = sub(p.Distance), sub(p.Time)
	ns := &route.Solution{}
	for _, r := range sol.Routes {
		nr := route.Route{Vehicle: r.Vehicle}
		for _, id := range r.Stops {
			if _, ok := drop[id]; !ok {
				nr.Stops = append(nr.Stops, id)
			}
		}
		ns.Routes = append(ns.Routes, nr)
	}
	return &q, ns
}

func buildPlan(def *Definition, p *route.Problem, sol *route.Solution, rep *route.Report, unserved []Unserved, res *route.Result, start time.Time) *Plan {
	at := func(s float64) time.Time {
		return start.Add(time.Duration(s * float64(time.Second))).UTC().Truncate(time.Second)
	}
	idx := make(map[string]int, len(p.Stops))
	for i, s := range p.Stops {
		idx[s.ID] = i
	}
	spec := make(map[string]StopSpec, len(def.Stops))
	for _, s := range def.Stops {
		spec[s.ID] = s
	}
	served := map[string]bool{}
	for _, v := range p.Vehicles {
		for _, id := range v.Served {
			served[id] = true
		}
	}
	pl := &Plan{Start: start.UTC(), DistanceKM: round(rep.Distance, 3), Vehicles: rep.Vehicles, Unserved: unserved,
		Iterations: res.Iterations, ElapsedS: round(res.Elapsed.Seconds(), 3)}
	if pl.Unserved == nil {
		pl.Unserved = []Unserved{}
	}
	vIdx := make(map[string]int, len(p.Vehicles))
	for i, v := range p.Vehicles {
		vIdx[v.ID] = i
	}
	tt := func(a, b int) float64 {
		if p.Time != nil {
			return p.Time[a][b]
		}
		return p.Distance[a][b]
	}
	for ri, r := range sol.Routes {
		if len(r.Stops) == 0 || ri >= len(rep.Routes) {
			continue
		}
		rr := rep.Routes[ri]
		pr := PlannedRoute{Vehicle: r.Vehicle, DistanceKM: round(rr.Distance, 3), Load: rr.Load,
			DepartureS: round(rr.Departure, 1), ReturnS: round(rr.Return, 1), Departure: at(rr.Departure), Return: at(rr.Return)}
		onBoard := rr.Load
		prev, leave := 0, rr.Departure
		fixed := len(p.Vehicles[vIdx[r.Vehicle]].Served)
		remaining := 0.0
		for k, id := range r.Stops {
			i := idx[id]
			s := p.Stops[i]
			node := i + 1
			arr := leave + tt(prev, node)
			if k >= fixed {
				remaining += p.Distance[prev][node]
			}
			st := arr
			if k < len(rr.Start) {
				st = rr.Start[k]
			}
			onBoard -= s.Demand
			v := Visit{Stop: id, Kind: "stop", Served: served[id], Demand: s.Demand,
				ArrivalS: round(arr, 1), StartS: round(st, 1), LeaveS: round(st+s.Service, 1), ETA: at(st),
				LoadAfter: onBoard, SlackS: round(math.Max(0, s.Due-st), 1)}
			if strings.HasPrefix(id, PositionPrefix) {
				v.Kind, v.Served, v.SlackS = "position", false, 0
			}
			if ss, ok := spec[id]; ok {
				v.Lon, v.Lat = ss.Lon, ss.Lat
			}
			pr.Visits = append(pr.Visits, v)
			prev, leave = node, st+s.Service
		}
		remaining += p.Distance[prev][0]
		pr.RemainingKM = round(remaining, 3)
		if !slices.ContainsFunc(pr.Visits, func(v Visit) bool { return v.Kind == "stop" }) {
			continue // an idle vehicle pinned to its position: it only drives home
		}
		pl.RemainingKM += remaining
		pl.Routes = append(pl.Routes, pr)
	}
	pl.RemainingKM = round(pl.RemainingKM, 3)
	pl.Vehicles = len(pl.Routes)
	return pl
}

func round(x float64, d int) float64 {
	m := math.Pow(10, float64(d))
	return math.Round(x*m) / m
}

// addHistory puts what was served before a re-plan back in front of each
// vehicle's route (a vehicle with nothing left to do keeps a route of its
// history), and lists the stops left out before solving.
func (pl *Plan) addHistory(dropped []Unserved, history map[string][]Visit) {
	if len(dropped) > 0 {
		pl.Unserved = append(dropped, pl.Unserved...)
	}
	vs := make([]string, 0, len(history))
	for v := range history {
		vs = append(vs, v)
	}
	slices.Sort(vs)
	for _, v := range vs {
		i := slices.IndexFunc(pl.Routes, func(r PlannedRoute) bool { return r.Vehicle == v })
		if i < 0 {
			pl.Routes = append(pl.Routes, PlannedRoute{Vehicle: v})
			i = len(pl.Routes) - 1
		}
		pl.Routes[i].Visits = append(slices.Clone(history[v]), pl.Routes[i].Visits...)
	}
}
