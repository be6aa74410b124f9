// Package vrptw measures the VRPTW solver's speed: genetic iterations and
// move evaluations per second, and the anytime profile (best distance
// over time, as a gap to the best-known value) on a few Solomon instances.
// No peer solver is run: none is vendored, and published figures of other
// solvers are not reproduced here.
package vrptw

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	evalvrptw "github.com/tsingma/tsingma/internal/eval/vrptw"
	"github.com/tsingma/tsingma/internal/route"
)

// Config selects instances and time.
type Config struct {
	Instances string        // directory of Solomon-format files
	BKS       string        // bks.csv ("" means <Instances>/../bks.csv)
	Names     []string      // default C101, R101, RC101, R201
	Time      time.Duration // per instance
	Seed      uint64
}

// checkpoints at which the anytime profile is reported, as fractions of
// the time limit.
var checkpoints = []float64{0.02, 0.05, 0.1, 0.2, 0.5, 1}

// Run benchmarks each instance and prints a profile; the last line is
// "bench vrptw instances=N iters_per_s=X evals_per_s=Y mean_gap_10pct=G% mean_gap_end=E%".
func Run(ctx context.Context, cfg Config, out io.Writer) error {
	if cfg.Time <= 0 {
		return errors.New("time per instance must be positive")
	}
	names := cfg.Names
	if len(names) == 0 {
		names = []string{"C101", "R101", "RC101", "R201"}
	}
	bksPath := cfg.BKS
	if bksPath == "" {
		bksPath = filepath.Join(cfg.Instances, "..", "bks.csv")
	}
	f, err := os.Open(bksPath)
	if err != nil {
		return fmt.Errorf("open bks: %w", err)
	}
	bks, err := evalvrptw.ReadBKS(f, "distance-dimacs")
	f.Close()
	if err != nil {
		return err
	}
	hdr := []string{"instance", "iters/s", "evals/s"}
	for _, c := range checkpoints {
		hdr = append(hdr, fmt.Sprintf("gap@%gs", (time.Duration(c*float64(cfg.Time))).Seconds()))
	}
	fmt.Fprintf(out, "objective=distance (DIMACS) time=%s seed=%d; gap%% of the best distance so far to the best-known\n", cfg.Time, cfg.Seed)
	fmt.Fprintln(out, strings.Join(hdr, "\t"))
	var sumIt, sumEv, sumEarly, sumEnd float64
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return err
		}
		b, ok := bks[name]
		if !ok {
			return fmt.Errorf("no best-known value for %s", name)
		}
		pf, err := os.Open(filepath.Join(cfg.Instances, name+".txt"))
		if err != nil {
			return err
		}
		p, err := route.ParseSolomon(pf, route.EuclideanDIMACS)
		pf.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		type point struct {
			at   time.Duration
			dist float64
		}
		var prof []point
		res, err := route.Solve(ctx, p, route.Options{Seed: cfg.Seed, TimeLimit: cfg.Time}, func(im route.Improvement) {
			prof = append(prof, point{im.Elapsed, im.Distance})
		})
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		secs := res.Elapsed.Seconds()
		itps := float64(res.Iterations) / secs
		evps := float64(res.LocalSearchEvals) / secs
		row := []string{name, fmt.Sprintf("%.0f", itps), fmt.Sprintf("%.2e", evps)}
		var gaps []float64
		for _, c := range checkpoints {
			at := time.Duration(c * float64(cfg.Time))
			best := -1.0
			for _, pt := range prof {
				if pt.at <= at {
					best = pt.dist
				}
			}
			if best < 0 {
				row = append(row, "-")
				gaps = append(gaps, 100)
				continue
			}
			g := 100 * (best - b.Distance) / b.Distance
			gaps = append(gaps, g)
			row = append(row, fmt.Sprintf("%.3f", g))
		}
		fmt.Fprintln(out, strings.Join(row, "\t"))
		sumIt += itps
		sumEv += evps
		sumEarly += gaps[2]
		sumEnd += gaps[len(gaps)-1]
	}
	n := float64(len(names))
	fmt.Fprintf(out, "bench vrptw instances=%d iters_per_s=%.0f evals_per_s=%.3g mean_gap_10pct=%.3f%% mean_gap_end=%.3f%%\n",
		len(names), sumIt/n, sumEv/n, sumEarly/n, sumEnd/n)
	return nil
}
