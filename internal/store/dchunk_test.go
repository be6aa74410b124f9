package store

import (
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
			b := encodeD1(ts, vs)
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
	f.Add(encodeD1([]int64{1, 2, 3}, []float64{0.1, 0.2, 0.35}))
	f.Add(encodeD1([]int64{5}, []float64{math.Pi}))
	f.Add([]byte{encD1, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		ts, vs, err := decodeD1(b)
		if err != nil {
			return
		}
		// Whatever decodes re-encodes to the same samples.
		gt, gv, err := decodeD1(encodeD1(ts, vs))
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
