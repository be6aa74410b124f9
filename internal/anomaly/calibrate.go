package anomaly

import "math"

// calibrate turns the enabled views' statistics into one surprise (−log10
// of a tail probability): each view's surprise against its own history,
// raised to its CUSUM's evidence (unless CombinedCusum), combined with
// Fisher's method (or the largest, with MaxCombine). Then the
// histograms learn the statistics. Views in skip are neither scored nor
// learnt for this sample.
func (d *Detector) calibrate(x *[numViews]float64, skip uint32) float64 {
	s := &d.st
	largest, fisherT, nv := 0.0, 0.0, 0
	for k := range numViews {
		if d.views&^skip&(1<<k) == 0 {
			continue
		}
		b := bin(x[k])
		if s.N > 2 {
			nl := d.negLogTail(k, b, x[k])
			if d.cfg.CusumH > 0 && !d.cfg.CombinedCusum && s.N > uint64(d.cfg.Warmup) {
				// Page's CUSUM of the view's surprise (log10 units): a run
				// of moderately surprising values of one view adds up to
				// the evidence of one very surprising value, before
				// Fisher's combination can dilute it with views that see
				// nothing.
				nl10 := nl / math.Ln10
				s.CusumV[k] = max(0, s.CusumV[k]+nl10-d.cfg.CusumK)
				nl = max(nl10, s.CusumV[k]*d.cfg.On/d.cfg.CusumH) * math.Ln10
			}
			largest = max(largest, nl)
			fisherT += nl
			nv++
		}
		s.Hist[k][b] += s.Inc
		s.Total[k] += s.Inc
		d.cache[k].added(&s.Hist[k], b)
	}
	s.Inc /= 1 - d.aCal
	if s.Inc > 1e200 {
		d.rescale()
	}
	if d.cfg.MaxCombine || nv <= 1 {
		return largest / math.Ln10
	}
	// Fisher's method: with T = −Σ ln p_k over n views,
	// P(χ²(2n) > 2T) = e^−T Σ_{j<n} T^j/j!.
	term, sum := 1.0, 1.0
	for j := 1; j < nv; j++ {
		term *= fisherT / float64(j)
		sum += term
	}
	return (fisherT - math.Log(sum)) / math.Ln10
}

// negLogTail is −ln of the tail probability of a statistic x (in bin b) of
// view k. Below the view's tail threshold t (its 1−TailMass quantile) it is
// the decayed empirical probability of a value at least as large (half of
// b's own mass counts, plus one pseudo-count). Above t it is a
// peaks-over-threshold Pareto tail, TailMass·(x/t)^(−1/e), with e the mean
// of ln(x/t) over the exceedances (Hill's estimator of the inverse tail
// index), which it then updates. The tail is unbounded: a value far beyond
// anything seen scores higher than one just beyond, however short the
// history. When less than TailMass of the mass is above zero, the tail is
// that of the positive part: P(x > 0)·TailMass·(x/t)^(−1/e) with t the
// positive part's 1−TailMass quantile.
func (d *Detector) negLogTail(k, b int, x float64) float64 {
	s := &d.st
	if x <= 0 {
		// At or below every threshold: the body, whatever the threshold
		// is (the searches below have no effect on the result).
		return d.negLogBody(k, b)
	}
	h := &s.Hist[k]
	c := &d.cache[k]
	tb := d.tailBin(&c.tail, h, d.cfg.TailMass*s.Total[k], 1)
	t := binEdges[tb]
	zeroInflated := false
	if t <= 0 {
		// A zero-inflated statistic (the range view is 0 inside the
		// range): the tail is modelled on its positive part, so that it
		// stays unbounded however rarely the statistic is positive.
		if pos := s.Total[k] - h[0]; pos > 0 {
			tb = d.tailBin(&c.pos, h, d.cfg.TailMass*pos, 2)
			t = binEdges[tb]
			zeroInflated = true
		}
	}
	if x <= t || t <= 0 {
		return d.negLogBody(k, b)
	}
	e := math.Log(x / t)
	var nl float64
	if s.Excess[k] > 0 {
		logMass := d.negLogTailMass
		if zeroInflated {
			logMass = d.negLogTailMass - math.Log((s.Total[k]-h[0])/s.Total[k])
		}
		nl = logMass + e/s.Excess[k]
		s.Excess[k] += d.aExcess * (e - s.Excess[k])
	} else {
		// First exceedance: no tail estimate yet, so the empirical body.
		nl = d.negLogBody(k, b)
		s.Excess[k] = min(e, 1)
	}
	return nl
}

// tailBin is the tail threshold's bin: the largest bin j ≥ lo whose
// suffix mass h[nBins-1] + … + h[j], summed from the top bin down, reaches
// need, or lo−1 if none does. This is the scan from the top bin down, and
// with d.scan set it runs as one; otherwise c resumes it from where the
// last search stopped (see tailCursor).
func (d *Detector) tailBin(c *tailCursor, h *[nBins]float64, need float64, lo int) int {
	if d.scan {
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
	return c.find(h, need, lo)
}

// negLogBody is −ln of the decayed empirical probability of a statistic
// at least as large as bin b: the mass above b, half of b's own, and one
// pseudo-count. It sums the shorter side of the histogram (most statistics
// sit in low bins, often bin 0).
func (d *Detector) negLogBody(k, b int) float64 {
	s := &d.st
	h := &s.Hist[k]
	// Bins outside [lo, hi] are +0, and adding +0 to a non-negative sum
	// leaves it unchanged, so the sums skip them.
	lo, hi := 0, nBins-1
	if !d.scan {
		lo, hi = int(d.cache[k].zeroLo), nBins-1-int(d.cache[k].zeroHi)
	}
	var tail float64
	if b < nBins/2 {
		below := 0.5 * h[b]
		for i := lo; i < b; i++ {
			below += h[i]
		}
		tail = max(s.Total[k]-below, 0)
	} else {
		tail = 0.5 * h[b]
		for i := b + 1; i <= hi; i++ {
			tail += h[i]
		}
	}
	return -math.Log((tail + s.Inc) / (s.Total[k] + s.Inc))
}

// rescale divides the histograms by the grown increment.
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
	d.rebuildCache() // every partial sum changed; a bin may have underflowed to 0
}

// binEdges[b] is the lower edge of histogram bin b on the statistic's
// scale (an immutable table).
var binEdges = func() (e [nBins]float64) {
	for b := 1; b < nBins; b++ {
		e[b] = math.Exp2(float64(b-1)/binsPerOctave + minOctave)
	}
	return e
}()

// Quarter-octave boundaries of a mantissa in [1, 2).
var (
	q1 = math.Exp2(0.25)
	q2 = math.Exp2(0.5)
	q3 = math.Exp2(0.75)
)

// bin is the histogram bin of a statistic: 0 for x ≤ 2^minOctave, then
// binsPerOctave bins per doubling, the last one open-ended.
func bin(x float64) int {
	if !(x > 0) {
		return 0
	}
	if x >= binEdges[nBins-1] {
		return nBins - 1
	}
	frac, exp := math.Frexp(x) // x = frac·2^exp, frac in [0.5, 1)
	m := 2 * frac
	q := 0
	switch {
	case m >= q3:
		q = 3
	case m >= q2:
		q = 2
	case m >= q1:
		q = 1
	}
	return max((exp-1-minOctave)*binsPerOctave+q+1, 0)
}
