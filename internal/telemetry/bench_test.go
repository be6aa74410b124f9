package telemetry

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkDecodeJSON decodes a 1,000-sample HTTP batch with the fast
// path (the default) and with the general decoder alone, in one run.
func BenchmarkDecodeJSON(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"samples":[`)
	for i := 0; i < 1000; i++ {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"twin":"bench-%d","channel":"c%d","ts":%d,"value":%d.%02d}`, i/10, i%10, 1700000000000+int64(i)*1000, i%50, i%97)
	}
	sb.WriteString(`]}`)
	body := []byte(sb.String())
	for _, c := range []struct {
		name   string
		decode func(*Decoder, []Item, []byte) ([]Item, error)
	}{{"fast", (*Decoder).DecodeJSON}, {"general", (*Decoder).generalJSON}} {
		b.Run(c.name, func(b *testing.B) {
			d := newDec()
			var items []Item
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				var err error
				items, err = c.decode(d, items[:0], body)
				if err != nil || len(items) != 1000 {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)*1000/b.Elapsed().Seconds(), "samples/s")
		})
	}
}

// BenchmarkDecodeMQTT decodes a 10-channel MQTT payload both ways.
func BenchmarkDecodeMQTT(b *testing.B) {
	body := []byte(`{"ts":1700000000000,"values":{"c0":1.25,"c1":-3,"c2":0.5,"c3":12.75,"c4":99.01,"c5":7,"c6":0,"c7":1e3,"c8":-0.125,"c9":42.42}}`)
	for _, c := range []struct {
		name   string
		decode func(*Decoder, []Item, string, []byte) ([]Item, error)
	}{{"fast", (*Decoder).DecodeMQTT}, {"general", (*Decoder).generalMQTT}} {
		b.Run(c.name, func(b *testing.B) {
			d := newDec()
			var items []Item
			b.ReportAllocs()
			for b.Loop() {
				var err error
				items, err = c.decode(d, items[:0], "g1", body)
				if err != nil || len(items) != 10 {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)*10/b.Elapsed().Seconds(), "samples/s")
		})
	}
}

// TestFastPathTakesTheCommonForms: the plain forms go the fast way (else
// FuzzFastPathAgrees would compare the general decoder with itself).
func TestFastPathTakesTheCommonForms(t *testing.T) {
	d := newDec()
	if items, ok := d.fastSamples(nil, []byte(`{"samples":[{"twin":"a","channel":"x","ts":1000,"value":1.5},{"value":2,"ts":2000,"channel":"y","twin":"b"}]}`)); !ok || len(items) != 2 || items[1].Sample.Twin != "b" || items[1].Index != 1 {
		t.Fatalf("samples form: ok %v, %+v", ok, items)
	}
	if items, ok := d.fastValues(nil, "g1", []byte(` {"values":{"rain":1.25,"x":-2},"ts":10} `)); !ok || len(items) != 2 || items[0].Sample.TS != 10 || items[1].Sample.Value != -2 {
		t.Fatalf("values form: ok %v, %+v", ok, items)
	}
	for _, body := range []string{`{"samples":[{"twin":"a","channel":"x","ts":1000,"value":"1"}]}`, `{"samples":[{"twin":"a","channel":"x","value":1}]}`, `{"samples":[],"more":1}`} {
		if _, ok := d.fastSamples(nil, []byte(body)); ok {
			t.Errorf("fast path took %s", body)
		}
	}
}
