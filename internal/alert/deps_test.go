package alert

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportBoundaries keeps the alert domain package off the transports
// and the composition root, and testing out of its non-test build.
func TestImportBoundaries(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not found")
	}
	out, err := exec.Command(gobin, "list", "-deps", "github.com/tsingma/tsingma/internal/alert").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, banned := range []string{"/internal/api", "/internal/broker", "/internal/app", "/internal/cli", "/internal/sim"} {
			if strings.HasPrefix(dep, "github.com/tsingma/tsingma"+banned) {
				t.Errorf("alert depends on %s", dep)
			}
		}
		if dep == "testing" {
			t.Errorf("alert's non-test build depends on testing")
		}
	}
}
