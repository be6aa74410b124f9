package store

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func TestD1RoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	cases := map[string]func(i int) (int64, float64){
		"regular decimals": func(i int) (int64, float64) {
			return 1_700_000_000_000 + int64(i)*1000, math.Round(rng.NormFloat64()*1000) / 100
		},
		"irregular floats": func(i int) (int64, float64) { return int64(i)*1000 + int64(rng.IntN(999)), rng.Float64() * 1e6 },
		"constant":         func(i int) (int64, float64) { return int64(i) * 5000, 42 },
		"extremes": func(i int) (int64, float64) {
			return int64(i) + 1, []float64{math.MaxFloat64, -math.SmallestNonzeroFloat64, 0, math.Copysign(0, -1)}[i%4]
		},
		"big integers": func(i int) (int64, float64) { return int64(i), float64(int64(1)<<52 + int64(i)) },
	}
	for name, gen := range cases {
		t.Run(name, func(t *testing.T) {
			n := 3000
			ts, vs := make([]int64, n), make([]float64, n)
			for i := range ts {
				ts[i], vs[i] = gen(i)
			}
			b := encodeD1(ts, vs, deflateMin)
			gt, gv, err := decodeD1(b)
			if err != nil {
				t.Fatal(err)
			}
			for i := range ts {
				if gt[i] != ts[i] || math.Float64bits(gv[i]) != math.Float64bits(vs[i]) {
					t.Fatalf("sample %d: got %d %v, want %d %v", i, gt[i], gv[i], ts[i], vs[i])
				}
			}
			t.Logf("%s: %.2f bytes/sample", name, float64(len(b))/float64(n))
		})
	}
}

func FuzzDecodeD1(f *testing.F) {
	f.Add(encodeD1([]int64{1, 2, 3}, []float64{0.1, 0.2, 0.35}, deflateMin))
	f.Add(encodeD1([]int64{5}, []float64{math.Pi}, deflateMin))
	f.Add([]byte{encD1, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		ts, vs, err := decodeD1(b)
		if err != nil {
			return
		}
		// Whatever decodes re-encodes to the same samples.
		gt, gv, err := decodeD1(encodeD1(ts, vs, deflateMin))
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		for i := range ts {
			if gt[i] != ts[i] || math.Float64bits(gv[i]) != math.Float64bits(vs[i]) {
				t.Fatalf("sample %d differs after re-encoding", i)
			}
		}
	})
}

// BenchmarkEncodeD1 encodes chunks of a 1 Hz random walk quantised to
// 0.01 (the ingest bench's data) at several sizes, raw and compressed:
// DEFLATE's cost a chunk is what flushDeflateMin weighs.
func BenchmarkEncodeD1(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	ts, vs := make([]int64, 7200), make([]float64, 7200)
	v := 20.0
	for i := range ts {
		v = math.Round((v+rng.NormFloat64()*0.05)*100) / 100
		ts[i], vs[i] = 1_700_000_000_000+int64(i)*1000, v
	}
	for _, n := range []int{40, 130, 500, 7200} {
		for _, min := range []int{deflateMin, 1 << 30} {
			name := fmt.Sprintf("n=%d/deflate", n)
			if min > deflateMin {
				name = fmt.Sprintf("n=%d/raw", n)
			}
			b.Run(name, func(b *testing.B) {
				var size int
				for b.Loop() {
					size = len(encodeD1(ts[:n], vs[:n], min))
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/sample")
				b.ReportMetric(float64(size)/float64(n), "B/sample")
			})
		}
	}
}
