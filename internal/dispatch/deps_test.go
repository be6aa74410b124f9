package dispatch

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportBoundaries: a domain service never depends on the API, the
// composition root, the CLI, the broker or the simulator, nor on testing.
func TestImportBoundaries(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not found")
	}
	out, err := exec.Command(gobin, "list", "-deps", "github.com/tsingma/tsingma/internal/dispatch").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, banned := range []string{"/internal/api", "/internal/broker", "/internal/app", "/internal/cli", "/internal/sim"} {
			if strings.HasPrefix(dep, "github.com/tsingma/tsingma"+banned) {
				t.Errorf("dispatch depends on %s", dep)
			}
		}
		if dep == "testing" {
			t.Error("dispatch's non-test build depends on testing")
		}
	}
}
