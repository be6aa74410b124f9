package testenv

import (
	"os/exec"
	"strings"
	"testing"
)

// Module is the project's module path.
const Module = "github.com/tsingma/tsingma"

// ForbidDeps fails t when the package pkg (a path inside the module, such as
// "internal/alert") depends, directly or not, on any of the module's packages
// under the given prefixes (such as "internal/api"), or when its non-test
// build depends on the testing package. It runs `go list -deps`, so it is
// skipped under -short or without the go command.
func ForbidDeps(t testing.TB, pkg string, forbidden ...string) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs go list")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not found")
	}
	out, err := exec.Command(gobin, "list", "-deps", Module+"/"+pkg).CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, f := range forbidden {
			if p := Module + "/" + f; dep == p || strings.HasPrefix(dep, p+"/") {
				t.Errorf("%s depends on %s", pkg, dep)
			}
		}
		if dep == "testing" {
			t.Errorf("%s's non-test build depends on testing", pkg)
		}
	}
}
