package cli

import (
	"context"
	"flag"
	"time"

	anomalybench "github.com/tsingma/tsingma/internal/bench/anomaly"
)

// runBenchAnomaly measures the anomaly detector's samples/s per core and
// state per channel. The last line is the headline.
func runBenchAnomaly(ctx context.Context, e *env, args []string) int {
	const prog = "tsingma bench anomaly"
	fs := flag.NewFlagSet(prog, flag.ContinueOnError)
	data := fs.String("data", "../shared/datasets/nab", "NAB folder whose series are replayed")
	chans := fs.Int("channels", 1000, "detectors fed round-robin (one per channel)")
	dur := fs.Duration("duration", 3*time.Second, "measured time per variant")
	if code, ok := parseFlags(fs, e, args); !ok {
		return code
	}
	if _, err := anomalybench.Run(ctx, anomalybench.Config{Data: *data, Channels: *chans, Duration: *dur, Out: e.stdout}); err != nil {
		return fail(e, prog, err)
	}
	return 0
}
