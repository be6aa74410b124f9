package landslide

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Curve maps rolling rainfall to the expected number of landslides over a
// territory: E[N] = exp(b0 + Σ bᵢ·ln(1 + Rᵢ)), Rᵢ the rolling rainfall (mm)
// over Windows[i]. It is a log-linear (Poisson) count regression on
// log-rainfall, which reduces to the power law N ∝ R^b of Finlay et al.
// (1997) for one window. The zero value predicts exp(0) = 1 landslide.
type Curve struct {
	Windows   []time.Duration
	Intercept float64
	Coef      []float64
}

// Expected returns E[N] for rolling sums in the order of c.Windows.
// Negative or non-finite sums are treated as 0 (they are data-quality
// problems to flag, not rain).
func (c Curve) Expected(sums []float64) float64 {
	eta := c.Intercept
	for i, b := range c.Coef {
		r := 0.0
		if i < len(sums) && sums[i] > 0 && !math.IsInf(sums[i], 0) {
			r = sums[i]
		}
		eta += b * math.Log1p(r)
	}
	return math.Exp(math.Min(eta, 700))
}

// FitStats describes a fitted curve.
type FitStats struct {
	Iterations int
	Deviance   float64 // Poisson deviance at the optimum
	NullDev    float64 // deviance of the intercept-only model
	Samples    int
}

// ErrFit marks a regression that cannot be fitted.
var ErrFit = errors.New("landslide: cannot fit curve")

// FitCurve fits a Curve by Poisson maximum likelihood (iteratively
// reweighted least squares with step halving and a tiny ridge of 1e-8 on
// the slopes) to rolling sums x[k] (one row per sample, in the order of
// windows) and observed counts y[k] ≥ 0.
func FitCurve(windows []time.Duration, x [][]float64, y []float64) (Curve, FitStats, error) {
	n, p := len(y), len(windows)+1
	if n != len(x) || n < p+1 {
		return Curve{}, FitStats{}, fmt.Errorf("%w: %d rows, %d counts, %d windows", ErrFit, len(x), n, len(windows))
	}
	feat := make([][]float64, n)
	mean := 0.0
	for k := range x {
		if len(x[k]) != len(windows) || y[k] < 0 || !finite(y[k]) {
			return Curve{}, FitStats{}, fmt.Errorf("%w: row %d", ErrFit, k)
		}
		f := make([]float64, p)
		f[0] = 1
		for i, v := range x[k] {
			if !finite(v) || v < 0 {
				return Curve{}, FitStats{}, fmt.Errorf("%w: row %d rainfall %g", ErrFit, k, v)
			}
			f[i+1] = math.Log1p(v)
		}
		feat[k] = f
		mean += y[k]
	}
	mean /= float64(n)
	if mean <= 0 {
		return Curve{}, FitStats{}, fmt.Errorf("%w: no events", ErrFit)
	}
	beta := make([]float64, p)
	beta[0] = math.Log(mean)
	dev := func(b []float64) float64 {
		d := 0.0
		for k, f := range feat {
			mu := math.Exp(math.Min(dot(f, b), 700))
			d += 2 * (mu - y[k])
			if y[k] > 0 {
				d += 2 * y[k] * math.Log(y[k]/mu)
			}
		}
		return d
	}
	st := FitStats{Samples: n}
	st.NullDev = dev(beta)
	cur := st.NullDev
	for it := 1; it <= 100; it++ {
		st.Iterations = it
		a := make([][]float64, p)
		for i := range a {
			a[i] = make([]float64, p+1)
		}
		for k, f := range feat {
			eta := dot(f, beta)
			mu := math.Exp(math.Min(eta, 700))
			z := eta + (y[k]-mu)/mu
			for i := 0; i < p; i++ {
				wi := mu * f[i]
				for j := 0; j < p; j++ {
					a[i][j] += wi * f[j]
				}
				a[i][p] += wi * z
			}
		}
		for i := 1; i < p; i++ {
			a[i][i] += 1e-8 * (1 + a[i][i])
		}
		nb, ok := solve(a)
		if !ok {
			return Curve{}, st, fmt.Errorf("%w: singular system", ErrFit)
		}
		nd := dev(nb)
		for h := 0; h < 30 && !(nd <= cur); h++ { // step halving
			for i := range nb {
				nb[i] = (nb[i] + beta[i]) / 2
			}
			nd = dev(nb)
		}
		done := math.Abs(cur-nd) <= 1e-10*(math.Abs(nd)+1)
		beta, cur = nb, nd
		if done {
			break
		}
	}
	st.Deviance = cur
	return Curve{Windows: append([]time.Duration(nil), windows...), Intercept: beta[0], Coef: beta[1:]}, st, nil
}

func dot(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// solve solves the augmented system a (n rows, n+1 columns) by Gaussian
// elimination with partial pivoting.
func solve(a [][]float64) ([]float64, bool) {
	n := len(a)
	for c := 0; c < n; c++ {
		piv := c
		for r := c + 1; r < n; r++ {
			if math.Abs(a[r][c]) > math.Abs(a[piv][c]) {
				piv = r
			}
		}
		if math.Abs(a[piv][c]) < 1e-300 {
			return nil, false
		}
		a[c], a[piv] = a[piv], a[c]
		for r := c + 1; r < n; r++ {
			f := a[r][c] / a[c][c]
			for k := c; k <= n; k++ {
				a[r][k] -= f * a[c][k]
			}
		}
	}
	x := make([]float64, n)
	for r := n - 1; r >= 0; r-- {
		s := a[r][n]
		for k := r + 1; k < n; k++ {
			s -= a[r][k] * x[k]
		}
		x[r] = s / a[r][r]
	}
	return x, true
}

// TerritoryWarning is the territory-wide landslip warning: on when the
// expected number of landslides reaches Threshold.
type TerritoryWarning struct {
	Curve     Curve
	Threshold float64 // expected landslides
}

// Assess returns the expected number of landslides and whether the warning
// is on.
func (w TerritoryWarning) Assess(sums []float64) (expected float64, on bool) {
	e := w.Curve.Expected(sums)
	return e, e >= w.Threshold
}

// Criterion is one per-slope rainfall criterion: the slope is in
// exceedance when the rolling rainfall over Window reaches MM.
type Criterion struct {
	Window time.Duration
	MM     float64
}

// Exceedance returns the largest ratio rolling/criterion over the criteria
// whose window appears in windows (sums in the same order), and the index
// of that criterion (−1 if none applies). A ratio ≥ 1 is an exceedance.
func Exceedance(criteria []Criterion, windows []time.Duration, sums []float64) (ratio float64, which int) {
	which = -1
	for ci, c := range criteria {
		if !(c.MM > 0) {
			continue
		}
		for wi, w := range windows {
			if w == c.Window && wi < len(sums) {
				if r := sums[wi] / c.MM; which < 0 || r > ratio {
					ratio, which = r, ci
				}
			}
		}
	}
	return ratio, which
}

// WarningTracker turns the territory-wide warning on when the expected
// number of landslides crosses the threshold and off only when it falls
// below Release·Threshold (hysteresis, so the warning does not flicker).
// Not safe for concurrent use.
type WarningTracker struct {
	Warning TerritoryWarning
	Release float64 // fraction of Threshold that ends the warning; 0 means 0.8
	on      bool
	since   time.Time
}

// Update assesses the rolling sums at time t and reports the expected
// count, whether the warning is on and whether it changed at this update.
func (w *WarningTracker) Update(t time.Time, sums []float64) (expected float64, on, changed bool) {
	expected = w.Warning.Curve.Expected(sums)
	rel := w.Release
	if rel <= 0 || rel > 1 {
		rel = 0.8
	}
	switch {
	case !w.on && expected >= w.Warning.Threshold:
		w.on, w.since, changed = true, t, true
	case w.on && expected < rel*w.Warning.Threshold:
		w.on, w.since, changed = false, t, true
	}
	return expected, w.on, changed
}

// Since returns when the warning last changed state (zero before any).
func (w *WarningTracker) Since() time.Time { return w.since }
