package cli

import (
	"context"
	"fmt"
)

// runEvalTRIGRS is not built yet: it says so and exits non-zero.
func runEvalTRIGRS(_ context.Context, e *env, _ []string) int {
	fmt.Fprintln(e.stderr, "tsingma eval trigrs: not built yet in this version")
	return 2
}
