package cli

import (
	"context"
	"fmt"
)

// runBenchAnomaly is not built yet: it says so and exits non-zero.
func runBenchAnomaly(_ context.Context, e *env, _ []string) int {
	fmt.Fprintln(e.stderr, "tsingma bench anomaly: not built yet in this version")
	return 2
}
