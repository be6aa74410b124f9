package anomaly

import "math"

// calibrate turns the enabled views' statistics into one surprise (−log10
// of a tail probability): each view's surprise against its own history,
// raised to its CUSUM's evidence (unless CombinedCusum), combined with
// Fisher's method (or the largest, with MaxCombine). Then the
// histograms learn the statistics. Views in skip are neither scored nor
// learnt for this sample.
//
// The caller needs the surprise only when it reaches bound (−Inf: always):
// below reports that it is certainly below bound, and then surprise is not
// computed. On most samples that saves the views' body probabilities (the
// sums over the histograms) and their logarithms: they are bounded from
// cached group sums instead (see bodyProbLow, certainlyBelow). The state
// changes exactly as when they are computed.
func (d *Detector) calibrate(x *[numViews]float64, skip uint32, bound float64) (surprise float64, below bool) {
	s := &d.st
	cusum := d.cusumH > 0 && !d.combined && s.N > d.warmup
	lazy := !d.scan && bound > math.Inf(-1)
	// Each view is scored on the histograms as they are before this
	// sample (views touch only their own histogram, so they are learnt
	// after all are scored). nls[k] is view k's −ln p after its CUSUM,
	// except for the views in pending: their body probability is computed
	// only if the surprise is needed. ub and largestUB bound Fisher's T and
	// the largest view from above.
	var nls [numViews]float64
	var bins [numViews]int
	var learnt, scored, pending uint32
	ub, largestUB, nv := 0.0, 0.0, 0
	for k := range numViews {
		if d.views&^skip&(1<<k) == 0 {
			continue
		}
		b := bin(x[k])
		bins[k] = b
		learnt |= 1 << k
		if s.N <= 2 {
			continue
		}
		nl, body := d.negLogTail(k, b, x[k])
		later := false
		if body && lazy && (!cusum || math.Float64bits(s.CusumV[k]) == 0) {
			// A view whose CUSUM is 0 stays at 0 if its surprise is at
			// most CusumK; its contribution is then −ln p, up to the
			// rounding of the conversions, which u covers.
			u, ok := negLogBound(d.bodyProbLow(k, b))
			if later = ok && (!cusum || u <= d.cusumCap); later {
				pending |= 1 << k
				nl = u
			}
		}
		if !later {
			if body {
				nl = -math.Log(d.bodyProb(k, b))
			}
			if cusum {
				nl = d.viewCusum(k, nl)
			}
			nls[k] = nl
		}
		largestUB = max(largestUB, nl)
		ub += nl
		scored |= 1 << k
		nv++
	}
	below = pending != 0 && d.certainlyBelow(largestUB, ub, nv, bound)
	if !below {
		largest, fisherT := 0.0, 0.0
		for k := range numViews {
			if scored&(1<<k) == 0 {
				continue
			}
			nl := nls[k]
			if pending&(1<<k) != 0 {
				nl = -math.Log(d.bodyProb(k, bins[k]))
				if cusum {
					nl = d.viewCusum(k, nl)
				}
			}
			largest = max(largest, nl)
			fisherT += nl
		}
		if d.maxCombine || nv <= 1 {
			surprise = largest / math.Ln10
		} else {
			surprise = fisher(fisherT, nv)
		}
	}
	for k := range numViews {
		if learnt&(1<<k) == 0 {
			continue
		}
		b := bins[k]
		s.Hist[k][b] += s.Inc
		s.Total[k] += s.Inc
		d.cache[k].added(&s.Hist[k], b, s.Inc)
		d.posTail[k].added(&s.Hist[k], b)
	}
	s.Inc /= 1 - d.aCal
	if s.Inc > 1e200 {
		d.rescale()
	}
	return surprise, below
}

// viewCusum is Page's CUSUM of view k's surprise nl (−ln p; the CUSUM is
// in log10 units): a run of moderately surprising values of one view adds
// up to the evidence of one very surprising value, before Fisher's
// combination can dilute it with views that see nothing. It returns the
// view's surprise raised to the CUSUM's evidence, in natural log units.
func (d *Detector) viewCusum(k int, nl float64) float64 {
	s := &d.st
	nl10 := nl / math.Ln10
	s.CusumV[k] = max(0, s.CusumV[k]+nl10-d.cfg.CusumK)
	return max(nl10, s.CusumV[k]*d.on/d.cusumH) * math.Ln10
}

// fisher is Fisher's method, −log10 of the combined tail probability: with
// T = −Σ ln p_k over n views, P(χ²(2n) > 2T) = e^−T Σ_{j<n} T^j/j!.
func fisher(fisherT float64, nv int) float64 {
	term, sum := 1.0, 1.0
	for j := 1; j < nv; j++ {
		term *= fisherT / float64(j)
		sum += term
	}
	return (fisherT - math.Log(sum)) / math.Ln10
}

// certainlyBelow reports whether the surprise is certainly below bound
// given upper bounds of the largest view surprise and of Fisher's T
// (accumulated in the same order as T, so that, rounding being monotone,
// the computed T cannot exceed ub). Fisher's value is at most T/ln 10, and
// it increases with T, so the value at ub, with a margin for the rounding
// of its own evaluation, bounds it too.
func (d *Detector) certainlyBelow(largestUB, ub float64, nv int, bound float64) bool {
	if d.maxCombine || nv <= 1 {
		return largestUB/math.Ln10 < bound
	}
	if ub/math.Ln10 < bound {
		return true
	}
	return fisher(ub, nv) < bound-1e-9*(1+ub)
}

// negLnMant[i] bounds −ln m from above for a mantissa m in [0.5 + i/64, 0.5 + (i+1)/64).
var negLnMant = func() (t [32]float64) {
	for i := range t {
		t[i] = math.Nextafter(-math.Log(0.5+float64(i)/64), math.Inf(1))
	}
	return t
}()

// negLogBound bounds −ln p from above, as math.Log computes it and the
// CUSUM's conversions to log10 and back round it, without a logarithm
// (to within 0.031 plus a relative 1e-12); ok is false unless p is a
// normal number in (0, 2].
func negLogBound(p float64) (u float64, ok bool) {
	if !(p > 0 && p <= 2) {
		return 0, false
	}
	// p = m·2^e with m in [0.5, 1) is normal (subnormals are refused):
	// m = (1 + f)/2 with f the 52-bit fraction, whose top 5 bits i put m
	// in [0.5 + i/64, 0.5 + (i+1)/64).
	bits := math.Float64bits(p)
	e := int(bits>>52) - 1022
	if e == -1022 {
		return 0, false
	}
	u = float64(-e)*math.Ln2 + negLnMant[bits>>47&31]
	return u*(1+1e-12) + 1e-12, true
}

// negLogTail is −ln of the tail probability of a statistic x (in bin b) of
// view k: nl, or, with body set, that of the body at bin b (bodyProb,
// which the caller computes or bounds). Below the view's tail threshold t (its 1−TailMass quantile) it is
// the decayed empirical probability of a value at least as large (half of
// b's own mass counts, plus one pseudo-count). Above t it is a
// peaks-over-threshold Pareto tail, TailMass·(x/t)^(−1/e), with e the mean
// of ln(x/t) over the exceedances (Hill's estimator of the inverse tail
// index), which it then updates. The tail is unbounded: a value far beyond
// anything seen scores higher than one just beyond, however short the
// history. When less than TailMass of the mass is above zero, the tail is
// that of the positive part: P(x > 0)·TailMass·(x/t)^(−1/e) with t the
// positive part's 1−TailMass quantile.
func (d *Detector) negLogTail(k, b int, x float64) (nl float64, body bool) {
	s := &d.st
	if x <= 0 {
		// At or below every threshold: the body, whatever the threshold
		// is (the searches below have no effect on the result).
		return 0, true
	}
	h := &s.Hist[k]
	c := &d.cache[k]
	tb := d.tailBin(&c.tail, h, d.tailMass*s.Total[k], 1)
	t := binEdges[tb]
	zeroInflated := false
	if t <= 0 {
		// A zero-inflated statistic (the range view is 0 inside the
		// range): the tail is modelled on its positive part, so that it
		// stays unbounded however rarely the statistic is positive.
		if pos := s.Total[k] - h[0]; pos > 0 {
			tb = d.tailBin(&d.posTail[k], h, d.tailMass*pos, 2)
			t = binEdges[tb]
			zeroInflated = true
		}
	}
	if x <= t || t <= 0 {
		return 0, true
	}
	// x/t overflows to +Inf for a statistic near the largest float64 (a
	// sensor's sentinel of -1.8e308 does it): its log-excess is capped at
	// maxLogExcess, above any finite ratio's, so that the tail's mean
	// excess stays finite and the state can be checkpointed and restored
	// (an infinite one was refused on restore: FuzzCacheMatchesScan).
	e := min(math.Log(x/t), maxLogExcess)
	if s.Excess[k] > 0 {
		logMass := d.negLogTailMass
		if zeroInflated {
			logMass = d.negLogTailMass - math.Log((s.Total[k]-h[0])/s.Total[k])
		}
		nl = logMass + e/s.Excess[k]
		s.Excess[k] += d.aExcess * (e - s.Excess[k])
	} else {
		// First exceedance: no tail estimate yet, so the empirical body.
		s.Excess[k] = min(e, 1)
		return 0, true
	}
	return nl, false
}

// maxLogExcess caps a log-excess: ln(MaxFloat64 / smallest positive
// float64) is about 1453, so only an overflowed ratio reaches it.
const maxLogExcess = 1500

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

// bodyProb is the decayed empirical probability of a statistic at least as
// large as bin b: the mass above b, half of b's own, and one pseudo-count.
// It sums the shorter side of the histogram (most statistics sit in low
// bins, often bin 0).
func (d *Detector) bodyProb(k, b int) float64 {
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
	return (tail + s.Inc) / (s.Total[k] + s.Inc)
}

// bodyProbLow is a lower bound of bodyProb(k, b), from the cached group
// sums of the shorter side (at most 5) and the other bins of b's group (at
// most 7), short of it by about 1e-12 of the summed mass plus the view's
// total. Rounding error, in units u = 2⁻⁵³ of the summed side's exact mass
// M: a group sum is summed afresh (≤ 7u) and then follows its bins by
// adding the same increments, each addition moving it from the bins' sum
// by at most 2u (its rounding and the bin's), fewer than groupRebuild =
// 1024 times (≤ 2046u); the final sum of at most 13 terms adds ≤ 13u, and
// the scan's own sum of the same side differs from the exact one by ≤ 96u.
// So the two differ by less than 2,170u ≈ 2.4e-13·M; with the
// subtraction from Total (≤ 2u·Total each) the margin taken, 1e-12·(M +
// Total), is four times that.
func (d *Detector) bodyProbLow(k, b int) float64 {
	s := &d.st
	h := &s.Hist[k]
	c := &d.cache[k]
	if !c.grpOK {
		c.rebuildGroups(h)
	}
	g := b / groupBins
	half := 0.5 * h[b]
	var tail float64
	if b < nBins/2 {
		below := half
		for i := g * groupBins; i < b; i++ {
			below += h[i]
		}
		for _, x := range c.grp[:g] {
			below += x
		}
		tail = s.Total[k] - below - 1e-12*(below+s.Total[k])
	} else {
		tail = half
		for i := b + 1; i < (g+1)*groupBins; i++ {
			tail += h[i]
		}
		for _, x := range c.grp[g+1:] {
			tail += x
		}
		tail -= 1e-12 * (tail + s.Total[k])
	}
	return (max(tail, 0) + s.Inc) / (s.Total[k] + s.Inc) * (1 - 1e-14)
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
