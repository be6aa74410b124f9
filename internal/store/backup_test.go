package store

import (
	"bytes"
	"context"
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
	if err := s.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteSeries(t.Context(), "default", "g0", "rain"); err != nil {
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
	for w := range acked {
		twin := string(rune('a' + w))
		pts := collect(t, r, twin, "rain")
		if int64(len(pts)) < before[w] {
			t.Fatalf("writer %d: %d samples in the backup, %d acknowledged before it", w, len(pts), before[w])
		}
		checkSeq(t, pts, len(pts))
	}
}
