package nab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"testing"
	"time"
)

// TestMain fails the package if goroutines started by the tests (the
// RunDetector workers) outlive them.
func TestMain(m *testing.M) {
	before := runtime.NumGoroutine()
	code := m.Run()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); code == 0 && n > before {
		fmt.Fprintf(os.Stderr, "goroutine leak: %d goroutines after the tests, %d before\n", n, before)
		buf := make([]byte, 1<<20)
		os.Stderr.Write(buf[:runtime.Stack(buf, true)])
		code = 1
	}
	os.Exit(code)
}

func TestRunDetectorCancelled(t *testing.T) {
	c := &Corpus{Profiles: DefaultProfiles()}
	for k := range 20 {
		s := &Series{Name: fmt.Sprintf("c/s%d.csv", k)}
		for i := range 100 {
			s.Timestamps, s.Millis, s.Values = append(s.Timestamps, ""), append(s.Millis, int64(i)), append(s.Values, float64(i%3))
		}
		c.Series = append(c.Series, s)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	mk, _ := NewDetector(DefaultDetector, 1)
	if _, err := RunDetector(ctx, c, mk, 3, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	bad := func() (Detector, error) { return nil, errors.New("boom") }
	if _, err := RunDetector(t.Context(), c, bad, 2, nil); err == nil {
		t.Fatal("a failing constructor was not reported")
	}
}
