package cli

import (
	"context"
	"fmt"
)

// runEvalLandslip is not built yet: it says so and exits non-zero.
func runEvalLandslip(_ context.Context, e *env, _ []string) int {
	fmt.Fprintln(e.stderr, "tsingma eval landslip: not built yet in this version")
	return 2
}
