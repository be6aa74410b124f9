package cli

import (
	"context"
	"fmt"
)

// runBenchIngest is not built yet: it says so and exits non-zero.
func runBenchIngest(_ context.Context, e *env, _ []string) int {
	fmt.Fprintln(e.stderr, "tsingma bench ingest: not built yet in this version")
	return 2
}
