package landslide

import (
	"fmt"
	"os"
	"runtime"
	"testing"
	"time"
)

// TestMain fails the package if goroutines started by the tests (the
// Engine's workers) are still running after them.
func TestMain(m *testing.M) {
	base := runtime.NumGoroutine()
	code := m.Run()
	if code == 0 {
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > base && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond) // poll with a deadline
		}
		if n := runtime.NumGoroutine(); n > base {
			fmt.Fprintf(os.Stderr, "landslide: %d goroutines leaked\n", n-base)
			code = 1
		}
	}
	os.Exit(code)
}
