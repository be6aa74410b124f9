package vrptw

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tsingma/tsingma/internal/route"
)

// writeInstance writes a small random Solomon-format instance.
func writeInstance(t *testing.T, dir, name string, n int, seed uint64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	p := &route.Problem{Name: name, DepotX: 50, DepotY: 50}
	for i := 0; i < n; i++ {
		ready := float64(rng.IntN(200))
		p.Stops = append(p.Stops, route.Stop{ID: fmt.Sprint(i + 1), X: float64(rng.IntN(101)), Y: float64(rng.IntN(101)), Demand: int64(1 + rng.IntN(9)), Ready: ready, Due: ready + 100, Service: 5})
	}
	for v := 0; v < 8; v++ {
		p.Vehicles = append(p.Vehicles, route.Vehicle{ID: fmt.Sprint(v + 1), Capacity: 50, ShiftEnd: 500})
	}
	var b bytes.Buffer
	if err := route.FormatSolomon(&b, p); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".txt"), b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestRunSmall(t *testing.T) {
	dir := t.TempDir()
	inst := filepath.Join(dir, "instances")
	if err := os.Mkdir(inst, 0o755); err != nil {
		t.Fatal(err)
	}
	writeInstance(t, inst, "A1", 20, 1)
	writeInstance(t, inst, "B1", 15, 2)
	// A deliberately loose best-known value for A1 only.
	bks := "instance,vehicles,distance,objective,source,check\nA1,8,100000.0,distance-dimacs,test,none\n"
	if err := os.WriteFile(filepath.Join(dir, "bks.csv"), []byte(bks), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	done := 0
	sum, err := Run(context.Background(), Config{Instances: inst, Time: 150 * time.Millisecond, Seed: 1, Progress: func(int, int, string) { done++ }}, &out)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, "vrptw instances=2 mean_gap=") || !strings.HasSuffix(last, "infeasible=0") {
		t.Errorf("last line %q", last)
	}
	if done != 2 || sum.WithBKS != 1 || sum.MeanGap >= 0 {
		t.Errorf("progress %d, with bks %d, mean gap %v (want 2, 1, negative)", done, sum.WithBKS, sum.MeanGap)
	}
	if _, err := Run(context.Background(), Config{Instances: inst, Time: time.Second, Only: []string{"NOPE"}}, &out); err == nil {
		t.Error("unknown instance accepted")
	}
	if _, err := Run(context.Background(), Config{Instances: filepath.Join(dir, "missing"), Time: time.Second}, &out); err == nil {
		t.Error("missing directory accepted")
	}
}

func TestReadBKS(t *testing.T) {
	in := "instance,vehicles,distance,objective,source,check\nC101,10,828.94,hierarchical,x,y\nC101,10,827.3,distance-dimacs,x,y\n"
	m, err := ReadBKS(strings.NewReader(in), "distance-dimacs")
	if err != nil {
		t.Fatal(err)
	}
	if m["C101"] != (BKSEntry{10, 827.3}) {
		t.Errorf("got %+v", m["C101"])
	}
	if _, err := ReadBKS(strings.NewReader("a,b\n1,2\n"), "hierarchical"); err == nil {
		t.Error("bad header accepted")
	}
	if _, err := ReadBKS(strings.NewReader(in+"R1,x,1,hierarchical,a,b\n"), "hierarchical"); err == nil {
		t.Error("bad vehicle count accepted")
	}
}

// TestRunGehringHombergerLayout runs the eval on a 200-customer instance
// named as in the Gehring & Homberger archives (C1_2_1.TXT, upper-case
// extension): the extended sets are read from a directory of such files
// with --instances (they are not staged; see docs/decisions/routing.md).
func TestRunGehringHombergerLayout(t *testing.T) {
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(200, 1))
	p := &route.Problem{Name: "C1_2_1", DepotX: 70, DepotY: 70}
	for i := 0; i < 200; i++ {
		ready := float64(rng.IntN(300))
		p.Stops = append(p.Stops, route.Stop{ID: fmt.Sprint(i + 1), X: float64(rng.IntN(141)), Y: float64(rng.IntN(141)), Demand: int64(1 + rng.IntN(20)), Ready: ready, Due: ready + 400, Service: 10})
	}
	for v := 0; v < 50; v++ {
		p.Vehicles = append(p.Vehicles, route.Vehicle{ID: fmt.Sprint(v + 1), Capacity: 200, ShiftEnd: 1000})
	}
	var b bytes.Buffer
	if err := route.FormatSolomon(&b, p); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "C1_2_1.TXT"), b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	names, err := Instances(dir)
	if err != nil || len(names) != 1 || names[0] != "C1_2_1" {
		t.Fatalf("instances %v, %v; want [C1_2_1]", names, err)
	}
	var out bytes.Buffer
	sum, err := Run(context.Background(), Config{Instances: dir, Time: 200 * time.Millisecond, Seed: 1, Only: []string{"c1_2_1"}}, &out)
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Rows) != 1 || sum.Rows[0].Customers != 200 {
		t.Fatalf("rows %+v, want one with 200 customers", sum.Rows)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "vrptw instances=1 mean_gap=") {
		t.Errorf("last line %q", last)
	}
}

// TestRunVRPLIBLayout runs the eval on a directory holding one instance in
// Solomon's layout and one in VRPLIB's (as CVRPLIB and PyVRP distribute
// the Gehring & Homberger sets), with a bks.csv whose vehicles field is
// empty; two files with one stem are refused.
func TestRunVRPLIBLayout(t *testing.T) {
	dir := t.TempDir()
	writeInstance(t, dir, "A1", 12, 3)
	rng := rand.New(rand.NewPCG(4, 1))
	p := &route.Problem{Name: "G1_2_1", DepotX: 70, DepotY: 70}
	for i := range 15 {
		ready := float64(rng.IntN(300))
		p.Stops = append(p.Stops, route.Stop{ID: fmt.Sprint(i + 1), X: float64(rng.IntN(141)), Y: float64(rng.IntN(141)), Demand: int64(1 + rng.IntN(20)), Ready: ready, Due: ready + 400, Service: 10})
	}
	for v := range 6 {
		p.Vehicles = append(p.Vehicles, route.Vehicle{ID: fmt.Sprint(v + 1), Capacity: 200, ShiftEnd: 1000})
	}
	var b bytes.Buffer
	if err := route.FormatVRPLIB(&b, p); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "G1_2_1.vrp"), b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	bks := filepath.Join(t.TempDir(), "bks.csv")
	if err := os.WriteFile(bks, []byte("instance,vehicles,distance,objective,source,check\nG1_2_1,,100000.0,distance-dimacs,test,none\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	sum, err := Run(context.Background(), Config{Instances: dir, BKS: bks, Time: 150 * time.Millisecond, Seed: 1}, &out)
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Rows) != 2 || sum.Rows[1].Name != "G1_2_1" || sum.Rows[1].Customers != 15 || !sum.Rows[1].Feasible || sum.WithBKS != 1 {
		t.Fatalf("rows %+v, with bks %d\n%s", sum.Rows, sum.WithBKS, out.String())
	}
	var row []string
	for _, l := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(l, "G1_2_1 ") {
			row = strings.Fields(l)
		}
	}
	if len(row) < 6 || row[1] != "15" || row[4] != "-" || row[5] != "100000.00" {
		t.Errorf("row for G1_2_1 %q, want 15 customers, bveh -, bks 100000.00:\n%s", row, out.String())
	}
	if err := os.WriteFile(filepath.Join(dir, "G1_2_1.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Instances(dir); err == nil {
		t.Error("two files for one instance accepted")
	}
}
