package testenv

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// MainWithLeakCheck runs the package's tests, then fails the package if
// goroutines started by tsingma code are still running a few seconds later
// (every goroutine must have an owner that stops it). Use from TestMain:
//
//	func TestMain(m *testing.M) { testenv.MainWithLeakCheck(m) }
func MainWithLeakCheck(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if leaks := waitForLeaks(5 * time.Second); leaks != "" {
			fmt.Fprintf(os.Stderr, "goroutines leaked by the tests:\n%s\n", leaks)
			code = 1
		}
	}
	os.Exit(code)
}

func waitForLeaks(d time.Duration) string {
	deadline := time.Now().Add(d)
	for {
		leaks := leakedGoroutines()
		if leaks == "" || time.Now().After(deadline) {
			return leaks
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func leakedGoroutines() string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if !strings.Contains(g, "github.com/tsingma/tsingma/") ||
			strings.Contains(g, "testenv.leakedGoroutines") ||
			strings.Contains(g, "testing.(*M).Run") ||
			strings.Contains(g, "testenv.MainWithLeakCheck") {
			continue
		}
		out = append(out, g)
	}
	return strings.Join(out, "\n\n")
}
