package api

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/tsingma/tsingma/internal/telemetry"
	"github.com/tsingma/tsingma/internal/testenv"
)

// BenchmarkLatest10k reads the latest values of 10,000 twins over HTTP.
func BenchmarkLatest10k(b *testing.B) {
	f := newFixture(b)
	var nd strings.Builder
	var samples []telemetry.Sample
	for i := 0; i < 10_000; i++ {
		fmt.Fprintf(&nd, `{"id":"g%d","type":"rain-gauge"}`+"\n", i)
		samples = append(samples, telemetry.Sample{Tenant: "default", Twin: fmt.Sprintf("g%d", i), Channel: "rainfall", Type: "rain-gauge", TS: f.now.UnixMilli() - 1000, Value: 1})
	}
	if code, _, body := f.do(b, "POST", "/api/v1/twins/_bulk", "application/x-ndjson", nd.String()); code != 200 {
		b.Fatal(body)
	}
	if _, err := f.st.Append(b.Context(), samples); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	cpu0 := testenv.ProcessCPU()
	for b.Loop() {
		resp, err := http.Get(f.srv.URL + "/api/v1/latest?type=rain-gauge")
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || n < 100_000 {
			b.Fatalf("status %d, %d bytes", resp.StatusCode, n)
		}
	}
	b.ReportMetric(float64(testenv.ProcessCPU()-cpu0)/float64(b.N)/1e6, "cpu-ms/query")
}
