package anomaly

import "math"

// Sizes of the fixed state.
const (
	nBins         = 96 // histogram bins per view
	binsPerOctave = 4
	minOctave     = -12 // the first bin's upper edge is 2^minOctave
	seasonBins    = 24  // hours of the day
	numBlocks     = 8   // blocks of the range view's look-back
	patDim        = 8   // samples in a pattern window
	nProto        = 32  // prototype windows of the pattern view
)

// state is everything that changes, in fixed-size fields, so that it
// checkpoints with encoding/binary.
type state struct {
	N    uint64 // samples seen
	Prev float64

	Level, Resid      float64 // short-term level and mean |residual|
	StepScale         float64 // mean |step|
	ShortMean         float64 // short-term mean
	LongMean, LongDev float64 // long-term mean and mean |deviation|
	VolFast, VolSlow  float64 // short- and long-term mean |step|
	SlowMean, SlowDev float64 // slow mean and mean |deviation|

	SeasonMean [seasonBins]float64
	SeasonDev  [seasonBins]float64
	SeasonSeen [seasonBins]uint32
	SeasonDay  [seasonBins]int32  // day number of the bin's last sample
	SeasonDays [seasonBins]uint32 // distinct days on which the bin was seen

	RangeHi, RangeLo   [numBlocks]float64 // extremes of each past block
	CurHi, CurLo       float64            // extremes of the current block
	RangePos, RangeIdx uint32
	RangeBlocks        uint32 // completed blocks, up to numBlocks

	Ring    [patDim]float64 // the last patDim values
	RingPos uint32
	Lo, Hi  float64                 // running range of the values
	Protos  [nProto][patDim]float32 // prototype windows, scaled to [0, 1]
	Use     [nProto]float32         // decayed use of each prototype
	NProto  uint32

	Hist   [numViews][nBins]float64 // decayed histograms of the statistics
	Total  [numViews]float64
	Inc    float64           // histogram increment (grows instead of decaying every bin)
	Excess [numViews]float64 // mean log-excess over the tail threshold (Hill)

	Cusum    float64           // CUSUM of the combined surprise (CombinedCusum)
	CusumV   [numViews]float64 // CUSUM of each view's surprise
	Quiet    uint32            // samples left in the refractory period
	EventMax float64           // surprise of the last report
}

// rangeStat is the range view: how far v lies beyond the range of the last
// RangeHorizon samples (kept as numBlocks block extremes), in units of that
// range; 0 inside it.
func (d *Detector) rangeStat(v float64) float64 {
	s := &d.st
	x := 0.0
	if s.RangeBlocks > 0 {
		// max and min are exact and order-free, so the completed blocks'
		// extremes can be kept (d.blockHi, d.blockLo) between blocks.
		hi, lo := max(s.CurHi, d.blockHi), min(s.CurLo, d.blockLo)
		if d.scan { // the reference: the blocks one by one
			hi, lo = s.CurHi, s.CurLo
			for i := range int(s.RangeBlocks) {
				hi = max(hi, s.RangeHi[i])
				lo = min(lo, s.RangeLo[i])
			}
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
	if s.RangePos >= d.blockLen {
		s.RangeHi[s.RangeIdx], s.RangeLo[s.RangeIdx] = s.CurHi, s.CurLo
		s.RangeIdx = (s.RangeIdx + 1) % numBlocks
		s.RangeBlocks = min(s.RangeBlocks+1, numBlocks)
		s.RangePos = 0
		d.rebuildBlocks()
	}
	return x
}

// pattern is the pattern view, after fuzzy ART and leader clustering: the
// window of the last patDim values, scaled by the running range, is matched
// against a small set of prototype windows; its statistic is the mean
// absolute distance to the nearest one. The nearest prototype then moves
// towards the window or, if even the nearest is farther than Vigilance, the
// window becomes a new prototype (replacing the least used when the set is
// full).
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
			dist += abs32(x[i] - p[i])
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

// rebuildBlocks derives the extremes of the completed blocks of the range
// view.
func (d *Detector) rebuildBlocks() {
	s := &d.st
	d.blockHi, d.blockLo = math.Inf(-1), math.Inf(1)
	for i := range int(s.RangeBlocks) {
		d.blockHi = max(d.blockHi, s.RangeHi[i])
		d.blockLo = min(d.blockLo, s.RangeLo[i])
	}
}

func abs32(x float32) float32 {
	if x < 0 {
		return -x
	}
	return x
}

// seasonBin is the hour of day (UTC) of a time in Unix milliseconds.
func seasonBin(ms int64) int {
	hours := floorDiv(ms, 3600_000)
	return int(hours - floorDiv(hours, 24)*24)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}
