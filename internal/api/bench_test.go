package api

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/tsingma/tsingma/internal/testenv"
)

// BenchmarkPostTelemetry posts JSON batches of 1,000 samples from 8 clients
// over loopback HTTP to the full stack (decode, validate, WAL, fsync).
func BenchmarkPostTelemetry(b *testing.B) {
	f := newFixture(b)
	var nd strings.Builder
	for i := 0; i < 800; i++ {
		fmt.Fprintf(&nd, `{"id":"b%d","type":"rain-gauge"}`+"\n", i)
	}
	f.do(b, "POST", "/api/v1/twins/_bulk", "application/x-ndjson", nd.String())
	base := f.now.Add(-24 * 3600e9).UnixMilli()
	// Client w writes twins b{w*100}..b{w*100+99}, so its batches never
	// race each other.
	body := func(w, k int) string {
		var sb strings.Builder
		sb.WriteString(`{"samples":[`)
		for i := 0; i < 1000; i++ {
			if i > 0 {
				sb.WriteByte(',')
			}
			fmt.Fprintf(&sb, `{"twin":"b%d","channel":"rainfall","ts":%d,"value":%d.5}`, w*100+i%100, base+int64(k*10+i/100), i%50)
		}
		sb.WriteString(`]}`)
		return sb.String()
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := testenv.ProcessCPU()
	var wg sync.WaitGroup
	per := b.N/8 + 1
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for k := 0; k < per; k++ {
				resp, err := http.Post(f.srv.URL+"/api/v1/telemetry", "application/json", strings.NewReader(body(w, k)))
				if err != nil {
					b.Error(err)
					return
				}
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Errorf("status %d", resp.StatusCode)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	b.ReportMetric(float64(per*8*1000)/b.Elapsed().Seconds(), "samples/s")
	b.ReportMetric(float64(testenv.ProcessCPU()-cpu0)/float64(per*8*1000), "cpu-ns/sample")
}
