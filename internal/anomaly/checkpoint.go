package anomaly

import (
	"encoding/binary"
	"fmt"
)

const (
	ckptMagic   = 0x54534144 // "TSAD"
	ckptVersion = 1
)

// wireConfig is Config with fixed-size fields.
type wireConfig struct {
	Seed              int64
	Warmup            int64
	Memory            float64
	ShortSpan         float64
	CalibrationMemory float64
	Suppress          float64
	TailMass          float64
	Views             uint32
	NoEventFilter     bool
	EmitLevel         bool
	Fisher            bool
	Calm, Release     float64
	Horizon           int64
	Beta              float64
	Refractory        int64
	PerView           bool
	LevelMemory       float64
	Vigilance, Learn  float64
	RiseNorm          float64
	Compress          bool
	On, Off           float64
	CusumK, CusumH    float64
	RangeHorizon      int64
	Step              float64
}

type checkpoint struct {
	Magic   uint32
	Version uint32
	Cfg     wireConfig
	St      state
}

// StateSize is the size in bytes of a checkpoint, which holds the whole
// per-channel state (configuration included).
func StateSize() int { return binary.Size(checkpoint{}) }

// MarshalBinary checkpoints the detector: its configuration and its whole
// state, little-endian, fixed size (StateSize bytes).
func (d *Detector) MarshalBinary() ([]byte, error) {
	c := checkpoint{Magic: ckptMagic, Version: ckptVersion, St: d.st, Cfg: wireConfig{
		Seed: d.cfg.Seed, Warmup: int64(d.cfg.Warmup), Memory: d.cfg.Memory, ShortSpan: d.cfg.ShortSpan,
		CalibrationMemory: d.cfg.CalibrationMemory, Suppress: d.cfg.Suppress, TailMass: d.cfg.TailMass, Views: d.cfg.Views,
		NoEventFilter: d.cfg.NoEventFilter, EmitLevel: d.cfg.EmitLevel, Fisher: d.cfg.Fisher, Calm: d.cfg.Calm, Release: d.cfg.Release,
		Horizon: int64(d.cfg.Horizon), Beta: d.cfg.Beta, Refractory: int64(d.cfg.Refractory), PerView: d.cfg.PerView, LevelMemory: d.cfg.LevelMemory, Vigilance: d.cfg.Vigilance, Learn: d.cfg.Learn, RiseNorm: d.cfg.RiseNorm, Compress: d.cfg.Compress, On: d.cfg.On, Off: d.cfg.Off, CusumK: d.cfg.CusumK, CusumH: d.cfg.CusumH, RangeHorizon: int64(d.cfg.RangeHorizon), Step: d.cfg.Step,
	}}
	return binary.Append(make([]byte, 0, StateSize()), binary.LittleEndian, &c)
}

// UnmarshalBinary restores a detector from MarshalBinary's output,
// configuration included; the restored detector gives the same scores as
// the original for the same subsequent samples. On error d is unchanged.
func (d *Detector) UnmarshalBinary(b []byte) error {
	if len(b) != StateSize() {
		return fmt.Errorf("%w: %d bytes, want %d", ErrCheckpoint, len(b), StateSize())
	}
	var c checkpoint
	if _, err := binary.Decode(b, binary.LittleEndian, &c); err != nil {
		return fmt.Errorf("%w: %v", ErrCheckpoint, err)
	}
	if c.Magic != ckptMagic || c.Version != ckptVersion {
		return fmt.Errorf("%w: magic %#x version %d", ErrCheckpoint, c.Magic, c.Version)
	}
	cfg := Config{
		Seed: c.Cfg.Seed, Warmup: int(c.Cfg.Warmup), Memory: c.Cfg.Memory, ShortSpan: c.Cfg.ShortSpan,
		CalibrationMemory: c.Cfg.CalibrationMemory, Suppress: c.Cfg.Suppress, TailMass: c.Cfg.TailMass, Views: c.Cfg.Views,
		NoEventFilter: c.Cfg.NoEventFilter, EmitLevel: c.Cfg.EmitLevel, Fisher: c.Cfg.Fisher, Calm: c.Cfg.Calm, Release: c.Cfg.Release,
		Horizon: int(c.Cfg.Horizon), Beta: c.Cfg.Beta, Refractory: int(c.Cfg.Refractory), PerView: c.Cfg.PerView, LevelMemory: c.Cfg.LevelMemory, Vigilance: c.Cfg.Vigilance, Learn: c.Cfg.Learn, RiseNorm: c.Cfg.RiseNorm, Compress: c.Cfg.Compress, On: c.Cfg.On, Off: c.Cfg.Off, CusumK: c.Cfg.CusumK, CusumH: c.Cfg.CusumH, RangeHorizon: int(c.Cfg.RangeHorizon), Step: c.Cfg.Step,
	}
	if c.Cfg.Warmup < 0 || c.Cfg.Warmup > 1<<40 {
		return fmt.Errorf("%w: warmup %d", ErrCheckpoint, c.Cfg.Warmup)
	}
	if err := cfg.validate(); err != nil {
		return fmt.Errorf("%w: %v", ErrCheckpoint, err)
	}
	if err := c.St.validate(); err != nil {
		return fmt.Errorf("%w: %v", ErrCheckpoint, err)
	}
	d.cfg, d.st = cfg, c.St
	d.derive()
	return nil
}
