package anomaly

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// ErrCheckpoint is wrapped by UnmarshalBinary errors.
var ErrCheckpoint = errors.New("anomaly: bad checkpoint")

const (
	ckptMagic   = 0x54534144 // "TSAD"
	ckptVersion = 5
	// ckptV4 is 1.2's version: the same layout without the last field of
	// Config (RereportWeakOnly, one byte), which restores as false, i.e.
	// as the 1.2 detector it was.
	ckptV4 = 4
)

// Version names the default configuration's method. It changes whenever
// the method or the default configuration changes (the scoring service
// keys its checkpoints and alerts on it).
const Version = "tsingma-anomaly/1.3"

type checkpoint struct {
	Magic   uint32
	Version uint32
	Cfg     Config
	St      state
}

// StateSize is the size in bytes of a checkpoint: the whole per-channel
// state, configuration included.
func StateSize() int { return binary.Size(checkpoint{}) }

// MarshalBinary checkpoints the detector: its configuration and its whole
// state, little-endian, StateSize bytes.
func (d *Detector) MarshalBinary() ([]byte, error) {
	return d.AppendBinary(make([]byte, 0, StateSize()))
}

// AppendBinary appends MarshalBinary's output to b (encoding.BinaryAppender):
// a checkpoint of many detectors writes them into one buffer, without a
// copy of each state or a buffer of its own.
func (d *Detector) AppendBinary(b []byte) ([]byte, error) {
	b = binary.LittleEndian.AppendUint32(b, ckptMagic)
	b = binary.LittleEndian.AppendUint32(b, ckptVersion)
	b, err := binary.Append(b, binary.LittleEndian, &d.cfg)
	if err != nil {
		return nil, fmt.Errorf("anomaly: checkpoint config: %w", err)
	}
	return appendState(b, &d.st), nil
}

// UnmarshalBinary restores a detector from MarshalBinary's output,
// configuration included; the restored detector then gives the same scores
// as the original for the same samples. It may be called on a zero
// Detector. On error d is unchanged.
//
// A version-4 checkpoint (1.2's, StateSize()−1 bytes) restores too, with
// RereportWeakOnly false: the detector continues as the 1.2 detector it
// was, bit for bit. Older versions are refused with ErrCheckpoint.
func (d *Detector) UnmarshalBinary(b []byte) error {
	if len(b) == StateSize()-1 && binary.LittleEndian.Uint32(b[4:]) == ckptV4 {
		// Insert RereportWeakOnly = false after the version-4 Config.
		end := 8 + binary.Size(Config{}) - 1
		v5 := make([]byte, 0, StateSize())
		v5 = append(append(append(v5, b[:end]...), 0), b[end:]...)
		binary.LittleEndian.PutUint32(v5[4:], ckptVersion)
		b = v5
	}
	if len(b) != StateSize() {
		return fmt.Errorf("%w: %d bytes, want %d", ErrCheckpoint, len(b), StateSize())
	}
	magic, version := binary.LittleEndian.Uint32(b), binary.LittleEndian.Uint32(b[4:])
	if magic != ckptMagic || version != ckptVersion {
		return fmt.Errorf("%w: magic %#x version %d, want %#x version %d", ErrCheckpoint, magic, version, ckptMagic, ckptVersion)
	}
	var cfg Config
	n, err := binary.Decode(b[8:], binary.LittleEndian, &cfg)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrCheckpoint, err)
	}
	if err := cfg.validate(); err != nil {
		return fmt.Errorf("%w: %v", ErrCheckpoint, err)
	}
	var st state
	readState(b[8+n:], &st)
	if err := st.validate(); err != nil {
		return fmt.Errorf("%w: %v", ErrCheckpoint, err)
	}
	// Only the bytes MarshalBinary writes: a bool stored as 99 decoded as
	// true and came back as 1 (found by FuzzUnmarshalBinary once it ran
	// more than a few inputs, session 11). The configuration's bools are
	// the only fields with more than one encoding; the state has none
	// (integers and floats read bit for bit), so it is not re-encoded.
	canon, err := binary.Append(make([]byte, 0, n), binary.LittleEndian, &cfg)
	if err == nil && string(canon) != string(b[8:8+n]) {
		err = errors.New("the configuration is not in the form MarshalBinary writes")
	}
	if err != nil {
		return fmt.Errorf("%w: %v", ErrCheckpoint, err)
	}
	d.cfg, d.st = cfg, st
	d.derive()
	d.rebuildCache()
	return nil
}

// validate rejects states that Update could not have produced and that
// would break it: non-finite or negative accumulators, indices out of range.
func (s *state) validate() error {
	fin := func(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
	nonneg := func(x float64) bool { return fin(x) && x >= 0 }
	for _, x := range []float64{s.Prev, s.Level, s.ShortMean, s.LongMean, s.SlowMean, s.CurHi, s.CurLo, s.Lo, s.Hi, s.EventMax} {
		if !fin(x) {
			return errors.New("non-finite level")
		}
	}
	for _, x := range []float64{s.Resid, s.StepScale, s.LongDev, s.VolFast, s.VolSlow, s.SlowDev, s.Cusum} {
		if !nonneg(x) {
			return errors.New("negative or non-finite scale")
		}
	}
	for _, x := range s.CusumV {
		if !nonneg(x) {
			return errors.New("negative or non-finite CUSUM")
		}
	}
	if s.N > 1<<62 || s.RangePos > 1<<30 || s.RangeIdx >= numBlocks || s.RangeBlocks > numBlocks || s.RingPos >= patDim || s.NProto > nProto || s.Quiet > 1<<30 {
		return errors.New("index out of range")
	}
	if !(s.Inc >= 1 && s.Inc <= 1e201) {
		return errors.New("bad histogram increment")
	}
	for i := range s.SeasonMean {
		if !fin(s.SeasonMean[i]) || !nonneg(s.SeasonDev[i]) {
			return errors.New("bad season profile")
		}
		// A bin's day is counted with one of its samples, so it has seen
		// at least as many samples as days (more days than samples made
		// its learning rate exceed 1: found by FuzzUnmarshalBinary).
		if s.SeasonDays[i] > s.SeasonSeen[i] || s.SeasonDays[i] > 1<<30 {
			return errors.New("bad season counts")
		}
	}
	for i := range s.RangeHi {
		if !fin(s.RangeHi[i]) || !fin(s.RangeLo[i]) {
			return errors.New("bad range block")
		}
	}
	for i := range s.Ring {
		if !fin(s.Ring[i]) {
			return errors.New("bad pattern window")
		}
	}
	for j := range s.Protos {
		if f := float64(s.Use[j]); !nonneg(f) {
			return errors.New("bad prototype use")
		}
		for _, p := range s.Protos[j] {
			if !fin(float64(p)) {
				return errors.New("bad prototype")
			}
		}
	}
	for k := range s.Hist {
		if !nonneg(s.Total[k]) || !nonneg(s.Excess[k]) {
			return errors.New("bad histogram total")
		}
		// The mean log-excess is a mean of logarithms of ratios above 1
		// (each at least 2^-52), so it is 0 or not far below 1e-16; one
		// of 1.4e-314 in a fuzzed checkpoint overflowed the tail's
		// surprise and the score was NaN (session 11).
		if e := s.Excess[k]; e != 0 && e < 1e-20 {
			return errors.New("bad tail excess")
		}
		for _, h := range s.Hist[k] {
			if !nonneg(h) {
				return errors.New("bad histogram bin")
			}
		}
	}
	return nil
}
