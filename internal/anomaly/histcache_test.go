package anomaly

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"
)

// scanTail is the tail-bin search as the detector did it before the cache:
// the first bin from the top whose suffix sum reaches need, else lo−1.
func scanTail(h *[nBins]float64, need float64, lo int) int {
	tail := 0.0
	tb := nBins - 1
	for ; tb >= lo; tb-- {
		tail += h[tb]
		if tail >= need {
			break
		}
	}
	return tb
}

// suffix is the scan's partial sum h[nBins−1] + … + h[j].
func suffix(h *[nBins]float64, j int) float64 {
	s := 0.0
	for i := nBins - 1; i >= j; i-- {
		s += h[i]
	}
	return s
}

// TestTailCursor drives one cursor through random additions and searches,
// with the thresholds placed on the partial sums themselves and between
// them (where a drifting running sum would go wrong), and checks every
// answer against the scan.
func TestTailCursor(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for trial := range 200 {
		var h [nBins]float64
		var c tailCursor
		lo := 1 + trial%2
		// Each trial favours a region of the histogram, so that the
		// cursor sits low, high or at the top.
		centre, spread := r.IntN(nBins), 1+r.IntN(nBins)
		inc := 1.0
		for step := range 2000 {
			b := min(max(centre+int(r.NormFloat64()*float64(spread)), 0), nBins-1)
			if r.IntN(50) == 0 {
				b = r.IntN(nBins)
			}
			h[b] += inc
			c.added(&h, b)
			inc *= 1 + 1e-3*r.Float64()
			var need float64
			switch r.IntN(5) {
			case 0: // exactly a partial sum: the tie must resolve like the scan
				need = suffix(&h, r.IntN(nBins))
			case 1: // one ulp either side of a partial sum
				need = math.Nextafter(suffix(&h, r.IntN(nBins)), math.Inf(2*r.IntN(2)-1))
			case 2:
				need = 0
			default:
				total := suffix(&h, 0)
				need = total * r.Float64() * r.Float64()
			}
			if got, want := c.find(&h, need, lo), scanTail(&h, need, lo); got != want {
				t.Fatalf("trial %d step %d: find(need %v, lo %d) = %d, the scan gives %d", trial, step, need, lo, got, want)
			}
		}
	}
}

// lockstep feeds the same stream to a detector using the cache and one
// scanning the histograms (the method before the cache), and fails at the
// first sample whose score or state differs in any bit. Every restoreEvery
// samples the cached detector is replaced by one restored from its
// checkpoint (0: never).
func lockstep(t *testing.T, name string, cfg Config, ts []int64, vs []float64, restoreEvery int) {
	t.Helper()
	fast, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := New(cfg)
	ref.scan = true
	for i := range vs {
		if restoreEvery > 0 && i > 0 && i%restoreEvery == 0 {
			b, err := fast.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			fast = &Detector{}
			if err := fast.UnmarshalBinary(b); err != nil {
				t.Fatalf("%s: restore at %d: %v", name, i, err)
			}
		}
		got, want := fast.Update(ts[i], vs[i]), ref.Update(ts[i], vs[i])
		if math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("%s: score[%d] = %v with the cache, %v with the scan", name, i, got, want)
		}
		// == on the struct is cheaper but takes NaN ≠ NaN and 0 = −0: the
		// bitwise comparison settles it, and runs at the end anyway.
		if (i%61 == 0 && fast.st != ref.st || i == len(vs)-1) && !sameState(&fast.st, &ref.st) {
			t.Fatalf("%s: state after sample %d differs between the cache and the scan", name, i)
		}
	}
}

// sameState compares two states bit for bit (NaN and signed zeros
// included).
func sameState(a, b *state) bool {
	var ba, bb bytes.Buffer
	if err := binary.Write(&ba, binary.LittleEndian, a); err != nil {
		panic(err)
	}
	if err := binary.Write(&bb, binary.LittleEndian, b); err != nil {
		panic(err)
	}
	return bytes.Equal(ba.Bytes(), bb.Bytes())
}

// streams are the inputs of TestCacheMatchesScan: ordinary, constant,
// zero-inflated, jumping across many decades, heavy-tailed, trending.
func streams(n int, seed uint64) map[string][]float64 {
	r := rand.New(rand.NewPCG(seed, 7))
	out := map[string][]float64{}
	gen := func(name string, f func(i int) float64) {
		vs := make([]float64, n)
		for i := range vs {
			vs[i] = f(i)
		}
		out[name] = vs
	}
	gen("noise", func(i int) float64 {
		v := 50 + 10*math.Sin(2*math.Pi*float64(i)/288) + r.NormFloat64()
		if r.IntN(500) == 0 {
			v += 40 * r.NormFloat64()
		}
		return v
	})
	gen("constant", func(int) float64 { return 7 })
	gen("zero-inflated", func(int) float64 {
		if r.IntN(200) == 0 {
			return math.Pow(10, 6*r.Float64())
		}
		return 1
	})
	gen("jumps", func(int) float64 {
		if r.IntN(2) == 0 {
			return 1e-3 * (1 + r.Float64())
		}
		return 1e12 * (1 + r.Float64())
	})
	gen("huge", func(i int) float64 {
		if r.IntN(300) == 0 {
			return math.Copysign(1e300*r.Float64(), r.NormFloat64())
		}
		return float64(i % 17)
	})
	gen("cauchy", func(int) float64 { return math.Tan(math.Pi * (r.Float64() - 0.5)) })
	gen("trend", func(i int) float64 { return float64(i) + r.Float64() })
	gen("plateaus", func(i int) float64 { return float64((i / 400) % 5) })
	gen("tiny", func(int) float64 { return 1e-300 * r.Float64() })
	return out
}

// TestCacheMatchesScan: the cached calibration gives bit-identical scores
// and states to the plain scans, on ordinary and adversarial streams, with
// every view and several configurations, across histogram rescales (a
// short calibration memory rescales every ~9,000 samples), and after
// restores from checkpoints mid-stream.
func TestCacheMatchesScan(t *testing.T) {
	n := 20000
	if testing.Short() {
		n = 10000
	}
	configs := map[string]func(*Config){
		"default":  func(*Config) {},
		"allviews": func(c *Config) { c.Views = 0 },
		"rescale": func(c *Config) {
			c.Views, c.CalibrationMemory, c.TailMass = 0, 20, 0.05
		},
		"max-raw": func(c *Config) { c.MaxCombine, c.Raw = true, true },
		"combined": func(c *Config) {
			c.CombinedCusum, c.TailMass, c.CalibrationMemory = true, 0.3, 20
		},
		"range": func(c *Config) { c.Views, c.TailMass = ViewRange, 0.001 },
		// Reports and CUSUMs on most samples: the surprise is needed
		// often, and the refractory bound (EventMax + Step) is in play.
		"eager": func(c *Config) {
			c.On, c.Step, c.Refractory, c.CusumK, c.CusumH = 0.4, 0.1, 7, 0.2, 3
		},
		// The same with 1.2's re-reports (every report can be re-reported,
		// so the bound is EventMax + Step rather than +Inf).
		"eager-1.2": func(c *Config) {
			c.On, c.Step, c.Refractory, c.CusumK, c.CusumH = 0.4, 0.1, 7, 0.2, 3
			c.RereportWeakOnly = false
		},
		"max": func(c *Config) { c.MaxCombine, c.CusumH, c.On = true, 0, 1 },
		"k0":  func(c *Config) { c.Views, c.CusumK, c.On = ViewShift|ViewLevel|ViewStep, 0, 2 },
	}
	ts := make([]int64, n)
	for i := range ts {
		ts[i] = 1_400_000_000_000 + int64(i)*5*minute
	}
	for cname, mod := range configs {
		for sname, vs := range streams(n, 1) {
			cfg := DefaultConfig()
			mod(&cfg)
			restore := 0
			if sname == "noise" || sname == "zero-inflated" || cname == "rescale" {
				restore = 9973
			}
			lockstep(t, cname+"/"+sname, cfg, ts, vs, restore)
		}
	}
}

// TestRescaleCovered makes sure TestCacheMatchesScan's "rescale"
// configuration does rescale the histograms within the stream.
func TestRescaleCovered(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Views, cfg.CalibrationMemory, cfg.TailMass = 0, 20, 0.05
	d, _ := New(cfg)
	rescales := 0
	for i := range 12000 {
		inc := d.st.Inc
		d.Update(int64(i)*minute, float64(i%13))
		if d.st.Inc < inc {
			rescales++
		}
	}
	if rescales == 0 {
		t.Fatal("no rescale in 12,000 samples with CalibrationMemory 20")
	}
}

// FuzzCacheMatchesScan runs arbitrary streams (8 bytes per value) through
// the cached and the scanning detector in lockstep.
func FuzzCacheMatchesScan(f *testing.F) {
	seed := func(vs ...float64) []byte {
		var b []byte
		for _, v := range vs {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
		}
		return b
	}
	f.Add(seed(1, 1, 1, 1, 5, 1, 1, 1e9, 1, 0, -1e300, 1e300))
	f.Add(seed(0, 1e-300, 3, math.NaN(), 2, math.Inf(1), 2, 2, 1e-3, 1e12))
	f.Fuzz(func(t *testing.T, data []byte) {
		var vs []float64
		for len(data) >= 8 {
			vs = append(vs, math.Float64frombits(binary.LittleEndian.Uint64(data)))
			data = data[8:]
		}
		// Repeat the stream so that the histograms fill up.
		n := len(vs) * max(1, 3000/max(len(vs), 1))
		ts := make([]int64, n)
		stream := make([]float64, n)
		for i := range n {
			ts[i] = int64(i) * minute
			stream[i] = vs[i%len(vs)]
		}
		cfg := DefaultConfig()
		cfg.Views, cfg.Warmup = 0, 10
		lockstep(t, "fuzz", cfg, ts, stream, 1009)
	})
}

// TestNegLogBound: the bound is above −ln p as computed (and after the
// CUSUM's conversions to log10 and back) and at most 0.032 above it.
func TestNegLogBound(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	ps := []float64{1, 2, 0.5, math.Nextafter(1, 0), math.Nextafter(0.5, 1), 0x1p-1022, 1e-300}
	for range 200000 {
		ps = append(ps, math.Exp(-40*r.Float64()*r.Float64()), 2*r.Float64())
	}
	for _, p := range ps {
		u, ok := negLogBound(p)
		if !ok {
			t.Fatalf("negLogBound(%v) refused a normal p in (0, 2]", p)
		}
		nl := -math.Log(p)
		conv := nl / math.Ln10 * math.Ln10
		if u < nl || u < conv || u > nl+0.032 {
			t.Fatalf("negLogBound(%v) = %v, −ln p = %v (%v converted)", p, u, nl, conv)
		}
	}
	for _, p := range []float64{0, -1, 2.5, math.NaN(), math.Inf(1), 0x1p-1023} {
		if _, ok := negLogBound(p); ok {
			t.Errorf("negLogBound(%v) accepted", p)
		}
	}
}

// TestLayout: the histograms, the caches and the hot constants start on
// 64-byte boundaries of the Detector, a view's cache is 128 bytes and the
// hot constants fit in 128 (see Detector). If the state's size changes,
// adjust stPad.
func TestLayout(t *testing.T) {
	var d Detector
	for _, f := range []struct {
		name string
		off  uintptr
	}{
		{"st", unsafe.Offsetof(d.st)},
		{"st.Hist", unsafe.Offsetof(d.st) + unsafe.Offsetof(d.st.Hist)},
		{"cache", unsafe.Offsetof(d.cache)},
		{"blockHi", unsafe.Offsetof(d.blockHi)},
	} {
		if f.off%64 != 0 {
			t.Errorf("%s at offset %d, want a multiple of 64 (stPad = %d)", f.name, f.off, stPad)
		}
	}
	if n := unsafe.Sizeof(histCache{}); n != 128 {
		t.Errorf("histCache is %d bytes, want 128", n)
	}
	if n := unsafe.Offsetof(d.scan) + 1 - unsafe.Offsetof(d.blockHi); n > 128 {
		t.Errorf("the hot constants (blockHi … scan) take %d bytes, want at most 128", n)
	}
}
