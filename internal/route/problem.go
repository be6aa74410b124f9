// Package route solves capacitated vehicle routing problems with time
// windows (VRPTW) by hybrid genetic search, and checks solutions with an
// independent feasibility checker.
//
// The solver (Solve) follows Vidal et al. (2013) "A hybrid genetic algorithm
// with adaptive diversity management for a large class of vehicle routing
// problems with time-windows" and Vidal (2022) "Hybrid genetic search for
// the CVRP: open-source implementation and SWAP* neighborhood", with design
// ideas from PyVRP (Wouda, Lan and Kool, 2024). It is written from the
// papers; no code is ported. The checker (Check) shares no code with the
// solver's move evaluation: it re-simulates every route in float64.
//
// The package is pure: it reads no files and prints nothing. A Problem is
// not modified by any function here; Solve and Check are safe to call from
// several goroutines at once on the same Problem.
package route

import (
	"errors"
	"fmt"
	"math"
)

// Metric says how distances and travel times are derived from coordinates.
type Metric int

const (
	// Euclidean uses double-precision Euclidean distances, no rounding
	// (the classical "hierarchical" Solomon convention). Travel time equals
	// distance.
	Euclidean Metric = iota
	// EuclideanDIMACS truncates each Euclidean distance to one decimal
	// (DIMACS 2021 / CVRPLIB convention). Travel time equals distance.
	EuclideanDIMACS
)

// Objective is what the solver minimises among feasible solutions.
type Objective int

const (
	// MinDistance minimises total distance; the number of vehicles is free
	// up to the fleet size (DIMACS / CVRPLIB objective).
	MinDistance Objective = iota
	// MinVehiclesThenDistance minimises the number of vehicles first, then
	// the total distance (the classical hierarchical objective).
	MinVehiclesThenDistance
)

func (o Objective) String() string {
	switch o {
	case MinDistance:
		return "distance"
	case MinVehiclesThenDistance:
		return "hierarchical"
	}
	return fmt.Sprintf("Objective(%d)", int(o))
}

// Stop is a customer to visit once.
type Stop struct {
	ID      string
	X, Y    float64 // ignored when Problem.Distance is set
	Demand  int64   // capacity units, >= 0
	Service float64 // service duration, >= 0
	// Ready and Due bound the start of service (hard window). Arriving
	// before Ready means waiting; service may end after Due.
	Ready, Due float64
	// Vehicle, when not empty, is the ID of the only vehicle allowed to
	// serve this stop.
	Vehicle string
}

// Vehicle is one vehicle of the fleet. All vehicles start and end at the
// depot. Vehicles may differ in every field (heterogeneous fleet).
type Vehicle struct {
	ID       string
	Capacity int64
	// ShiftStart is the earliest departure from the depot; ShiftEnd the
	// latest return to it.
	ShiftStart, ShiftEnd float64
	// MaxDuration, when > 0, bounds the route duration: return time minus
	// departure time, where departure is as late as the schedule allows.
	MaxDuration float64
	// Served lists stops this vehicle has already served today, in order.
	// They are kept, unchanged, as the prefix of its route when
	// re-planning; the vehicle continues from the last of them at the time
	// its earliest schedule gives. Windows of served stops are history and
	// are not checked.
	Served []string
}

// Problem is a VRPTW instance. Node 0 is the depot; stop i is node i+1.
type Problem struct {
	Name           string
	DepotX, DepotY float64
	Stops          []Stop
	Vehicles       []Vehicle
	Metric         Metric
	Objective      Objective
	// Distance, when not nil, is an explicit (len(Stops)+1)×(len(Stops)+1)
	// matrix indexed by node (0 the depot, i+1 stop i); it replaces the
	// coordinates and Metric. Time is the travel-time matrix in the same
	// layout; nil means Time equals Distance.
	Distance, Time [][]float64
}

// Sentinel errors for problems that cannot be solved or checked.
var (
	// ErrNoVehicles: the fleet is empty.
	ErrNoVehicles = errors.New("route: problem has no vehicles")
	// ErrInfeasible: no feasible solution was found (Solve), or a solution
	// breaks a constraint (Check; the error is a *CheckError).
	ErrInfeasible = errors.New("route: infeasible")
)

// StopError reports a stop that makes a problem invalid. The API maps it
// to a problem+json document naming the stop.
type StopError struct {
	StopID string
	Field  string // "demand", "window", "service", "reach", "vehicle", "id", "coordinates"
	Reason string
}

func (e *StopError) Error() string {
	return fmt.Sprintf("route: stop %q: %s: %s", e.StopID, e.Field, e.Reason)
}

// VehicleError reports a vehicle that makes a problem invalid.
type VehicleError struct {
	VehicleID string
	Field     string
	Reason    string
}

func (e *VehicleError) Error() string {
	return fmt.Sprintf("route: vehicle %q: %s: %s", e.VehicleID, e.Field, e.Reason)
}

// MatrixError reports a malformed explicit distance or time matrix.
type MatrixError struct{ Reason string }

func (e *MatrixError) Error() string { return "route: matrix: " + e.Reason }

// nodeDist returns the distance between nodes a and b in float64 under the
// problem's metric. It is used by validation and the checker (not by the
// solver's move evaluation, which works on an integer copy).
func (p *Problem) nodeDist(a, b int) float64 {
	if p.Distance != nil {
		return p.Distance[a][b]
	}
	ax, ay := p.nodeXY(a)
	bx, by := p.nodeXY(b)
	d := math.Hypot(ax-bx, ay-by)
	if p.Metric == EuclideanDIMACS {
		d = math.Floor(10*d+1e-9) / 10
	}
	return d
}

func (p *Problem) nodeTime(a, b int) float64 {
	if p.Time != nil {
		return p.Time[a][b]
	}
	return p.nodeDist(a, b)
}

func (p *Problem) nodeXY(a int) (float64, float64) {
	if a == 0 {
		return p.DepotX, p.DepotY
	}
	s := &p.Stops[a-1]
	return s.X, s.Y
}

// Bounds on a problem's numbers, so that no sum of them overflows an int64
// load or becomes an infinite time: a stop's demand and a vehicle's
// capacity at most MaxQuantity, and every coordinate, time and matrix
// entry at most MaxMagnitude in absolute value. (Two demands of 2^63-1 on
// a vehicle of that capacity were planned together, the load wrapping to
// -2; times of 1e308 gave a plan with infinite times, which could not be
// stored, session 11.)
const (
	MaxQuantity  = 1 << 40
	MaxMagnitude = 1e9
)

// bounded reports whether every x is finite and at most MaxMagnitude in
// absolute value.
func bounded(xs ...float64) bool {
	for _, x := range xs {
		if !(math.Abs(x) <= MaxMagnitude) {
			return false
		}
	}
	return true
}

// Validate checks that p is well formed and that every stop can be served
// by at least one allowed vehicle on its own (out and back within the
// shift). It returns a *StopError, *VehicleError, *MatrixError or
// ErrNoVehicles.
func (p *Problem) Validate() error {
	if len(p.Vehicles) == 0 {
		return ErrNoVehicles
	}
	n := len(p.Stops)
	if p.Distance != nil {
		if err := checkMatrix(p.Distance, n+1, "distance"); err != nil {
			return err
		}
	}
	if p.Time != nil {
		if p.Distance == nil {
			return &MatrixError{"time matrix given without a distance matrix"}
		}
		if err := checkMatrix(p.Time, n+1, "time"); err != nil {
			return err
		}
	}
	if !bounded(p.DepotX, p.DepotY) {
		return &StopError{StopID: "depot", Field: "coordinates", Reason: fmt.Sprintf("not finite or beyond ±%g", MaxMagnitude)}
	}
	stopIdx := make(map[string]int, n)
	for i, s := range p.Stops {
		if s.ID == "" {
			return &StopError{StopID: fmt.Sprintf("#%d", i), Field: "id", Reason: "empty stop id"}
		}
		if _, dup := stopIdx[s.ID]; dup {
			return &StopError{StopID: s.ID, Field: "id", Reason: "duplicate stop id"}
		}
		stopIdx[s.ID] = i
		switch {
		case !bounded(s.X, s.Y):
			return &StopError{StopID: s.ID, Field: "coordinates", Reason: fmt.Sprintf("not finite or beyond ±%g", MaxMagnitude)}
		case !bounded(s.Service, s.Ready, s.Due):
			return &StopError{StopID: s.ID, Field: "window", Reason: fmt.Sprintf("times must be finite and within ±%g", MaxMagnitude)}
		case s.Demand < 0:
			return &StopError{StopID: s.ID, Field: "demand", Reason: fmt.Sprintf("negative demand %d", s.Demand)}
		case s.Demand > MaxQuantity:
			return &StopError{StopID: s.ID, Field: "demand", Reason: fmt.Sprintf("demand %d is more than %d", s.Demand, int64(MaxQuantity))}
		case s.Service < 0:
			return &StopError{StopID: s.ID, Field: "service", Reason: fmt.Sprintf("negative service time %g", s.Service)}
		case s.Due < s.Ready:
			return &StopError{StopID: s.ID, Field: "window", Reason: fmt.Sprintf("window closes at %g before it opens at %g", s.Due, s.Ready)}
		}
	}
	vehIdx := make(map[string]int, len(p.Vehicles))
	served := make(map[string]string)
	for i, v := range p.Vehicles {
		if v.ID == "" {
			return &VehicleError{VehicleID: fmt.Sprintf("#%d", i), Field: "id", Reason: "empty vehicle id"}
		}
		if _, dup := vehIdx[v.ID]; dup {
			return &VehicleError{VehicleID: v.ID, Field: "id", Reason: "duplicate vehicle id"}
		}
		vehIdx[v.ID] = i
		switch {
		case v.Capacity < 0:
			return &VehicleError{VehicleID: v.ID, Field: "capacity", Reason: "negative capacity"}
		case v.Capacity > MaxQuantity:
			return &VehicleError{VehicleID: v.ID, Field: "capacity", Reason: fmt.Sprintf("capacity %d is more than %d", v.Capacity, int64(MaxQuantity))}
		case !bounded(v.ShiftStart, v.ShiftEnd, v.MaxDuration):
			return &VehicleError{VehicleID: v.ID, Field: "shift", Reason: fmt.Sprintf("times must be finite and within ±%g", MaxMagnitude)}
		case v.ShiftEnd < v.ShiftStart:
			return &VehicleError{VehicleID: v.ID, Field: "shift", Reason: "shift ends before it starts"}
		case v.MaxDuration < 0:
			return &VehicleError{VehicleID: v.ID, Field: "max_duration", Reason: "negative maximum duration"}
		}
		for _, id := range v.Served {
			if _, ok := stopIdx[id]; !ok {
				return &VehicleError{VehicleID: v.ID, Field: "served", Reason: fmt.Sprintf("unknown stop %q", id)}
			}
			if other, ok := served[id]; ok {
				return &StopError{StopID: id, Field: "vehicle", Reason: fmt.Sprintf("served by both %q and %q", other, v.ID)}
			}
			served[id] = v.ID
		}
	}
	for _, s := range p.Stops {
		if s.Vehicle != "" {
			if _, ok := vehIdx[s.Vehicle]; !ok {
				return &StopError{StopID: s.ID, Field: "vehicle", Reason: fmt.Sprintf("fixed to unknown vehicle %q", s.Vehicle)}
			}
			if by, ok := served[s.ID]; ok && by != s.Vehicle {
				return &StopError{StopID: s.ID, Field: "vehicle", Reason: fmt.Sprintf("fixed to %q but served by %q", s.Vehicle, by)}
			}
		}
	}
	// Each vehicle's served prefix must fit its capacity (it happened, but
	// a plan that continues beyond capacity cannot be feasible).
	for _, v := range p.Vehicles {
		var load int64
		for _, id := range v.Served {
			load += p.Stops[stopIdx[id]].Demand
		}
		if load > v.Capacity {
			return &VehicleError{VehicleID: v.ID, Field: "served", Reason: "served stops exceed capacity"}
		}
	}
	// Reachability: some allowed vehicle can serve the stop alone.
	starts := p.vehicleStarts(stopIdx)
	for i, s := range p.Stops {
		if _, ok := served[s.ID]; ok {
			continue
		}
		node := i + 1
		why := ""
		okAny := false
		for vi, v := range p.Vehicles {
			if s.Vehicle != "" && s.Vehicle != v.ID {
				continue
			}
			st := starts[vi]
			if s.Demand > v.Capacity-st.load {
				why = fmt.Sprintf("demand %d exceeds the capacity left on vehicle %q", s.Demand, v.ID)
				continue
			}
			arr := st.time + p.nodeTime(st.node, node)
			begin := math.Max(arr, s.Ready)
			if arr > s.Due+tol {
				why = fmt.Sprintf("earliest arrival %.2f is after the window closes at %g (vehicle %q)", arr, s.Due, v.ID)
				continue
			}
			back := begin + s.Service + p.nodeTime(node, 0)
			if back > v.ShiftEnd+tol {
				why = fmt.Sprintf("cannot return to the depot by %g after serving it (vehicle %q)", v.ShiftEnd, v.ID)
				continue
			}
			if v.MaxDuration > 0 && len(v.Served) == 0 {
				if d := p.nodeTime(0, node) + s.Service + p.nodeTime(node, 0); d > v.MaxDuration+tol {
					why = fmt.Sprintf("route to it takes at least %.2f, more than the maximum duration %g of vehicle %q", d, v.MaxDuration, v.ID)
					continue
				}
			}
			okAny = true
			break
		}
		if !okAny {
			if why == "" {
				why = "no vehicle can serve it"
			}
			return &StopError{StopID: s.ID, Field: "reach", Reason: why}
		}
	}
	return nil
}

// tol is the tolerance of float64 time comparisons in validation and the
// checker.
const tol = 1e-6

type vstart struct {
	node int
	time float64
	load int64
}

// vehicleStarts returns, per vehicle, where and when it continues from and
// the load already delivered: the depot at ShiftStart, or the last served
// stop after its earliest schedule.
func (p *Problem) vehicleStarts(stopIdx map[string]int) []vstart {
	out := make([]vstart, len(p.Vehicles))
	for vi, v := range p.Vehicles {
		st := vstart{node: 0, time: v.ShiftStart}
		for _, id := range v.Served {
			s := &p.Stops[stopIdx[id]]
			node := stopIdx[id] + 1
			arr := st.time + p.nodeTime(st.node, node)
			st.time = math.Max(arr, s.Ready) + s.Service
			st.node = node
			st.load += s.Demand
		}
		out[vi] = st
	}
	return out
}

func checkMatrix(m [][]float64, size int, name string) error {
	if len(m) != size {
		return &MatrixError{fmt.Sprintf("%s matrix has %d rows, want %d", name, len(m), size)}
	}
	for i, row := range m {
		if len(row) != size {
			return &MatrixError{fmt.Sprintf("%s matrix row %d has %d entries, want %d", name, i, len(row), size)}
		}
		for j, x := range row {
			if !bounded(x) || x < 0 {
				return &MatrixError{fmt.Sprintf("%s matrix entry [%d][%d] = %g is not a non-negative number of at most %g", name, i, j, x, MaxMagnitude)}
			}
		}
	}
	return nil
}
