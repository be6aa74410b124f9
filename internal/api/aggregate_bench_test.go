package api

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"testing"

	"github.com/tsingma/tsingma/internal/telemetry"
	"github.com/tsingma/tsingma/internal/testenv"
)

// BenchmarkAggregate30d reads 1-minute means of 30 days of one 1 Hz
// channel (2,592,000 samples) over HTTP, from the head and from blocks.
func BenchmarkAggregate30d(b *testing.B) {
	f := newFixture(b)
	if code, _, body := f.do(b, "POST", "/api/v1/twins", "application/json", `{"id":"g","type":"rain-gauge"}`); code != 201 {
		b.Fatal(code, body)
	}
	const n = 30 * 86400
	start := f.now.Add(-40*24*3600e9).UnixMilli() / 60000 * 60000
	rng := rand.New(rand.NewPCG(1, 2))
	batch := make([]telemetry.Sample, 0, 10_000)
	v := 10.0
	for k := 0; k < n; k++ {
		v = max(0, v+rng.NormFloat64()*0.1)
		batch = append(batch, telemetry.Sample{Tenant: "default", Twin: "g", Channel: "rainfall", Type: "rain-gauge", TS: start + int64(k)*1000, Value: float64(int(v*10)) / 10})
		if len(batch) == cap(batch) {
			if _, err := f.st.Append(b.Context(), batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	url := fmt.Sprintf("%s/api/v1/twins/g/telemetry/rainfall?from=%d&to=%d&step=1m&agg=mean", f.srv.URL, start, start+n*1000-1)
	run := func(b *testing.B) {
		b.ReportAllocs()
		cpu0 := testenv.ProcessCPU()
		for b.Loop() {
			resp, err := http.Get(url)
			if err != nil {
				b.Fatal(err)
			}
			m, _ := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || m < 43_200*20 {
				b.Fatalf("status %d, %d bytes", resp.StatusCode, m)
			}
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
		b.ReportMetric(float64(testenv.ProcessCPU()-cpu0)/float64(b.N)/1e6, "cpu-ms/query")
	}
	b.Run("head", run)
	if err := f.st.Flush(b.Context()); err != nil {
		b.Fatal(err)
	}
	b.Run("blocks", run)
}
