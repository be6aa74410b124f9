package cli

import (
	"context"
	"fmt"
)

// runBenchLandslide is not built yet: it says so and exits non-zero.
func runBenchLandslide(_ context.Context, e *env, _ []string) int {
	fmt.Fprintln(e.stderr, "tsingma bench landslide: not built yet in this version")
	return 2
}
