package dispatch

import (
	"testing"

	"github.com/tsingma/tsingma/internal/testenv"
)

// TestImportBoundaries: a domain service never depends on the API, the
// composition root, the CLI, the broker or the simulator, nor on testing.
func TestImportBoundaries(t *testing.T) {
	testenv.ForbidDeps(t, "internal/dispatch", "internal/api", "internal/broker", "internal/app", "internal/cli", "internal/sim")
}
