package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/tsingma/tsingma/internal/eval/vrptw"
	"github.com/tsingma/tsingma/internal/route"
)

// runEvalVRPTW solves VRPTW instances (Solomon or VRPLIB layout) one by one on one
// core, checks each solution and compares it with the best-known values.
func runEvalVRPTW(ctx context.Context, e *env, args []string) int {
	const prog = "tsingma eval vrptw"
	fs := flag.NewFlagSet(prog, flag.ContinueOnError)
	dir := fs.String("instances", "../shared/datasets/solomon/instances", "directory of instance files: Solomon / Gehring & Homberger layout (*.txt) or VRPLIB CVRPTW (*.vrp)")
	bks := fs.String("bks", "", "best-known values CSV (default: <instances>/../bks.csv, optional)")
	limit := fs.Duration("time", 30*time.Second, "wall-clock time per instance")
	only := fs.String("only", "", "comma-separated instance names (default: all)")
	objective := fs.String("objective", "distance", "distance (DIMACS, truncated distances) or hierarchical (vehicles, then exact distance)")
	seed := fs.Uint64("seed", 1, "random seed")
	if code, ok := parseFlags(fs, e, args); !ok {
		return code
	}
	cfg := vrptw.Config{Instances: *dir, BKS: *bks, Time: *limit, Seed: *seed}
	switch *objective {
	case "distance":
		cfg.Objective = route.MinDistance
	case "hierarchical":
		cfg.Objective = route.MinVehiclesThenDistance
	default:
		return fail(e, prog, fmt.Errorf("--objective must be distance or hierarchical, got %q", *objective))
	}
	if *limit <= 0 {
		return fail(e, prog, fmt.Errorf("--time must be positive, got %s", *limit))
	}
	if *only != "" {
		cfg.Only = strings.Split(*only, ",")
	}
	if isTerminal(e.stderr) {
		cfg.Progress = func(done, total int, name string) {
			progressBar(e.stderr, done, total, name)
		}
	}
	// One core for the solver (the benchmark's rule); restored afterwards.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	if _, err := vrptw.Run(ctx, cfg, e.stdout); err != nil {
		return fail(e, prog, err)
	}
	return 0
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func progressBar(w io.Writer, done, total int, name string) {
	const width = 30
	n := width * done / max(total, 1)
	fmt.Fprintf(w, "\r[%s%s] %d/%d %-8s", strings.Repeat("#", n), strings.Repeat(".", width-n), done, total, name)
	if done == total {
		fmt.Fprintln(w)
	}
}
