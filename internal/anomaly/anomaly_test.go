package anomaly

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"reflect"
	"testing"
)

const minute = int64(60_000)

// series is a reproducible test signal: a daily cycle plus noise, sampled
// every 5 minutes, with a spike of size spike at index at (if at ≥ 0).
func series(n, at int, spike float64, seed uint64) (ts []int64, vs []float64) {
	r := rand.New(rand.NewPCG(seed, 1))
	t0 := int64(1_400_000_000_000)
	for i := range n {
		ts = append(ts, t0+int64(i)*5*minute)
		v := 50 + 10*math.Sin(2*math.Pi*float64(i)/288) + r.NormFloat64()
		if i == at {
			v += spike
		}
		vs = append(vs, v)
	}
	return ts, vs
}

func run(t *testing.T, cfg Config, ts []int64, vs []float64) []float64 {
	t.Helper()
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float64, len(vs))
	for i := range vs {
		out[i] = d.Update(ts[i], vs[i])
	}
	return out
}

func TestScoresInRange(t *testing.T) {
	ts, vs := series(5000, 3000, 40, 1)
	for name, cfg := range map[string]Config{"default": DefaultConfig(), "raw": func() Config { c := DefaultConfig(); c.Raw = true; c.Views = 0; return c }()} {
		for i, s := range run(t, cfg, ts, vs) {
			if !(s >= 0 && s < 1) {
				t.Fatalf("%s: score[%d] = %v, want in [0, 1)", name, i, s)
			}
		}
	}
}

func TestDetectsSpike(t *testing.T) {
	ts, vs := series(5000, 3000, 40, 2)
	sc := run(t, DefaultConfig(), ts, vs)
	if sc[3000] <= 0 {
		t.Fatalf("spike of 40σ at 3000 scored %v, want a report", sc[3000])
	}
	// The first samples after the warm-up can report the learning transient
	// (the platform's default learning period, 300 samples, hides them).
	for i, s := range sc {
		if i >= 300 && i != 3000 && s >= sc[3000] {
			t.Errorf("sample %d scored %v ≥ the spike's %v", i, s, sc[3000])
		}
	}
}

func TestDeterministic(t *testing.T) {
	ts, vs := series(4000, 2500, 20, 3)
	a := run(t, DefaultConfig(), ts, vs)
	other := DefaultConfig()
	other.Seed = 99
	for _, cfg := range []Config{DefaultConfig(), other} {
		b := run(t, cfg, ts, vs)
		for i := range a {
			if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
				t.Fatalf("seed %d: score[%d] = %v, first run %v", cfg.Seed, i, b[i], a[i])
			}
		}
	}
}

// TestNoLookahead changes the future of a series and checks that the scores
// up to the change are untouched.
func TestNoLookahead(t *testing.T) {
	ts, vs := series(4000, -1, 0, 4)
	cfg := DefaultConfig()
	cfg.Views = 0 // every view, the pattern view included
	a := run(t, cfg, ts, vs)
	for _, cut := range []int{1, 200, 1999, 3998} {
		future := append([]float64(nil), vs...)
		for i := cut; i < len(future); i++ {
			future[i] = -future[i] * 7
		}
		b := run(t, cfg, ts, future)
		for i := range cut {
			if a[i] != b[i] {
				t.Fatalf("cut %d: score[%d] changed from %v to %v when only the future changed", cut, i, a[i], b[i])
			}
		}
	}
}

func TestCheckpointRestore(t *testing.T) {
	ts, vs := series(6000, 4500, 30, 5)
	cfg := DefaultConfig()
	cfg.Views = 0
	want := run(t, cfg, ts, vs)
	for _, at := range []int{0, 1, 150, 3000, 4500} {
		d, _ := New(cfg)
		for i := range at {
			d.Update(ts[i], vs[i])
		}
		b, err := d.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var r Detector
		if err := r.UnmarshalBinary(b); err != nil {
			t.Fatalf("restore at %d: %v", at, err)
		}
		if r.Config() != cfg {
			t.Fatalf("restored config %+v, want %+v", r.Config(), cfg)
		}
		for i := at; i < len(vs); i++ {
			if got := r.Update(ts[i], vs[i]); got != want[i] {
				t.Fatalf("checkpoint at %d: score[%d] = %v after restore, want %v", at, i, got, want[i])
			}
		}
	}
}

// TestAppendBinaryKeepsTheLayout: AppendBinary writes the fields one by
// one; the bytes are those of the whole checkpoint struct encoded at once
// (the layout of checkpoints written before it), after what b held.
func TestAppendBinaryKeepsTheLayout(t *testing.T) {
	ts, vs := series(2000, 1500, 30, 5)
	d, _ := New(DefaultConfig())
	for i := range ts {
		d.Update(ts[i], vs[i])
	}
	want, err := binary.Append([]byte("prefix"), binary.LittleEndian, &checkpoint{Magic: ckptMagic, Version: ckptVersion, Cfg: d.cfg, St: d.st})
	if err != nil {
		t.Fatal(err)
	}
	got, err := d.AppendBinary([]byte("prefix"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("AppendBinary wrote %d bytes unlike the checkpoint struct's %d", len(got), len(want))
	}
}

func TestStateSize(t *testing.T) {
	if n := StateSize(); n > 32<<10 {
		t.Errorf("state is %d bytes per channel, want at most 32 KiB", n)
	}
	d, _ := New(DefaultConfig())
	b, _ := d.MarshalBinary()
	if len(b) != StateSize() {
		t.Errorf("checkpoint is %d bytes, StateSize says %d", len(b), StateSize())
	}
}

func TestUnmarshalRejects(t *testing.T) {
	d, _ := New(DefaultConfig())
	for i := range 500 {
		d.Update(int64(i)*minute, float64(i%7))
	}
	good, _ := d.MarshalBinary()
	corrupt := func(f func(b []byte)) []byte { b := append([]byte(nil), good...); f(b); return b }
	nan := math.Float64bits(math.NaN())
	cases := map[string][]byte{
		"empty":     nil,
		"short":     good[:len(good)-1],
		"magic":     corrupt(func(b []byte) { b[0] ^= 1 }),
		"version":   corrupt(func(b []byte) { b[4] = 99 }),
		"bad-level": corrupt(func(b []byte) { putU64(b[len(b)-8:], nan) }), // EventMax
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			before, _ := d.MarshalBinary()
			err := d.UnmarshalBinary(b)
			if !errors.Is(err, ErrCheckpoint) {
				t.Fatalf("got %v, want ErrCheckpoint", err)
			}
			after, _ := d.MarshalBinary()
			if string(before) != string(after) {
				t.Fatal("a rejected checkpoint changed the detector")
			}
		})
	}
}

func putU64(b []byte, x uint64) {
	for i := range 8 {
		b[i] = byte(x >> (8 * i))
	}
}

// TestRobust feeds awkward streams: they must give finite scores in [0, 1),
// and the change after a long constant stretch must be reported.
func TestRobust(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Views = 0
	type sample struct {
		ts int64
		v  float64
	}
	mk := func(n int, f func(i int) sample) []sample {
		out := make([]sample, n)
		for i := range out {
			out[i] = f(i)
		}
		return out
	}
	cases := map[string][]sample{
		"constant":        mk(3000, func(i int) sample { return sample{int64(i) * minute, 42} }),
		"zero":            mk(3000, func(i int) sample { return sample{int64(i) * minute, 0} }),
		"repeated-ts":     mk(3000, func(i int) sample { return sample{int64(i/10) * minute, float64(i % 13)} }),
		"backwards-ts":    mk(3000, func(i int) sample { return sample{int64(3000-i) * minute, float64(i % 5)} }),
		"gaps":            mk(3000, func(i int) sample { return sample{int64(i*i) * minute, math.Sin(float64(i))} }),
		"negative-ts":     mk(3000, func(i int) sample { return sample{-int64(i) * 997 * minute, float64(i % 3)} }),
		"huge":            mk(3000, func(i int) sample { return sample{int64(i) * minute, 1e300 * float64(i%2*2-1)} }),
		"tiny":            mk(3000, func(i int) sample { return sample{int64(i) * minute, 1e-300 * float64(i%3)} }),
		"stuck-then-move": mk(3000, func(i int) sample { return sample{int64(i) * minute, float64(min(i, 1500)/1500) * 5} }),
		"non-finite": mk(3000, func(i int) sample {
			v := float64(i % 9)
			switch i % 97 {
			case 1:
				v = math.NaN()
			case 2:
				v = math.Inf(1)
			case 3:
				v = math.Inf(-1)
			}
			return sample{int64(i) * minute, v}
		}),
	}
	for name, ss := range cases {
		t.Run(name, func(t *testing.T) {
			d, _ := New(cfg)
			for i, s := range ss {
				got := d.Update(s.ts, s.v)
				if !(got >= 0 && got < 1) {
					t.Fatalf("score[%d] = %v, want in [0, 1)", i, got)
				}
			}
			b, _ := d.MarshalBinary()
			if err := new(Detector).UnmarshalBinary(b); err != nil {
				t.Fatalf("its own checkpoint is rejected: %v", err)
			}
		})
	}
	t.Run("change-after-flat", func(t *testing.T) {
		d, _ := New(DefaultConfig())
		for i := range 2000 {
			if s := d.Update(int64(i)*minute, 7); s != 0 {
				t.Fatalf("constant signal scored %v at %d", s, i)
			}
		}
		if s := d.Update(2000*minute, 7.5); s <= 0 {
			t.Fatalf("first change after a flat line scored %v, want a report", s)
		}
	})
}

func TestConfigValidation(t *testing.T) {
	bad := map[string]func(*Config){
		"warmup":     func(c *Config) { c.Warmup = -1 },
		"views":      func(c *Config) { c.Views = 1 << 20 },
		"short":      func(c *Config) { c.ShortSpan = 0 },
		"memory":     func(c *Config) { c.Memory = math.NaN() },
		"horizon":    func(c *Config) { c.RangeHorizon = 1 },
		"vigilance":  func(c *Config) { c.Vigilance = 2 },
		"cal":        func(c *Config) { c.CalibrationMemory = 1 },
		"tail":       func(c *Config) { c.TailMass = 0.9 },
		"cusum":      func(c *Config) { c.CusumH = -1 },
		"on":         func(c *Config) { c.On = 0 },
		"refractory": func(c *Config) { c.Refractory = -5 },
		"seasondays": func(c *Config) { c.SeasonDays = -1 },
		"seasonmem":  func(c *Config) { c.SeasonMemory = 0.05 },
	}
	for name, f := range bad {
		c := DefaultConfig()
		f(&c)
		if _, err := New(c); err == nil {
			t.Errorf("%s: New accepted %+v", name, c)
		}
	}
	if _, err := New(DefaultConfig()); err != nil {
		t.Errorf("DefaultConfig rejected: %v", err)
	}
}

// FuzzUnmarshalBinary: a checkpoint either is rejected, leaving the detector
// as it was, or is accepted, re-encodes to the same bytes, and the detector
// then gives finite scores in [0, 1).
func FuzzUnmarshalBinary(f *testing.F) {
	d, _ := New(DefaultConfig())
	b, _ := d.MarshalBinary()
	f.Add(b)
	for i := range 300 {
		d.Update(int64(i)*minute, float64(i%11))
	}
	b, _ = d.MarshalBinary()
	f.Add(b)
	f.Add([]byte{})
	if v4, err := os.ReadFile("testdata/v4.ckpt"); err == nil {
		f.Add(v4)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var r Detector
		if err := r.UnmarshalBinary(b); err != nil {
			return
		}
		want := b
		if len(b) == StateSize()-1 {
			// Version 4 (1.2) comes back as version 5 with
			// RereportWeakOnly false.
			end := 8 + binary.Size(Config{}) - 1
			want = append(append(append([]byte{}, b[:end]...), 0), b[end:]...)
			binary.LittleEndian.PutUint32(want[4:], 5)
		}
		again, err := r.MarshalBinary()
		if err != nil || string(again) != string(want) {
			t.Fatalf("accepted checkpoint does not round-trip (err %v)", err)
		}
		// The caches must give the plain scans' scores from any accepted
		// state, however unlike Update's it is.
		var ref Detector
		ref.scan = true
		if err := ref.UnmarshalBinary(b); err != nil {
			t.Fatal(err)
		}
		for i := range 50 {
			s := r.Update(int64(i)*minute, float64(i))
			if !(s >= 0 && s < 1) {
				t.Fatalf("score %v after restore", s)
			}
			if want := ref.Update(int64(i)*minute, float64(i)); math.Float64bits(s) != math.Float64bits(want) {
				t.Fatalf("score[%d] = %v with the caches, %v with the scans", i, s, want)
			}
		}
		if !sameState(&r.st, &ref.st) {
			t.Fatal("state after 50 samples differs between the caches and the scans")
		}
	})
}

// BenchmarkUpdate measures the full default detector per sample.
func BenchmarkUpdate(b *testing.B) {
	for _, bc := range []struct {
		name string
		cfg  func() Config
	}{
		{"default", DefaultConfig},
		{"allviews", func() Config { c := DefaultConfig(); c.Views = 0; return c }},
		// The previous default (tsingma-anomaly/1.0), for comparison in one run.
		{"v1.0", func() Config {
			c := DefaultConfig()
			c.Views, c.LevelUntilSeason, c.CombinedCusum = ViewShift|ViewLevel|ViewRange, false, true
			return c
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ts, vs := series(1<<16, -1, 0, 6)
			d, _ := New(bc.cfg())
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				d.Update(ts[i&(1<<16-1)], vs[i&(1<<16-1)])
				i++
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "samples/s")
			b.ReportMetric(float64(StateSize()), "state-bytes")
		})
	}
}

// BenchmarkUpdateChannels feeds 1,000 default detectors round-robin, as
// the platform does with many channels: each update then finds little of
// its detector's state in the CPU caches. (docs/decisions/anomaly.md counts
// its cache misses with cachegrind, from the difference between two fixed
// iteration counts, -test.benchtime=1000000x and 2000000x.)
func BenchmarkUpdateChannels(b *testing.B) {
	const channels = 1000
	ts, vs := series(1<<16, -1, 0, 6)
	dets := make([]*Detector, channels)
	for k := range dets {
		dets[k], _ = New(DefaultConfig())
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		k := i % channels
		j := (i/channels + 97*k) & (1<<16 - 1) // each channel at its own phase
		dets[k].Update(ts[j], vs[j])
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "samples/s")
}

// daily is a square daily cycle (high from 09:00 to 18:00 UTC, low
// otherwise, plus noise) sampled every stepMin minutes for days days; on
// day missing (if ≥ 0) the high phase does not come.
func daily(days, missing, stepMin int, seed uint64) (ts []int64, vs []float64) {
	r := rand.New(rand.NewPCG(seed, 2))
	t0 := int64(1_400_025_600_000) // 2014-05-14 00:00 UTC
	perDay := 24 * 60 / stepMin
	for i := range days * perDay {
		h := (i % perDay) * stepMin / 60
		v := 20.0
		if h >= 9 && h < 18 && i/perDay != missing {
			v = 80
		}
		ts = append(ts, t0+int64(i*stepMin)*minute)
		vs = append(vs, v+2*r.NormFloat64())
	}
	return ts, vs
}

// TestSeasonMissingPeak: a day whose high phase does not come has values
// well inside the usual range, so only the hour-of-day profile can see it:
// the season view alone reports it, the level view alone does not, and at
// 5-minute sampling the default detector reports it above everything else
// after the first 3 days (the season view's CUSUM carries the evidence
// through Fisher's combination with two views that see nothing).
func TestSeasonMissingPeak(t *testing.T) {
	// The profile's memory is in days, so the view works the same at any
	// sampling rate: 1, 5 and 60 minutes (hourly samples get a longer
	// series: the refractory period and warm-up are counted in samples).
	for _, c := range []struct{ stepMin, days, missing int }{{1, 14, 10}, {5, 14, 10}, {60, 40, 30}} {
		stepMin := c.stepMin
		perDay := 24 * 60 / stepMin
		ts, vs := daily(c.days, c.missing, stepMin, 7)
		from, to := c.missing*perDay+9*perDay/24, c.missing*perDay+18*perDay/24
		best := func(sc []float64) (in, out float64) {
			for i, s := range sc {
				if i >= from && i < to {
					in = max(in, s)
				} else if i > 3*perDay {
					out = max(out, s)
				}
			}
			return in, out
		}
		season := DefaultConfig()
		season.Views = ViewSeason
		// The view's evidence, not the event stage's, is under test: with
		// 1.3's rule a region whose onset is already strong is not
		// re-reported as it grows, so its best score would be its onset's.
		season.RereportWeakOnly = false
		if in, out := best(run(t, season, ts, vs)); in == 0 || in <= out {
			t.Errorf("%d-minute samples, season view: best score in the missing peak %v, elsewhere after day 3 %v; want a report that stands out", stepMin, in, out)
		}
		level := DefaultConfig()
		level.Views = ViewLevel
		if in, _ := best(run(t, level, ts, vs)); in > 0 {
			t.Errorf("%d-minute samples: the level view scored the missing peak %v; the test no longer isolates the season view", stepMin, in)
		}
		if stepMin == 5 {
			if in, out := best(run(t, DefaultConfig(), ts, vs)); in <= out {
				t.Errorf("default detector: best score in the missing peak %v, elsewhere after day 3 %v", in, out)
			}
		}
	}
}

// TestSeasonGate: an hour's profile is not used before it was seen on
// SeasonDays distinct days, so the first days of a daily cycle are not
// reported as anomalies of the (still empty) profile, and timestamps that
// never advance keep the season view off instead of breaking it.
func TestSeasonGate(t *testing.T) {
	ts, vs := daily(3, -1, 5, 8)
	cfg := DefaultConfig()
	cfg.Views = ViewSeason
	cfg.Warmup = 0
	for i, s := range run(t, cfg, ts, vs) {
		if s != 0 {
			t.Fatalf("sample %d (day %d) scored %v before the profile had %d days", i, i/288, s, cfg.SeasonDays)
		}
	}
	same := make([]int64, len(ts))
	for i, s := range run(t, cfg, same, vs) {
		if s != 0 {
			t.Fatalf("constant timestamps: sample %d scored %v by the season view", i, s)
		}
	}
}

// TestOldCheckpoint: checkpoints of earlier formats (version 2, 8,886
// bytes, of tsingma-anomaly/1.0; version 3, 8,615 bytes, of 1.1) are refused
// with ErrCheckpoint, so the platform re-learns instead of restoring state
// it would misread; so is a version number that does not match the size.
// (Version 4, 1.2's, is read: TestRestoreV4.)
func TestOldCheckpoint(t *testing.T) {
	old := make([]byte, 8886)
	copy(old, []byte{0x44, 0x41, 0x53, 0x54, 2, 0, 0, 0}) // magic "TSAD" little-endian, version 2
	var d Detector
	if err := d.UnmarshalBinary(old); !errors.Is(err, ErrCheckpoint) {
		t.Fatalf("version-2 checkpoint: got %v, want ErrCheckpoint", err)
	}
	v3 := make([]byte, 8615)
	copy(v3, []byte{0x44, 0x41, 0x53, 0x54, 3, 0, 0, 0})
	if err := d.UnmarshalBinary(v3); !errors.Is(err, ErrCheckpoint) {
		t.Fatalf("version-3 checkpoint: got %v, want ErrCheckpoint", err)
	}
	good, _ := New(DefaultConfig())
	b, _ := good.MarshalBinary()
	b[4] = 2
	if err := d.UnmarshalBinary(b); !errors.Is(err, ErrCheckpoint) {
		t.Fatalf("current size with version 2: got %v, want ErrCheckpoint", err)
	}
	b[4] = 4
	if err := d.UnmarshalBinary(b); !errors.Is(err, ErrCheckpoint) {
		t.Fatalf("current size with version 4: got %v, want ErrCheckpoint", err)
	}
}

// v4Stream is the stream testdata/v4.ckpt and v4.scores were made from
// with the 1.2 code (commit 9fb1fe8): a daily cycle with noise and rare
// bursts at 5-minute steps; the checkpoint after 3,000 samples, the
// scores of the next 1,000 (float64 bits, little-endian).
func v4Stream() (ts []int64, vs []float64) {
	x := uint64(12345)
	rnd := func() float64 { x ^= x << 13; x ^= x >> 7; x ^= x << 17; return float64(x>>11) / (1 << 53) }
	for i := range 4000 {
		v := 10 + 5*math.Sin(2*math.Pi*float64(i)/288) + rnd()
		if i%997 == 500 {
			v += 20
		}
		if i > 3000 && i%101 < 3 {
			v += float64(i%7) * 4 * rnd()
		}
		ts = append(ts, 1_400_000_000_000+int64(i)*300_000)
		vs = append(vs, v)
	}
	return ts, vs
}

// TestRestoreV4 restores a checkpoint written by the 1.2 detector
// (version 4, one byte shorter): it continues as 1.2, with exactly the
// scores the 1.2 code gave, and in the same state as a fresh detector
// with 1.2's configuration fed the whole stream.
func TestRestoreV4(t *testing.T) {
	ckpt, err := os.ReadFile("testdata/v4.ckpt")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile("testdata/v4.scores")
	if err != nil {
		t.Fatal(err)
	}
	if len(ckpt) != StateSize()-1 {
		t.Fatalf("fixture is %d bytes, want StateSize()-1 = %d", len(ckpt), StateSize()-1)
	}
	var d Detector
	if err := d.UnmarshalBinary(ckpt); err != nil {
		t.Fatalf("version-4 checkpoint: %v", err)
	}
	cfg12 := DefaultConfig()
	cfg12.RereportWeakOnly = false
	if d.Config() != cfg12 {
		t.Fatalf("restored config %+v, want 1.2's %+v", d.Config(), cfg12)
	}
	ts, vs := v4Stream()
	fresh, _ := New(cfg12)
	for i := range 3000 {
		fresh.Update(ts[i], vs[i])
	}
	reports := 0
	for i := 3000; i < 4000; i++ {
		want := math.Float64frombits(binary.LittleEndian.Uint64(raw[8*(i-3000):]))
		if got := d.Update(ts[i], vs[i]); got != want {
			t.Fatalf("score[%d] = %v after restoring 1.2's checkpoint, 1.2 gave %v", i, got, want)
		}
		if got := fresh.Update(ts[i], vs[i]); got != want {
			t.Fatalf("score[%d] = %v with 1.2's configuration, 1.2 gave %v", i, got, want)
		}
		if want > 0 {
			reports++
		}
	}
	if reports == 0 {
		t.Fatal("the fixture's continuation has no report")
	}
	a, _ := d.MarshalBinary()
	b, _ := fresh.MarshalBinary()
	if !bytes.Equal(a, b) {
		t.Fatal("restored 1.2 detector and fresh 1.2 detector differ in state")
	}
}

// TestRereportWeakOnly drives the event stage with given surprises: 1.3
// repeats only a report below On + Step (at most one promotion per
// refractory period); 1.2 repeats any report beaten by Step.
func TestRereportWeakOnly(t *testing.T) {
	for _, tc := range []struct {
		name      string
		weakOnly  bool
		surprises []float64
		want      []bool // reported
	}{
		{"strong onset, 1.3", true, []float64{6, 9, 12}, []bool{true, false, false}},
		{"strong onset, 1.2", false, []float64{6, 9, 12}, []bool{true, true, true}},
		{"weak onset, 1.3", true, []float64{3.5, 5.4, 6, 9}, []bool{true, false, true, false}},
		{"weak onset, 1.2", false, []float64{3.5, 5.4, 6, 9}, []bool{true, false, true, true}},
		{"below On", true, []float64{2.9, 3}, []bool{false, true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.RereportWeakOnly = tc.weakOnly
			d, _ := New(cfg)
			for i, s := range tc.surprises {
				if got := d.event(s) > 0; got != tc.want[i] {
					t.Fatalf("surprise %v (#%d): reported %v, want %v", s, i, got, tc.want[i])
				}
			}
		})
	}
	// After the refractory period a new onset is reported again.
	d, _ := New(DefaultConfig())
	d.event(6)
	for range DefaultConfig().Refractory {
		if d.event(20) > 0 {
			t.Fatal("a strong report was repeated within its refractory period")
		}
	}
	if d.event(3.1) == 0 {
		t.Fatal("no onset after the refractory period")
	}
}

// TestZeroInflatedTail: a statistic that is 0 most of the time (the range
// view inside the range) still gets an unbounded tail: far beyond anything
// seen is more surprising than just beyond, by the fitted Pareto tail of
// its positive part.
func TestZeroInflatedTail(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Views = ViewRange
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(9, 9))
	surprise := func(v float64) float64 {
		var x [numViews]float64
		x[7] = v
		d.st.N++
		s, _ := d.calibrate(&x, 0, math.Inf(-1))
		return s
	}
	for range 20000 {
		v := 0.0
		if r.Float64() < 0.01 { // 1% of samples, Pareto with index 2 above 0.1
			v = 0.1 / math.Sqrt(r.Float64())
		}
		surprise(v)
	}
	probe := func(v float64) float64 {
		saved := *d
		s := surprise(v)
		*d = saved
		return s
	}
	zero, small, big, huge := probe(0), probe(1), probe(100), probe(1e4)
	if zero > 0.35 { // mid-p: half of the zeros count as "at least as large"
		t.Errorf("x = 0 has surprise %.2f, want at most log10(2)", zero)
	}
	// P(x ≥ 1) ≈ 0.01·(1/0.1)^-2 = 1e-4; P(x ≥ 100) ≈ 1e-8.
	if small < 3 || small > 5 {
		t.Errorf("x = 1 has surprise %.2f, want about 4", small)
	}
	if big < small+2 || huge < big+2 {
		t.Errorf("surprise at 1, 100, 10^4: %.2f, %.2f, %.2f; want an unbounded tail (≥ 2 decades more per 100x)", small, big, huge)
	}
}

// TestLevelStandIn: with LevelUntilSeason the level view scores while the
// hour-of-day profile is being learnt and stops once it is established;
// without the season view it keeps scoring (a level-only detector still
// reports a spike on day 10).
func TestLevelStandIn(t *testing.T) {
	ts, vs := series(5000, 3000, 40, 11)
	level := DefaultConfig()
	level.Views = ViewLevel
	if sc := run(t, level, ts, vs); sc[3000] == 0 {
		t.Errorf("level-only detector with LevelUntilSeason: the 40σ spike on day 10 scored 0")
	}
	d, _ := New(DefaultConfig())
	var skippedEarly, skippedLate bool
	for i := range 5000 {
		d.Update(ts[i], vs[i])
		if i == 200 || i == 4000 {
			established := int64(d.st.SeasonDays[seasonBin(ts[i])]) >= d.cfg.SeasonDays
			if i == 200 {
				skippedEarly = established
			} else {
				skippedLate = established
			}
		}
	}
	if skippedEarly || !skippedLate {
		t.Errorf("hour profile established at sample 200 (day 0): %v, at sample 4000 (day 13): %v; want false, true", skippedEarly, skippedLate)
	}
}

// TestStateCodecMatchesEncodingBinary: appendState and readState write
// and read what encoding/binary does for the state struct, every field
// filled with random values (so a field added to state but not to the
// codec, or out of order, fails here).
func TestStateCodecMatchesEncodingBinary(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	var fill func(v reflect.Value)
	fill = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.Struct:
			for i := range v.NumField() {
				fill(v.Field(i))
			}
		case reflect.Array:
			for i := range v.Len() {
				fill(v.Index(i))
			}
		case reflect.Float64, reflect.Float32:
			v.SetFloat(rng.NormFloat64() * 1e3)
		case reflect.Uint64, reflect.Uint32:
			v.SetUint(rng.Uint64() >> (64 - 8*v.Type().Size()))
		case reflect.Int32, reflect.Int64:
			v.SetInt(int64(rng.Uint64()) >> (64 - 8*v.Type().Size()))
		default:
			t.Fatalf("state has a field of kind %s: teach the codec and this test", v.Kind())
		}
	}
	for range 20 {
		var s state
		fill(reflect.ValueOf(&s).Elem())
		want, err := binary.Append(nil, binary.LittleEndian, &s)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendState([]byte{}, &s); !bytes.Equal(got, want) {
			t.Fatalf("appendState wrote %d bytes unlike encoding/binary's %d", len(got), len(want))
		}
		var r state
		readState(want, &r)
		if r != s {
			t.Fatal("readState did not read back what encoding/binary wrote")
		}
	}
}

// BenchmarkCheckpoint: a detector's checkpoint written and read.
func BenchmarkCheckpoint(b *testing.B) {
	ts, vs := series(4000, 3000, 30, 5)
	d, _ := New(DefaultConfig())
	for i := range ts {
		d.Update(ts[i], vs[i])
	}
	buf, _ := d.MarshalBinary()
	b.Run("append", func(b *testing.B) {
		for b.Loop() {
			buf, _ = d.AppendBinary(buf[:0])
		}
	})
	b.Run("unmarshal", func(b *testing.B) {
		var r Detector
		for b.Loop() {
			if err := r.UnmarshalBinary(buf); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestScoreRange: every surprise maps into [0, 1), the infinite and the
// huge too (s/(s+10) is 1 past 1.4e17 and NaN at +Inf).
func TestScoreRange(t *testing.T) {
	for _, s := range []float64{math.Inf(-1), -57, -1e-300, 0, 1e-300, 1, 10, 1e15, 1e16, 2e17, math.MaxFloat64, math.Inf(1), math.NaN()} {
		if got := score(s); !(got >= 0 && got < 1) {
			t.Errorf("score(%v) = %v, outside [0, 1)", s, got)
		}
	}
}

// TestHugeValuesKeepTheStateFinite: values near ±MaxFloat64 of both signs
// (a sentinel some sensors send) leave every level and scale finite, so
// the checkpoint restores (before, v − level overflowed and the level
// became infinite).
func TestHugeValuesKeepTheStateFinite(t *testing.T) {
	d, err := New(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	vs := []float64{1, 2, math.MaxFloat64, -math.MaxFloat64, 3, -1.7e308, 1.7e308, 0}
	for i := range 2000 {
		d.Update(int64(i)*60_000, vs[i%len(vs)])
		if err := d.st.validate(); err != nil {
			t.Fatalf("after sample %d (%v): %v", i, vs[i%len(vs)], err)
		}
	}
	b, err := d.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var r Detector
	if err := r.UnmarshalBinary(b); err != nil {
		t.Fatalf("the checkpoint does not restore: %v", err)
	}
}
