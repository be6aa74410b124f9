package cli

import (
	"context"
	"fmt"
)

// runBenchVRPTW is not built yet: it says so and exits non-zero.
func runBenchVRPTW(_ context.Context, e *env, _ []string) int {
	fmt.Fprintln(e.stderr, "tsingma bench vrptw: not built yet in this version")
	return 2
}
