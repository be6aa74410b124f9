package dispatch

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/tsingma/tsingma/internal/route"
)

// Replan says what changed since a job's plan was made.
type Replan struct {
	// Broken vehicles leave the plan: the stops they served stay served,
	// their other stops are given to the rest of the fleet.
	Broken []string `json:"broken,omitempty"`
	// AddStops are new (urgent) stops; they need coordinates.
	AddStops []StopSpec `json:"add_stops,omitempty"`
	// Served overrides, per vehicle, the stops it has served (in order).
	// Default: the stops of the old plan whose service ended by AtS.
	Served map[string][]string `json:"served,omitempty"`
	// Positions overrides vehicles' current positions. Default: for a
	// plan built from twins, the vehicle twins' current geometry (the
	// latest GPS fix); otherwise the last served stop.
	Positions map[string]Point `json:"positions,omitempty"`
	// AtS is the re-planning time in seconds from the job's start
	// (default: now).
	AtS *float64 `json:"at_s,omitempty"`
	// TimeLimitS and Seed as in Definition.
	TimeLimitS float64 `json:"time_limit_s,omitempty"`
	Seed       uint64  `json:"seed,omitempty"`
}

// Replan repairs a finished job's plan: served stops stay, in order, as the
// fixed prefix of their vehicle's route; every vehicle continues from its
// current position (a zero-demand pseudo-stop "@<vehicle>" at AtS) or, with
// no position known, from its last served stop; broken vehicles leave;
// urgent stops join; for a plan from twins, the stops and vehicles are
// re-read from the twins (a stop that is no longer open and not served is
// gone). Stops that can no longer be reached in time are left out and
// reported as unserved. It starts and returns the new job, which keeps the
// old plan as Previous.
func (s *Service) Replan(ctx context.Context, tenant, id string, r Replan) (*Job, error) {
	old, err := s.Get(tenant, id)
	if err != nil {
		return nil, err
	}
	if old.Plan == nil {
		return nil, fmt.Errorf("%w: job %s has no plan to repair (state %s)", ErrState, id, old.State)
	}
	at := s.cfg.Now().Sub(old.Start).Seconds()
	if r.AtS != nil {
		at = *r.AtS
	}
	if !finite(at) || at < 0 {
		return nil, &DefinitionError{"at_s", "must be a non-negative number of seconds from the job's start"}
	}
	def := old.Definition
	def.TimeLimitS, def.Seed = r.TimeLimitS, r.Seed
	def.Stops = slices.DeleteFunc(slices.Clone(def.Stops), func(s StopSpec) bool { return strings.HasPrefix(s.ID, PositionPrefix) })
	def.Vehicles = slices.Clone(def.Vehicles)
	for i := range def.Vehicles {
		def.Vehicles[i].Served, def.Vehicles[i].Position = nil, nil
	}
	// Served stops per vehicle.
	served := map[string][]string{}
	for _, rt := range old.Plan.Routes {
		for _, v := range rt.Visits {
			if v.Kind == "stop" && v.LeaveS <= at+1e-9 {
				served[rt.Vehicle] = append(served[rt.Vehicle], v.Stop)
			}
		}
	}
	for v, ids := range r.Served {
		served[v] = ids
	}
	var closedNow []Unserved
	if old.Source == "twins" {
		fresh, closed, err := fromTwins(ctx, s.cfg.Twins, tenant, Definition{Depot: old.Depot}, old.Start)
		if err != nil {
			return nil, err
		}
		isServed := map[string]bool{}
		for _, ids := range served {
			for _, id := range ids {
				isServed[id] = true
			}
		}
		for _, u := range closed {
			if !isServed[u.Stop] {
				closedNow = append(closedNow, u)
			}
		}
		have := map[string]bool{}
		for _, st := range fresh.Stops {
			have[st.ID] = true
		}
		for _, st := range def.Stops { // served stops stay even if no longer open
			if isServed[st.ID] && !have[st.ID] {
				fresh.Stops = append(fresh.Stops, st)
			}
		}
		def.DepotLocation, def.Stops, def.Vehicles = fresh.DepotLocation, fresh.Stops, fresh.Vehicles
	}
	if def.explicitMatrix() && (len(r.AddStops) > 0 || len(r.Positions) > 0) {
		return nil, &DefinitionError{"add_stops", "a problem given as matrices cannot take new stops or positions; submit a new job"}
	}
	for _, st := range r.AddStops {
		st.Urgent = true
		def.Stops = append(def.Stops, st)
	}
	vIdx := map[string]int{}
	for i, v := range def.Vehicles {
		vIdx[v.ID] = i
	}
	for v := range r.Positions {
		if _, ok := vIdx[v]; !ok {
			return nil, &route.VehicleError{VehicleID: v, Field: "position", Reason: "no such vehicle in the plan"}
		}
	}
	broken := map[string]bool{}
	for _, b := range r.Broken {
		if _, ok := vIdx[b]; !ok {
			return nil, &route.VehicleError{VehicleID: b, Field: "broken", Reason: "no such vehicle in the plan"}
		}
		broken[b] = true
	}
	stopAt := map[string]Point{}
	stopByID := map[string]StopSpec{}
	for _, st := range def.Stops {
		stopAt[st.ID] = Point{st.Lon, st.Lat}
		stopByID[st.ID] = st
	}
	oldVisit := map[string]Visit{}
	for _, rt := range old.Plan.Routes {
		for _, v := range rt.Visits {
			if v.Kind == "stop" {
				oldVisit[v.Stop] = v
			}
		}
	}
	history := map[string][]Visit{}
	var done []string // served by broken vehicles: history, out of the problem
	var vehicles []VehicleSpec
	for _, v := range def.Vehicles {
		ids := served[v.ID]
		if broken[v.ID] {
			done = append(done, ids...)
			continue
		}
		pos := v.Position
		if p, ok := r.Positions[v.ID]; ok {
			pos = &p
		}
		if old.Source != "twins" && pos == nil && len(ids) > 0 && !def.explicitMatrix() {
			p := stopAt[ids[len(ids)-1]]
			pos = &p
		}
		v.Position = nil
		v.Served = slices.Clone(ids)
		if pos != nil && !def.explicitMatrix() && (len(ids) > 0 || at > v.ShiftStartS) {
			// The vehicle is at pos at time at: its served stops become
			// history (kept, in order, at the head of its route in the
			// plan, but out of the problem), what it delivered leaves its
			// capacity, and it continues from a pinned pseudo-stop.
			for _, id := range ids {
				st, ok := stopByID[id]
				if !ok {
					return nil, &route.VehicleError{VehicleID: v.ID, Field: "served", Reason: fmt.Sprintf("unknown stop %q", id)}
				}
				v.Capacity -= st.Demand
				hv := Visit{Stop: id, Kind: "stop", Lon: st.Lon, Lat: st.Lat, Demand: st.Demand}
				if ov, ok := oldVisit[id]; ok {
					hv = ov
				}
				hv.Served = true
				history[v.ID] = append(history[v.ID], hv)
			}
			if v.Capacity < 0 {
				return nil, &route.VehicleError{VehicleID: v.ID, Field: "served", Reason: "served stops exceed capacity"}
			}
			done = append(done, ids...)
			pid := PositionPrefix + v.ID
			def.Stops = append(def.Stops, StopSpec{ID: pid, Name: "position of " + v.ID, Lon: pos.Lon, Lat: pos.Lat, Vehicle: v.ID, ReadyS: at, DueS: at + 1e-3})
			v.Served = []string{pid}
		} else if len(ids) == 0 {
			v.ShiftStartS = math.Max(v.ShiftStartS, at)
		}
		vehicles = append(vehicles, v)
	}
	def.Vehicles = vehicles
	def.Stops = slices.DeleteFunc(def.Stops, func(st StopSpec) bool { return slices.Contains(done, st.ID) })
	if err := def.normalise(); err != nil {
		return nil, err
	}
	// Leave out what cannot be reached any more, with the reason.
	dropped := closedNow
	for range len(def.Stops) {
		err := def.problem().Validate()
		var se *route.StopError
		if err == nil || !errors.As(err, &se) || se.Field != "reach" || strings.HasPrefix(se.StopID, PositionPrefix) {
			break
		}
		dropped = append(dropped, Unserved{Stop: se.StopID, Reason: "cannot be reached in time any more: " + se.Reason})
		def.Stops = slices.DeleteFunc(def.Stops, func(st StopSpec) bool { return st.ID == se.StopID })
	}
	now := s.cfg.Now()
	j := &Job{Tenant: tenant, Model: RoutingVersion, Created: now.UTC(), Start: old.Start, Source: old.Source, Depot: old.Depot,
		ReplanOf: old.ID, Previous: old.Plan, Replan: &r, dropped: dropped, history: history}
	return s.enqueue(j, def)
}
