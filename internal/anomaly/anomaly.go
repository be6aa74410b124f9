// Package anomaly is tsingma's streaming anomaly detector for one scalar
// channel. It looks at each sample once, in arrival order, with no
// look-ahead and no labels, keeps a fixed-size state of a few KiB, and
// returns an anomaly score in [0, 1) per sample.
//
// The method (docs/decisions/anomaly.md has the sources and measurements):
//
//  1. Views. Each enabled view turns the sample into a non-negative
//     statistic: the shift of a short-term mean against the long-term level
//     (ViewShift), the distance from a slow level in units of its spread
//     (ViewLevel), and how far the value lies outside the range of the
//     recent past (ViewRange) are on by default; residual, step, volatility,
//     time-of-day and prototype-window views are available.
//  2. Calibration. Each statistic is compared with its own decayed history:
//     its surprise is −log10 of the tail probability of a value at least as
//     large, empirical in the body and a peaks-over-threshold Pareto tail
//     (Hill's estimator) beyond the 98th percentile, so that it is
//     unbounded and needs no scale or range from the future.
//  3. Combination. Page's CUSUM of each view's surprise lets a run of
//     moderately surprising samples count like one very surprising sample,
//     and the views' evidence is combined with Fisher's method.
//  4. Events. Only the onset of an anomalous region is reported: a sample
//     scores when its surprise reaches On, and then the detector stays
//     silent for Refractory samples unless the region gets markedly (Step)
//     more surprising. All other samples score 0.
//
// The score of a reported sample is s/(s+10) for a surprise s, so it is
// monotone in the evidence and never saturates.
//
// A Detector is not safe for concurrent use; use one per channel.
package anomaly

import (
	"fmt"
	"math"
)

// Config is the detector's configuration. DefaultConfig is the one global
// configuration used for every channel. All fields are fixed-size so that
// the configuration travels inside a checkpoint.
type Config struct {
	// Seed is kept for reproducibility records. The method has no random
	// element: any seed gives the same scores.
	Seed int64
	// Warmup is the number of samples during which the detector only
	// learns and scores 0.
	Warmup int64
	// Views selects the views (ViewShift | ViewLevel | ...); 0 means all.
	Views uint32
	// ShortSpan is the span, in samples, of the short-term mean and level.
	ShortSpan float64
	// Memory is the time constant, in samples, of the long-term level and
	// scales of the residual, step, shift and volatility views.
	Memory float64
	// LevelMemory is the time constant, in samples, of the slow level of
	// the level view and of the range used by the pattern view.
	LevelMemory float64
	// RangeHorizon is the look-back, in samples, of the range view.
	RangeHorizon int64
	// Vigilance is the mean absolute distance (in units of the running
	// range) beyond which a window starts a new prototype in the pattern
	// view; Learn is the rate at which the nearest prototype moves.
	Vigilance, Learn float64
	// CalibrationMemory is the time constant, in samples, of the histograms
	// and tail estimates that turn statistics into tail probabilities.
	CalibrationMemory float64
	// TailMass is the probability above the tail threshold of each view's
	// peaks-over-threshold model.
	TailMass float64
	// MaxCombine takes the largest view surprise instead of Fisher's
	// combination (an ablation).
	MaxCombine bool
	// CusumK is the reference of the CUSUM of each view's surprise (and
	// of the combined surprise with CombinedCusum); a CUSUM of CusumH
	// counts as a surprise of On. CusumH = 0 disables it.
	CusumK, CusumH float64
	// CombinedCusum runs one CUSUM on the combined surprise, after Fisher's
	// combination, instead of one per view before it (1.0's method; an
	// ablation).
	CombinedCusum bool
	// On is the surprise at which a sample opens an anomalous region.
	On float64
	// Step is how much more surprising than the region's last report a
	// sample must be to be reported again within the refractory period.
	Step float64
	// Refractory is the number of samples of silence after a report.
	Refractory int64
	// Raw reports the combined surprise of every sample, without the event
	// stage (for dashboards and ablations).
	Raw bool
	// SeasonDays is the number of distinct days on which an hour-of-day
	// bin must have been seen before the season view scores (and learns
	// the calibration of) samples in it: a daily profile learnt from fewer
	// days is noise, and its early residuals would poison the view's
	// calibration. 0 scores from the first sample.
	SeasonDays int64
	// SeasonMemory is the time constant, in days, of the season view's
	// profile (each hour's mean and mean |deviation|), so that the profile
	// means the same at any sampling rate.
	SeasonMemory float64
	// LevelUntilSeason uses the level view only for samples whose
	// hour-of-day profile is not established yet (fewer than SeasonDays
	// days): the slow level stands in for the daily profile while it is
	// learnt, and for channels whose timestamps never advance. It has no
	// effect unless the season view is enabled too.
	LevelUntilSeason bool
	// RereportWeakOnly (new in 1.3) repeats only weak reports: within the
	// refractory period a sample Step more surprising than the region's
	// last report is reported again only if that report was below
	// On + Step. A report of at least On + Step already says all the
	// event stage can say (a re-report exists to promote a weak onset that
	// an alert threshold may have ignored), so the region stays silent
	// until its refractory period ends; a region is thus reported at most
	// twice per refractory period. 1.2 (false) re-reported any report that
	// a later sample beat by Step. It must stay the last field: a version-4
	// checkpoint is a version-5 one without it (see UnmarshalBinary).
	RereportWeakOnly bool
}

// The views, as bits of Config.Views.
const (
	ViewSpike   = 1 << iota // residual against the short-term level
	ViewStep                // step from the previous sample
	ViewShift               // short-term mean against the long-term level
	ViewVol                 // short-term against long-term volatility
	ViewSeason              // residual against the hour-of-day profile
	ViewLevel               // value against the slow level
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
		Views:             ViewShift | ViewLevel | ViewSeason | ViewRange,
		ShortSpan:         12,
		Memory:            500,
		LevelMemory:       5000,
		RangeHorizon:      2000,
		Vigilance:         0.05,
		Learn:             0.1,
		CalibrationMemory: 5000,
		TailMass:          0.02,
		CusumK:            1.5,
		CusumH:            10,
		On:                3,
		Step:              2,
		Refractory:        100,
		SeasonDays:        3,
		SeasonMemory:      4,
		LevelUntilSeason:  true,
		RereportWeakOnly:  true,
	}
}

func (c Config) validate() error {
	in := func(x, lo, hi float64) bool { return x >= lo && x <= hi } // false for NaN
	switch {
	case c.Warmup < 0 || c.Warmup > 1<<40:
		return fmt.Errorf("anomaly: Warmup %d must be in [0, 2^40] samples", c.Warmup)
	case c.Views&^allViews != 0:
		return fmt.Errorf("anomaly: Views %#x has unknown bits", c.Views)
	case !in(c.ShortSpan, 1, 1e7):
		return fmt.Errorf("anomaly: ShortSpan %v must be in [1, 1e7] samples", c.ShortSpan)
	case !in(c.Memory, 2, 1e8) || !in(c.LevelMemory, 2, 1e8):
		return fmt.Errorf("anomaly: Memory %v and LevelMemory %v must be in [2, 1e8] samples", c.Memory, c.LevelMemory)
	case c.RangeHorizon < numBlocks || c.RangeHorizon > 1<<30:
		return fmt.Errorf("anomaly: RangeHorizon %d must be in [%d, 2^30] samples", c.RangeHorizon, numBlocks)
	case !in(c.Vigilance, 0, 1) || !in(c.Learn, 0, 1):
		return fmt.Errorf("anomaly: Vigilance %v and Learn %v must be in [0, 1]", c.Vigilance, c.Learn)
	case !in(c.CalibrationMemory, 10, 1e8):
		return fmt.Errorf("anomaly: CalibrationMemory %v must be in [10, 1e8] samples", c.CalibrationMemory)
	case !in(c.TailMass, 1e-4, 0.5) || c.TailMass*c.CalibrationMemory < 1:
		return fmt.Errorf("anomaly: TailMass %v must be in [1e-4, 0.5] with TailMass·CalibrationMemory ≥ 1", c.TailMass)
	case !in(c.CusumK, 0, 100) || !(c.CusumH == 0 || in(c.CusumH, 1e-3, 1e6)):
		// A CusumH just above 0 (5.6e-308 in a fuzzed checkpoint) made
		// the CUSUM's surprise overflow and the score NaN (session 11).
		return fmt.Errorf("anomaly: CusumK %v must be in [0, 100] and CusumH %v 0 or in [0.001, 1e6]", c.CusumK, c.CusumH)
	case !in(c.On, 1e-3, 1e3) || !in(c.Step, 0, 1e3):
		return fmt.Errorf("anomaly: On %v must be in [0.001, 1000] and Step %v in [0, 1000]", c.On, c.Step)
	case c.Refractory < 0 || c.Refractory > 1<<30:
		return fmt.Errorf("anomaly: Refractory %d must be in [0, 2^30] samples", c.Refractory)
	case c.SeasonDays < 0 || c.SeasonDays > 1<<20:
		return fmt.Errorf("anomaly: SeasonDays %d must be in [0, 2^20] days", c.SeasonDays)
	case !in(c.SeasonMemory, 0.1, 1e5):
		return fmt.Errorf("anomaly: SeasonMemory %v must be in [0.1, 1e5] days", c.SeasonMemory)
	}
	return nil
}

// Detector scores one channel. The zero value is not usable; call New.
type Detector struct {
	// The state comes first and the caches at the next multiple of 64
	// bytes after it, so that in a heap-allocated Detector (64-byte
	// aligned: its size class is a multiple of 64) the histograms' 8-bin
	// groups, each view's 128-byte cache and the hot constants fill whole
	// cache lines; with thousands of channels an update costs mostly its
	// cache misses. TestLayout checks the alignment.
	st state
	_  [stPad]byte
	// Derived from st, not checkpointed (rebuildCache): the histograms'
	// caches.
	cache [numViews]histCache

	// What an update reads besides the state, in two cache lines (starting
	// at a multiple of 64: TestLayout): the range view's completed blocks'
	// extremes (derived from st: rebuildBlocks), constants derived from
	// cfg, and copies of the fields of cfg that every sample reads.
	blockHi, blockLo                      float64
	aMem, aSlow, aShort, aCal, cusumCap   float64 // cusumCap: a view surprise (ln units) that certainly leaves a zero CUSUM at 0
	on, tailMass, cusumH, seasonMemory    float64
	warmup                                uint64
	seasonDays                            int64
	views                                 uint32
	memN, levelMemN                       uint32 // N < memN ⇔ float64(N) < Memory (likewise LevelMemory)
	blockLen                              uint32 // samples per block of the range view
	raw, combined, maxCombine, levelUntil bool
	// scan makes the detector compute as it did before the caches (scan
	// the histograms and the range blocks, take every logarithm): the
	// reference the tests compare the fast paths with.
	scan bool

	posTail                           [numViews]tailCursor
	cfg                               Config
	aExcess, useDecay, negLogTailMass float64 // derived from cfg
	// strongReport is the surprise from which a report is not repeated
	// within its refractory period (On + Step with RereportWeakOnly,
	// otherwise +Inf).
	strongReport float64
}

// stPad pads the state to a multiple of 64 bytes (TestLayout).
const stPad = 32

// New returns a detector for one channel.
func New(cfg Config) (*Detector, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	d := &Detector{cfg: cfg}
	d.derive()
	d.st.Inc = 1
	d.rebuildCache()
	return d, nil
}

func (d *Detector) derive() {
	d.views = d.cfg.Views
	if d.views == 0 {
		d.views = allViews
	}
	d.aMem = 1 / d.cfg.Memory
	d.aShort = 2 / (d.cfg.ShortSpan + 1)
	d.aSlow = 1 / d.cfg.LevelMemory
	d.useDecay = 1 - d.aMem
	d.aCal = 1 / d.cfg.CalibrationMemory
	d.aExcess = min(1, 1/(d.cfg.TailMass*d.cfg.CalibrationMemory))
	d.negLogTailMass = -math.Log(d.cfg.TailMass)
	d.strongReport = math.Inf(1)
	if d.cfg.RereportWeakOnly {
		d.strongReport = d.cfg.On + d.cfg.Step
	}
	d.cusumCap = d.cfg.CusumK * math.Ln10 * (1 - 1e-9)
	d.on, d.tailMass, d.cusumH, d.seasonMemory = d.cfg.On, d.cfg.TailMass, d.cfg.CusumH, d.cfg.SeasonMemory
	d.warmup, d.seasonDays = uint64(d.cfg.Warmup), d.cfg.SeasonDays
	// For an integer N (exact as a float64 below 2^53, and both sides
	// false above), float64(N) < M ⇔ N < ⌈M⌉; M ≤ 1e8 fits.
	d.memN, d.levelMemN = uint32(math.Ceil(d.cfg.Memory)), uint32(math.Ceil(d.cfg.LevelMemory))
	d.blockLen = uint32(max(d.cfg.RangeHorizon/numBlocks, 1))
	d.raw, d.combined, d.maxCombine, d.levelUntil = d.cfg.Raw, d.cfg.CombinedCusum, d.cfg.MaxCombine, d.cfg.LevelUntilSeason
}

// Config returns the detector's configuration.
func (d *Detector) Config() Config { return d.cfg }

// Update feeds one sample (time in Unix milliseconds, value) and returns
// its anomaly score in [0, 1): 0 for samples that are not reported.
// Non-finite values are skipped (score 0, state unchanged); values beyond
// ±2^1020 are taken as ±2^1020 (maxMagnitude). Timestamps may
// repeat, go backwards or have gaps: the detector counts samples, and uses
// the time only to pick the hour-of-day bin of the season view. The cost
// per sample is bounded (at worst a few scans of each view's 96-bin
// histogram) and usually a few dozen operations per view, with no
// allocation.
func (d *Detector) Update(tsMillis int64, v float64) float64 {
	// The event stage reports nothing below bound, so a surprise certainly
	// below it need not be computed.
	bound := math.Inf(-1)
	if !d.raw && !d.combined {
		bound = d.on
		if d.st.Quiet > 0 {
			bound = d.rereportBar()
		}
	}
	surprise, ok, below := d.surprise(tsMillis, v, bound)
	switch {
	case !ok:
		return 0
	case below:
		if d.st.Quiet > 0 {
			d.st.Quiet-- // as event does for a sample it does not report
		}
		return 0
	case d.raw:
		return score(surprise)
	}
	return d.event(surprise)
}

// maxMagnitude bounds the values the detector learns: one beyond it is
// taken as ±maxMagnitude. The levels are means of values and the scales
// means of differences (v − level, v − previous); with values up to 2^1020
// (about 1.1e307) a difference stays below 2^1021 and every mean finite,
// where values near ±1.7e308 of both signs made v − level overflow, a
// level infinite and the checkpoint refused on restore (found by
// FuzzCacheMatchesScan in session 15's CI). No measured quantity comes
// near it; it only keeps a channel with an open range whose sensor sends
// a sentinel like −1.7e308 from losing its state at every restart.
const maxMagnitude = 0x1p1020

// surprise runs stages 1–3 on one sample: it scores the views, calibrates
// and combines them, learns the sample, and returns the combined surprise.
// ok is false for the samples that are not scored: non-finite values
// (which leave the state unchanged), the first sample and the warm-up.
// below is true, and surprise is not computed, when the surprise is
// certainly below bound (pass −Inf to always have it).
func (d *Detector) surprise(tsMillis int64, v, bound float64) (surprise float64, ok, below bool) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, false, false
	}
	v = min(max(v, -maxMagnitude), maxMagnitude)
	s := &d.st
	s.N++
	if s.N == 1 {
		d.first(v)
		return 0, false, false
	}
	// A tiny scale floor keeps constant signals finite without hiding the
	// first change: anything above it is news after a flat line.
	floor := 1e-9 * (1 + math.Abs(s.LongMean))

	var x [numViews]float64
	step := v - s.Prev
	short := s.ShortMean + d.aShort*(v-s.ShortMean)
	volFast := s.VolFast + d.aShort*(math.Abs(step)-s.VolFast)
	sb := seasonBin(tsMillis)
	x[0] = math.Abs(v-s.Level) / (s.Resid + floor)
	x[1] = math.Abs(step) / (s.StepScale + floor)
	x[2] = math.Abs(short-s.LongMean) / (s.LongDev + floor)
	if d.views&ViewVol != 0 {
		x[3] = math.Abs(math.Log((volFast + floor) / (s.VolSlow + floor)))
	}
	x[4] = math.Abs(v-s.SeasonMean[sb]) / (s.SeasonDev[sb] + floor)
	x[5] = math.Abs(v-s.SlowMean) / (s.SlowDev + floor)
	if d.views&ViewPattern != 0 {
		x[6] = d.pattern(v)
	}
	if d.views&ViewRange != 0 {
		x[7] = d.rangeStat(v)
	}
	var skip uint32
	if int64(s.SeasonDays[sb]) < d.seasonDays {
		skip |= ViewSeason // this hour's profile is not established yet
	} else if d.levelUntil && d.views&ViewSeason != 0 {
		skip |= ViewLevel
	}
	warm := s.N <= d.warmup
	if warm {
		bound = math.Inf(1) // the warm-up's surprise is not used
	}
	surprise, below = d.calibrate(&x, skip, bound)
	d.learn(v, step, short, volFast, sb, tsMillis)

	if warm {
		return 0, false, false
	}
	if below {
		return 0, true, true
	}
	if d.cusumH > 0 && d.combined {
		// Page's CUSUM on the surprise: a run of moderately surprising
		// samples adds up to the evidence of one very surprising sample.
		s.Cusum = max(0, s.Cusum+surprise-d.cfg.CusumK)
		surprise = max(surprise, s.Cusum*d.cfg.On/d.cfg.CusumH)
	}
	return surprise, true, false
}

// first initialises the levels from the first sample.
func (d *Detector) first(v float64) {
	s := &d.st
	s.Prev, s.Level, s.ShortMean, s.LongMean, s.SlowMean = v, v, v, v, v
	s.Lo, s.Hi = v, v
	for i := range s.Ring {
		s.Ring[i] = v
	}
	for i := range s.SeasonMean {
		s.SeasonMean[i] = v
	}
}

// learn updates the views' levels and scales with the sample, after it was
// scored. Long-term estimates average all samples until their memory is
// reached, so that the first samples leave no transient behind.
func (d *Detector) learn(v, step, short, volFast float64, sb int, tsMillis int64) {
	s := &d.st
	// Once N reaches the memory, 1/N ≤ 1/Memory (division is monotone),
	// so the max is aMem without dividing; likewise aSlow.
	aMem := d.aMem
	if d.scan || s.N < uint64(d.memN) {
		aMem = max(d.aMem, 1/float64(s.N))
	}
	s.Resid += aMem * (math.Abs(v-s.Level) - s.Resid)
	s.Level += d.aShort * (v - s.Level)
	s.StepScale += aMem * (math.Abs(step) - s.StepScale)
	s.ShortMean = short
	s.LongDev += aMem * (math.Abs(v-s.LongMean) - s.LongDev)
	s.LongMean += aMem * (v - s.LongMean)
	s.VolFast = volFast
	s.VolSlow += aMem * (math.Abs(step) - s.VolSlow)
	aSlow := d.aSlow
	if d.scan || s.N < uint64(d.levelMemN) {
		aSlow = max(d.aSlow, 1/float64(s.N))
	}
	s.SlowDev += aSlow * (math.Abs(v-s.SlowMean) - s.SlowDev)
	s.SlowMean += aSlow * (v - s.SlowMean)
	// The profile's memory is SeasonMemory days whatever the sampling
	// rate: in samples, SeasonMemory times the bin's samples per day.
	// In float64: the count stops at MaxUint32, where +1 in uint32 would
	// wrap to 0 and the rate become infinite (found by FuzzUnmarshalBinary).
	seen := float64(s.SeasonSeen[sb]) + 1
	aSeason := 1 / seen
	if s.SeasonDays[sb] > 0 {
		perDay := seen / float64(s.SeasonDays[sb])
		aSeason = max(aSeason, 1/(d.seasonMemory*perDay))
	}
	s.SeasonDev[sb] += aSeason * (math.Abs(v-s.SeasonMean[sb]) - s.SeasonDev[sb])
	s.SeasonMean[sb] += aSeason * (v - s.SeasonMean[sb])
	if s.SeasonSeen[sb] < math.MaxUint32 {
		s.SeasonSeen[sb]++
	}
	if day := int32(floorDiv(tsMillis, 86400_000)); s.SeasonDays[sb] == 0 || day != s.SeasonDay[sb] {
		s.SeasonDay[sb] = day
		s.SeasonDays[sb] = min(s.SeasonDays[sb]+1, 1<<30)
	}
	s.Prev = v
}

// event is the reporting stage: the onset of a region (surprise ≥ On) is
// reported, then Refractory samples of silence follow, broken only by a
// sample more surprising than the region's last report by Step.
func (d *Detector) event(surprise float64) float64 {
	s := &d.st
	if s.Quiet > 0 {
		s.Quiet--
		if surprise <= d.rereportBar() {
			return 0
		}
	} else if surprise < d.on {
		return 0
	}
	s.EventMax = surprise
	s.Quiet = uint32(d.cfg.Refractory)
	s.Cusum = 0
	s.CusumV = [numViews]float64{}
	return score(surprise)
}

// rereportBar is the surprise a sample within the refractory period must
// exceed to be reported: Step above the region's last report, or +Inf if
// that report was strong (RereportWeakOnly).
func (d *Detector) rereportBar() float64 {
	if d.st.EventMax >= d.strongReport {
		return math.Inf(1)
	}
	return d.st.EventMax + d.cfg.Step
}

// score maps a surprise (−log10 of a tail probability) to [0, 1) without
// saturating: s/(s+10), so a tail probability of 1e-10 scores 0.5. A
// surprise below 0 (a combined surprise can be, in Raw mode) scores 0:
// one of −57, from a fuzzed checkpoint, scored 1.21 (session 14).
func score(surprise float64) float64 {
	if !(surprise > 0) {
		return 0
	}
	if surprise > 1e16 {
		// Past about 1.4e17, s/(s+10) rounds to 1 (and +Inf gives NaN):
		// the largest float64 below 1.
		return 1 - 0x1p-53
	}
	return surprise / (surprise + 10)
}
