package cli

import (
	"fmt"
	"runtime"
	"strconv"

	"github.com/tsingma/tsingma/internal/scoring"
)

// setProcs sets how many threads run Go code at once (GOMAXPROCS) for a
// command that runs the platform, and returns the number of anomaly
// scoring workers to run (0 when scoring is off) and what undoes it (tests
// run commands in-process). The workers are scoring.DefaultShards of the
// GOMAXPROCS the process started with. n > 0 is taken as it is. n == 0
// leaves a GOMAXPROCS environment variable alone and otherwise adds to the
// runtime's default (the CPUs the process may use) one P, and one per
// scoring worker:
//   - the WAL committer spends much of a busy second in fdatasync, a
//     blocking system call during which its thread keeps its P until the
//     runtime's monitor takes it back (golang/go#29734), so with one P per
//     core a core sat idle while ingest waited to run. On the project's
//     2-core machine one more P took the HTTP ingest path from 157% to 177%
//     CPU and 2.0 M to 2.3 M samples/s (docs/decisions.md, "Session 14");
//   - a scoring worker's thread runs at a lowered priority (session 15), so
//     under load the kernel keeps it waiting while it holds its P: without
//     a P of its own it took back the one added for the committer. bench
//     ingest, HTTP against VictoriaMetrics: 1.03-1.15x (mean 1.10, six
//     runs) before the lowered priority, 0.96-1.09x (mean 1.01, six runs)
//     with it, 1.07-1.27x (mean 1.16, ten runs) with it and a P a worker.
func setProcs(e *env, n int, anomaly bool) (shards int, undo func(), err error) {
	prev := runtime.GOMAXPROCS(0)
	if n < 0 {
		return 0, nil, fmt.Errorf("--procs must be 0 (automatic) or positive, got %d", n)
	}
	if anomaly {
		shards = scoring.DefaultShards(prev)
	}
	if n == 0 {
		if v := e.getenv("GOMAXPROCS"); v != "" {
			if _, err := strconv.Atoi(v); err == nil {
				return shards, func() {}, nil
			}
		}
		n = prev + 1 + shards
	}
	runtime.GOMAXPROCS(n)
	return shards, func() { runtime.GOMAXPROCS(prev) }, nil
}
