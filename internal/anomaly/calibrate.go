package anomaly

import "math"

// calibrate turns the enabled views' statistics into one surprise (−log10
// of a tail probability): each view's surprise against its own history,
// combined with Fisher's method (or the largest, with MaxCombine). Then the
// histograms learn the statistics.
func (d *Detector) calibrate(x *[numViews]float64) float64 {
	s := &d.st
	largest, fisherT, nv := 0.0, 0.0, 0
	for k := range numViews {
		if d.views&(1<<k) == 0 {
			continue
		}
		b := bin(x[k])
		if s.N > 2 {
			sk := d.surprise(k, b, x[k])
			largest = max(largest, sk)
			fisherT += sk * math.Ln10
			nv++
		}
		s.Hist[k][b] += s.Inc
		s.Total[k] += s.Inc
	}
	s.Inc /= 1 - d.aCal
	if s.Inc > 1e200 {
		d.rescale()
	}
	if d.cfg.MaxCombine || nv == 0 {
		return largest
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

// surprise is −log10 of the tail probability of a statistic x (in bin b) of
// view k. Below the view's tail threshold t (its 1−TailMass quantile) it is
// the decayed empirical probability of a value at least as large (half of
// b's own mass counts, plus one pseudo-count). Above t it is a
// peaks-over-threshold Pareto tail, TailMass·(x/t)^(−1/e), with e the mean
// of ln(x/t) over the exceedances (Hill's estimator of the inverse tail
// index). The tail is unbounded: a value far beyond anything seen scores
// higher than one just beyond, however short the history.
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
		// Hill's estimator as a running mean over the exceedances.
		e := math.Log(x / t)
		if s.Excess[k] > 0 {
			s.Excess[k] += d.aExcess * (e - s.Excess[k])
		} else {
			s.Excess[k] = min(e, 1)
		}
	}
	return sur
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
}

// bin is the histogram bin of a statistic: 0 for x ≤ 2^minOctave, then
// binsPerOctave bins per doubling, the last one open-ended.
func bin(x float64) int {
	if !(x > 0) {
		return 0
	}
	b := int(math.Floor((math.Log2(x)-minOctave)*binsPerOctave)) + 1
	return min(max(b, 0), nBins-1)
}

// binLow is the lower edge of bin b on the statistic's scale.
func binLow(b int) float64 {
	if b <= 0 {
		return 0
	}
	return math.Exp2(float64(b-1)/binsPerOctave + minOctave)
}
