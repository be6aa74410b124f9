package route

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// Limits of ParseSolomon, so that hostile input cannot exhaust memory.
const (
	maxSolomonStops    = 20000
	maxSolomonVehicles = 10000
)

// ParseSolomon reads an instance in Solomon's text format (also used by
// the Gehring & Homberger 200-1000 customer sets): a name line, the line
// after "NUMBER" holding the fleet size K and capacity Q, then one row of
// seven numbers per node (id x y demand ready due service), the depot
// first. Blank and header lines are skipped; line counts are not relied
// on. The result has K identical vehicles with shift [ready, due] of the
// depot, stop IDs equal to the customer numbers, and metric m.
func ParseSolomon(r io.Reader, m Metric) (*Problem, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	p := &Problem{Metric: m}
	var k, q int64
	haveFleet, wantFleet, haveDepot := false, false, false
	var depotReady, depotDue float64
	seen := make(map[string]bool)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		fields := strings.Fields(text)
		if p.Name == "" && !haveFleet && line == 1 {
			p.Name = text
			continue
		}
		if strings.HasPrefix(strings.ToUpper(fields[0]), "NUMBER") {
			wantFleet = true
			continue
		}
		if wantFleet {
			if len(fields) != 2 {
				return nil, fmt.Errorf("solomon: line %d: want fleet size and capacity, got %q", line, text)
			}
			var err1, err2 error
			k, err1 = strconv.ParseInt(fields[0], 10, 64)
			q, err2 = strconv.ParseInt(fields[1], 10, 64)
			if err := errors.Join(err1, err2); err != nil {
				return nil, fmt.Errorf("solomon: line %d: fleet: %w", line, err)
			}
			if k <= 0 || k > maxSolomonVehicles || q < 0 {
				return nil, fmt.Errorf("solomon: line %d: fleet size %d or capacity %d out of range", line, k, q)
			}
			wantFleet, haveFleet = false, true
			continue
		}
		if len(fields) != 7 {
			continue // header or other text
		}
		var v [7]float64
		numeric := true
		for i, f := range fields {
			x, err := strconv.ParseFloat(f, 64)
			if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
				numeric = false
				break
			}
			v[i] = x
		}
		if !numeric {
			continue
		}
		if !haveFleet {
			return nil, fmt.Errorf("solomon: line %d: node row before the fleet line", line)
		}
		if v[3] != math.Trunc(v[3]) || math.Abs(v[3]) > 1e15 {
			return nil, fmt.Errorf("solomon: line %d: demand %q is not an integer", line, fields[3])
		}
		if !haveDepot {
			p.DepotX, p.DepotY = v[1], v[2]
			depotReady, depotDue = v[4], v[5]
			haveDepot = true
			continue
		}
		if len(p.Stops) >= maxSolomonStops {
			return nil, fmt.Errorf("solomon: more than %d customers", maxSolomonStops)
		}
		id := fields[0]
		if seen[id] {
			return nil, fmt.Errorf("solomon: line %d: duplicate customer %s", line, id)
		}
		seen[id] = true
		p.Stops = append(p.Stops, Stop{ID: id, X: v[1], Y: v[2], Demand: int64(v[3]), Ready: v[4], Due: v[5], Service: v[6]})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("solomon: read: %w", err)
	}
	if !haveFleet {
		return nil, errors.New("solomon: no fleet line (NUMBER / CAPACITY)")
	}
	if !haveDepot {
		return nil, errors.New("solomon: no depot row")
	}
	p.Vehicles = make([]Vehicle, k)
	for i := range p.Vehicles {
		p.Vehicles[i] = Vehicle{ID: strconv.Itoa(i + 1), Capacity: q, ShiftStart: depotReady, ShiftEnd: depotDue}
	}
	return p, nil
}

// FormatSolomon writes p in Solomon's text format. It needs a problem with
// coordinates and identical vehicles, as ParseSolomon returns.
func FormatSolomon(w io.Writer, p *Problem) error {
	if len(p.Vehicles) == 0 || p.Distance != nil {
		return errors.New("solomon: format needs vehicles and coordinates")
	}
	v := p.Vehicles[0]
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "%s\n\nVEHICLE\nNUMBER     CAPACITY\n  %d         %d\n\nCUSTOMER\n", p.Name, len(p.Vehicles), v.Capacity)
	fmt.Fprintf(bw, "CUST NO.  XCOORD.   YCOORD.    DEMAND   READY TIME  DUE DATE   SERVICE   TIME\n\n")
	num := func(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
	fmt.Fprintf(bw, "%5d %s %s 0 %s %s 0\n", 0, num(p.DepotX), num(p.DepotY), num(v.ShiftStart), num(v.ShiftEnd))
	for _, s := range p.Stops {
		fmt.Fprintf(bw, "%5s %s %s %d %s %s %s\n", s.ID, num(s.X), num(s.Y), s.Demand, num(s.Ready), num(s.Due), num(s.Service))
	}
	return bw.Flush()
}
