package store

import (
	"fmt"
	"sync"
	"testing"

	"github.com/tsingma/tsingma/internal/telemetry"
)

func TestConcurrentAppendsSurviveCrash(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir)
	var wg sync.WaitGroup
	const writers, batches, per = 4, 200, 17
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			k := 0
			for b := 0; b < batches; b++ {
				batch := make([]telemetry.Sample, per)
				for i := range batch {
					k++
					batch[i] = telemetry.Sample{Tenant: "default", Twin: fmt.Sprintf("w%d", w), Channel: "c", TS: int64(k) * 1000, Value: float64(k)}
				}
				st, err := s.Append(t.Context(), batch)
				if err != nil {
					t.Error(err)
					return
				}
				for i, x := range st {
					if x != Accepted {
						t.Errorf("writer %d sample %d: %v", w, i, x)
					}
				}
			}
		}(w)
	}
	wg.Wait()
	check := func(s *Store) {
		for w := 0; w < writers; w++ {
			pts := collect(t, s, fmt.Sprintf("w%d", w), "c")
			if len(pts) != batches*per {
				t.Fatalf("writer %d: got %d points, want %d", w, len(pts), batches*per)
			}
			for i, p := range pts {
				if p.TS != int64(i+1)*1000 {
					t.Fatalf("writer %d: point %d has ts %d", w, i, p.TS)
				}
			}
		}
	}
	check(s)
	s.cancel()
	s.wg.Wait()
	s.seg.close()
	s.closeBlocks()
	s2 := openT(t, dir)
	defer s2.Close()
	check(s2)
}

func crash(s *Store) {
	s.cancel()
	s.wg.Wait()
	s.seg.close()
	s.closeBlocks()
}

func TestRepeatedCrashes(t *testing.T) {
	dir := t.TempDir()
	k := 0
	for round := 0; round < 20; round++ {
		s := openT(t, dir)
		var pts []Point
		if round > 0 {
			pts = collect(t, s, "w", "c")
		}
		if len(pts) != k {
			t.Fatalf("round %d: got %d points, want %d", round, len(pts), k)
		}
		for b := 0; b < 10+round; b++ {
			n := 1 + (b*7+round)%13
			batch := make([]telemetry.Sample, n)
			for i := range batch {
				k++
				batch[i] = telemetry.Sample{Tenant: "default", Twin: "w", Channel: "c", TS: int64(k) * 1000, Value: float64(k)}
			}
			if _, err := s.Append(t.Context(), batch); err != nil {
				t.Fatal(err)
			}
		}
		crash(s)
	}
}

// TestFlushWhileAppending flushes blocks while writers append, crashes,
// reopens, and checks every acknowledged sample once, in order.
func TestFlushWhileAppending(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir)
	const writers = 4
	var wg sync.WaitGroup
	counts := make([]int, writers)
	stop := make(chan struct{})
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			k := 0
			for {
				select {
				case <-stop:
					return
				default:
				}
				batch := make([]telemetry.Sample, 50)
				for i := range batch {
					k++
					batch[i] = telemetry.Sample{Tenant: "default", Twin: fmt.Sprintf("w%d", w), Channel: "c", TS: int64(k) * 1000, Value: float64(k%1000) / 10}
				}
				if _, err := s.Append(t.Context(), batch); err != nil {
					t.Error(err)
					return
				}
				counts[w] = k
			}
		}(w)
	}
	for i := 0; i < 5; i++ {
		if err := s.Flush(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	check := func(s *Store) {
		t.Helper()
		for w := 0; w < writers; w++ {
			pts := collect(t, s, fmt.Sprintf("w%d", w), "c")
			if len(pts) != counts[w] {
				t.Fatalf("writer %d: got %d points, want %d", w, len(pts), counts[w])
			}
			for i, p := range pts {
				k := i + 1
				if p.TS != int64(k)*1000 || p.Value != float64(k%1000)/10 {
					t.Fatalf("writer %d point %d = %+v", w, i, p)
				}
			}
		}
	}
	check(s)
	if s.Stats().Blocks == 0 {
		t.Fatal("no block was written")
	}
	crash(s)
	s2 := openT(t, dir)
	defer s2.Close()
	check(s2)
}
