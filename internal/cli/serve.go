package cli

import (
	"context"
	"fmt"
)

// runServe is not built yet: it says so and exits non-zero.
func runServe(_ context.Context, e *env, _ []string) int {
	fmt.Fprintln(e.stderr, "tsingma serve: not built yet in this version")
	return 2
}
