package cli

import (
	"context"
	"fmt"
)

// runEvalInventory is not built yet: it says so and exits non-zero.
func runEvalInventory(_ context.Context, e *env, _ []string) int {
	fmt.Fprintln(e.stderr, "tsingma eval inventory: not built yet in this version")
	return 2
}
