package store

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// ProbeSync measures the latency of the WAL's sync (datasync, as the
// committer calls it) on dir's file system: n writes of 16 KiB into a
// zero-filled file, each followed by datasync. Every acknowledgement
// waits for one such sync, so this is the floor of the ack latency and,
// with a fixed number of clients each waiting for its ack, a bound on
// their rate; it varies several-fold between machines (0.12 ms in session
// 9, 0.16-0.45 ms in session 10 on the same kind of machine).
func ProbeSync(dir string, n int) (p50, p99 time.Duration, err error) {
	name := filepath.Join(dir, "sync-probe")
	f, err := os.Create(name)
	if err != nil {
		return 0, 0, err
	}
	defer os.Remove(name)
	defer f.Close()
	block := make([]byte, 16<<10)
	if _, err := f.Write(make([]byte, n*len(block))); err != nil {
		return 0, 0, err
	}
	if err := f.Sync(); err != nil {
		return 0, 0, err
	}
	ds := make([]time.Duration, n)
	for i := range ds {
		if _, err := f.WriteAt(block, int64(i*len(block))); err != nil {
			return 0, 0, err
		}
		t0 := time.Now()
		if err := datasync(f); err != nil {
			return 0, 0, fmt.Errorf("sync: %w", err)
		}
		ds[i] = time.Since(t0)
	}
	slices.Sort(ds)
	return ds[n/2], ds[n*99/100], nil
}
