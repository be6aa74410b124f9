package cli

import (
	"context"
	"fmt"
)

// runEvalVRPTW is not built yet: it says so and exits non-zero.
func runEvalVRPTW(_ context.Context, e *env, _ []string) int {
	fmt.Fprintln(e.stderr, "tsingma eval vrptw: not built yet in this version")
	return 2
}
