package store

import (
	"os"
	"testing"
	"time"

	"github.com/tsingma/tsingma/internal/telemetry"
)

func TestCompactionAndDownsampling(t *testing.T) {
	dir := t.TempDir()
	now := time.UnixMilli(10_000_000)
	cfg := Config{Dir: dir, Now: func() time.Time { return now }, MaintainEvery: time.Hour}
	s, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	// 10 flushes of 100 samples of two series: 10 blocks.
	k := 0
	for f := 0; f < 10; f++ {
		var batch []telemetry.Sample
		for i := 0; i < 100; i++ {
			k++
			for _, tw := range []string{"a", "b"} {
				batch = append(batch, telemetry.Sample{Tenant: "default", Twin: tw, Channel: "c", TS: int64(k) * 1000, Value: float64(k) / 4})
			}
		}
		if _, err := s.Append(ctx, batch); err != nil {
			t.Fatal(err)
		}
		if err := s.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.Stats().Blocks; n != 10 {
		t.Fatalf("got %d blocks, want 10", n)
	}
	// encodings counts the chunks in blocks by their first byte: encD1
	// (compressed) or encD1Raw.
	encodings := func(s *Store) map[byte]int {
		t.Helper()
		n := map[byte]int{}
		for _, ser := range s.head.all() {
			ser.mu.Lock()
			for _, cm := range ser.chunks {
				if cm.blk != nil {
					b, err := cm.blk.readChunk(cm.off, 1)
					if err != nil {
						t.Fatal(err)
					}
					n[b[0]]++
				}
			}
			ser.mu.Unlock()
		}
		return n
	}
	// A flush stores its small chunks (100 samples, about 200 bytes) raw;
	// the compaction that merges the blocks compresses them.
	if got := encodings(s); got[encD1Raw] != 20 || len(got) != 1 {
		t.Fatalf("flushed chunks by encoding: %v, want 20 raw (%d)", got, encD1Raw)
	}
	// check expects sample k (ts k s, value k/4) for every k in ks.
	check := func(s *Store, ks []int) {
		t.Helper()
		for _, tw := range []string{"a", "b"} {
			pts := collect(t, s, tw, "c")
			if len(pts) != len(ks) {
				t.Fatalf("twin %s: got %d points, want %d", tw, len(pts), len(ks))
			}
			for i, p := range pts {
				k := ks[i]
				if p.TS != int64(k)*1000 || p.Value != float64(k)/4 {
					t.Fatalf("twin %s point %d = %+v, want ts=%d", tw, i, p, k*1000)
				}
			}
		}
	}
	all := make([]int, 1000)
	for i := range all {
		all[i] = i + 1
	}
	// The last sample of each 10 s interval [10j, 10j+10) s: 9, 19, ..., 999, 1000.
	var last []int
	for k := 9; k <= 999; k += 10 {
		last = append(last, k)
	}
	last = append(last, 1000)
	// Keep copies of the blocks about to be merged, to fake a crash
	// between writing the merged block and deleting its inputs.
	saved := map[string][]byte{}
	s.blocksMu.RLock()
	for _, b := range s.blocks[:8] {
		saved[b.path], _ = os.ReadFile(b.path)
	}
	s.blocksMu.RUnlock()
	if err := s.compactBlocks(); err != nil {
		t.Fatal(err)
	}
	if n := s.Stats().Blocks; n != 3 {
		t.Fatalf("after compaction got %d blocks, want 3", n)
	}
	if got := encodings(s); got[encD1] != 2 || got[encD1Raw] != 4 || len(got) != 2 {
		t.Fatalf("chunks by encoding after compaction: %v, want 2 compressed (%d) and 4 raw", got, encD1)
	}
	check(s, all)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for p, b := range saved {
		os.WriteFile(p, b, 0o644)
	}
	// Reopen: the resurrected inputs are recognised as replaced and removed.
	cfg.Downsample = []DownsampleRule{{After: time.Second, Interval: 10 * time.Second}}
	s, err = Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	check(s, all)
	for p := range saved {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Fatalf("replaced block %s still exists", p)
		}
	}
	// Downsample everything older than 1 s to the last sample per 10 s.
	for i := 0; i < 5; i++ {
		if err := s.compactBlocks(); err != nil {
			t.Fatal(err)
		}
	}
	check(s, last)
	if n := s.Stats().Blocks; n != 1 {
		t.Fatalf("after downsampling got %d blocks, want 1", n)
	}
	st, _ := s.Append(ctx, []telemetry.Sample{{Tenant: "default", Twin: "a", Channel: "c", TS: 1000 * 1000, Value: 250}})
	if st[0] != Duplicate {
		t.Fatalf("the newest sample again after downsampling: got %v, want duplicate", st[0])
	}
}

func TestDownsampleLast(t *testing.T) {
	ts := []int64{-5, 0, 3, 9, 10, 25, 29}
	vs := []float64{1, 2, 3, 4, 5, 6, 7}
	gt, gv := downsampleLast(ts, vs, 10)
	want := []int64{-5, 9, 10, 29}
	if len(gt) != len(want) {
		t.Fatalf("got %v, want %v", gt, want)
	}
	for i := range want {
		if gt[i] != want[i] {
			t.Fatalf("got %v %v, want %v", gt, gv, want)
		}
	}
}
