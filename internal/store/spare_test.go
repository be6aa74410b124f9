package store

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// hardStop stops s as kill -9 would leave it: what was written is in the
// files, nothing is truncated or flushed to blocks.
func hardStop(s *Store) {
	s.cancel()
	s.wg.Wait()
	s.seg.bw.Flush()
	s.seg.f.Close()
	s.closeBlocks()
}

// appendUntilPrealloc appends batches of 1,000 samples of g/rain until a
// zero-filled file of cfg.SegmentSize bytes has become a segment (the
// next append writes into it), and returns the count.
func appendUntilPrealloc(t *testing.T, s *Store) int {
	t.Helper()
	n := 0
	for deadline := time.Now().Add(30 * time.Second); ; {
		if _, err := s.Append(t.Context(), gen("g", "rain", n, 1000)); err != nil {
			t.Fatal(err)
		}
		n += 1000
		seqs, err := listSegments(s.walDir)
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range seqs {
			if fi, err := os.Stat(segmentName(s.walDir, q)); err == nil && fi.Size() == s.cfg.SegmentSize {
				return n
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no zero-filled segment in use after %d samples", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestPreallocatedSegmentSurvivesCrash writes into a zero-filled segment,
// stops as a crash would (the segment keeps its zero tail), and reopens.
func TestPreallocatedSegmentSurvivesCrash(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{Dir: dir, SegmentSize: 256 << 10, MaintainEvery: time.Hour}
	s, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	n := appendUntilPrealloc(t, s)
	// More records after the first one in the zero-filled segment.
	if _, err := s.Append(t.Context(), gen("g", "rain", n, 500)); err != nil {
		t.Fatal(err)
	}
	n += 500
	seg := segmentName(filepath.Join(dir, "wal"), s.seg.seq)
	hardStop(s)
	if fi, err := os.Stat(seg); err != nil || fi.Size() != cfg.SegmentSize {
		t.Fatalf("segment %s: size %v (%v), want the zero-filled %d", seg, fi.Size(), err, cfg.SegmentSize)
	}
	s2, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	checkSeq(t, collect(t, s2, "g", "rain"), n)
	if fi, err := os.Stat(seg); err != nil || fi.Size() >= cfg.SegmentSize {
		t.Fatalf("after replay, segment %s has %v bytes (%v): its zero tail should be cut", seg, fi.Size(), err)
	}
	if w := s2.Stats().WALBytes; w <= 0 || w >= 2*cfg.SegmentSize {
		t.Errorf("WAL bytes after replay = %d: want the records' bytes, not the files'", w)
	}
	// And it still takes appends, and reopens again after a clean close.
	if _, err := s2.Append(t.Context(), gen("g", "rain", n, 10)); err != nil {
		t.Fatal(err)
	}
	if err := s2.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "wal", spareName)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("spare left after close: %v", err)
	}
	s3, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s3.Close()
	checkSeq(t, collect(t, s3, "g", "rain"), n+10)
}

// TestZeroTail covers the end of a segment's records in zero-filled
// segments: a torn record in the last one is cut, zeros after the records
// of an earlier one are its end, and data after such zeros is corruption.
func TestZeroTail(t *testing.T) {
	write := func(t *testing.T, s *Store) (dir string, seq int) {
		t.Helper()
		if _, err := s.Append(t.Context(), gen("g", "rain", 0, 100)); err != nil {
			t.Fatal(err)
		}
		return s.walDir, s.seg.seq
	}
	pad := func(t *testing.T, name string, b []byte) {
		t.Helper()
		f, err := os.OpenFile(name, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write(b); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	zeros := make([]byte, 4096)
	t.Run("torn record before zeros in the last segment", func(t *testing.T) {
		dir := t.TempDir()
		s := openT(t, dir)
		wal, seq := write(t, s)
		hardStop(s)
		// A header whose payload never reached the disk.
		pad(t, segmentName(wal, seq), append([]byte{0x20, 0, 0, 0, 9, 9, 9, 9}, zeros...))
		s2 := openT(t, dir)
		defer s2.Close()
		checkSeq(t, collect(t, s2, "g", "rain"), 100)
	})
	t.Run("zeros end an earlier segment", func(t *testing.T) {
		dir := t.TempDir()
		s := openT(t, dir)
		wal, seq := write(t, s)
		hardStop(s)
		pad(t, segmentName(wal, seq), zeros)
		// A later segment makes this one not the last.
		if err := os.WriteFile(segmentName(wal, seq+1), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		s2 := openT(t, dir)
		defer s2.Close()
		checkSeq(t, collect(t, s2, "g", "rain"), 100)
	})
	t.Run("data after the zeros of an earlier segment", func(t *testing.T) {
		dir := t.TempDir()
		s := openT(t, dir)
		wal, seq := write(t, s)
		hardStop(s)
		pad(t, segmentName(wal, seq), append(append([]byte{}, zeros...), 1))
		if err := os.WriteFile(segmentName(wal, seq+1), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Open(Config{Dir: dir})
		if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("open: got %v, want ErrCorrupt", err)
		}
	})
}
