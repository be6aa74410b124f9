// Package vrptw runs tsingma's VRPTW solver on the Solomon benchmark or
// the Gehring & Homberger extended sets (Solomon's text layout or VRPLIB's,
// told apart by content), checks every solution and compares it with the
// best-known solutions of bks.csv.
package vrptw

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tsingma/tsingma/internal/route"
)

// Config selects instances and solver settings.
type Config struct {
	Instances string        // directory of <NAME>.txt (Solomon) and <NAME>.vrp (VRPLIB) files
	BKS       string        // bks.csv path; "" means <Instances>/../bks.csv (missing file: no gaps)
	Time      time.Duration // per instance
	Only      []string      // instance names; empty means all
	Objective route.Objective
	Seed      uint64
	// Progress, when not nil, is called after each instance with the
	// number done and the total.
	Progress func(done, total int, name string)
}

// Row is the result on one instance.
type Row struct {
	Name        string
	Customers   int
	Vehicles    int
	Distance    float64
	BKS         float64 // 0 when unknown
	BKSVehicles int
	Gap         float64 // percent; meaningful when BKS > 0
	Feasible    bool
	Iterations  int
	Elapsed     time.Duration
	Err         string
}

// Summary aggregates the rows.
type Summary struct {
	Rows       []Row
	MeanGap    float64
	MaxGap     float64
	WithBKS    int
	AtBKS      int
	Infeasible int
	CNV        int // cumulative number of vehicles
	BKSCNV     int
}

// bksKey is the bks.csv objective name for an objective.
func bksKey(o route.Objective) string {
	if o == route.MinVehiclesThenDistance {
		return "hierarchical"
	}
	return "distance-dimacs"
}

// BKSEntry is a best-known solution value.
type BKSEntry struct {
	Vehicles int
	Distance float64
}

// ReadBKS reads bks.csv rows for one objective ("distance-dimacs" or
// "hierarchical"), keyed by instance name. An empty vehicles field means
// the source gives no route count (Vehicles 0).
func ReadBKS(r io.Reader, objective string) (map[string]BKSEntry, error) {
	cr := csv.NewReader(r)
	recs, err := cr.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("read bks: %w", err)
	}
	if len(recs) == 0 || len(recs[0]) < 4 || recs[0][0] != "instance" {
		return nil, errors.New("read bks: missing header instance,vehicles,distance,objective")
	}
	out := make(map[string]BKSEntry)
	for i, rec := range recs[1:] {
		if len(rec) < 4 || rec[3] != objective {
			continue
		}
		var v int
		var err1 error
		if rec[1] != "" {
			v, err1 = strconv.Atoi(rec[1])
		}
		d, err2 := strconv.ParseFloat(rec[2], 64)
		if err := errors.Join(err1, err2); err != nil {
			return nil, fmt.Errorf("read bks: row %d: %w", i+2, err)
		}
		out[rec[0]] = BKSEntry{v, d}
	}
	return out, nil
}

// isInstanceFile reports whether a file name has an instance extension
// (.txt or .vrp, any case).
func isInstanceFile(name string) bool {
	ext := strings.ToLower(filepath.Ext(name))
	return ext == ".txt" || ext == ".vrp"
}

// Instances lists the instance names (file stems of *.txt and *.vrp) in
// dir, sorted. Two files with the same stem (C1_2_1.txt and C1_2_1.vrp)
// are an error: the benchmark would not know which one it measured.
func Instances(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list instances %s: %w", dir, err)
	}
	var names []string
	seen := make(map[string]string)
	for _, e := range ents {
		if e.IsDir() || !isInstanceFile(e.Name()) {
			continue
		}
		stem := strings.TrimSuffix(e.Name(), filepath.Ext(e.Name()))
		if other, ok := seen[strings.ToUpper(stem)]; ok {
			return nil, fmt.Errorf("instance %s has two files in %s: %s and %s", stem, dir, other, e.Name())
		}
		seen[strings.ToUpper(stem)] = e.Name()
		names = append(names, stem)
	}
	sort.Strings(names)
	if len(names) == 0 {
		return nil, fmt.Errorf("no .txt or .vrp instances in %s", dir)
	}
	return names, nil
}

// Run solves the selected instances one after the other, writes a table
// row per instance to out and the summary lines, the last being
// "vrptw instances=N mean_gap=G% max_gap=M% infeasible=K".
func Run(ctx context.Context, cfg Config, out io.Writer) (*Summary, error) {
	if cfg.Time <= 0 {
		return nil, errors.New("time per instance must be positive")
	}
	names, err := Instances(cfg.Instances)
	if err != nil {
		return nil, err
	}
	if len(cfg.Only) > 0 {
		have := make(map[string]bool, len(names))
		for _, n := range names {
			have[strings.ToUpper(n)] = true
		}
		var sel []string
		for _, o := range cfg.Only {
			o = strings.TrimSpace(o)
			if !have[strings.ToUpper(o)] {
				return nil, fmt.Errorf("instance %q not found in %s", o, cfg.Instances)
			}
			sel = append(sel, o)
		}
		names = sel
	}
	bksPath := cfg.BKS
	if bksPath == "" {
		bksPath = filepath.Join(cfg.Instances, "..", "bks.csv")
	}
	bks := map[string]BKSEntry{}
	if f, err := os.Open(bksPath); err == nil {
		bks, err = ReadBKS(f, bksKey(cfg.Objective))
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", bksPath, err)
		}
	} else if cfg.BKS != "" {
		return nil, fmt.Errorf("open bks: %w", err)
	}
	metric := route.EuclideanDIMACS
	if cfg.Objective == route.MinVehiclesThenDistance {
		metric = route.Euclidean
	}
	fmt.Fprintf(out, "objective=%s time=%s seed=%d\n", cfg.Objective, cfg.Time, cfg.Seed)
	fmt.Fprintf(out, "%-10s %5s %4s %10s %4s %10s %8s %6s %7s\n", "instance", "n", "veh", "distance", "bveh", "bks", "gap%", "iters", "time")
	sum := &Summary{}
	for i, name := range names {
		if err := ctx.Err(); err != nil {
			return sum, err
		}
		row := solveOne(ctx, cfg, filepath.Join(cfg.Instances, findFile(cfg.Instances, name)), metric)
		row.Name = name
		if b, ok := bks[name]; ok && row.Feasible {
			row.BKS, row.BKSVehicles = b.Distance, b.Vehicles
			row.Gap = 100 * (row.Distance - b.Distance) / b.Distance
		} else if ok {
			row.BKS, row.BKSVehicles = b.Distance, b.Vehicles
		}
		sum.add(row, cfg.Objective)
		printRow(out, row)
		if cfg.Progress != nil {
			cfg.Progress(i+1, len(names), name)
		}
	}
	if sum.WithBKS > 0 {
		sum.MeanGap /= float64(sum.WithBKS)
	}
	if cfg.Objective == route.MinVehiclesThenDistance {
		fmt.Fprintf(out, "cnv=%d bks_cnv=%d\n", sum.CNV, sum.BKSCNV)
	}
	fmt.Fprintf(out, "at_bks=%d of %d with a best-known value\n", sum.AtBKS, sum.WithBKS)
	fmt.Fprintf(out, "vrptw instances=%d mean_gap=%.3f%% max_gap=%.3f%% infeasible=%d\n", len(sum.Rows), sum.MeanGap, sum.MaxGap, sum.Infeasible)
	return sum, nil
}

// findFile returns the file name of instance name in dir (case-insensitive
// match of the stem of a .txt or .vrp file).
func findFile(dir, name string) string {
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		stem := strings.TrimSuffix(e.Name(), filepath.Ext(e.Name()))
		if !e.IsDir() && isInstanceFile(e.Name()) && strings.EqualFold(stem, name) {
			return e.Name()
		}
	}
	return name + ".txt"
}

func (s *Summary) add(r Row, obj route.Objective) {
	s.Rows = append(s.Rows, r)
	if !r.Feasible {
		s.Infeasible++
		return
	}
	s.CNV += r.Vehicles
	s.BKSCNV += r.BKSVehicles
	if r.BKS > 0 {
		s.WithBKS++
		s.MeanGap += r.Gap
		s.MaxGap = max(s.MaxGap, r.Gap)
		better := r.Distance <= r.BKS+1e-6
		if obj == route.MinVehiclesThenDistance {
			better = r.Vehicles < r.BKSVehicles || (r.Vehicles == r.BKSVehicles && r.Distance <= r.BKS+0.005)
		}
		if better {
			s.AtBKS++
		}
	}
}

func solveOne(ctx context.Context, cfg Config, path string, metric route.Metric) Row {
	f, err := os.Open(path)
	if err != nil {
		return Row{Err: err.Error()}
	}
	p, err := route.ParseInstance(f, metric)
	f.Close()
	if err != nil {
		return Row{Err: err.Error()}
	}
	p.Objective = cfg.Objective
	res, err := route.Solve(ctx, p, route.Options{Seed: cfg.Seed, TimeLimit: cfg.Time}, nil)
	row := Row{Customers: len(p.Stops)}
	if res != nil {
		row.Iterations = res.Iterations
		row.Elapsed = res.Elapsed
	}
	if err != nil {
		row.Err = err.Error()
		return row
	}
	row.Feasible = true
	row.Vehicles = res.Report.Vehicles
	row.Distance = res.Report.Distance
	return row
}

func printRow(w io.Writer, r Row) {
	if !r.Feasible {
		fmt.Fprintf(w, "%-10s %5d INFEASIBLE %s\n", r.Name, r.Customers, r.Err)
		return
	}
	bks, gap, bveh := "-", "-", "-"
	if r.BKSVehicles > 0 {
		bveh = strconv.Itoa(r.BKSVehicles)
	}
	if r.BKS > 0 {
		bks = strconv.FormatFloat(r.BKS, 'f', 2, 64)
		gap = strconv.FormatFloat(r.Gap, 'f', 3, 64)
	}
	fmt.Fprintf(w, "%-10s %5d %4d %10.2f %4s %10s %8s %6d %6.2fs\n", r.Name, r.Customers, r.Vehicles, r.Distance, bveh, bks, gap, r.Iterations, r.Elapsed.Seconds())
}
