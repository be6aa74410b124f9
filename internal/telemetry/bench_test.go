package telemetry

import (
	"fmt"
	"strings"
	"testing"
)

func BenchmarkDecodeJSON(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"samples":[`)
	for i := 0; i < 1000; i++ {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"twin":"bench-%d","channel":"c%d","ts":%d,"value":%d.%02d}`, i%100, i%10, 1700000000000+int64(i)*1000, i%50, i%97)
	}
	sb.WriteString(`]}`)
	body := []byte(sb.String())
	d := newDec()
	var items []Item
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var err error
		items, err = d.DecodeJSON(items[:0], body)
		if err != nil || len(items) != 1000 {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)*1000/b.Elapsed().Seconds(), "samples/s")
}
