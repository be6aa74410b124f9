package route

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// ParseInstance reads a VRPTW instance in either of the two layouts the
// benchmarks use, chosen by content (not by file name): VRPLIB (CVRPLIB,
// PyVRP) when the first non-blank line is a "KEY : value" specification
// line or NODE_COORD_SECTION appears near the start, Solomon's text layout
// otherwise. Both readers give the same Problem for the same instance; the
// metric m (and so the DIMACS distance convention) is applied the same way.
func ParseInstance(r io.Reader, m Metric) (*Problem, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, err := br.Peek(64 << 10)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, fmt.Errorf("read instance: %w", err)
	}
	if isVRPLIB(head) {
		return ParseVRPLIB(br, m)
	}
	return ParseSolomon(br, m)
}

// isVRPLIB reports whether the start of a file looks like VRPLIB.
func isVRPLIB(head []byte) bool {
	if bytes.Contains(head, []byte("NODE_COORD_SECTION")) {
		return true
	}
	for line := range strings.SplitSeq(string(head), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		key, _, ok := strings.Cut(line, ":")
		return ok && isSpecKey(strings.TrimSpace(key))
	}
	return false
}

// isSpecKey reports whether s is a VRPLIB keyword: upper-case letters,
// digits and underscores, starting with a letter.
func isSpecKey(s string) bool {
	if s == "" || s[0] < 'A' || s[0] > 'Z' {
		return false
	}
	for _, c := range []byte(s) {
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}

// vrplibNode collects what the sections say about one node.
type vrplibNode struct {
	x, y, ready, due, service float64
	demand                    int64
	has                       [4]bool // coordinates, demand, window, service
}

// ParseVRPLIB reads a CVRPTW instance in VRPLIB format, as CVRPLIB and
// PyVRP distribute the Solomon and Gehring & Homberger sets: specification
// lines (NAME, TYPE, DIMENSION, VEHICLES, CAPACITY, SERVICE_TIME,
// EDGE_WEIGHT_TYPE : EUC_2D; COMMENT and other keys are ignored), then
// NODE_COORD_SECTION, DEMAND_SECTION, TIME_WINDOW_SECTION, optionally
// SERVICE_TIME_SECTION, and DEPOT_SECTION (one depot, ended by -1), EOF.
//
// The result is the Problem ParseSolomon gives for the same instance:
// the depot's coordinates and window [ready, due] become every vehicle's
// shift; the depot's service time is ignored; customers keep file order
// (by node number) and are named 1..n in that order, skipping the depot,
// so that with the depot at node 1 (every CVRPLIB instance) customer node
// k is stop "k-1", the Solomon customer number. The fleet is VEHICLES
// identical vehicles (n when the key is absent). Distances come from the
// coordinates under metric m, not from TSPLIB's EUC_2D rounding rule, as
// PyVRP's reader takes its rounding function as a parameter.
func ParseVRPLIB(r io.Reader, m Metric) (*Problem, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	p := &Problem{Metric: m}
	dim, vehicles, capacity := -1, -1, int64(-1)
	serviceAll := 0.0
	var nodes []vrplibNode
	var depots []int
	section := ""
	depotDone, sawEOF := false, false
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		if sawEOF {
			return nil, fmt.Errorf("vrplib: line %d: text after EOF", line)
		}
		fields := strings.Fields(text)
		if key, val, ok := strings.Cut(text, ":"); ok && isSpecKey(strings.TrimSpace(key)) {
			if section != "" {
				return nil, fmt.Errorf("vrplib: line %d: specification %q after the data sections began", line, strings.TrimSpace(key))
			}
			key, val = strings.TrimSpace(key), strings.TrimSpace(val)
			var err error
			switch key {
			case "NAME":
				p.Name = val
			case "TYPE":
				if val != "CVRPTW" && val != "VRPTW" {
					err = fmt.Errorf("type %q is not read (only CVRPTW)", val)
				}
			case "DIMENSION":
				dim, err = strconv.Atoi(val)
				if err == nil && (dim < 1 || dim > maxSolomonStops+1) {
					err = fmt.Errorf("dimension %d out of range 1..%d", dim, maxSolomonStops+1)
				}
			case "VEHICLES":
				vehicles, err = strconv.Atoi(val)
				if err == nil && (vehicles < 1 || vehicles > maxSolomonVehicles) {
					err = fmt.Errorf("vehicles %d out of range 1..%d", vehicles, maxSolomonVehicles)
				}
			case "CAPACITY":
				capacity, err = strconv.ParseInt(val, 10, 64)
				if err == nil && capacity < 0 {
					err = fmt.Errorf("negative capacity %d", capacity)
				}
			case "SERVICE_TIME":
				serviceAll, err = parseFinite(val)
			case "EDGE_WEIGHT_TYPE":
				if val != "EUC_2D" {
					err = fmt.Errorf("edge weight type %q is not read (only EUC_2D)", val)
				}
			}
			if err != nil {
				return nil, fmt.Errorf("vrplib: line %d: %s: %w", line, key, err)
			}
			continue
		}
		if len(fields) == 1 && isSpecKey(fields[0]) {
			switch fields[0] {
			case "NODE_COORD_SECTION", "DEMAND_SECTION", "TIME_WINDOW_SECTION", "SERVICE_TIME_SECTION", "DEPOT_SECTION":
				if dim < 0 {
					return nil, fmt.Errorf("vrplib: line %d: %s before DIMENSION", line, fields[0])
				}
				if nodes == nil {
					nodes = make([]vrplibNode, dim)
				}
				section = fields[0]
			case "EOF":
				sawEOF = true
			default:
				return nil, fmt.Errorf("vrplib: line %d: section %q is not read", line, fields[0])
			}
			continue
		}
		if section == "" {
			return nil, fmt.Errorf("vrplib: line %d: data outside a section: %q", line, text)
		}
		if section == "DEPOT_SECTION" {
			if depotDone {
				return nil, fmt.Errorf("vrplib: line %d: data after the depot list's -1", line)
			}
			for _, f := range fields {
				id, err := strconv.Atoi(f)
				if err != nil {
					return nil, fmt.Errorf("vrplib: line %d: depot %q: %w", line, f, err)
				}
				if id == -1 {
					depotDone = true
					break
				}
				if id < 1 || id > dim {
					return nil, fmt.Errorf("vrplib: line %d: depot %d not a node 1..%d", line, id, dim)
				}
				depots = append(depots, id)
			}
			continue
		}
		if err := nodeRow(nodes, section, fields); err != nil {
			return nil, fmt.Errorf("vrplib: line %d: %s: %w", line, section, err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("vrplib: read: %w", err)
	}
	return p.fromVRPLIB(nodes, depots, dim, vehicles, capacity, serviceAll)
}

// nodeRow stores one data row of a per-node section.
func nodeRow(nodes []vrplibNode, section string, fields []string) error {
	want, slot := 3, 0
	switch section {
	case "DEMAND_SECTION":
		want, slot = 2, 1
	case "TIME_WINDOW_SECTION":
		slot = 2
	case "SERVICE_TIME_SECTION":
		want, slot = 2, 3
	}
	if len(fields) != want {
		return fmt.Errorf("want %d fields, got %d", want, len(fields))
	}
	id, err := strconv.Atoi(fields[0])
	if err != nil || id < 1 || id > len(nodes) {
		return fmt.Errorf("node %q is not 1..%d", fields[0], len(nodes))
	}
	n := &nodes[id-1]
	if n.has[slot] {
		return fmt.Errorf("node %d given twice", id)
	}
	var v [2]float64
	for i, f := range fields[1:] {
		if v[i], err = parseFinite(f); err != nil {
			return fmt.Errorf("node %d: %w", id, err)
		}
	}
	switch slot {
	case 0:
		n.x, n.y = v[0], v[1]
	case 1:
		if v[0] != math.Trunc(v[0]) || math.Abs(v[0]) > 1e15 {
			return fmt.Errorf("node %d: demand %q is not an integer", id, fields[1])
		}
		n.demand = int64(v[0])
	case 2:
		n.ready, n.due = v[0], v[1]
	case 3:
		n.service = v[0]
	}
	n.has[slot] = true
	return nil
}

func parseFinite(s string) (float64, error) {
	x, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, err
	}
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0, fmt.Errorf("%q is not a finite number", s)
	}
	return x, nil
}

// fromVRPLIB checks completeness and builds the problem.
func (p *Problem) fromVRPLIB(nodes []vrplibNode, depots []int, dim, vehicles int, capacity int64, serviceAll float64) (*Problem, error) {
	switch {
	case dim < 0:
		return nil, errors.New("vrplib: no DIMENSION")
	case capacity < 0:
		return nil, errors.New("vrplib: no CAPACITY")
	case nodes == nil:
		return nil, errors.New("vrplib: no data sections")
	case len(depots) != 1:
		return nil, fmt.Errorf("vrplib: want exactly one depot in DEPOT_SECTION, got %d", len(depots))
	}
	haveServiceSection := false
	for _, n := range nodes {
		haveServiceSection = haveServiceSection || n.has[3]
	}
	for i, n := range nodes {
		for slot, name := range []string{"NODE_COORD_SECTION", "DEMAND_SECTION", "TIME_WINDOW_SECTION"} {
			if !n.has[slot] {
				return nil, fmt.Errorf("vrplib: node %d missing from %s", i+1, name)
			}
		}
		if haveServiceSection && !n.has[3] {
			return nil, fmt.Errorf("vrplib: node %d missing from SERVICE_TIME_SECTION", i+1)
		}
	}
	depot := nodes[depots[0]-1]
	if depot.demand != 0 {
		return nil, fmt.Errorf("vrplib: depot node %d has demand %d", depots[0], depot.demand)
	}
	p.DepotX, p.DepotY = depot.x, depot.y
	p.Stops = make([]Stop, 0, dim-1)
	for i, n := range nodes {
		if i == depots[0]-1 {
			continue
		}
		service := n.service
		if !haveServiceSection {
			service = serviceAll // 0 when neither is given
		}
		p.Stops = append(p.Stops, Stop{ID: strconv.Itoa(len(p.Stops) + 1), X: n.x, Y: n.y, Demand: n.demand, Ready: n.ready, Due: n.due, Service: service})
	}
	if vehicles < 0 {
		vehicles = max(1, len(p.Stops))
	}
	p.Vehicles = make([]Vehicle, vehicles)
	for i := range p.Vehicles {
		p.Vehicles[i] = Vehicle{ID: strconv.Itoa(i + 1), Capacity: capacity, ShiftStart: depot.ready, ShiftEnd: depot.due}
	}
	return p, nil
}

// FormatVRPLIB writes p in the VRPLIB CVRPTW layout ParseVRPLIB reads:
// depot at node 1, stop i at node i+2, a per-node SERVICE_TIME_SECTION. It
// needs what that layout can carry: coordinates, identical vehicles
// starting and ending their shift at the depot's window, and stop IDs
// "1".."n" in order (the IDs ParseVRPLIB assigns).
func FormatVRPLIB(w io.Writer, p *Problem) error {
	if len(p.Vehicles) == 0 || p.Distance != nil {
		return errors.New("vrplib: format needs vehicles and coordinates")
	}
	v := p.Vehicles[0]
	for _, u := range p.Vehicles {
		if u.Capacity != v.Capacity || u.ShiftStart != v.ShiftStart || u.ShiftEnd != v.ShiftEnd || u.MaxDuration != 0 || len(u.Served) > 0 {
			return errors.New("vrplib: format needs identical vehicles without duration limits or served stops")
		}
	}
	for i, s := range p.Stops {
		if s.ID != strconv.Itoa(i+1) || s.Vehicle != "" {
			return fmt.Errorf("vrplib: format needs stop IDs 1..n in order and no fixed vehicles, stop %d is %q", i+1, s.ID)
		}
	}
	if strings.Contains(p.Name, "\n") {
		return errors.New("vrplib: name holds a line break")
	}
	num := func(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "NAME : %s\nTYPE : CVRPTW\nDIMENSION : %d\nVEHICLES : %d\nCAPACITY : %d\nEDGE_WEIGHT_TYPE : EUC_2D\n", p.Name, len(p.Stops)+1, len(p.Vehicles), v.Capacity)
	fmt.Fprintf(bw, "NODE_COORD_SECTION\n1 %s %s\n", num(p.DepotX), num(p.DepotY))
	for i, s := range p.Stops {
		fmt.Fprintf(bw, "%d %s %s\n", i+2, num(s.X), num(s.Y))
	}
	fmt.Fprintf(bw, "DEMAND_SECTION\n1 0\n")
	for i, s := range p.Stops {
		fmt.Fprintf(bw, "%d %d\n", i+2, s.Demand)
	}
	fmt.Fprintf(bw, "TIME_WINDOW_SECTION\n1 %s %s\n", num(v.ShiftStart), num(v.ShiftEnd))
	for i, s := range p.Stops {
		fmt.Fprintf(bw, "%d %s %s\n", i+2, num(s.Ready), num(s.Due))
	}
	fmt.Fprintf(bw, "SERVICE_TIME_SECTION\n1 0\n")
	for i, s := range p.Stops {
		fmt.Fprintf(bw, "%d %s\n", i+2, num(s.Service))
	}
	fmt.Fprintf(bw, "DEPOT_SECTION\n1\n-1\nEOF\n")
	return bw.Flush()
}
