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
//
// Goroutines whose stack contains one of also (e.g. a client library's
// package path) count as leaks too.
func MainWithLeakCheck(m *testing.M, also ...string) {
	mainWithLeakCheck(m, func(g string) bool {
		if strings.Contains(g, "github.com/tsingma/tsingma/") {
			return true
		}
		for _, a := range also {
			if strings.Contains(g, a) {
				return true
			}
		}
		return false
	})
}

// MainWithStrictLeakCheck is MainWithLeakCheck counting every goroutine
// but the runtime's signal handling, whoever started it.
func MainWithStrictLeakCheck(m *testing.M) {
	mainWithLeakCheck(m, func(g string) bool {
		return !strings.Contains(g, "os/signal.signal_recv") && !strings.Contains(g, "runtime.ensureSigM")
	})
}

func mainWithLeakCheck(m *testing.M, counts func(stack string) bool) {
	code := m.Run()
	if code == 0 {
		if leaks := waitForLeaks(5*time.Second, counts); leaks != "" {
			fmt.Fprintf(os.Stderr, "goroutines leaked by the tests:\n%s\n", leaks)
			code = 1
		}
	}
	os.Exit(code)
}

func waitForLeaks(d time.Duration, counts func(string) bool) string {
	deadline := time.Now().Add(d)
	for {
		leaks := leakedGoroutines(counts)
		if leaks == "" || time.Now().After(deadline) {
			return leaks
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func leakedGoroutines(counts func(string) bool) string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if g == "" || !counts(g) ||
			strings.Contains(g, "testenv.leakedGoroutines") ||
			strings.Contains(g, "testing.(*M).Run") ||
			strings.Contains(g, "testenv.MainWithLeakCheck") {
			continue
		}
		out = append(out, g)
	}
	return strings.Join(out, "\n\n")
}
