package route

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/tsingma/tsingma/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite generated testdata files")

// readSol reads a CVRPLIB .sol file: "Route #k: ids..." lines and a Cost line.
func readSol(t *testing.T, path string, vehicles []Vehicle) (*Solution, float64) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sol := &Solution{}
	cost := math.NaN()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "Route"):
			_, rest, _ := strings.Cut(line, ":")
			sol.Routes = append(sol.Routes, Route{Vehicle: vehicles[len(sol.Routes)].ID, Stops: strings.Fields(rest)})
		case strings.HasPrefix(line, "Cost"):
			fmt.Sscan(strings.TrimPrefix(line, "Cost"), &cost)
		}
	}
	return sol, cost
}

// TestCheckerAgreesWithDIMACSBestKnown re-evaluates every published DIMACS
// solution with Check: all feasible, with exactly the published cost.
func TestCheckerAgreesWithDIMACSBestKnown(t *testing.T) {
	dir := testenv.Dataset(t, "solomon")
	names, err := filepath.Glob(filepath.Join(dir, "instances", "*.txt"))
	if err != nil || len(names) != 56 {
		t.Fatalf("want 56 instances, got %d (%v)", len(names), err)
	}
	for _, path := range names {
		name := strings.TrimSuffix(filepath.Base(path), ".txt")
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		p, err := ParseSolomon(f, EuclideanDIMACS)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(p.Stops) != 100 || p.Name != name {
			t.Fatalf("%s: got %d stops named %q", name, len(p.Stops), p.Name)
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		sol, cost := readSol(t, filepath.Join(dir, "solutions-dimacs", name+".sol"), p.Vehicles)
		rep, err := Check(p, sol)
		if err != nil {
			t.Errorf("%s: best-known solution rejected: %v", name, err)
			continue
		}
		if math.Abs(rep.Distance-cost) > 1e-6 {
			t.Errorf("%s: checker distance %.4f, published %.1f", name, rep.Distance, cost)
		}
		// A perturbed copy (two stops of different routes swapped) must
		// not be accepted silently with the same cost.
		bad := &Solution{Routes: append([]Route(nil), sol.Routes...)}
		bad.Routes[0].Stops = append([]string(nil), bad.Routes[0].Stops...)
		bad.Routes[0].Stops = append(bad.Routes[0].Stops, bad.Routes[0].Stops[0])
		if _, err := Check(p, bad); err == nil {
			t.Errorf("%s: a repeated stop was accepted", name)
		}
	}
}

// TestSolveSolomonShort runs the solver briefly on one Solomon instance and
// checks that it is feasible and within a loose bound of the best known.
func TestSolveSolomonShort(t *testing.T) {
	dir := testenv.Dataset(t, "solomon")
	f, err := os.Open(filepath.Join(dir, "instances", "C101.txt"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := ParseSolomon(f, EuclideanDIMACS)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	res, err := Solve(t.Context(), p, Options{Seed: 1, MaxIterations: 10, PopMin: 3, Generation: 3}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Report.Distance > 827.3*1.05 {
		t.Errorf("C101: distance %.1f, more than 5%% above 827.3", res.Report.Distance)
	}
}

// writeGH generates a Gehring & Homberger-style instance (200 customers,
// clustered and random positions, the same text layout).
func writeGH(path string) error {
	rng := rand.New(rand.NewPCG(2026, 200))
	var b bytes.Buffer
	fmt.Fprintf(&b, "GEN_2_1\r\n\r\nVEHICLE\r\nNUMBER     CAPACITY\r\n  50          200\r\n\r\nCUSTOMER\r\n")
	fmt.Fprintf(&b, "CUST NO.  XCOORD.   YCOORD.    DEMAND   READY TIME  DUE DATE   SERVICE TIME\r\n \r\n")
	fmt.Fprintf(&b, "%5d %8d %8d %8d %8d %8d %8d\r\n", 0, 70, 70, 0, 0, 1000, 0)
	for i := 1; i <= 200; i++ {
		var x, y int
		if i%2 == 0 { // clustered
			cx, cy := 20+40*(i%4), 30+50*(i%3)
			x, y = cx+rng.IntN(15), cy+rng.IntN(15)
		} else {
			x, y = rng.IntN(141), rng.IntN(141)
		}
		d := int(math.Hypot(float64(x-70), float64(y-70)))
		ready := d + rng.IntN(max(1, 1000-3*d-100))
		due := ready + 30 + rng.IntN(120)
		fmt.Fprintf(&b, "%5d %8d %8d %8d %8d %8d %8d   \r\n", i, x, y, 1+rng.IntN(30), ready, due, 10)
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

func TestGehringHombergerFormat(t *testing.T) {
	path := filepath.Join("testdata", "gen_2_1.txt")
	if *update {
		if err := writeGH(path); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	p, err := ParseSolomon(f, EuclideanDIMACS)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Stops) != 200 || len(p.Vehicles) != 50 || p.Vehicles[0].Capacity != 200 || p.Vehicles[0].ShiftEnd != 1000 {
		t.Fatalf("got %d stops, %d vehicles, %+v", len(p.Stops), len(p.Vehicles), p.Vehicles[0])
	}
	res, err := Solve(t.Context(), p, Options{Seed: 1, MaxIterations: 1, PopMin: 1, Generation: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Feasible {
		t.Fatal("infeasible")
	}
}

func TestParseSolomonErrors(t *testing.T) {
	for _, tc := range []struct{ name, in string }{
		{"empty", ""},
		{"no fleet", "X\n\n 0 1 2 0 0 100 0\n"},
		{"bad fleet", "X\nNUMBER CAPACITY\n 25\n"},
		{"negative fleet", "X\nNUMBER CAPACITY\n -1 200\n"},
		{"no depot", "X\nNUMBER CAPACITY\n 2 200\n"},
		{"fractional demand", "X\nNUMBER CAPACITY\n 2 200\n 0 1 2 0 0 100 0\n 1 1 2 0.5 0 100 0\n"},
		{"duplicate", "X\nNUMBER CAPACITY\n 2 200\n 0 1 2 0 0 100 0\n 1 1 2 1 0 100 0\n 1 1 2 1 0 100 0\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if p, err := ParseSolomon(strings.NewReader(tc.in), EuclideanDIMACS); err == nil {
				t.Errorf("accepted: %+v", p)
			}
		})
	}
}

// FuzzParseSolomon: no panic; whatever parses formats and parses back to
// the same problem.
func FuzzParseSolomon(f *testing.F) {
	for _, s := range []string{
		"C101\n\nVEHICLE\nNUMBER     CAPACITY\n  25         200\n\nCUSTOMER\nCUST NO.  XCOORD.   YCOORD.    DEMAND   READY TIME  DUE DATE   SERVICE   TIME\n \n    0      40         50          0          0       1236          0\n    1      45         68         10        912        967         90\n",
		"X\nNUMBER CAPACITY\n 2 200\n 0 1 2 0 0 100 0\n 1 1.5 2 3 0 100 0\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParseSolomon(bytes.NewReader(data), EuclideanDIMACS)
		if err != nil {
			return
		}
		_ = p.Validate() // must not panic
		var b bytes.Buffer
		if err := FormatSolomon(&b, p); err != nil {
			t.Fatalf("format: %v", err)
		}
		q, err := ParseSolomon(&b, EuclideanDIMACS)
		if err != nil {
			t.Fatalf("parse of formatted problem: %v\n%s", err, b.String())
		}
		if !reflect.DeepEqual(p, q) {
			t.Fatalf("round trip differs:\n%+v\n%+v", p, q)
		}
	})
}
