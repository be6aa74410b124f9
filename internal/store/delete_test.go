package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/tsingma/tsingma/internal/telemetry"
)

func appendT(t *testing.T, s *Store, smp []telemetry.Sample) {
	t.Helper()
	st, err := s.Append(t.Context(), smp)
	if err != nil {
		t.Fatal(err)
	}
	for i, x := range st {
		if x != Accepted {
			t.Fatalf("sample %d: status %v", i, x)
		}
	}
}

func noSeries(t *testing.T, s *Store, twin, ch string) {
	t.Helper()
	err := s.Range(t.Context(), telemetry.Key{Tenant: "default", Twin: twin, Channel: ch}, 0, 1<<62, func(int64, float64) bool { return true })
	if !errors.Is(err, ErrNoSeries) {
		t.Fatalf("%s/%s: got %v, want ErrNoSeries", twin, ch, err)
	}
}

// A deleted channel is gone at once, after a reopen (WAL replay), and
// takes new samples from any timestamp, as a new series.
func TestDeleteSeries(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir)
	appendT(t, s, gen("g1", "rain", 0, 50))
	appendT(t, s, gen("g1", "level", 0, 50))
	appendT(t, s, gen("g2", "rain", 0, 50))
	n, err := s.DeleteSeries(t.Context(), "default", "g1", "rain")
	if err != nil || n != 1 {
		t.Fatalf("delete: %d, %v", n, err)
	}
	noSeries(t, s, "g1", "rain")
	checkSeq(t, collect(t, s, "g1", "level"), 50)
	checkSeq(t, collect(t, s, "g2", "rain"), 50)
	if _, ok := s.Latest(telemetry.Key{Tenant: "default", Twin: "g1", Channel: "rain"}); ok {
		t.Fatal("latest of a deleted series")
	}
	if got := s.Channels("default", "g1"); len(got) != 1 || got[0] != "level" {
		t.Fatalf("channels of g1: %v", got)
	}
	if n, err := s.DeleteSeries(t.Context(), "default", "g1", "rain"); n != 0 || err != nil {
		t.Fatalf("second delete: %d, %v", n, err)
	}
	// Older timestamps than the deleted series' newest are new data now.
	appendT(t, s, gen("g1", "rain", 0, 10))
	checkSeq(t, collect(t, s, "g1", "rain"), 10)
	// Without a flush: the WAL holds all of it, in order.
	if err := s.seg.sync(); err != nil {
		t.Fatal(err)
	}
	crashCopy := t.TempDir()
	copyDir(t, dir, crashCopy)
	s2 := openT(t, crashCopy)
	checkSeq(t, collect(t, s2, "g1", "rain"), 10)
	checkSeq(t, collect(t, s2, "g1", "level"), 50)
	s2.Close()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openT(t, dir)
	defer s.Close()
	checkSeq(t, collect(t, s, "g1", "rain"), 10)
	checkSeq(t, collect(t, s, "g2", "rain"), 50)
	if n := s.Stats().Series; n != 3 {
		t.Fatalf("series: %d, want 3", n)
	}
}

// copyDir copies the store's files as they are (a crash's view: what was
// synced is there, and here everything was).
func copyDir(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.Walk(from, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		if fi.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Data already in blocks stays deleted across reopens (the tombstone
// file), a new series of the same name is kept, and the tombstone goes
// once compaction has rewritten the blocks that held the old data.
func TestDeleteSeriesInBlocks(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{Dir: dir, CompactBlocks: 2}
	s, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	appendT(t, s, gen("g1", "rain", 0, 100))
	appendT(t, s, gen("g1", "level", 0, 100))
	if err := s.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	appendT(t, s, gen("g1", "rain", 100, 100))
	if n, err := s.DeleteSeries(t.Context(), "default", "g1", ""); err != nil || n != 2 {
		t.Fatalf("delete: %d, %v", n, err)
	}
	noSeries(t, s, "g1", "rain")
	noSeries(t, s, "g1", "level")
	if _, err := os.Stat(filepath.Join(dir, tombstoneFile)); err != nil {
		t.Fatalf("tombstone file: %v", err)
	}
	// A crash now: the block holds the deleted series' first samples (its
	// tombstone keeps them out), the WAL its later ones and the deletion.
	if err := s.seg.sync(); err != nil {
		t.Fatal(err)
	}
	crash := t.TempDir()
	copyDir(t, dir, crash)
	c, err := Open(Config{Dir: crash})
	if err != nil {
		t.Fatalf("open after a crash: %v", err)
	}
	noSeries(t, c, "g1", "rain")
	noSeries(t, c, "g1", "level")
	c.Close()
	appendT(t, s, gen("g1", "rain", 0, 20))
	if err := s.Flush(t.Context()); err != nil { // the deletion's WAL goes
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	checkSeq(t, collect(t, s, "g1", "rain"), 20)
	noSeries(t, s, "g1", "level")
	// Compaction merges the first block (old data, tombstoned) with the
	// later ones; what it writes has none of the old series.
	for i := 0; i < 3; i++ {
		if err := s.compactBlocks(); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, tombstoneFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("tombstone file after the old blocks were rewritten: %v", err)
	}
	s, err = Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	checkSeq(t, collect(t, s, "g1", "rain"), 20)
	noSeries(t, s, "g1", "level")
}

// Appends racing deletions: what a reopen replays is what the store held.
func TestDeleteSeriesWhileAppending(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir)
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	for w := 0; w < 3; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				// Every status is fine here: a deletion lets older
				// timestamps in again, and repeats are duplicates.
				if _, err := s.Append(ctx, gen("g1", "rain", i%500, 3)); err != nil && ctx.Err() == nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	for i := 0; i < 30; i++ {
		if _, err := s.DeleteSeries(t.Context(), "default", "g1", ""); err != nil {
			t.Fatal(err)
		}
		if i == 15 {
			if err := s.Flush(t.Context()); err != nil {
				t.Fatal(err)
			}
		}
	}
	cancel()
	wg.Wait()
	// An append cancelled while it waited may still be committed: wait
	// for everything queued.
	if err := s.barrier(t.Context()); err != nil {
		t.Fatal(err)
	}
	// The series (none if a deletion came last).
	series := func(s *Store) []Point {
		t.Helper()
		var pts []Point
		err := s.Range(t.Context(), telemetry.Key{Tenant: "default", Twin: "g1", Channel: "rain"}, 0, 1<<62, func(ts int64, v float64) bool {
			pts = append(pts, Point{ts, v})
			return true
		})
		if err != nil && !errors.Is(err, ErrNoSeries) {
			t.Fatal(err)
		}
		return pts
	}
	want := series(s)
	same := func(s *Store, how string) {
		t.Helper()
		got := series(s)
		if len(got) != len(want) {
			t.Fatalf("%s: %d samples %v, before %d %v", how, len(got), got, len(want), want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("%s: sample %d is %+v, before %+v", how, i, got[i], want[i])
			}
		}
	}
	// A crash now: the WAL since the flush (15 deletions among the
	// appends) is replayed over the block.
	crash := t.TempDir()
	copyDir(t, dir, crash)
	s2 := openT(t, crash)
	same(s2, "after a crash")
	s2.Close()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openT(t, dir)
	defer s.Close()
	same(s, "after a reopen")
}
