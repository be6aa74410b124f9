package route

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func parseFile(t *testing.T, path string, m Metric) *Problem {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p, err := ParseInstance(f, m)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return p
}

// TestVRPLIBEqualsSolomon: one hand-written instance in both layouts gives
// the identical Problem (same stops, IDs, windows, service, fleet, depot
// shift and metric), under both metrics, so the DIMACS convention and the
// depot semantics apply the same way whichever file the benchmark reads.
func TestVRPLIBEqualsSolomon(t *testing.T) {
	for _, m := range []Metric{Euclidean, EuclideanDIMACS} {
		sol := parseFile(t, filepath.Join("testdata", "tiny.txt"), m)
		lib := parseFile(t, filepath.Join("testdata", "tiny.vrp"), m)
		if !reflect.DeepEqual(sol, lib) {
			t.Fatalf("metric %d: problems differ:\nsolomon %+v\nvrplib  %+v", m, sol, lib)
		}
		if len(lib.Stops) != 6 || lib.Stops[4].ID != "5" || lib.Stops[4].Service != 10 || lib.Vehicles[2].ShiftEnd != 230 {
			t.Fatalf("unexpected content %+v", lib)
		}
		// The same distances reach the checker: a one-route-per-stop
		// solution has the same report from both.
		var s Solution
		for i, st := range lib.Stops[:3] {
			s.Routes = append(s.Routes, Route{Vehicle: lib.Vehicles[i].ID, Stops: []string{st.ID}})
		}
		s.Routes[2].Stops = append(s.Routes[2].Stops, "4", "5", "6")
		r1, err1 := Check(sol, &s)
		r2, err2 := Check(lib, &s)
		if fmt.Sprint(err1) != fmt.Sprint(err2) || !reflect.DeepEqual(r1, r2) {
			t.Errorf("metric %d: check differs: %v %v / %+v %+v", m, err1, err2, r1, r2)
		}
	}
}

// TestVRPLIBEqualsSolomonRandom: random instances written with
// FormatSolomon and FormatVRPLIB parse to the same Problem.
func TestVRPLIBEqualsSolomonRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 200))
	for k := range 20 {
		p := &Problem{Name: fmt.Sprintf("R%d", k), DepotX: float64(rng.IntN(100)), DepotY: 0.5 * float64(rng.IntN(100)), Metric: EuclideanDIMACS}
		n := 1 + rng.IntN(30)
		for i := range n {
			ready := float64(rng.IntN(500))
			p.Stops = append(p.Stops, Stop{ID: fmt.Sprint(i + 1), X: float64(rng.IntN(100)) / 4, Y: float64(rng.IntN(100)), Demand: int64(rng.IntN(20)), Ready: ready, Due: ready + float64(rng.IntN(100)), Service: float64(rng.IntN(3) * 5)})
		}
		for v := range 1 + rng.IntN(5) {
			p.Vehicles = append(p.Vehicles, Vehicle{ID: fmt.Sprint(v + 1), Capacity: 100, ShiftStart: 3, ShiftEnd: 1000})
		}
		var a, b bytes.Buffer
		if err := FormatSolomon(&a, p); err != nil {
			t.Fatal(err)
		}
		if err := FormatVRPLIB(&b, p); err != nil {
			t.Fatal(err)
		}
		pa, err := ParseInstance(&a, EuclideanDIMACS)
		if err != nil {
			t.Fatal(err)
		}
		pb, err := ParseInstance(&b, EuclideanDIMACS)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(pa, p) || !reflect.DeepEqual(pb, p) {
			t.Fatalf("instance %d: round trip differs:\nwant    %+v\nsolomon %+v\nvrplib  %+v", k, p, pa, pb)
		}
	}
}

func TestParseInstanceDetectsLayout(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		vrplib   bool
	}{
		{"solomon", "C101\n\nVEHICLE\nNUMBER     CAPACITY\n  25         200\n", false},
		{"vrplib name", "NAME : X\n", true},
		{"vrplib no space", "\n\nTYPE:CVRPTW\n", true},
		{"vrplib sections only", "NODE_COORD_SECTION\n", true},
		{"name with colon is solomon", "c101: my copy\n", false},
	} {
		if got := isVRPLIB([]byte(tc.in)); got != tc.vrplib {
			t.Errorf("%s: isVRPLIB = %v, want %v", tc.name, got, tc.vrplib)
		}
	}
}

func TestParseVRPLIBServiceSection(t *testing.T) {
	in := "NAME : S\nDIMENSION : 3\nCAPACITY : 9\nNODE_COORD_SECTION\n1 0 0\n2 1 0\n3 0 1\nDEMAND_SECTION\n1 0\n2 1\n3 2\n" +
		"TIME_WINDOW_SECTION\n1 0 100\n2 0 50\n3 5 60\nSERVICE_TIME_SECTION\n1 7\n2 3\n3 4.5\nDEPOT_SECTION\n1\n-1\nEOF\n"
	p, err := ParseVRPLIB(strings.NewReader(in), Euclidean)
	if err != nil {
		t.Fatal(err)
	}
	want := []Stop{{ID: "1", X: 1, Demand: 1, Due: 50, Service: 3}, {ID: "2", Y: 1, Demand: 2, Ready: 5, Due: 60, Service: 4.5}}
	if !reflect.DeepEqual(p.Stops, want) || len(p.Vehicles) != 2 || p.Vehicles[0].ShiftEnd != 100 {
		t.Errorf("got %+v, %+v", p.Stops, p.Vehicles)
	}
	// The depot need not be node 1: customers are numbered 1..n skipping it.
	moved := strings.Replace(in, "DEPOT_SECTION\n1\n", "DEPOT_SECTION\n3\n", 1)
	moved = strings.Replace(moved, "3 2\n", "3 0\n", 1)
	q, err := ParseVRPLIB(strings.NewReader(moved), Euclidean)
	if err != nil {
		t.Fatal(err)
	}
	if q.DepotY != 1 || q.Stops[0].ID != "1" || q.Stops[0].Service != 7 || q.Stops[1].ID != "2" || q.Stops[1].X != 1 || q.Vehicles[0].ShiftStart != 5 {
		t.Errorf("depot at node 3: got %+v %+v", q.Stops, q.Vehicles[0])
	}
}

func TestParseVRPLIBErrors(t *testing.T) {
	const ok = "NAME : X\nTYPE : CVRPTW\nDIMENSION : 3\nVEHICLES : 2\nCAPACITY : 10\nSERVICE_TIME : 1\nEDGE_WEIGHT_TYPE : EUC_2D\n" +
		"NODE_COORD_SECTION\n1 0 0\n2 1 1\n3 2 2\nDEMAND_SECTION\n1 0\n2 3\n3 4\nTIME_WINDOW_SECTION\n1 0 100\n2 0 50\n3 0 50\nDEPOT_SECTION\n1\n-1\nEOF\n"
	if _, err := ParseVRPLIB(strings.NewReader(ok), EuclideanDIMACS); err != nil {
		t.Fatalf("valid input rejected: %v", err)
	}
	for _, tc := range []struct{ name, old, new string }{
		{"type", "CVRPTW", "CVRP"},
		{"edge weights", "EUC_2D", "EXPLICIT"},
		{"no dimension", "DIMENSION : 3\n", ""},
		{"huge dimension", "DIMENSION : 3", "DIMENSION : 999999999"},
		{"bad vehicles", "VEHICLES : 2", "VEHICLES : 0"},
		{"no capacity", "CAPACITY : 10\n", ""},
		{"negative capacity", "CAPACITY : 10", "CAPACITY : -1"},
		{"bad service", "SERVICE_TIME : 1", "SERVICE_TIME : NaN"},
		{"missing coordinates", "3 2 2\n", ""},
		{"node out of range", "3 2 2\n", "4 2 2\n"},
		{"node twice", "3 2 2\n", "2 2 2\n"},
		{"fractional demand", "3 4\n", "3 4.5\n"},
		{"depot demand", "DEMAND_SECTION\n1 0", "DEMAND_SECTION\n1 1"},
		{"missing window", "3 0 50\n", ""},
		{"infinite window", "3 0 50\n", "3 0 +Inf\n"},
		{"no depot", "DEPOT_SECTION\n1\n-1\n", "DEPOT_SECTION\n-1\n"},
		{"two depots", "DEPOT_SECTION\n1\n", "DEPOT_SECTION\n1 2\n"},
		{"unknown section", "DEPOT_SECTION", "EDGE_WEIGHT_SECTION\n1 2\nDEPOT_SECTION"},
		{"spec after data", "EOF", "CAPACITY : 3\nEOF"},
		{"text after EOF", "EOF\n", "EOF\n1 2 3\n"},
		{"short row", "2 1 1\n", "2 1\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := strings.Replace(ok, tc.old, tc.new, 1)
			if in == ok {
				t.Fatalf("case does not change the input")
			}
			if p, err := ParseVRPLIB(strings.NewReader(in), EuclideanDIMACS); err == nil {
				t.Errorf("accepted: %+v", p)
			}
		})
	}
}

func TestFormatVRPLIBRefuses(t *testing.T) {
	p := &Problem{Stops: []Stop{{ID: "a"}}, Vehicles: []Vehicle{{ID: "1"}}}
	if err := FormatVRPLIB(&bytes.Buffer{}, p); err == nil {
		t.Error("stop ID a accepted")
	}
	p.Stops[0].ID = "1"
	p.Vehicles = append(p.Vehicles, Vehicle{ID: "2", Capacity: 5})
	if err := FormatVRPLIB(&bytes.Buffer{}, p); err == nil {
		t.Error("heterogeneous fleet accepted")
	}
}

// FuzzParseVRPLIB: no panic in either reader; whatever ParseVRPLIB
// accepts formats and parses back (through ParseInstance, so detection
// included) to the same problem.
func FuzzParseVRPLIB(f *testing.F) {
	f.Add([]byte("NAME : X\nDIMENSION : 2\nCAPACITY : 5\nNODE_COORD_SECTION\n1 0 0\n2 3 4\nDEMAND_SECTION\n1 0\n2 1\nTIME_WINDOW_SECTION\n1 0 10\n2 0 9\nDEPOT_SECTION\n1\n-1\nEOF\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = ParseInstance(bytes.NewReader(data), Euclidean) // must not panic
		p, err := ParseVRPLIB(bytes.NewReader(data), EuclideanDIMACS)
		if err != nil {
			return
		}
		_ = p.Validate() // must not panic
		var b bytes.Buffer
		if err := FormatVRPLIB(&b, p); err != nil {
			t.Fatalf("format: %v", err)
		}
		q, err := ParseInstance(&b, EuclideanDIMACS)
		if err != nil {
			t.Fatalf("parse of formatted problem: %v\n%s", err, b.String())
		}
		if !reflect.DeepEqual(p, q) {
			t.Fatalf("round trip differs:\n%+v\n%+v", p, q)
		}
	})
}
