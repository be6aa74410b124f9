package nab

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/tsingma/tsingma/internal/testenv"
)

// TestMain fails the package if goroutines started by the tests (the
// RunDetector workers) outlive them. Only tsingma's goroutines count: the
// fuzzing engine starts one of its own (os/signal).
func TestMain(m *testing.M) { testenv.MainWithLeakCheck(m) }

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
