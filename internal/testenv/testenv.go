// Package testenv finds the services and data that tests need. With
// CI=true a missing one fails the test; otherwise the test is skipped with
// a message. Only tests import it.
package testenv

import (
	"os"
	"path/filepath"
	"testing"
)

// RepoRoot returns the directory holding go.mod, found by walking up from
// the test's working directory.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("getwd: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// Dataset returns the path of ../shared/datasets/<name> beside the
// repository, or $TSINGMA_DATASETS/<name> when that is set.
func Dataset(t testing.TB, name string) string {
	t.Helper()
	base := os.Getenv("TSINGMA_DATASETS")
	if base == "" {
		base = filepath.Join(RepoRoot(t), "..", "shared", "datasets")
	}
	p := filepath.Join(base, name)
	if _, err := os.Stat(p); err != nil {
		Missing(t, "dataset "+p)
	}
	return p
}

// Missing skips the test, or fails it when CI=true.
func Missing(t testing.TB, what string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is missing (CI=true: a missing service or dataset is a failure)", what)
	}
	t.Skipf("%s is missing; skipping (set CI=true to make this a failure)", what)
}
