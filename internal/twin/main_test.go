package twin

import (
	"os"
	"testing"

	"github.com/tsingma/tsingma/internal/testenv"
)

// TestMain runs the kill -9 child when asked to, and otherwise fails the
// package if goroutines started by the tests outlive them (the registry
// starts none of its own: commits run on the writers' goroutines).
func TestMain(m *testing.M) {
	if path := os.Getenv(crashChildEnv); path != "" {
		crashChild(path) // never returns: killed by the parent
	}
	testenv.MainWithStrictLeakCheck(m)
}
