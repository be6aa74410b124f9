package store

import (
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/tsingma/tsingma/internal/telemetry"
	"github.com/tsingma/tsingma/internal/testenv"
)

// BenchmarkAppend measures durable appends: 8 writers, batches of 1,000
// samples over 10,000 series, one fsync per group commit.
func BenchmarkAppend(b *testing.B) {
	s, err := Open(Config{Dir: b.TempDir(), MaxPending: 1 << 24})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const writers, batch, series = 8, 1000, 10000
	names := make([]string, series)
	for i := range names {
		names[i] = "t" + strconv.Itoa(i)
	}
	var mu sync.Mutex
	next := 0
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := testenv.ProcessCPU()
	var wg sync.WaitGroup
	per := b.N/writers + 1
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]telemetry.Sample, batch)
			for k := 0; k < per; k++ {
				mu.Lock()
				base := next
				next += batch
				mu.Unlock()
				for i := range buf {
					n := base + i
					buf[i] = telemetry.Sample{Tenant: "default", Twin: names[n%series], Channel: "c", Type: "t", TS: int64(n/series) * 1000, Value: float64(n % 97)}
				}
				if _, err := s.Append(b.Context(), buf); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(per*writers*batch)/b.Elapsed().Seconds(), "samples/s")
	b.ReportMetric(float64(testenv.ProcessCPU()-cpu0)/float64(per*writers*batch), "cpu-ns/sample")
}

// BenchmarkWALSync compares the WAL's sync after each 20 KB record (about
// one HTTP request's group commit) in a segment that grows by appending
// against one that was zero-filled beforehand (how a busy store writes),
// with fsync and with fdatasync. Run it on the disk to be measured:
// go test -run '^$' -bench WALSync ./internal/store
func BenchmarkWALSync(b *testing.B) {
	rec := make([]byte, 20_000)
	for _, c := range []struct {
		name     string
		prealloc bool
		sync     func(*os.File) error
	}{
		{"append/fsync", false, (*os.File).Sync},
		{"append/fdatasync", false, datasync},
		{"zero-filled/fsync", true, (*os.File).Sync},
		{"zero-filled/fdatasync", true, datasync},
	} {
		b.Run(c.name, func(b *testing.B) {
			dir := b.TempDir()
			var f *os.File
			var err error
			if c.prealloc {
				if err := prepareSpare(b.Context(), dir, 256<<20); err != nil {
					b.Fatal(err)
				}
				f, err = os.OpenFile(filepath.Join(dir, spareName), os.O_WRONLY, 0)
			} else {
				f, err = os.Create(filepath.Join(dir, "seg"))
			}
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			n := 0
			for b.Loop() {
				if n += len(rec); n > 256<<20 { // stay inside the zero-filled part
					b.StopTimer()
					f.Seek(0, 0)
					n = len(rec)
					b.StartTimer()
				}
				if _, err := f.Write(rec); err != nil {
					b.Fatal(err)
				}
				if err := c.sync(f); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/sync")
		})
	}
}
