// Package dispatch runs the platform's logistics models: routing jobs
// (vehicle routing with time windows, solved by internal/route from the twin
// graph or from an explicit definition, asynchronously, cancellable, with
// progress on the bus and results kept in bbolt) and the inventory monitor
// (demand forecasts, reorder points and stock-out risk from internal/stock,
// written back as series on the stock items, with reorder alerts).
//
// Services are built with Open / NewMonitor, started with Start and stopped
// with Close, which cancels and waits for every goroutine they own. All
// exported methods are safe for concurrent use.
package dispatch

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/tsingma/tsingma/internal/route"
)

// Defaults of the road model used when a definition gives coordinates.
const (
	// DefaultRoadFactor turns great-circle distance into road distance.
	// 1.3 is the usual urban detour index (circuity) reported for road
	// networks (Ballou et al. 2002 measured 1.2-1.4 for most regions);
	// Hong Kong's hilly Northern Metropolis is at the upper end.
	DefaultRoadFactor = 1.3
	// DefaultSpeedKMH is the mean road speed of a delivery van in town,
	// stops excluded.
	DefaultSpeedKMH = 30.0
	// PositionPrefix starts the id of the pseudo-stop that pins a vehicle
	// to its current position when re-planning. Stop ids may not start
	// with it.
	PositionPrefix = "@"
)

// Point is a WGS84 position.
type Point struct {
	Lon float64 `json:"lon"`
	Lat float64 `json:"lat"`
}

// StopSpec is one stop of a definition. Times are seconds from the plan's
// start (the job's creation time, Plan.Start); a window of [0, 0] means
// "any time in the shift".
type StopSpec struct {
	ID       string  `json:"id"`
	Name     string  `json:"name,omitempty"`
	Lon      float64 `json:"lon,omitempty"`
	Lat      float64 `json:"lat,omitempty"`
	Demand   int64   `json:"demand"`
	ServiceS float64 `json:"service_s,omitempty"`
	ReadyS   float64 `json:"ready_s,omitempty"`
	DueS     float64 `json:"due_s,omitempty"`
	// Vehicle, when set, is the only vehicle allowed to serve the stop.
	Vehicle string `json:"vehicle,omitempty"`
	// Urgent marks a stop added when re-planning (informational).
	Urgent bool `json:"urgent,omitempty"`
}

// VehicleSpec is one vehicle of a definition.
type VehicleSpec struct {
	ID           string  `json:"id"`
	Capacity     int64   `json:"capacity"`
	ShiftStartS  float64 `json:"shift_start_s,omitempty"`
	ShiftEndS    float64 `json:"shift_end_s"`
	MaxDurationS float64 `json:"max_duration_s,omitempty"`
	// Served lists stops already served, in order (re-planning fills it).
	Served []string `json:"served,omitempty"`
	// Position is the vehicle's current position (re-planning).
	Position *Point `json:"position,omitempty"`
}

// Definition is a routing problem as the API accepts it: either Depot (a
// depot twin id: the problem is read from the twin graph) or an explicit
// problem with a depot location, stops and vehicles; distances come from
// coordinates (haversine × RoadFactor, travel time at SpeedKMH) or from
// explicit matrices (Distance in km, Time in seconds; node 0 the depot,
// node i+1 stop i).
type Definition struct {
	Depot         string        `json:"depot,omitempty"`
	DepotLocation *Point        `json:"depot_location,omitempty"`
	Stops         []StopSpec    `json:"stops,omitempty"`
	Vehicles      []VehicleSpec `json:"vehicles,omitempty"`
	RoadFactor    float64       `json:"road_factor,omitempty"`
	SpeedKMH      float64       `json:"speed_kmh,omitempty"`
	Distance      [][]float64   `json:"distance,omitempty"`
	Time          [][]float64   `json:"time,omitempty"`
	// Objective is "distance" (default) or "hierarchical" (vehicles, then
	// distance).
	Objective string `json:"objective,omitempty"`
	// TimeLimitS bounds the solver's wall-clock time (default and maximum
	// set by the service).
	TimeLimitS float64 `json:"time_limit_s,omitempty"`
	Seed       uint64  `json:"seed,omitempty"`
}

// DefinitionError is a definition refused before it reaches the solver
// (its shape, not a stop or vehicle: those are *route.StopError and
// *route.VehicleError).
type DefinitionError struct {
	Field  string
	Reason string
}

func (e *DefinitionError) Error() string {
	return fmt.Sprintf("dispatch: %s: %s", e.Field, e.Reason)
}

// ErrInvalid matches every *DefinitionError.
var ErrInvalid = errors.New("dispatch: invalid definition")

// Is makes errors.Is(err, ErrInvalid) hold.
func (e *DefinitionError) Is(target error) bool { return target == ErrInvalid }

func (d *Definition) explicitMatrix() bool { return d.Distance != nil }

// normalise fills defaults and checks the definition's shape.
func (d *Definition) normalise() error {
	if d.RoadFactor == 0 {
		d.RoadFactor = DefaultRoadFactor
	}
	if d.SpeedKMH == 0 {
		d.SpeedKMH = DefaultSpeedKMH
	}
	switch {
	case !finite(d.RoadFactor) || d.RoadFactor < 1:
		return &DefinitionError{"road_factor", fmt.Sprintf("%g is below 1 (road distance cannot be shorter than the great circle)", d.RoadFactor)}
	case !finite(d.SpeedKMH) || d.SpeedKMH <= 0 || d.SpeedKMH > 200:
		return &DefinitionError{"speed_kmh", fmt.Sprintf("%g is not in (0, 200]", d.SpeedKMH)}
	case !finite(d.TimeLimitS) || d.TimeLimitS < 0:
		return &DefinitionError{"time_limit_s", "must be a non-negative number of seconds"}
	}
	switch d.Objective {
	case "", "distance", "hierarchical":
	default:
		return &DefinitionError{"objective", fmt.Sprintf("%q is not distance or hierarchical", d.Objective)}
	}
	if len(d.Stops) == 0 {
		return &DefinitionError{"stops", "no stops to serve"}
	}
	if len(d.Stops) > 5000 {
		return &DefinitionError{"stops", fmt.Sprintf("%d stops; at most 5000", len(d.Stops))}
	}
	if len(d.Vehicles) > 1000 {
		return &DefinitionError{"vehicles", fmt.Sprintf("%d vehicles; at most 1000", len(d.Vehicles))}
	}
	if d.Time != nil && d.Distance == nil {
		return &DefinitionError{"time", "a time matrix needs a distance matrix"}
	}
	if !d.explicitMatrix() {
		if d.DepotLocation == nil {
			return &DefinitionError{"depot_location", "required when no distance matrix is given"}
		}
		if err := checkPoint(*d.DepotLocation); err != nil {
			return &route.StopError{StopID: "depot", Field: "coordinates", Reason: err.Error()}
		}
		for _, s := range d.Stops {
			if err := checkPoint(Point{s.Lon, s.Lat}); err != nil {
				return &route.StopError{StopID: s.ID, Field: "coordinates", Reason: err.Error()}
			}
		}
	}
	for _, s := range d.Stops {
		if strings.HasPrefix(s.ID, PositionPrefix) && !isPositionFor(s) {
			return &route.StopError{StopID: s.ID, Field: "id", Reason: fmt.Sprintf("stop ids may not start with %q", PositionPrefix)}
		}
	}
	return nil
}

func isPositionFor(s StopSpec) bool {
	return s.Vehicle != "" && s.ID == PositionPrefix+s.Vehicle && s.Demand == 0
}

func checkPoint(p Point) error {
	if !finite(p.Lon, p.Lat) || p.Lon < -180 || p.Lon > 180 || p.Lat < -90 || p.Lat > 90 {
		return fmt.Errorf("(%g, %g) is not a WGS84 lon/lat", p.Lon, p.Lat)
	}
	return nil
}

func finite(xs ...float64) bool {
	for _, x := range xs {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}

// haversineKM is the great-circle distance in kilometres.
func haversineKM(a, b Point) float64 {
	const r = 6371.0088 // mean Earth radius, km
	la1, la2 := a.Lat*math.Pi/180, b.Lat*math.Pi/180
	dla := la2 - la1
	dlo := (b.Lon - a.Lon) * math.Pi / 180
	h := math.Sin(dla/2)*math.Sin(dla/2) + math.Cos(la1)*math.Cos(la2)*math.Sin(dlo/2)*math.Sin(dlo/2)
	return 2 * r * math.Asin(math.Min(1, math.Sqrt(h)))
}

// Problem builds the solver's problem: distances in km and travel times in
// seconds. A window of [0, 0] becomes the whole horizon (the latest shift
// end). The definition must have been normalised.
func (d *Definition) problem() *route.Problem {
	p := &route.Problem{Name: d.Depot, Metric: route.Euclidean}
	if d.Objective == "hierarchical" {
		p.Objective = route.MinVehiclesThenDistance
	}
	horizon := 0.0
	for _, v := range d.Vehicles {
		horizon = math.Max(horizon, v.ShiftEndS)
	}
	for _, s := range d.Stops {
		rs := route.Stop{ID: s.ID, Demand: s.Demand, Service: s.ServiceS, Ready: s.ReadyS, Due: s.DueS, Vehicle: s.Vehicle}
		if rs.Ready == 0 && rs.Due == 0 {
			rs.Due = horizon
		}
		// Planar coordinates (km east/north of the depot) let the solver
		// use its polar sectors; distances come from the matrices.
		if d.DepotLocation != nil {
			rs.X, rs.Y = planarKM(*d.DepotLocation, Point{s.Lon, s.Lat})
		}
		p.Stops = append(p.Stops, rs)
	}
	for _, v := range d.Vehicles {
		p.Vehicles = append(p.Vehicles, route.Vehicle{ID: v.ID, Capacity: v.Capacity, ShiftStart: v.ShiftStartS,
			ShiftEnd: v.ShiftEndS, MaxDuration: v.MaxDurationS, Served: v.Served})
	}
	if d.explicitMatrix() {
		p.Distance, p.Time = d.Distance, d.Time
		return p
	}
	n := len(d.Stops) + 1
	pts := make([]Point, n)
	pts[0] = *d.DepotLocation
	for i, s := range d.Stops {
		pts[i+1] = Point{s.Lon, s.Lat}
	}
	p.Distance = make([][]float64, n)
	p.Time = make([][]float64, n)
	for i := range n {
		p.Distance[i] = make([]float64, n)
		p.Time[i] = make([]float64, n)
		for j := range n {
			if i == j {
				continue
			}
			km := haversineKM(pts[i], pts[j]) * d.RoadFactor
			p.Distance[i][j] = km
			p.Time[i][j] = km / d.SpeedKMH * 3600
		}
	}
	return p
}

func planarKM(origin, p Point) (x, y float64) {
	const kmPerDeg = 111.195
	return (p.Lon - origin.Lon) * kmPerDeg * math.Cos(origin.Lat*math.Pi/180), (p.Lat - origin.Lat) * kmPerDeg
}

// Problem returns the solver's problem for a definition given explicitly
// (not by a depot twin): defaults filled, shape checked, not yet validated
// by route.Problem.Validate. Tests and tools use it to re-check a stored
// plan independently.
func (d Definition) Problem() (*route.Problem, error) {
	if err := d.normalise(); err != nil {
		return nil, err
	}
	return d.problem(), nil
}
