package cli

import (
	"context"
	"fmt"
)

// runEvalNAB is not built yet: it says so and exits non-zero.
func runEvalNAB(_ context.Context, e *env, _ []string) int {
	fmt.Fprintln(e.stderr, "tsingma eval nab: not built yet in this version")
	return 2
}
