package cli

import (
	"fmt"
	"runtime"
	"strconv"
)

// setProcs sets how many threads run Go code at once (GOMAXPROCS) for a
// command that runs the platform, and returns what undoes it (tests run
// commands in-process). n > 0 is taken as it is. n == 0 leaves a GOMAXPROCS
// environment variable alone and otherwise adds one to the runtime's
// default (the CPUs the process may use): the WAL committer spends much of
// a busy second in fdatasync, a blocking system call during which its
// thread keeps its P until the runtime's monitor takes it back
// (golang/go#29734), so with one P per core a core sat idle while ingest
// waited to run. On the project's 2-core machine one more P took the HTTP
// ingest path from 157% to 177% CPU and 2.0 M to 2.3 M samples/s
// (docs/decisions.md, "Session 14").
func setProcs(e *env, n int) (undo func(), err error) {
	prev := runtime.GOMAXPROCS(0)
	if n < 0 {
		return nil, fmt.Errorf("--procs must be 0 (automatic) or positive, got %d", n)
	}
	if n == 0 {
		if v := e.getenv("GOMAXPROCS"); v != "" {
			if _, err := strconv.Atoi(v); err == nil {
				return func() {}, nil
			}
		}
		n = prev + 1
	}
	runtime.GOMAXPROCS(n)
	return func() { runtime.GOMAXPROCS(prev) }, nil
}
