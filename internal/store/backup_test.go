package store

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tsingma/tsingma/internal/backup"
)

// A backup taken while appends go on, the WAL rotating, opens as a store
// with every sample acknowledged before the backup began.
func TestBackupWhileAppending(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Config{Dir: dir, SegmentSize: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	appendT(t, s, gen("g0", "rain", 0, 3000))
	appendT(t, s, gen("g1", "level", 0, 3000))
	if err := s.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteSeries(t.Context(), "default", "g0", "rain"); err != nil {
		t.Fatal(err)
	}
	// A range of samples in the block: its span goes with the backup.
	if n, err := s.DeleteRange(t.Context(), "default", "g1", "level", 100_000, 199_000); err != nil || n != 100 {
		t.Fatalf("delete a range: %d, %v", n, err)
	}
	if err := s.Flush(t.Context()); err != nil { // the deletion's record leaves the WAL
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	var acked [3]atomic.Int64 // per writer: samples acknowledged, from 0 on
	for w := range acked {
		wg.Add(1)
		go func() {
			defer wg.Done()
			twin := string(rune('a' + w))
			for i := 0; ctx.Err() == nil; i += 20 {
				if _, err := s.Append(context.Background(), gen(twin, "rain", i, 20)); err != nil {
					t.Error(err)
					return
				}
				acked[w].Store(int64(i + 20))
			}
		}()
	}
	for acked[2].Load() < 2000 {
		time.Sleep(time.Millisecond)
	}
	var before [3]int64
	for w := range acked {
		before[w] = acked[w].Load()
	}
	var buf bytes.Buffer
	tw := backup.NewTar(&buf)
	if err := s.Backup(t.Context(), tw, "telemetry"); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	cancel()
	wg.Wait()
	out := filepath.Join(t.TempDir(), "r")
	if _, _, err := backup.Extract(&buf, out); err != nil {
		t.Fatal(err)
	}
	r, err := Open(Config{Dir: filepath.Join(out, "telemetry")})
	if err != nil {
		t.Fatalf("open the backup: %v", err)
	}
	defer r.Close()
	noSeries(t, r, "g0", "rain")
	checkLeft(t, r, "g1", "level", wantLeft(3000, [2]int{100, 199}))
	for w := range acked {
		twin := string(rune('a' + w))
		pts := collect(t, r, twin, "rain")
		if int64(len(pts)) < before[w] {
			t.Fatalf("writer %d: %d samples in the backup, %d acknowledged before it", w, len(pts), before[w])
		}
		checkSeq(t, pts, len(pts))
	}
}

// flushingSink flushes the store while the backup's first file is
// written: a backup holds no lock while it streams, so a slow reader
// never holds flushes back.
type flushingSink struct {
	backup.Sink
	s       *Store
	flushed bool
	err     error
}

func (f *flushingSink) File(name string, size int64, write func(io.Writer) error) error {
	if !f.flushed {
		f.flushed = true
		done := make(chan error, 1)
		go func() { done <- f.s.Flush(context.Background()) }()
		select {
		case f.err = <-done:
		case <-time.After(10 * time.Second):
			f.err = errors.New("a flush waited for the backup")
		}
	}
	return f.Sink.File(name, size, write)
}

func TestBackupHoldsNoLockWhileItStreams(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir)
	defer s.Close()
	appendT(t, s, gen("g1", "rain", 0, 500))
	if err := s.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	appendT(t, s, gen("g1", "rain", 500, 500))
	var buf bytes.Buffer
	fs := &flushingSink{Sink: backup.NewTar(&buf), s: s}
	if err := s.Backup(t.Context(), fs, "telemetry"); err != nil {
		t.Fatal(err)
	}
	if fs.err != nil {
		t.Fatal(fs.err)
	}
	fs.Sink.(*backup.Tar).Close()
	// The flush during the backup deleted the WAL segment the snapshot
	// had linked: the backup still has it.
	out := filepath.Join(t.TempDir(), "r")
	if _, _, err := backup.Extract(&buf, out); err != nil {
		t.Fatal(err)
	}
	r := openT(t, filepath.Join(out, "telemetry"))
	defer r.Close()
	checkSeq(t, collect(t, r, "g1", "rain"), 1000)
	// No snapshot is left behind, and one a crash left goes at Open.
	if m, _ := filepath.Glob(filepath.Join(dir, snapPrefix+"*")); len(m) != 0 {
		t.Fatalf("snapshots left: %v", m)
	}
	if err := os.MkdirAll(filepath.Join(out, "telemetry", snapPrefix+"1", "wal"), 0o755); err != nil {
		t.Fatal(err)
	}
	r.Close()
	r2 := openT(t, filepath.Join(out, "telemetry"))
	defer r2.Close()
	if m, _ := filepath.Glob(filepath.Join(out, "telemetry", snapPrefix+"*")); len(m) != 0 {
		t.Fatalf("a crash's snapshot survived Open: %v", m)
	}
}
