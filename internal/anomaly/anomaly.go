// Package anomaly is tsingma's streaming anomaly detector for one scalar
// channel. It looks at each sample once, in arrival order, with no
// look-ahead and no labels, keeps a fixed-size state (a few KiB), and
// returns an anomaly score in [0, 1] per sample.
//
// The method (see docs/decisions/anomaly.md):
//
//  1. Several views of the signal each give a non-negative statistic: the
//     residual against a short-term level, the step from the previous
//     sample, the shift of a short-term mean against the long-term level,
//     the change of local volatility, and the residual against a learnt
//     time-of-day/weekday profile.
//  2. Each statistic is calibrated against its own decayed history (an
//     online histogram): its surprise is −log10 of the empirical tail
//     probability of a value at least as large. This is the
//     likelihood-style normalisation that makes one global threshold work
//     for all series; it needs no scale and no range from the future.
//  3. The views are combined by taking the largest surprise, and an event
//     filter reports only a new high over a decaying memory of what was
//     reported: the first sample of an anomalous region scores, its
//     continuation is suppressed, and a later, stronger anomaly fires again.
//
// A Detector is not safe for concurrent use; use one per channel.
package anomaly

import (
	"errors"
	"fmt"
	"math"
)

// Config is the detector's configuration. DefaultConfig is the one global
// configuration used for every channel.
type Config struct {
	// Seed makes the detector reproducible. The current method has no
	// random element; the seed is kept in the checkpoint so that a future
	// randomised view stays reproducible.
	Seed int64
	// Warmup is the number of samples during which the detector only
	// learns and scores 0.
	Warmup int
	// Memory is the time constant, in samples, of the long-term level and
	// scale estimates.
	Memory float64
	// RangeHorizon is the horizon, in samples, of the range view.
	RangeHorizon int
	// Compress feeds the views asinh(v/m) instead of v, with m the slow
	// running mean of |v|.
	Compress bool
	// Vigilance is the mean absolute distance (in units of the running
	// range) beyond which a window starts a new prototype; Learn is the
	// rate at which the nearest prototype moves towards the window.
	Vigilance, Learn float64
	// LevelMemory is the time constant, in samples, of the slow level of
	// the level view.
	LevelMemory float64
	// ShortSpan is the span, in samples, of the short-term mean and
	// volatility.
	ShortSpan float64
	// CalibrationMemory is the time constant, in samples, of the histograms
	// that turn statistics into tail probabilities.
	CalibrationMemory float64
	// Suppress is the time constant, in samples, of the decay of the
	// report memory: after an event of surprise s, a new event needs a
	// surprise above s·exp(−k/Suppress) k samples later.
	Suppress float64
	// Views selects the views by bit (ViewSpike | ViewStep | ...); 0 means
	// all.
	Views uint32
	// Calm is the combined surprise below which the signal counts as
	// normal: while it is calm the report memory decays with the shorter
	// time constant Release instead of Suppress. 0 disables this.
	Calm    float64
	Release float64
	// Horizon > 0 selects the return-period event stage: the score of a
	// sample is log10 of its return period against the largest surprise
	// of the last Horizon samples; Beta scales the surprise excess, and
	// Refractory samples follow each report in silence.
	Horizon    int
	Beta       float64
	Refractory int
	// RiseNorm > 0 divides each reported rise by the running mean of the
	// past rises (learning rate RiseNorm).
	RiseNorm float64
	// On > 0 selects the refractory event stage: every sample scores its
	// surprise, but a surprise of at least On silences the next Refractory
	// samples.
	On float64
	// CusumH > 0 adds Page's CUSUM of the surprise with reference CusumK;
	// a CUSUM of CusumH counts as a surprise of On.
	CusumK, CusumH float64
	// Step > 0 makes the stage report events only: a sample scores when
	// its surprise reaches On outside a refractory period, or exceeds the
	// event's largest reported surprise by Step within one; all others
	// score 0.
	Step float64
	// Off > 0 extends the silence while the surprise stays at or above
	// Off: the anomalous region is reported once however long it lasts.
	Off float64
	// PerView also tests each view's surprise for a record against its own
	// history; the score is the largest return period.
	PerView bool
	// TailMass is the probability above the tail threshold of each view's
	// peaks-over-threshold model.
	TailMass float64
	// Fisher combines the views' tail probabilities with Fisher's method
	// instead of taking the smallest.
	Fisher bool
	// EmitLevel reports the score of a new high itself rather than its
	// rise over the decayed memory (an ablation).
	EmitLevel bool
	// NoEventFilter reports the combined surprise of every sample instead
	// of only new highs (an ablation).
	NoEventFilter bool
}

// The views, as bits of Config.Views.
const (
	ViewSpike   = 1 << iota // residual against the short-term level
	ViewStep                // step from the previous sample
	ViewShift               // short-term mean against the long-term level
	ViewVol                 // short-term against long-term volatility
	ViewSeason              // residual against the time-of-day profile
	ViewLevel               // value against the slow long-term level
	ViewPattern             // recent window against learnt prototype windows
	ViewRange               // value beyond the range of the last RangeHorizon samples
	numViews    = iota
	allViews    = 1<<numViews - 1
)

// DefaultConfig is the single global configuration used on every channel
// (and for every NAB series).
func DefaultConfig() Config {
	return Config{
		Seed:              1,
		Warmup:            150,
		Memory:            500,
		LevelMemory:       5000,
		RangeHorizon:      2000,
		Vigilance:         0.05,
		Learn:             0.1,
		ShortSpan:         12,
		CalibrationMemory: 5000,
		Suppress:          1000,
		TailMass:          0.02,
		Views:             ViewShift | ViewLevel | ViewRange,
		Fisher:            true,
		On:                3,
		Step:              2,
		CusumK:            1.5,
		CusumH:            10,
		Refractory:        100,
	}
}

func (c Config) validate() error {
	switch {
	case c.Warmup < 0:
		return fmt.Errorf("anomaly: Warmup %d is negative", c.Warmup)
	case !(c.Memory >= 2 && c.Memory <= 1e7):
		return fmt.Errorf("anomaly: Memory %v must be in [2, 1e7] samples", c.Memory)
	case !(c.Vigilance >= 0 && c.Vigilance <= 1) || !(c.Learn >= 0 && c.Learn <= 1):
		return fmt.Errorf("anomaly: Vigilance %v and Learn %v must be in [0, 1]", c.Vigilance, c.Learn)
	case c.RangeHorizon < numBlocks || c.RangeHorizon > 1<<30:
		return fmt.Errorf("anomaly: RangeHorizon %d must be in [%d, 2^30] samples", c.RangeHorizon, numBlocks)
	case !(c.LevelMemory >= 2 && c.LevelMemory <= 1e8):
		return fmt.Errorf("anomaly: LevelMemory %v must be in [2, 1e8] samples", c.LevelMemory)
	case !(c.ShortSpan >= 1 && c.ShortSpan <= c.Memory):
		return fmt.Errorf("anomaly: ShortSpan %v must be in [1, Memory]", c.ShortSpan)
	case !(c.CalibrationMemory >= 10 && c.CalibrationMemory <= 1e8):
		return fmt.Errorf("anomaly: CalibrationMemory %v must be in [10, 1e8] samples", c.CalibrationMemory)
	case !(c.Suppress >= 1 && c.Suppress <= 1e8):
		return fmt.Errorf("anomaly: Suppress %v must be in [1, 1e8] samples", c.Suppress)
	case !(c.TailMass >= 1e-4 && c.TailMass <= 0.5):
		return fmt.Errorf("anomaly: TailMass %v must be in [1e-4, 0.5]", c.TailMass)
	case !(c.Calm >= 0 && c.Calm <= 100) || !(c.Release >= 0 && c.Release <= 1e8):
		return fmt.Errorf("anomaly: Calm %v and Release %v must be non-negative", c.Calm, c.Release)
	case c.Horizon < 0 || c.Horizon > 1<<30 || c.Refractory < 0 || c.Refractory > 1<<30 || !(c.Beta >= 0 && c.Beta <= 100):
		return fmt.Errorf("anomaly: Horizon %d, Refractory %d, Beta %v out of range", c.Horizon, c.Refractory, c.Beta)
	case c.Views&^allViews != 0:
		return fmt.Errorf("anomaly: Views %#x has unknown bits", c.Views)
	}
	return nil
}

// Histogram geometry: statistics are binned on a log2 scale, binsPerOctave
// bins per doubling, from 2^minOctave up.
const (
	nBins         = 96
	binsPerOctave = 4
	minOctave     = -12
	seasonBins    = 48 // 24 hours × {weekday, weekend}
	numBlocks     = 8
	patDim        = 8  // samples in a pattern window
	nProto        = 32 // prototype windows kept
)

// state is everything that changes, in fixed-size fields, so that it
// checkpoints with encoding/binary.
type state struct {
	N      uint64
	LastTs int64
	Prev   float64

	Level, Resid      float64 // short-term level and mean |residual|
	StepScale         float64 // mean |step|
	ShortMean         float64 // short-term mean
	LongMean, LongDev float64 // long-term mean and mean |deviation|
	VolFast, VolSlow  float64 // short- and long-term mean |step|
	SlowMean, SlowDev float64 // slow mean and mean |deviation| (LevelMemory)
	AbsMean           float64 // slow mean |value| (Compress)

	RangeHi, RangeLo   [numBlocks]float64 // max and min of each past block
	CurHi, CurLo       float64            // max and min of the current block
	RangePos, RangeIdx uint32
	RangeBlocks        uint32 // completed blocks, up to numBlocks

	Ring    [patDim]float64 // the last patDim values
	RingPos uint32
	Lo, Hi  float64                 // running range of the values
	Protos  [nProto][patDim]float32 // prototype windows, scaled to [0, 1]
	Use     [nProto]float32         // decayed use of each prototype
	NProto  uint32

	SeasonMean [seasonBins]float64
	SeasonDev  [seasonBins]float64
	SeasonSeen [seasonBins]uint32

	Hist  [numViews][nBins]float64
	Total [numViews]float64
	Inc   float64 // current histogram increment (grows instead of decaying every bin)

	Excess [numViews]float64 // mean excess over the tail threshold

	Peak float64 // decaying memory of the reported surprise

	BlockMax [numViews + 1][numBlocks]float64 // largest surprise of each past block, per view and combined
	CurMax   [numViews + 1]float64            // largest surprise of the current block
	BlockPos uint32                           // samples in the current block
	BlockIdx uint32                           // next block slot to overwrite
	Quiet    uint32                           // samples left in the refractory period
	Cusum    float64
	EventMax float64 // largest surprise reported in the current event
	MeanRise float64 // running mean of the reported rises
}

// Detector scores one channel. The zero value is not usable; call New.
type Detector struct {
	cfg   Config
	views uint32
	// derived constants
	aMem, aSlow, aShort, aCal, aExcess, useDecay, peakDecay, releaseDecay float64
	st                                                                    state
}

// New returns a detector for one channel.
func New(cfg Config) (*Detector, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	d := &Detector{cfg: cfg}
	d.derive()
	d.st.Inc = 1
	return d, nil
}

func (d *Detector) derive() {
	d.views = d.cfg.Views
	if d.views == 0 {
		d.views = allViews
	}
	d.aMem = 1 / d.cfg.Memory
	d.aShort = 2 / (d.cfg.ShortSpan + 1)
	d.aSlow = 1 / max(d.cfg.LevelMemory, 1)
	d.useDecay = 1 - d.aMem
	d.aCal = 1 / d.cfg.CalibrationMemory
	d.aExcess = min(1, 1/(d.cfg.TailMass*d.cfg.CalibrationMemory))
	d.peakDecay = math.Exp(-1 / d.cfg.Suppress)
	d.releaseDecay = d.peakDecay
	if d.cfg.Release > 0 {
		d.releaseDecay = math.Exp(-1 / d.cfg.Release)
	}
}

// Config returns the detector's configuration.
func (d *Detector) Config() Config { return d.cfg }

// Update feeds one sample (time in Unix milliseconds, value) and returns its
// anomaly score in [0, 1]. Non-finite values are ignored and score 0.
// Timestamps may repeat, go backwards or have gaps; they only select the
// time-of-day profile bin. Cost is O(1): a fixed number of operations per
// sample.
func (d *Detector) Update(tsMillis int64, v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	s := &d.st
	s.N++
	if d.cfg.Compress {
		// asinh(v/m), m the running mean |v|: linear near 0, logarithmic
		// for values far above the typical magnitude, so that bursty,
		// heavy-tailed series (counts, bytes) get comparable tails.
		s.AbsMean += max(1/float64(s.N), d.aSlow) * (math.Abs(v) - s.AbsMean)
		v = math.Asinh(v / (s.AbsMean + 1e-12))
	}
	if s.N == 1 {
		s.Prev, s.Level, s.ShortMean, s.LongMean, s.SlowMean = v, v, v, v, v
		s.Lo, s.Hi = v, v
		for i := range s.Ring {
			s.Ring[i] = v
		}
		for i := range s.SeasonMean {
			s.SeasonMean[i] = v
		}
		s.LastTs = tsMillis
		return 0
	}
	// A tiny scale floor keeps constant signals finite without hiding the
	// first change: anything above it is news after a flat line.
	floor := 1e-9 * (1 + math.Abs(s.LongMean))

	var x [numViews]float64
	step := v - s.Prev
	x[0] = math.Abs(v-s.Level) / (s.Resid + floor)
	x[1] = math.Abs(step) / (s.StepScale + floor)
	short := s.ShortMean + d.aShort*(v-s.ShortMean)
	x[2] = math.Abs(short-s.LongMean) / (s.LongDev + floor)
	volFast := s.VolFast + d.aShort*(math.Abs(step)-s.VolFast)
	x[3] = math.Abs(math.Log((volFast + floor) / (s.VolSlow + floor)))
	sb := seasonBin(tsMillis)
	x[4] = math.Abs(v-s.SeasonMean[sb]) / (s.SeasonDev[sb] + floor)
	x[5] = math.Abs(v-s.SlowMean) / (s.SlowDev + floor)
	if d.views&ViewPattern != 0 {
		x[6] = d.pattern(v)
	}
	if d.views&ViewRange != 0 {
		x[7] = d.rangeStat(v)
	}

	// Calibrate, combine, then learn.
	surprise := 0.0
	fisherT, nv := 0.0, 0
	var sv [numViews]float64
	for k := range numViews {
		if d.views&(1<<k) == 0 {
			continue
		}
		b := bin(x[k])
		if s.N > 2 {
			sk := d.surprise(k, b, x[k])
			sv[k] = sk
			surprise = max(surprise, sk)
			fisherT += sk * math.Ln10
			nv++
		}
		s.Hist[k][b] += s.Inc
		s.Total[k] += s.Inc
	}
	if d.cfg.Fisher && nv > 0 {
		// Fisher's method: P(χ²(2n) > 2T) = e^−T Σ_{j<n} T^j/j!.
		term, sum := 1.0, 1.0
		for j := 1; j < nv; j++ {
			term *= fisherT / float64(j)
			sum += term
		}
		surprise = (fisherT - math.Log(sum)) / math.Ln10
	}
	s.Inc /= 1 - d.aCal
	if s.Inc > 1e200 {
		d.rescale()
	}

	// Long-term estimates average all samples until Memory is reached, so
	// that the first samples do not leave a transient behind.
	aMem := max(d.aMem, 1/float64(s.N))
	s.Resid += aMem * (math.Abs(v-s.Level) - s.Resid)
	s.Level += d.aShort * (v - s.Level)
	s.StepScale += aMem * (math.Abs(step) - s.StepScale)
	s.ShortMean = short
	s.LongDev += aMem * (math.Abs(v-s.LongMean) - s.LongDev)
	s.LongMean += aMem * (v - s.LongMean)
	s.VolFast = volFast
	s.VolSlow += aMem * (math.Abs(step) - s.VolSlow)
	aSlow := max(d.aSlow, 1/float64(s.N))
	s.SlowDev += aSlow * (math.Abs(v-s.SlowMean) - s.SlowDev)
	s.SlowMean += aSlow * (v - s.SlowMean)
	aSeason := max(1/float64(s.SeasonSeen[sb]+1), 4*d.aMem)
	s.SeasonDev[sb] += aSeason * (math.Abs(v-s.SeasonMean[sb]) - s.SeasonDev[sb])
	s.SeasonMean[sb] += aSeason * (v - s.SeasonMean[sb])
	if s.SeasonSeen[sb] < math.MaxUint32 {
		s.SeasonSeen[sb]++
	}
	s.Prev = v
	s.LastTs = tsMillis

	if s.N <= uint64(d.cfg.Warmup) {
		if d.cfg.Horizon > 0 {
			d.record(surprise, &sv)
		}
		return 0
	}
	if d.cfg.Horizon > 0 {
		return d.record(surprise, &sv)
	}
	if d.cfg.CusumH > 0 {
		// Page's CUSUM on the surprise: a run of moderately surprising
		// samples adds up to the evidence of one very surprising sample.
		s.Cusum = max(0, s.Cusum+surprise-d.cfg.CusumK)
		surprise = max(surprise, s.Cusum*d.cfg.On/d.cfg.CusumH)
	}
	out := score(surprise)
	if d.cfg.On > 0 && d.cfg.Step > 0 {
		if s.Quiet > 0 {
			s.Quiet--
			if surprise > s.EventMax+d.cfg.Step {
				s.EventMax = surprise
				s.Quiet = uint32(d.cfg.Refractory)
				s.Cusum = 0
				return out
			}
			return 0
		}
		if surprise >= d.cfg.On {
			s.EventMax = surprise
			s.Quiet = uint32(d.cfg.Refractory)
			s.Cusum = 0
			return out
		}
		return 0
	}
	if d.cfg.On > 0 {
		if s.Quiet > 0 {
			s.Cusum = 0
			s.Quiet--
			if d.cfg.Off > 0 && surprise >= d.cfg.Off {
				// Still anomalous: the region goes on, stay silent.
				s.Quiet = uint32(d.cfg.Refractory)
			}
			return 0
		}
		if surprise >= d.cfg.On {
			s.Quiet = uint32(d.cfg.Refractory)
		}
		return out
	}
	if d.cfg.NoEventFilter {
		return out
	}
	if surprise < d.cfg.Calm {
		s.Peak *= d.releaseDecay
	} else {
		s.Peak *= d.peakDecay
	}
	if out <= s.Peak {
		return 0
	}
	rise := out - s.Peak
	s.Peak = out
	if d.cfg.EmitLevel {
		return out
	}
	if d.cfg.RiseNorm > 0 {
		if s.MeanRise == 0 {
			s.MeanRise = rise
		}
		r := rise / s.MeanRise
		s.MeanRise += d.cfg.RiseNorm * (rise - s.MeanRise)
		return r / (r + 10)
	}
	return rise
}

// record is the return-period event stage. R is the largest surprise of
// the last Horizon samples (kept as block maxima). A sample whose surprise
// S exceeds R is a record; its score is log10 of its return period,
// estimated as min(N, Horizon)·10^(S−R) samples. Other samples score 0,
// and after a record the detector stays silent for Refractory samples, so
// that an anomalous region is reported once, at its first sample.
func (d *Detector) record(surprise float64, sv *[numViews]float64) float64 {
	s := &d.st
	logN := math.Log10(float64(min(s.N, uint64(d.cfg.Horizon))))
	v := 0.0
	for k := range numViews + 1 {
		x := surprise
		if k < numViews {
			if !d.cfg.PerView || d.views&(1<<k) == 0 {
				continue
			}
			x = sv[k]
		}
		r := s.CurMax[k]
		for _, m := range s.BlockMax[k] {
			r = max(r, m)
		}
		if x > r {
			v = max(v, logN+d.cfg.Beta*(x-r))
		}
		s.CurMax[k] = max(s.CurMax[k], x)
	}
	s.BlockPos++
	if s.BlockPos >= uint32(max(d.cfg.Horizon/numBlocks, 1)) {
		for k := range numViews + 1 {
			s.BlockMax[k][s.BlockIdx] = s.CurMax[k]
			s.CurMax[k] = 0
		}
		s.BlockIdx = (s.BlockIdx + 1) % numBlocks
		s.BlockPos = 0
	}
	if s.N <= uint64(d.cfg.Warmup) {
		return 0
	}
	if s.Quiet > 0 {
		s.Quiet--
		return 0
	}
	if v <= 0 {
		return 0
	}
	s.Quiet = uint32(d.cfg.Refractory)
	return v / (v + 10)
}

// pattern is the pattern view, after fuzzy ART and leader clustering: the
// window of the last patDim values, scaled by the running range, is matched
// against a small set of prototype windows; its statistic is the mean
// absolute distance to the nearest one. The nearest prototype then moves
// towards the window, or, if even the nearest is farther than Vigilance,
// the window becomes a new prototype (replacing the least used when the set
// is full).
func (d *Detector) pattern(v float64) float64 {
	s := &d.st
	s.Ring[s.RingPos] = v
	s.RingPos = (s.RingPos + 1) % patDim
	if v < s.Lo {
		s.Lo = v
	} else {
		s.Lo += d.aSlow * (v - s.Lo)
	}
	if v > s.Hi {
		s.Hi = v
	} else {
		s.Hi += d.aSlow * (v - s.Hi)
	}
	span := s.Hi - s.Lo
	if span <= 0 {
		span = 1e-9 * (1 + math.Abs(s.Hi))
	}
	var x [patDim]float32
	for i := range patDim {
		x[i] = float32((s.Ring[(int(s.RingPos)+i)%patDim] - s.Lo) / span)
	}
	best, bestD := -1, float32(math.MaxFloat32)
	for j := range int(s.NProto) {
		var dist float32
		p := &s.Protos[j]
		for i := range patDim {
			dd := x[i] - p[i]
			if dd < 0 {
				dd = -dd
			}
			dist += dd
		}
		if dist < bestD {
			best, bestD = j, dist
		}
		s.Use[j] *= float32(d.useDecay)
	}
	bestD /= patDim
	switch {
	case best >= 0 && bestD <= float32(d.cfg.Vigilance):
		p := &s.Protos[best]
		for i := range patDim {
			p[i] += float32(d.cfg.Learn) * (x[i] - p[i])
		}
		s.Use[best]++
	case s.NProto < nProto:
		s.Protos[s.NProto] = x
		s.Use[s.NProto] = 1
		s.NProto++
	default:
		low := 0
		for j := range nProto {
			if s.Use[j] < s.Use[low] {
				low = j
			}
		}
		s.Protos[low] = x
		s.Use[low] = 1
	}
	if best < 0 {
		return 0
	}
	return float64(bestD)
}

// rangeStat is the range view: how far v lies beyond the range of the
// last RangeHorizon samples (kept as numBlocks block extremes), in units of
// that range; 0 inside it.
func (d *Detector) rangeStat(v float64) float64 {
	s := &d.st
	x := 0.0
	if s.RangeBlocks > 0 {
		hi, lo := s.CurHi, s.CurLo
		for i := range int(s.RangeBlocks) {
			hi = max(hi, s.RangeHi[i])
			lo = min(lo, s.RangeLo[i])
		}
		span := hi - lo
		if span <= 0 {
			span = 1e-9 * (1 + math.Abs(hi))
		}
		x = max(v-hi, lo-v, 0) / span
	}
	if s.RangePos == 0 {
		s.CurHi, s.CurLo = v, v
	} else {
		s.CurHi, s.CurLo = max(s.CurHi, v), min(s.CurLo, v)
	}
	s.RangePos++
	if s.RangePos >= uint32(max(d.cfg.RangeHorizon/numBlocks, 1)) {
		s.RangeHi[s.RangeIdx], s.RangeLo[s.RangeIdx] = s.CurHi, s.CurLo
		s.RangeIdx = (s.RangeIdx + 1) % numBlocks
		s.RangeBlocks = min(s.RangeBlocks+1, numBlocks)
		s.RangePos = 0
	}
	return x
}

// score maps a surprise (−log10 of a tail probability) to [0, 1) without
// saturating: s/(s+10), so a tail probability of 1e-10 scores 0.5.
func score(surprise float64) float64 {
	return surprise / (surprise + 10)
}

// surprise is −log10 of the tail probability of a statistic x (in bin b) of
// view k. Below the view's tail threshold t (its 1−TailMass quantile) it is
// the decayed empirical probability of a value at least as large; above t
// it is a peaks-over-threshold Pareto tail, TailMass·(x/t)^(−1/e), with e
// the mean of ln(x/t) over the exceedances (Hill's estimator). The tail is
// unbounded, so a value far beyond anything seen scores higher than one
// just beyond, however short the history.
func (d *Detector) surprise(k, b int, x float64) float64 {
	s := &d.st
	h := &s.Hist[k]
	need := d.cfg.TailMass * s.Total[k]
	tail := 0.0
	tb := nBins - 1
	for ; tb > 0; tb-- {
		tail += h[tb]
		if tail >= need {
			break
		}
	}
	t := binLow(tb)
	var sur float64
	if x <= t || t <= 0 || s.Excess[k] <= 0 {
		tail = 0.5 * h[b]
		for i := b + 1; i < nBins; i++ {
			tail += h[i]
		}
		sur = -math.Log10((tail + s.Inc) / (s.Total[k] + s.Inc))
	} else {
		sur = -math.Log10(d.cfg.TailMass) + math.Log(x/t)/(s.Excess[k]*math.Ln10)
	}
	if x > t && t > 0 {
		// Hill's estimator of the Pareto tail index, 1/mean(ln(x/t)),
		// as a running mean over the exceedances.
		e := math.Log(x / t)
		if s.Excess[k] > 0 {
			s.Excess[k] += d.aExcess * (e - s.Excess[k])
		} else {
			s.Excess[k] = min(e, 1)
		}
	}
	return sur
}

// binLow is the lower edge of bin b on the statistic's scale.
func binLow(b int) float64 {
	if b <= 0 {
		return 0
	}
	return math.Exp2(float64(b-1)/binsPerOctave + minOctave)
}

func (d *Detector) rescale() {
	s := &d.st
	f := 1 / s.Inc
	for k := range s.Hist {
		for i := range s.Hist[k] {
			s.Hist[k][i] *= f
		}
		s.Total[k] *= f
	}
	s.Inc = 1
}

func bin(x float64) int {
	if !(x > 0) {
		return 0
	}
	b := int(math.Floor((math.Log2(x)-minOctave)*binsPerOctave)) + 1
	return min(max(b, 0), nBins-1)
}

// seasonBin is the hour of day (UTC) plus 24 on Saturdays and Sundays.
func seasonBin(ms int64) int {
	hours := floorDiv(ms, 3600_000)
	days := floorDiv(hours, 24)
	h := int(hours - days*24)
	wd := int((days%7 + 7 + 4) % 7) // 1970-01-01 was a Thursday; 0 = Sunday
	if wd == 0 || wd == 6 {
		h += 24
	}
	return h
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// ErrCheckpoint is wrapped by UnmarshalBinary errors.
var ErrCheckpoint = errors.New("anomaly: bad checkpoint")

// validate rejects states that Update could not have produced in ways that
// would break it (non-finite or negative accumulators).
func (s *state) validate() error {
	fin := func(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
	for _, x := range []float64{s.SlowMean, s.SlowDev, s.Prev, s.Level, s.Resid, s.StepScale, s.ShortMean, s.LongMean, s.LongDev, s.VolFast, s.VolSlow, s.Peak} {
		if !fin(x) {
			return errors.New("non-finite field")
		}
	}
	if s.Resid < 0 || s.StepScale < 0 || s.LongDev < 0 || s.VolFast < 0 || s.VolSlow < 0 || s.SlowDev < 0 || s.Peak < 0 {
		return errors.New("negative scale")
	}
	if !(s.Inc >= 1 && s.Inc <= 1e300) {
		return errors.New("bad histogram increment")
	}
	for i := range s.SeasonMean {
		if !fin(s.SeasonMean[i]) || !fin(s.SeasonDev[i]) || s.SeasonDev[i] < 0 {
			return errors.New("bad season profile")
		}
	}
	for k := range s.Hist {
		if !(s.Total[k] >= 0) || math.IsInf(s.Total[k], 0) {
			return errors.New("bad histogram total")
		}
		for _, h := range s.Hist[k] {
			if !(h >= 0) || math.IsInf(h, 0) {
				return errors.New("bad histogram bin")
			}
		}
	}
	return nil
}
