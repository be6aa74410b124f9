package cli

import (
	"context"
	"flag"
	"fmt"

	"github.com/tsingma/tsingma/internal/bench/landslide"
)

// runBenchLandslide times factor-of-safety updates for a synthetic
// territory of slopes (60,000 by default).
func runBenchLandslide(ctx context.Context, e *env, args []string) int {
	cfg := landslide.DefaultConfig()
	fs := flag.NewFlagSet("tsingma bench landslide", flag.ContinueOnError)
	fs.IntVar(&cfg.Rows, "rows", cfg.Rows, "grid rows (slopes = rows × cols)")
	fs.IntVar(&cfg.Cols, "cols", cfg.Cols, "grid columns")
	fs.IntVar(&cfg.Hours, "hours", cfg.Hours, "storm length in hourly updates")
	fs.IntVar(&cfg.Nodes, "nodes", cfg.Nodes, "depth intervals per slope")
	fs.IntVar(&cfg.Workers, "workers", cfg.Workers, "goroutines")
	if code, ok := parseFlags(fs, e, args); !ok {
		return code
	}
	if cfg.Rows < 1 || cfg.Cols < 3 || cfg.Hours < 1 || cfg.Nodes < 1 || cfg.Workers < 1 || cfg.Rows*cfg.Cols > 10_000_000 {
		return fail(e, fs.Name(), fmt.Errorf("invalid size: rows %d cols %d (≥3) hours %d nodes %d workers %d", cfg.Rows, cfg.Cols, cfg.Hours, cfg.Nodes, cfg.Workers))
	}
	if err := landslide.Run(ctx, cfg, e.stdout); err != nil {
		return fail(e, fs.Name(), err)
	}
	return 0
}
