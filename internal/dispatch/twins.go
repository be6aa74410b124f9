package dispatch

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/tsingma/tsingma/internal/route"
	"github.com/tsingma/tsingma/internal/twin"
)

// Twins is what dispatch reads of the twin registry (*twin.Registry).
type Twins interface {
	Get(ctx context.Context, tenant, id string) (twin.Twin, error)
	Query(ctx context.Context, tenant string, q twin.Query) (twin.Page, error)
}

// hongKong is the demo territory's civil time (UTC+8, no daylight saving);
// a depot's "opens"/"closes" HH:MM are read in it.
var hongKong = time.FixedZone("HKT", 8*3600)

// DefaultShift is the shift length when the depot gives no closing time.
const DefaultShift = 10 * time.Hour

// related lists the twins of type typ with relationship rel pointing at id.
func related(ctx context.Context, tw Twins, tenant, id, rel, typ string) ([]twin.Twin, error) {
	var out []twin.Twin
	q := twin.Query{Type: typ, From: id, Rel: rel, Dir: "in", Depth: 1, Limit: twin.MaxLimit, Sort: "id"}
	for {
		pg, err := tw.Query(ctx, tenant, q)
		if err != nil {
			return nil, fmt.Errorf("query %s twins %s %s: %w", typ, rel, id, err)
		}
		out = append(out, pg.Items...)
		if pg.Next == "" {
			return out, nil
		}
		q.Cursor = pg.Next
	}
}

// fromTwins reads a depot, its vehicles (relationship basedAt) and its
// delivery stops (servedFrom) into an explicit definition whose times are
// seconds from start. Stop properties: demand (kg), serviceTime (min),
// windowStart/windowEnd (RFC 3339); vehicle: capacity (kg); depot:
// opens/closes (HH:MM, Hong Kong time) bound every vehicle's shift. A stop
// whose (well-formed) window closed before start is history, not an error:
// it is left out and returned as unserved.
func fromTwins(ctx context.Context, tw Twins, tenant string, d Definition, start time.Time) (Definition, []Unserved, error) {
	var closed []Unserved
	dep, err := tw.Get(ctx, tenant, d.Depot)
	if err != nil {
		return d, nil, fmt.Errorf("depot %s: %w", d.Depot, err)
	}
	if dep.Type != "depot" {
		return d, nil, &DefinitionError{"depot", fmt.Sprintf("twin %q is a %s, not a depot", d.Depot, dep.Type)}
	}
	loc, ok := pointOf(dep.Geometry)
	if !ok {
		return d, nil, &DefinitionError{"depot", fmt.Sprintf("depot %q has no point geometry", d.Depot)}
	}
	d.DepotLocation = &loc
	shiftStart, shiftEnd := depotShift(dep, start)
	vehicles, err := related(ctx, tw, tenant, d.Depot, "basedAt", "vehicle")
	if err != nil {
		return d, nil, err
	}
	stops, err := related(ctx, tw, tenant, d.Depot, "servedFrom", "delivery-stop")
	if err != nil {
		return d, nil, err
	}
	d.Vehicles, d.Stops = nil, nil
	for _, v := range vehicles {
		capy, ok := number(v.Properties["capacity"])
		if !ok {
			return d, nil, &route.VehicleError{VehicleID: v.ID, Field: "capacity", Reason: "the vehicle twin has no capacity property"}
		}
		if !(capy <= route.MaxQuantity) { // before the conversion: 1e300 became -2^63
			return d, nil, &route.VehicleError{VehicleID: v.ID, Field: "capacity", Reason: fmt.Sprintf("capacity %g is more than %d", capy, int64(route.MaxQuantity))}
		}
		vs := VehicleSpec{ID: v.ID, Capacity: int64(math.Floor(capy)), ShiftStartS: shiftStart, ShiftEndS: shiftEnd}
		if p, ok := pointOf(v.Geometry); ok {
			vs.Position = &p
		}
		d.Vehicles = append(d.Vehicles, vs)
	}
	for _, s := range stops {
		p, ok := pointOf(s.Geometry)
		if !ok {
			return d, nil, &route.StopError{StopID: s.ID, Field: "coordinates", Reason: "the stop twin has no point geometry"}
		}
		ss := StopSpec{ID: s.ID, Name: s.Name, Lon: p.Lon, Lat: p.Lat}
		if v, ok := number(s.Properties["demand"]); ok {
			if !(v <= route.MaxQuantity) {
				return d, nil, &route.StopError{StopID: s.ID, Field: "demand", Reason: fmt.Sprintf("demand %g is more than %d", v, int64(route.MaxQuantity))}
			}
			ss.Demand = int64(math.Ceil(v))
		}
		if v, ok := number(s.Properties["serviceTime"]); ok {
			ss.ServiceS = v * 60
		}
		ws, okS := timeProp(s.Properties["windowStart"])
		we, okE := timeProp(s.Properties["windowEnd"])
		if okS || okE {
			ss.ReadyS, ss.DueS = shiftStart, shiftEnd
			if okS {
				ss.ReadyS = math.Max(0, ws.Sub(start).Seconds())
			}
			if okE {
				ss.DueS = we.Sub(start).Seconds()
			}
			if ss.ReadyS == 0 && ss.DueS == 0 {
				ss.DueS = 1e-3 // keep "closes now" apart from "no window"
			}
			if okE && we.Before(start) && (!okS || !we.Before(ws)) {
				closed = append(closed, Unserved{Stop: s.ID, Reason: "its time window closed at " + we.UTC().Format(time.RFC3339) + ", before the plan starts"})
				continue
			}
		}
		d.Stops = append(d.Stops, ss)
	}
	if len(d.Vehicles) == 0 {
		return d, nil, &DefinitionError{"depot", fmt.Sprintf("depot %q has no vehicles (twins of type vehicle with basedAt %s)", d.Depot, d.Depot)}
	}
	return d, closed, nil
}

// depotShift is the working day in seconds from start: from now (or the
// opening time, if later) to the closing time. A depot open round the
// clock (00:00 to 23:59 or 24:00), or one without hours, gives a shift of
// DefaultShift from now; after closing time the shift is the next day's.
func depotShift(dep twin.Twin, start time.Time) (float64, float64) {
	local := start.In(hongKong)
	day := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, hongKong)
	o, okO := clock(dep.Properties["opens"])
	c, okC := clock(dep.Properties["closes"])
	if !okO || !okC || (o == 0 && c >= 23*time.Hour+59*time.Minute) || c <= o {
		return 0, DefaultShift.Seconds()
	}
	if day.Add(c).Before(start) {
		day = day.AddDate(0, 0, 1)
	}
	return math.Max(0, day.Add(o).Sub(start).Seconds()), day.Add(c).Sub(start).Seconds()
}

func clock(v any) (time.Duration, bool) {
	s, ok := v.(string)
	if !ok {
		return 0, false
	}
	h, m, ok := strings.Cut(s, ":")
	if !ok {
		return 0, false
	}
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if err1 != nil || err2 != nil || hh < 0 || hh > 24 || mm < 0 || mm > 59 {
		return 0, false
	}
	return time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute, true
}

func timeProp(v any) (time.Time, bool) {
	s, ok := v.(string)
	if !ok {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, s)
	return t, err == nil
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, finite(x)
	case json.Number:
		f, err := x.Float64()
		return f, err == nil && finite(f)
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	}
	return 0, false
}

func pointOf(g *twin.Geometry) (Point, bool) {
	if g == nil || g.Type != "Point" || len(g.Point) < 2 {
		return Point{}, false
	}
	return Point{Lon: g.Point[0], Lat: g.Point[1]}, true
}
