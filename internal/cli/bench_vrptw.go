package cli

import (
	"context"
	"flag"
	"fmt"
	"runtime"
	"strings"
	"time"

	"github.com/tsingma/tsingma/internal/bench/vrptw"
)

// runBenchVRPTW measures solver throughput and its anytime profile.
func runBenchVRPTW(ctx context.Context, e *env, args []string) int {
	const prog = "tsingma bench vrptw"
	fs := flag.NewFlagSet(prog, flag.ContinueOnError)
	dir := fs.String("instances", "../shared/datasets/solomon/instances", "directory of Solomon-format instance files")
	only := fs.String("only", "C101,R101,RC101,R201", "comma-separated instance names")
	limit := fs.Duration("time", 10*time.Second, "wall-clock time per instance")
	seed := fs.Uint64("seed", 1, "random seed")
	if code, ok := parseFlags(fs, e, args); !ok {
		return code
	}
	if *limit <= 0 {
		return fail(e, prog, fmt.Errorf("--time must be positive, got %s", *limit))
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	cfg := vrptw.Config{Instances: *dir, Names: strings.Split(*only, ","), Time: *limit, Seed: *seed}
	if err := vrptw.Run(ctx, cfg, e.stdout); err != nil {
		return fail(e, prog, err)
	}
	return 0
}
