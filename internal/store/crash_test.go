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
