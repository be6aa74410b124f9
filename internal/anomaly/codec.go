package anomaly

import (
	"encoding/binary"
	"math"
)

// The state's checkpoint bytes are those encoding/binary writes for the
// state struct (little-endian, fields in order, no padding), written and
// read field by field: the reflection of binary.Append and binary.Decode
// took 17 and 24 us a detector (8.7 KB), a tenth of that here
// (BenchmarkCheckpoint), which is what a restart or a shutdown of 100,000
// channels pays 100,000 times. TestStateCodecMatchesEncodingBinary fails
// when a field of state is added without being added here.

// appendState appends s as binary.Append(b, binary.LittleEndian, s) would.
func appendState(b []byte, s *state) []byte {
	le := binary.LittleEndian
	f64s := func(b []byte, xs []float64) []byte {
		for _, x := range xs {
			b = le.AppendUint64(b, math.Float64bits(x))
		}
		return b
	}
	f32s := func(b []byte, xs []float32) []byte {
		for _, x := range xs {
			b = le.AppendUint32(b, math.Float32bits(x))
		}
		return b
	}
	u32s := func(b []byte, xs []uint32) []byte {
		for _, x := range xs {
			b = le.AppendUint32(b, x)
		}
		return b
	}
	b = le.AppendUint64(b, s.N)
	b = f64s(b, []float64{s.Prev, s.Level, s.Resid, s.StepScale, s.ShortMean, s.LongMean, s.LongDev, s.VolFast, s.VolSlow, s.SlowMean, s.SlowDev})
	b = f64s(b, s.SeasonMean[:])
	b = f64s(b, s.SeasonDev[:])
	b = u32s(b, s.SeasonSeen[:])
	for _, x := range s.SeasonDay {
		b = le.AppendUint32(b, uint32(x))
	}
	b = u32s(b, s.SeasonDays[:])
	b = f64s(b, s.RangeHi[:])
	b = f64s(b, s.RangeLo[:])
	b = f64s(b, []float64{s.CurHi, s.CurLo})
	b = u32s(b, []uint32{s.RangePos, s.RangeIdx, s.RangeBlocks})
	b = f64s(b, s.Ring[:])
	b = le.AppendUint32(b, s.RingPos)
	b = f64s(b, []float64{s.Lo, s.Hi})
	for i := range s.Protos {
		b = f32s(b, s.Protos[i][:])
	}
	b = f32s(b, s.Use[:])
	b = le.AppendUint32(b, s.NProto)
	for i := range s.Hist {
		b = f64s(b, s.Hist[i][:])
	}
	b = f64s(b, s.Total[:])
	b = le.AppendUint64(b, math.Float64bits(s.Inc))
	b = f64s(b, s.Excess[:])
	b = le.AppendUint64(b, math.Float64bits(s.Cusum))
	b = f64s(b, s.CusumV[:])
	b = le.AppendUint32(b, s.Quiet)
	return le.AppendUint64(b, math.Float64bits(s.EventMax))
}

// stateReader reads what appendState wrote; the caller has checked the
// length (binary.Size(state{}) bytes).
type stateReader struct{ b []byte }

func (r *stateReader) u64() uint64 {
	x := binary.LittleEndian.Uint64(r.b)
	r.b = r.b[8:]
	return x
}

func (r *stateReader) u32() uint32 {
	x := binary.LittleEndian.Uint32(r.b)
	r.b = r.b[4:]
	return x
}

func (r *stateReader) f64() float64 { return math.Float64frombits(r.u64()) }

func (r *stateReader) f64s(xs []float64) {
	for i := range xs {
		xs[i] = r.f64()
	}
}

func (r *stateReader) f32s(xs []float32) {
	for i := range xs {
		xs[i] = math.Float32frombits(r.u32())
	}
}

func (r *stateReader) u32s(xs []uint32) {
	for i := range xs {
		xs[i] = r.u32()
	}
}

// readState decodes appendState's bytes into s.
func readState(b []byte, s *state) {
	r := stateReader{b}
	s.N = r.u64()
	for _, p := range []*float64{&s.Prev, &s.Level, &s.Resid, &s.StepScale, &s.ShortMean, &s.LongMean, &s.LongDev, &s.VolFast, &s.VolSlow, &s.SlowMean, &s.SlowDev} {
		*p = r.f64()
	}
	r.f64s(s.SeasonMean[:])
	r.f64s(s.SeasonDev[:])
	r.u32s(s.SeasonSeen[:])
	for i := range s.SeasonDay {
		s.SeasonDay[i] = int32(r.u32())
	}
	r.u32s(s.SeasonDays[:])
	r.f64s(s.RangeHi[:])
	r.f64s(s.RangeLo[:])
	s.CurHi, s.CurLo = r.f64(), r.f64()
	s.RangePos, s.RangeIdx, s.RangeBlocks = r.u32(), r.u32(), r.u32()
	r.f64s(s.Ring[:])
	s.RingPos = r.u32()
	s.Lo, s.Hi = r.f64(), r.f64()
	for i := range s.Protos {
		r.f32s(s.Protos[i][:])
	}
	r.f32s(s.Use[:])
	s.NProto = r.u32()
	for i := range s.Hist {
		r.f64s(s.Hist[i][:])
	}
	r.f64s(s.Total[:])
	s.Inc = r.f64()
	r.f64s(s.Excess[:])
	s.Cusum = r.f64()
	r.f64s(s.CusumV[:])
	s.Quiet = r.u32()
	s.EventMax = r.f64()
}
