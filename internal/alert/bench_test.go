package alert

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/tsingma/tsingma/internal/telemetry"
)

// BenchmarkProcess measures rule evaluation on the ingest fan-out: 1,000
// twins of the default rules' types (a third with a rate-of-change rule),
// batches of 1,000 samples, values that keep every rule quiet (the common
// case: no write to the file).
func BenchmarkProcess(b *testing.B) {
	h := newHarness(b, Config{Path: filepath.Join(b.TempDir(), "alerts.db"), Defaults: DefaultRules()})
	kinds := []struct{ typ, ch string }{
		{"rain-gauge", "rainfall"}, {"extensometer", "displacement"}, {"bridge-sensor", "displacement"},
		{"vehicle", "engineTemperature"}, {"vehicle", "speed"}, {"cooling-unit", "outletTemperature"},
	}
	batch := make([]telemetry.Sample, 1000)
	for i := range batch {
		k := kinds[i%len(kinds)]
		batch[i] = telemetry.Sample{Tenant: telemetry.DefaultTenant, Twin: fmt.Sprintf("t%d", i), Channel: k.ch, Type: k.typ, Value: 1}
	}
	ts := int64(1_780_000_000_000)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		ts += 10_000
		for i := range batch {
			batch[i].TS = ts
		}
		h.e.Process(batch)
		n += len(batch)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "samples/s")
}
