package anomaly

import (
	"fmt"
	"math"
)

// Per-channel recalibration stages, measured on NAB in session 3 as
// ablations (docs/decisions/anomaly.md, "Cross-series calibration"): each
// turns the combined surprise into one that should mean the same on every
// channel, between the combination and the event stage. None of them is
// part of the default detector: on NAB each one loses on both halves of
// the held-out split.
const (
	// RecalLikelihood is the anomaly likelihood of Ahmad et al. (2017):
	// the Gaussian tail probability of a short moving average of the raw
	// score against the mean and deviation of the channel's own raw scores
	// over a long window. The raw score is s/(s+10) of the combined
	// surprise s (bounded in [0, 1), like HTM's raw anomaly score); the
	// short average is an EWMA of span RecalConfig.Short, the long mean and
	// variance EWMAs of time constant RecalConfig.Memory.
	RecalLikelihood = iota + 1
	// RecalRank is the rank of the combined surprise among the channel's
	// own recent values: its decayed empirical tail probability (in
	// quarter-decade bins, mid-p), and beyond the 1−TailMass quantile an
	// exponential tail fitted to the mean excess (peaks over threshold with
	// the generalised Pareto shape 0, since a surprise is already a log).
	RecalRank
	// RecalBudget is a report-rate budget: a token bucket earns
	// BudgetRate tokens per sample up to BudgetCap; a report spends one,
	// and a report made without a whole token is discounted by
	// BudgetPenalty decades per missing token.
	RecalBudget
	numRecal
)

// RecalConfig configures a Recalibrated detector.
type RecalConfig struct {
	// Mode is RecalLikelihood, RecalRank or RecalBudget.
	Mode int
	// ReportOnly keeps the event stage's decisions on the combined
	// surprise and only reports the recalibrated value (likelihood and
	// rank); otherwise the recalibrated surprise replaces the combined one
	// and the event stage (On, Step) works on it.
	ReportOnly bool
	// Memory is the time constant, in samples, of the long-term
	// statistics; Short the span of the likelihood's short average.
	Memory, Short float64
	// BudgetRate, BudgetCap and BudgetPenalty configure RecalBudget.
	BudgetRate, BudgetCap, BudgetPenalty float64
}

// DefaultRecalConfig returns the settings measured for mode: a long memory
// equal to the calibration memory (5,000 samples), HTM's short average of
// 10 samples, and a budget of one report per 1,000 samples with bursts of
// 2 and half a decade of discount per missing token.
func DefaultRecalConfig(mode int) RecalConfig {
	return RecalConfig{Mode: mode, Memory: 5000, Short: 10, BudgetRate: 1e-3, BudgetCap: 2, BudgetPenalty: 0.5}
}

func (rc RecalConfig) validate() error {
	in := func(x, lo, hi float64) bool { return x >= lo && x <= hi }
	switch {
	case rc.Mode < RecalLikelihood || rc.Mode >= numRecal:
		return fmt.Errorf("anomaly: recalibration mode %d is unknown", rc.Mode)
	case !in(rc.Memory, 10, 1e8) || !in(rc.Short, 1, 1e7):
		return fmt.Errorf("anomaly: recalibration Memory %v must be in [10, 1e8] and Short %v in [1, 1e7] samples", rc.Memory, rc.Short)
	case rc.Mode == RecalBudget && (!in(rc.BudgetRate, 1e-9, 1) || !in(rc.BudgetCap, 1, 1e6) || !in(rc.BudgetPenalty, 0, 1e3)):
		return fmt.Errorf("anomaly: budget rate %v must be in (0, 1], cap %v in [1, 1e6], penalty %v in [0, 1000]", rc.BudgetRate, rc.BudgetCap, rc.BudgetPenalty)
	}
	return nil
}

const (
	nRankBins    = 96
	rankBinWidth = 0.25 // decades of surprise per bin
)

// Recalibrated is a Detector with a recalibration stage between the
// combination and the event stage. It is an ablation for the NAB
// evaluation, not a platform detector: it has no checkpoint. Like
// Detector, it is not safe for concurrent use.
type Recalibrated struct {
	d  *Detector
	rc RecalConfig

	n                          uint64
	likShort, likMean, likVar  float64
	rank                       [nRankBins]float64
	rankTotal, rankExcess      float64
	tokens                     float64
	aLong, aShort, aExcessRank float64
}

// NewRecalibrated returns a detector with configuration cfg followed by the
// recalibration stage rc.
func NewRecalibrated(cfg Config, rc RecalConfig) (*Recalibrated, error) {
	if err := rc.validate(); err != nil {
		return nil, err
	}
	if cfg.Raw {
		return nil, fmt.Errorf("anomaly: a recalibrated detector needs the event stage (Raw is set)")
	}
	d, err := New(cfg)
	if err != nil {
		return nil, err
	}
	return &Recalibrated{
		d: d, rc: rc, tokens: rc.BudgetCap,
		aLong: 1 / rc.Memory, aShort: 2 / (rc.Short + 1),
		aExcessRank: min(1, 1/(cfg.TailMass*rc.Memory)),
	}, nil
}

// Update feeds one sample and returns its score in [0, 1), 0 for samples
// that are not reported, like Detector.Update.
func (r *Recalibrated) Update(tsMillis int64, v float64) float64 {
	surprise, ok, _ := r.d.surprise(tsMillis, v, math.Inf(-1))
	if !ok {
		return 0
	}
	r.n++
	switch r.rc.Mode {
	case RecalBudget:
		r.tokens = min(r.tokens+r.rc.BudgetRate, r.rc.BudgetCap)
		if r.d.event(surprise) == 0 {
			return 0
		}
		discount := r.rc.BudgetPenalty * max(0, 1-r.tokens)
		r.tokens = max(r.tokens-1, -r.rc.BudgetCap)
		return score(max(surprise-discount, 1e-9))
	case RecalLikelihood:
		return r.report(surprise, r.likelihood(surprise/(surprise+10)))
	default:
		return r.report(surprise, r.rankSurprise(surprise))
	}
}

// report runs the event stage on the combined surprise (ReportOnly) or on
// the recalibrated one.
func (r *Recalibrated) report(surprise, recal float64) float64 {
	if !r.rc.ReportOnly {
		return r.d.event(recal)
	}
	if r.d.event(surprise) == 0 {
		return 0
	}
	return score(max(recal, 1e-9))
}

// likelihood is −log10 of the Gaussian tail probability of the short
// average of the raw score a against its long-term mean and deviation; it
// then learns a.
func (r *Recalibrated) likelihood(a float64) float64 {
	r.likShort += r.aShort * (a - r.likShort)
	out := 0.0
	if r.likVar > 0 {
		out = negLog10NormalTail((r.likShort - r.likMean) / math.Sqrt(r.likVar))
	}
	aLong := max(r.aLong, 1/float64(r.n))
	dev := a - r.likMean
	r.likMean += aLong * dev
	r.likVar = (1 - aLong) * (r.likVar + aLong*dev*dev)
	return out
}

// rankSurprise is −log10 of the decayed empirical probability of a
// combined surprise at least as large as s (mid-p, one pseudo-count), with
// an exponential tail beyond the 1−TailMass quantile; it then learns s.
func (r *Recalibrated) rankSurprise(s float64) float64 {
	a := max(r.aLong, 1/float64(r.n))
	b := min(max(int(s/rankBinWidth), 0), nRankBins-1)
	out := 0.0
	if r.rankTotal > 0 {
		need := r.d.cfg.TailMass * r.rankTotal
		tail, tb := 0.0, nRankBins-1
		for ; tb > 0; tb-- {
			tail += r.rank[tb]
			if tail >= need {
				break
			}
		}
		t := float64(tb) * rankBinWidth
		switch {
		case tb > 0 && s > t && r.rankExcess > 0:
			e := s - t
			out = -math.Log10(tail/r.rankTotal) + e/(r.rankExcess*math.Ln10)
			r.rankExcess += r.aExcessRank * (e - r.rankExcess)
		default:
			if tb > 0 && s > t {
				r.rankExcess = s - t // the first exceedance starts the fit
			}
			above := 0.5 * r.rank[b]
			for i := b + 1; i < nRankBins; i++ {
				above += r.rank[i]
			}
			out = -math.Log10((above + a*r.rankTotal) / (r.rankTotal * (1 + a)))
		}
	}
	for i := range r.rank {
		r.rank[i] *= 1 - a
	}
	r.rankTotal = r.rankTotal*(1-a) + a
	r.rank[b] += a
	return max(out, 0)
}

// negLog10NormalTail is −log10 P(Z > z) for a standard normal Z (0 for
// z ≤ 0), with the asymptotic form beyond z = 30 where erfc underflows.
func negLog10NormalTail(z float64) float64 {
	if z <= 0 {
		return 0
	}
	if z < 30 {
		return -math.Log10(0.5 * math.Erfc(z/math.Sqrt2))
	}
	return (z*z/2 + math.Log(z*math.Sqrt(2*math.Pi))) / math.Ln10
}
