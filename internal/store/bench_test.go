package store

import (
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
