package route

import (
	"fmt"
	"math"
	"strings"
)

// Route is the ordered list of stops one vehicle visits, depot to depot.
// For a vehicle with served stops, Stops begins with them.
type Route struct {
	Vehicle string   `json:"vehicle"`
	Stops   []string `json:"stops"`
}

// Solution assigns stops to vehicles. Vehicles without a route stay at the
// depot.
type Solution struct {
	Routes []Route `json:"routes"`
}

// RouteReport is the checker's schedule of one route.
type RouteReport struct {
	Vehicle   string
	Load      int64
	Distance  float64
	Departure float64   // departure from the depot
	Return    float64   // arrival back at the depot
	Start     []float64 // start of service at each stop, in route order
	Duration  float64   // minimal duration (departure delayed as far as the schedule allows)
}

// Report is what Check computed for a solution.
type Report struct {
	Distance float64 // total distance under the problem's metric
	Vehicles int     // routes with at least one stop
	Routes   []RouteReport
}

// Violation is one broken constraint.
type Violation struct {
	Kind    string // "unknown-vehicle", "duplicate-vehicle", "unknown-stop", "missing", "repeated", "fixed", "served", "capacity", "window", "shift", "duration"
	Vehicle string
	Stop    string
	Detail  string
}

func (v Violation) String() string {
	var b strings.Builder
	b.WriteString(v.Kind)
	if v.Vehicle != "" {
		fmt.Fprintf(&b, " vehicle=%s", v.Vehicle)
	}
	if v.Stop != "" {
		fmt.Fprintf(&b, " stop=%s", v.Stop)
	}
	if v.Detail != "" {
		b.WriteString(": " + v.Detail)
	}
	return b.String()
}

// CheckError lists every violation found; errors.Is(err, ErrInfeasible)
// holds for it.
type CheckError struct{ Violations []Violation }

func (e *CheckError) Error() string {
	parts := make([]string, 0, 3)
	for i, v := range e.Violations {
		if i == 3 {
			parts = append(parts, fmt.Sprintf("and %d more", len(e.Violations)-3))
			break
		}
		parts = append(parts, v.String())
	}
	return "route: infeasible solution: " + strings.Join(parts, "; ")
}

// Is reports whether target is ErrInfeasible.
func (e *CheckError) Is(target error) bool { return target == ErrInfeasible }

// Check verifies sol against p independently of the solver: every stop is
// served exactly once, by an allowed vehicle, within capacity, time
// windows, shifts and maximum durations, and served prefixes are kept. It
// re-simulates every route in float64 from the problem's own data. It
// returns the report, and a *CheckError when a constraint is broken (the
// report is still filled as far as it could be computed).
func Check(p *Problem, sol *Solution) (*Report, error) {
	var viol []Violation
	add := func(kind, veh, stop, format string, args ...any) {
		viol = append(viol, Violation{Kind: kind, Vehicle: veh, Stop: stop, Detail: fmt.Sprintf(format, args...)})
	}
	stopIdx := make(map[string]int, len(p.Stops))
	for i, s := range p.Stops {
		stopIdx[s.ID] = i
	}
	vehIdx := make(map[string]int, len(p.Vehicles))
	for i, v := range p.Vehicles {
		vehIdx[v.ID] = i
	}
	seen := make([]int, len(p.Stops))
	usedVeh := make(map[string]bool)
	rep := &Report{}
	for _, r := range sol.Routes {
		vi, ok := vehIdx[r.Vehicle]
		if !ok {
			add("unknown-vehicle", r.Vehicle, "", "no such vehicle")
			continue
		}
		if usedVeh[r.Vehicle] {
			add("duplicate-vehicle", r.Vehicle, "", "vehicle has two routes")
			continue
		}
		usedVeh[r.Vehicle] = true
		v := &p.Vehicles[vi]
		nodes := make([]int, 0, len(r.Stops))
		for _, id := range r.Stops {
			i, ok := stopIdx[id]
			if !ok {
				add("unknown-stop", r.Vehicle, id, "no such stop")
				continue
			}
			seen[i]++
			nodes = append(nodes, i+1)
			if fv := p.Stops[i].Vehicle; fv != "" && fv != v.ID {
				add("fixed", v.ID, id, "stop is fixed to vehicle %s", fv)
			}
		}
		if len(v.Served) > 0 {
			okPrefix := len(r.Stops) >= len(v.Served)
			for k := 0; okPrefix && k < len(v.Served); k++ {
				okPrefix = r.Stops[k] == v.Served[k]
			}
			if !okPrefix {
				add("served", v.ID, "", "route does not begin with the %d served stops", len(v.Served))
			}
		}
		if len(nodes) == 0 {
			continue
		}
		rr := checkRoute(p, v, nodes, add)
		rep.Routes = append(rep.Routes, rr)
		rep.Distance += rr.Distance
		rep.Vehicles++
	}
	// Vehicles with served stops but no route in the solution lost them.
	for _, v := range p.Vehicles {
		if len(v.Served) > 0 && !usedVeh[v.ID] {
			add("served", v.ID, "", "vehicle has served stops but no route")
		}
	}
	for i, c := range seen {
		switch {
		case c == 0:
			add("missing", "", p.Stops[i].ID, "stop is not served")
		case c > 1:
			add("repeated", "", p.Stops[i].ID, "stop is served %d times", c)
		}
	}
	if len(viol) > 0 {
		return rep, &CheckError{Violations: viol}
	}
	return rep, nil
}

// checkRoute simulates one route: departure at ShiftStart, service at
// max(arrival, ready), then the minimal duration by delaying departure as
// far as waiting and windows allow (not for a route with served stops,
// whose departure is history).
func checkRoute(p *Problem, v *Vehicle, nodes []int, add func(kind, veh, stop, format string, args ...any)) RouteReport {
	rr := RouteReport{Vehicle: v.ID, Departure: v.ShiftStart, Start: make([]float64, len(nodes))}
	nServed := len(v.Served)
	t := v.ShiftStart
	prev := 0
	waitBefore := 0.0    // waiting accumulated at earlier stops
	delay := math.Inf(1) // largest departure delay keeping all windows
	for k, node := range nodes {
		s := &p.Stops[node-1]
		rr.Distance += p.nodeDist(prev, node)
		arr := t + p.nodeTime(prev, node)
		rr.Load += s.Demand
		if k >= nServed {
			if arr > s.Due+tol {
				add("window", v.ID, s.ID, "arrives at %.4f after the window closes at %g", arr, s.Due)
			}
			delay = math.Min(delay, s.Due-arr+waitBefore)
		}
		begin := math.Max(arr, s.Ready)
		waitBefore += begin - arr
		rr.Start[k] = begin
		t = begin + s.Service
		prev = node
	}
	rr.Distance += p.nodeDist(prev, 0)
	rr.Return = t + p.nodeTime(prev, 0)
	if rr.Return > v.ShiftEnd+tol {
		add("shift", v.ID, "", "returns at %.4f after the shift ends at %g", rr.Return, v.ShiftEnd)
	}
	if rr.Load > v.Capacity {
		add("capacity", v.ID, "", "load %d exceeds capacity %d", rr.Load, v.Capacity)
	}
	shift := 0.0
	if nServed == 0 {
		shift = math.Max(0, math.Min(waitBefore, delay))
	}
	rr.Departure = v.ShiftStart + shift
	rr.Duration = rr.Return - rr.Departure
	if v.MaxDuration > 0 && rr.Duration > v.MaxDuration+tol {
		add("duration", v.ID, "", "duration %.4f exceeds the maximum %g", rr.Duration, v.MaxDuration)
	}
	return rr
}
