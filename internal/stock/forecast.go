// Package stock forecasts daily item demand and turns the forecast into a
// reorder decision (reorder point, order quantity, stock-out risk).
//
// Two forecasting models are fitted per item: additive Holt-Winters
// exponential smoothing with a damped trend and a weekly season (Holt 1957,
// Winters 1960; damping after Gardner & McKenzie 1985), and Croston's
// method for intermittent demand with the Syntetos-Boylan bias correction
// (SBA, Syntetos & Boylan 2005). The model with the lower mean absolute
// error on a holdout of the most recent weeks is chosen, then refitted on
// the whole history (Fit); a fitted Model can be re-run cheaply over a
// longer history every day (Model.Forecast). A forecast carries the
// model's own in-sample errors over any lead time (LeadTimeErrors), from
// which Policy sizes the safety stock without assuming normal demand. The
// package is pure: no I/O, no shared state; all functions are safe for
// concurrent use.
package stock

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// Method names a forecasting model.
type Method string

// The forecasting methods.
const (
	HoltWinters Method = "holt-winters"
	CrostonSBA  Method = "croston-sba"
)

// Season is the length of the seasonal cycle in days (weekly).
const Season = 7

// MinHistory is the shortest history ForecastDemand accepts (four weeks).
const MinHistory = 4 * Season

// ErrShortHistory is returned when a history is shorter than MinHistory.
var ErrShortHistory = errors.New("stock: history shorter than four weeks")

// Forecast is a daily demand forecast for the days after the history.
type Forecast struct {
	Method Method
	// Mean[k] is the expected demand k+1 days after the last history day.
	Mean []float64
	// Sigma is the standard deviation of one-day forecast errors, from
	// the model's one-step-ahead in-sample errors.
	Sigma float64
	// HoldoutMAE is the chosen model's mean absolute error on the holdout.
	HoldoutMAE float64
	// Residuals are the recent one-step-ahead in-sample errors (actual
	// minus forecast), oldest first.
	Residuals []float64

	path *errorPath // the fitted model's recent forecasts, for LeadTimeErrors
}

// errorPath holds what LeadTimeErrors needs: the history and the fitted
// model's k-step-ahead in-sample forecasts from recent origins.
type errorPath struct {
	y     []float64              // the history's days from off on, original scale (a copy)
	lift  []float64              // planned-promotion lift of those days (1 otherwise)
	off   int                    // history index of y[0]
	from  int                    // first origin day (history index)
	ahead func(t, k int) float64 // forecast of day t+k made after day t >= from
}

// undershootDays is how many recent days of demand the undershoot
// distribution is taken from, and undershootQuantiles how many of its
// quantiles stand for it.
const (
	undershootDays      = 8 * Season
	undershootQuantiles = 8
)

// undershoots returns quantiles of the undershoot U of a daily-reviewed
// reorder point, P(U > u) = E[(D-u)+]/E[D], for one day's demand D drawn
// from the recent history days scaled to the mean daily demand m.
func (p *errorPath) undershoots(m float64) []float64 {
	days := p.y[max(0, len(p.y)-undershootDays):]
	if len(days) == 0 {
		return []float64{0}
	}
	d := make([]float64, len(days))
	mu := 0.0
	for _, v := range days {
		mu += v
	}
	mu /= float64(len(days))
	if mu <= 0 || m <= 0 {
		return []float64{0}
	}
	hi := 0.0
	for i, v := range days {
		d[i] = v * m / mu
		hi = math.Max(hi, d[i])
	}
	excess := func(u float64) float64 {
		s := 0.0
		for _, v := range d {
			s += math.Max(0, v-u)
		}
		return s / float64(len(d)) / m
	}
	out := make([]float64, undershootQuantiles)
	for j := range out {
		surv := 1 - (float64(j)+0.5)/undershootQuantiles
		lo, h := 0.0, hi
		for range 40 {
			mid := (lo + h) / 2
			if excess(mid) > surv {
				lo = mid
			} else {
				h = mid
			}
		}
		out[j] = h
	}
	return out
}

// LeadTimeErrors returns the fitted model's in-sample errors of demand
// summed over l days: for each origin day t in the last residualWindow
// days of the history, actual demand on days t+1..t+l minus the forecast
// of it made after day t, oldest first. Unlike sums of one-step
// residuals, these include the error of the level and trend the model
// carries over the lead time. Nil for a forecast built by hand.
func (f Forecast) LeadTimeErrors(l int) []float64 {
	p := f.path
	if p == nil || l < 1 {
		return nil
	}
	var out []float64
	for t := p.from; t+l < p.off+len(p.y); t++ {
		e := 0.0
		for k := 1; k <= l; k++ {
			i := t + k - p.off
			e += p.y[i] - math.Max(0, p.ahead(t, k))*p.lift[i]
		}
		out = append(out, e)
	}
	return out
}

// LeadTimeSigma is the standard deviation of forecast errors summed over
// l consecutive days, estimated from rolling sums of the recent one-step
// residuals (so that correlated errors, e.g. unforeseen promotions, widen
// it), and never below Sigma·√l.
func (f Forecast) LeadTimeSigma(l int) float64 {
	base := f.Sigma * math.Sqrt(float64(l))
	r := f.Residuals
	if l < 1 || len(r) < l+Season {
		return base
	}
	sum := 0.0
	for _, e := range r[:l] {
		sum += e
	}
	var ss float64
	n := 0
	for i := l; ; i++ {
		ss += sum * sum
		n++
		if i == len(r) {
			break
		}
		sum += r[i] - r[i-l]
	}
	return math.Max(base, math.Sqrt(ss/float64(n)))
}

// model is a fitted forecasting model.
type model interface {
	forecast(h int) []float64
	sigma() float64
	residuals() []float64
	// ahead is the k-step forecast made after day t, for t in the last
	// residualWindow days of the history the model was fitted to (after
	// a keeping run).
	ahead(t, k int) float64
	pathFrom() int
}

// residualWindow is how many recent one-step errors a model keeps.
const residualWindow = 26 * Season

// Promotions marks planned promotion days: Past[i] for history day i,
// Future[k] for day k+1 after the history. It is a plan known in advance,
// not demand. Nil slices mean no promotions.
type Promotions struct {
	Past, Future []bool
}

// ForecastDemand fits both models to history (one value per day, oldest
// first, non-negative), picks the one with the lower holdout error, refits
// it on the whole history and forecasts horizon days ahead.
func ForecastDemand(history []float64, horizon int) (Forecast, error) {
	return ForecastWithPromotions(history, horizon, Promotions{})
}

// ForecastWithPromotions is ForecastDemand for an item with planned
// promotions: the promotion lift is estimated from past promotion days
// against the days around them, the history is deflated by it before the
// models are fitted, and planned future promotion days are inflated by it.
// It is Fit followed by Model.Forecast on the same history.
func ForecastWithPromotions(history []float64, horizon int, promo Promotions) (Forecast, error) {
	if horizon < 1 {
		return Forecast{}, fmt.Errorf("stock: horizon %d must be positive", horizon)
	}
	m, err := Fit(history, promo.Past)
	if err != nil {
		return Forecast{}, err
	}
	return m.Forecast(history, horizon, promo)
}

// Model is a forecasting model chosen and fitted for one item: the method,
// its smoothing parameters and the promotion lift. Fitting (model choice
// by holdout error and a parameter search) is the expensive part;
// Model.Forecast re-runs the fitted model over a history, cheap enough to
// repeat every day between refits. A Model is a value, safe to copy and
// to use concurrently.
type Model struct {
	Method Method
	// HoldoutMAE is the chosen model's mean absolute error on the holdout.
	HoldoutMAE float64
	// Lift is the estimated demand multiplier on promotion days (1: none).
	Lift float64
	hw   hw      // smoothing parameters when Method is HoltWinters
	cr   croston // smoothing parameter when Method is CrostonSBA
}

// Fit chooses between the models by holdout error on history (one value
// per day, oldest first, non-negative; past flags planned promotion days,
// nil for none) and fits the chosen one's parameters to all of it.
func Fit(history []float64, past []bool) (Model, error) {
	if len(past) != 0 && len(past) != len(history) {
		return Model{}, fmt.Errorf("stock: %d past promotion flags for %d history days", len(past), len(history))
	}
	if err := checkHistory(history); err != nil {
		return Model{}, err
	}
	m := Model{Lift: promoLift(history, past)}
	adj := m.deflate(history, past)
	hold := 4 * Season
	if len(adj) < 2*hold+2*Season {
		hold = Season
	}
	train, test := adj[:len(adj)-hold], adj[len(adj)-hold:]
	m.HoldoutMAE = math.Inf(1)
	if len(train) >= 2*Season {
		m.Method, m.HoldoutMAE = HoltWinters, mae(fitHoltWinters(train).forecast(hold), test)
	}
	if e := mae(fitCroston(train).forecast(hold), test); e < m.HoldoutMAE-1e-12 {
		m.Method, m.HoldoutMAE = CrostonSBA, e
	}
	switch m.Method {
	case HoltWinters:
		m.hw = fitHoltWinters(adj).(hw).params()
	default:
		m.cr = fitCroston(adj).(croston).params()
	}
	return m, nil
}

// Forecast runs the fitted model over history (the history it was fitted
// to, or a longer one: the days since the fit are then filtered with the
// same parameters) and forecasts horizon days ahead; promo flags the
// planned promotion days of the history (Past) and of the horizon
// (Future).
func (m Model) Forecast(history []float64, horizon int, promo Promotions) (Forecast, error) {
	if horizon < 1 {
		return Forecast{}, fmt.Errorf("stock: horizon %d must be positive", horizon)
	}
	if len(promo.Past) != 0 && len(promo.Past) != len(history) {
		return Forecast{}, fmt.Errorf("stock: %d past promotion flags for %d history days", len(promo.Past), len(history))
	}
	if err := checkHistory(history); err != nil {
		return Forecast{}, err
	}
	if m.Method != HoltWinters && m.Method != CrostonSBA {
		return Forecast{}, fmt.Errorf("stock: model %q is not fitted", m.Method)
	}
	adj := m.deflate(history, promo.Past)
	var fm model
	if m.Method == HoltWinters {
		p := m.hw
		p.keep = true
		fm = p.run(adj)
	} else {
		p := m.cr
		p.keep = true
		fm = p.run(adj)
	}
	f := Forecast{Method: m.Method, Mean: fm.forecast(horizon), Sigma: fm.sigma(), HoldoutMAE: m.HoldoutMAE, Residuals: fm.residuals()}
	// The path keeps copies: the caller may reuse its slices.
	lift := m.Lift
	from := fm.pathFrom()
	off := max(0, min(from, len(history)-undershootDays))
	p := &errorPath{y: slices.Clone(history[off:]), lift: make([]float64, len(history)-off), off: off, from: from, ahead: fm.ahead}
	for i := range p.lift {
		p.lift[i] = 1
		if lift > 1 && off+i < len(promo.Past) && promo.Past[off+i] {
			p.lift[i] = lift
		}
	}
	f.path = p
	if lift > 1 {
		f.applyLift(lift, promo.Future)
	}
	return f, nil
}

// deflate divides promotion days' demand by the lift.
func (m Model) deflate(history []float64, past []bool) []float64 {
	if m.Lift <= 1 || len(past) == 0 {
		return history
	}
	adj := make([]float64, len(history))
	for i, y := range history {
		adj[i] = y
		if past[i] {
			adj[i] = y / m.Lift
		}
	}
	return adj
}

func checkHistory(history []float64) error {
	if len(history) < MinHistory {
		return ErrShortHistory
	}
	for i, y := range history {
		if y < 0 || math.IsNaN(y) || math.IsInf(y, 0) {
			return fmt.Errorf("stock: history day %d: demand %g is not a finite non-negative number", i, y)
		}
	}
	return nil
}

func (f *Forecast) applyLift(lift float64, future []bool) {
	for k := range f.Mean {
		if k < len(future) && future[k] {
			f.Mean[k] *= lift
		}
	}
}

// promoLift is mean demand on promotion days over mean demand on the
// non-promotion days within a week of them (1 when there is no evidence).
func promoLift(y []float64, past []bool) float64 {
	if len(past) == 0 {
		return 1
	}
	var on, off float64
	var nOn, nOff int
	for i, p := range past {
		if p {
			on += y[i]
			nOn++
			continue
		}
		near := false
		for d := -Season; d <= Season && !near; d++ {
			if j := i + d; j >= 0 && j < len(past) && past[j] {
				near = true
			}
		}
		if near {
			off += y[i]
			nOff++
		}
	}
	if nOn < 3 || nOff == 0 || off == 0 {
		return 1
	}
	lift := (on / float64(nOn)) / (off / float64(nOff))
	return math.Max(1, lift)
}

func mae(f, y []float64) float64 {
	s := 0.0
	for i := range y {
		s += math.Abs(f[i] - y[i])
	}
	return s / float64(len(y))
}

// hw is additive Holt-Winters with a damped trend.
type hw struct {
	alpha, beta, gamma, phi float64
	level, trend            float64
	season                  [Season]float64 // season[k]: index for day ≡ k (mod Season) after the history
	n                       int
	sse                     float64
	nErr                    int
	keep                    bool
	res                     []float64
	from                    int       // first recorded origin
	states                  []hwState // state after each day from `from` on
}

type hwState struct {
	level, trend float64
	season       [Season]float64
}

// run filters y with fixed parameters and returns the model state.
func (m hw) run(y []float64) hw {
	// Initial state from the first two weeks.
	var w1, w2 float64
	for i := 0; i < Season; i++ {
		w1 += y[i]
		w2 += y[Season+i]
	}
	w1 /= Season
	w2 /= Season
	m.level = w1
	m.trend = (w2 - w1) / Season
	for i := 0; i < Season; i++ {
		m.season[i] = (y[i]-w1)/2 + (y[Season+i]-w2)/2
	}
	m.sse, m.nErr = 0, 0
	for t := 0; t < len(y); t++ {
		k := t % Season
		pred := m.level + m.phi*m.trend + m.season[k]
		if t >= 2*Season {
			e := y[t] - math.Max(pred, 0)
			m.sse += e * e
			m.nErr++
			if m.keep && t >= len(y)-residualWindow {
				m.res = append(m.res, e)
			}
		}
		prevLevel := m.level
		m.level = m.alpha*(y[t]-m.season[k]) + (1-m.alpha)*(m.level+m.phi*m.trend)
		m.trend = m.beta*(m.level-prevLevel) + (1-m.beta)*m.phi*m.trend
		m.season[k] = m.gamma*(y[t]-m.level) + (1-m.gamma)*m.season[k]
		if m.keep && t >= len(y)-residualWindow {
			if m.states == nil {
				m.from = t
			}
			m.states = append(m.states, hwState{m.level, m.trend, m.season})
		}
	}
	m.n = len(y)
	return m
}

func (m hw) pathFrom() int { return m.from }

func (m hw) ahead(t, k int) float64 {
	st := &m.states[t-m.from]
	damp, pw := 0.0, 1.0
	for i := 0; i < k; i++ {
		pw *= m.phi
		damp += pw
	}
	return st.level + damp*st.trend + st.season[(t+k)%Season]
}

// fitHoltWinters chooses smoothing parameters on a grid by one-step-ahead
// squared error and returns the model filtered over y with them (without
// the recorded residuals and states of a keeping run).
func fitHoltWinters(y []float64) model {
	var best hw
	bestSSE := math.Inf(1)
	for _, a := range []float64{0.05, 0.1, 0.2, 0.35, 0.5} {
		for _, b := range []float64{0, 0.02, 0.08} {
			for _, g := range []float64{0.02, 0.1, 0.25} {
				m := hw{alpha: a, beta: b, gamma: g, phi: 0.97}.run(y)
				if m.sse < bestSSE {
					best, bestSSE = m, m.sse
				}
			}
		}
	}
	return best
}

func (m hw) residuals() []float64 { return m.res }

// params is the model's smoothing parameters without its state.
func (m hw) params() hw { return hw{alpha: m.alpha, beta: m.beta, gamma: m.gamma, phi: m.phi} }

func (m hw) forecast(h int) []float64 {
	out := make([]float64, h)
	damp := 0.0
	pw := 1.0
	for k := 1; k <= h; k++ {
		pw *= m.phi
		damp += pw
		out[k-1] = math.Max(0, m.level+damp*m.trend+m.season[(m.n+k-1)%Season])
	}
	return out
}

func (m hw) sigma() float64 {
	if m.nErr == 0 {
		return 0
	}
	return math.Sqrt(m.sse / float64(m.nErr))
}

// croston is Croston's method with the SBA correction: demand sizes and
// intervals between demands are smoothed separately.
type croston struct {
	alpha       float64
	size, inter float64
	sse         float64
	nErr        int
	keep        bool
	res         []float64
	from        int
	rates       []float64 // rate after each day from `from` on
}

func (c croston) pathFrom() int { return c.from }

func (c croston) ahead(t, _ int) float64 {
	if t-c.from >= len(c.rates) {
		return c.rate()
	}
	return c.rates[t-c.from]
}

func (c croston) rate() float64 {
	if c.inter <= 0 {
		return 0
	}
	return (1 - c.alpha/2) * c.size / c.inter
}

func (c croston) run(y []float64) croston {
	// Initialise from the first demand occurrences.
	first, count, sum := -1, 0, 0.0
	for i, v := range y {
		if v > 0 {
			if first < 0 {
				first = i
			}
			count++
			sum += v
		}
	}
	if count == 0 {
		c.size, c.inter = 0, 1
		return c
	}
	c.size = sum / float64(count)
	c.inter = float64(len(y)) / float64(count)
	gap := 1
	c.sse, c.nErr = 0, 0
	for t, v := range y {
		if t >= 2*Season {
			e := v - c.rate()
			c.sse += e * e
			c.nErr++
			if c.keep && t >= len(y)-residualWindow {
				c.res = append(c.res, e)
			}
		}
		if v > 0 {
			c.size = c.alpha*v + (1-c.alpha)*c.size
			c.inter = c.alpha*float64(gap) + (1-c.alpha)*c.inter
			gap = 1
		} else {
			gap++
		}
		if c.keep && t >= len(y)-residualWindow {
			if c.rates == nil {
				c.from = t
			}
			c.rates = append(c.rates, c.rate())
		}
	}
	return c
}

func fitCroston(y []float64) model {
	var best croston
	bestSSE := math.Inf(1)
	for _, a := range []float64{0.05, 0.1, 0.2, 0.3} {
		c := croston{alpha: a}.run(y)
		if c.sse < bestSSE || c.nErr == 0 {
			best, bestSSE = c, c.sse
		}
	}
	return best
}

func (c croston) residuals() []float64 { return c.res }

// params is the model's smoothing parameter without its state.
func (c croston) params() croston { return croston{alpha: c.alpha} }

func (c croston) forecast(h int) []float64 {
	out := make([]float64, h)
	r := c.rate()
	for i := range out {
		out[i] = r
	}
	return out
}

func (c croston) sigma() float64 {
	if c.nErr == 0 {
		return 0
	}
	return math.Sqrt(c.sse / float64(c.nErr))
}
