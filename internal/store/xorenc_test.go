package store

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

// checkXOREnc appends the samples with xorEnc and with chunkenc's XOR
// appender and fails unless the bytes agree after every sample and
// chunkenc's iterator reads them back.
func checkXOREnc(t testing.TB, ts []int64, vs []float64) {
	t.Helper()
	var e xorEnc
	c := chunkenc.NewXORChunk()
	app, err := c.Appender()
	if err != nil {
		t.Fatal(err)
	}
	for i := range ts {
		e.append(ts[i], vs[i])
		app.Append(0, ts[i], vs[i])
		if got := e.size(); got != len(c.Bytes()) {
			t.Fatalf("after sample %d: size %d, want %d", i, got, len(c.Bytes()))
		}
		if got, want := e.bytes(), c.Bytes(); !bytes.Equal(got, want) {
			t.Fatalf("after sample %d (ts %d, value %v): bytes\n%x\nwant\n%x", i, ts[i], vs[i], got, want)
		}
	}
	// A chunk closed with finish has the same bytes, whatever its buffer
	// was started with (in place or copied), and no spare capacity.
	want := c.Bytes()
	for _, hint := range []int{0, 1, len(want) - 3, len(want), len(want) + 40, 4 * len(want)} {
		var f xorEnc
		f.start(hint)
		for i := range ts {
			f.append(ts[i], vs[i])
		}
		if got := f.finish(); !bytes.Equal(got, want) || cap(got) != len(got) {
			t.Fatalf("finish after start(%d): %x (cap %d), want %x", hint, got, cap(got), want)
		}
	}
	rd, err := chunkenc.FromData(chunkenc.EncXOR, e.bytes())
	if err != nil {
		t.Fatal(err)
	}
	iter := rd.Iterator(nil)
	for i := 0; iter.Next() != chunkenc.ValNone; i++ {
		gt, gv := iter.At()
		if gt != ts[i] || math.Float64bits(gv) != math.Float64bits(vs[i]) {
			t.Fatalf("sample %d read back as (%d, %v), want (%d, %v)", i, gt, gv, ts[i], vs[i])
		}
	}
}

func TestXOREncMatchesChunkenc(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	gens := map[string]func(i int, prevT int64, prevV float64) (int64, float64){
		"regular random walk": func(i int, pt int64, pv float64) (int64, float64) {
			return pt + 1000, math.Round((pv+rng.NormFloat64()*0.05)*100) / 100
		},
		"constant": func(i int, pt int64, pv float64) (int64, float64) { return pt + 60000, 7 },
		"jitter and random floats": func(i int, pt int64, pv float64) (int64, float64) {
			return pt + 1 + rng.Int64N(5000), rng.NormFloat64() * math.Pow(10, float64(rng.IntN(20)-10))
		},
		"gaps of every size": func(i int, pt int64, pv float64) (int64, float64) {
			return pt + 1 + rng.Int64N(int64(1)<<rng.IntN(40)), float64(rng.IntN(3))
		},
		"signed zeros, extremes, integers": func(i int, pt int64, pv float64) (int64, float64) {
			vals := []float64{0, math.Copysign(0, -1), math.MaxFloat64, -math.MaxFloat64, math.SmallestNonzeroFloat64, 1, -1, 1e300, float64(rng.Int64())}
			return pt + int64(rng.IntN(3)+1)*1000, vals[rng.IntN(len(vals))]
		},
	}
	for name, gen := range gens {
		t.Run(name, func(t *testing.T) {
			for range 50 {
				n := 1 + rng.IntN(samplesPerChunk)
				ts, vs := make([]int64, n), make([]float64, n)
				pt, pv := rng.Int64N(1<<42)-1<<41, rng.NormFloat64()
				for i := range n {
					pt, pv = gen(i, pt, pv)
					ts[i], vs[i] = pt, pv
				}
				checkXOREnc(t, ts, vs)
			}
		})
	}
}

// FuzzXOREnc: for any samples with increasing timestamps, xorEnc writes
// what chunkenc writes. Each 16 bytes of input are a timestamp step and
// a value's bits.
func FuzzXOREnc(f *testing.F) {
	seed := func(pairs ...uint64) []byte {
		var b []byte
		for _, p := range pairs {
			b = binary.LittleEndian.AppendUint64(b, p)
		}
		return b
	}
	f.Add(seed(1000, math.Float64bits(1.5), 1000, math.Float64bits(1.5), 1001, math.Float64bits(-2)))
	f.Add(seed(1, 0, 1<<40, math.Float64bits(math.Inf(1)), 3, math.Float64bits(math.NaN())))
	f.Fuzz(func(t *testing.T, b []byte) {
		var ts []int64
		var vs []float64
		var now int64 = -1 << 50
		for len(b) >= 16 && len(ts) < samplesPerChunk {
			now += 1 + int64(binary.LittleEndian.Uint64(b)>>24) // steps up to 2^40
			ts = append(ts, now)
			vs = append(vs, math.Float64frombits(binary.LittleEndian.Uint64(b[8:])))
			b = b[16:]
		}
		if len(ts) > 0 {
			checkXOREnc(t, ts, vs)
		}
	})
}

func BenchmarkXOREnc(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	vs := make([]float64, samplesPerChunk)
	for i := range vs {
		if i > 0 {
			vs[i] = math.Round((vs[i-1]+rng.NormFloat64()*0.05)*100) / 100
		}
	}
	b.Run("xorEnc", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var e xorEnc
			for i, v := range vs {
				e.append(int64(i)*1000, v)
			}
		}
		b.ReportMetric(float64(b.N*len(vs))/b.Elapsed().Seconds(), "samples/s")
	})
	b.Run("chunkenc", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			app, _ := chunkenc.NewXORChunk().Appender()
			for i, v := range vs {
				app.Append(0, int64(i)*1000, v)
			}
		}
		b.ReportMetric(float64(b.N*len(vs))/b.Elapsed().Seconds(), "samples/s")
	})
}
