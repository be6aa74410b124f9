package cli

import (
	"context"
	"fmt"
)

// runDemo is not built yet: it says so and exits non-zero.
func runDemo(_ context.Context, e *env, _ []string) int {
	fmt.Fprintln(e.stderr, "tsingma demo: not built yet in this version")
	return 2
}
