package stock

import (
	"fmt"
	"math"
	"slices"
)

// Policy turns a forecast into a reorder decision for a continuously
// (daily) reviewed item: an (s, S) rule with reorder point s and
// order-up-to level S = s + Q.
type Policy struct {
	// LeadTime is the number of days of demand the stock must cover
	// between a reorder decision and the delivery being usable (>= 1).
	// An order placed at the end of day t that serves the demand of day
	// t+L onwards has LeadTime L-1; one placed during a day and received
	// L days later has about L.
	LeadTime int
	// FillRate is the target share of demand served from stock, in (0, 1).
	FillRate float64
	// CoverDays is how many days of forecast demand after the lead time
	// an order covers (default 7).
	CoverDays int
	// HoldingCost is the cost of keeping one unit in stock for one day
	// and OrderingCost the fixed cost of placing one order. When both are
	// positive the order quantity is the economic order quantity
	// sqrt(2·OrderingCost·d/HoldingCost) for the forecast daily demand d
	// after the lead time (Harris 1913, Wilson 1934); otherwise it is
	// CoverDays of forecast demand.
	HoldingCost, OrderingCost float64
	// CycleService, when positive (in [0, 1)), is a second service
	// criterion on top of the fill-rate target: a floor on the probability
	// of no stock-out in an order cycle. A fill-rate target alone lets an
	// item with large batches run short briefly in many cycles.
	CycleService float64
}

// Decision is the policy's answer for one item on one day.
type Decision struct {
	ReorderPoint  float64 // s: order when the inventory position is at or below it
	SafetyStock   float64 // s minus the expected demand over the lead time (and the expected undershoot)
	OrderQuantity float64 // Q: the regular order size
	Order         float64 // what to order now: S - position when at or below s, else 0
	// StockoutRisk is the probability that demand over the lead time
	// exceeds the current inventory position: the share of the model's
	// past lead-time errors that would exceed it, or the normal
	// approximation for a forecast without a model path.
	StockoutRisk float64
}

// Decide computes the reorder point from the forecast demand over the
// lead time plus a safety stock sized for the target fill rate (expected
// shortage per order cycle equal to (1-FillRate) times the mean order),
// and the order for the given inventory position (on hand plus on order).
// A forecast from a fitted model (ForecastDemand, Model.Forecast) is
// combined with the model's own lead-time errors and the undershoot of a
// daily review; a hand-made one (Mean, Sigma, Residuals only) with the
// normal loss function over σ_L = LeadTimeSigma.
func (p Policy) Decide(f Forecast, position float64) (Decision, error) {
	if p.LeadTime < 1 {
		return Decision{}, fmt.Errorf("stock: lead time %d must be at least one day", p.LeadTime)
	}
	if !(p.FillRate > 0 && p.FillRate < 1) {
		return Decision{}, fmt.Errorf("stock: fill rate %g must be in (0, 1)", p.FillRate)
	}
	if !(p.CycleService >= 0 && p.CycleService < 1) {
		return Decision{}, fmt.Errorf("stock: cycle service level %g must be in [0, 1)", p.CycleService)
	}
	cover := p.CoverDays
	if cover <= 0 {
		cover = 7
	}
	if len(f.Mean) < p.LeadTime+cover {
		return Decision{}, fmt.Errorf("stock: forecast covers %d days, need lead time %d + cover %d", len(f.Mean), p.LeadTime, cover)
	}
	mu := 0.0
	for _, m := range f.Mean[:p.LeadTime] {
		mu += m
	}
	q := 0.0
	for _, m := range f.Mean[p.LeadTime : p.LeadTime+cover] {
		q += m
	}
	if p.HoldingCost > 0 && p.OrderingCost > 0 {
		q = math.Sqrt(2 * p.OrderingCost * (q / float64(cover)) / p.HoldingCost)
	}
	q = math.Max(1, math.Ceil(q))
	var d Decision
	if errs := f.LeadTimeErrors(p.LeadTime); len(errs) >= minLeadErrors {
		// The reorder decision is taken on the daily position, which is
		// already below s by the undershoot U (the amount the last day's
		// demand crossed s by) when it triggers, so the shortfall per cycle
		// is (D + U - s)+ for the demand D of the lead time. D is the
		// forecast plus one of the model's own past errors over the lead
		// time, U one of the quantiles of the undershoot's renewal
		// distribution, P(U > u) = E[(D1-u)+]/E[D1] for one day's demand D1
		// (Hadley & Whitin 1963; Silver, Pyke & Thomas 2017 on (s, S)), from the
		// recent days' demand scaled to the forecast. No normality is
		// assumed: lumpy and skewed demand keeps its shape. An order
		// averages Q + E[U] units, and s is the lowest level whose expected
		// shortage per order is (1-β)(Q + E[U]) (the fill-rate target).
		us := f.path.undershoots(mean(f.Mean[:p.LeadTime+1]))
		x := make([]float64, 0, len(errs)*len(us))
		for _, e := range errs {
			for _, u := range us {
				x = append(x, e+u)
			}
		}
		meanU := mean(us)
		k := empiricalSafety(x, q, (1-p.FillRate)*(q+meanU))
		if p.CycleService > 0 {
			k = math.Max(k, quantile(x, p.CycleService))
		}
		d = Decision{SafetyStock: k - meanU, OrderQuantity: q}
		d.ReorderPoint = math.Max(0, mu+k)
		over := 0
		for _, e := range errs {
			if mu+e > position {
				over++
			}
		}
		d.StockoutRisk = float64(over) / float64(len(errs))
	} else {
		sig := f.LeadTimeSigma(p.LeadTime)
		z := 0.0
		if sig > 0 {
			z = safetyFactor((1 - p.FillRate) * q / sig)
			if p.CycleService > 0 {
				z = math.Max(z, normQuantile(p.CycleService))
			}
		}
		d = Decision{SafetyStock: z * sig, OrderQuantity: q}
		d.ReorderPoint = mu + d.SafetyStock
		d.StockoutRisk = StockoutRisk(mu, sig, position)
	}
	if position <= d.ReorderPoint {
		d.Order = math.Ceil(d.ReorderPoint + q - position)
	}
	return d, nil
}

// StockoutRisk is P(D > position) for lead-time demand D ~ Normal(mu, sigma).
func StockoutRisk(mu, sigma, position float64) float64 {
	if sigma <= 0 {
		if position < mu {
			return 1
		}
		return 0
	}
	return 1 - normCDF((position-mu)/sigma)
}

func normCDF(x float64) float64 { return 0.5 * math.Erfc(-x/math.Sqrt2) }

func normPDF(x float64) float64 { return math.Exp(-x*x/2) / math.Sqrt(2*math.Pi) }

// normLoss is the standard normal loss function G(z) = E[(Z-z)+].
func normLoss(z float64) float64 { return normPDF(z) - z*(1-normCDF(z)) }

// safetyFactor solves G(z) = target for z in [0, 5] (G is decreasing).
func safetyFactor(target float64) float64 {
	if target >= normLoss(0) {
		return 0
	}
	lo, hi := 0.0, 5.0
	for i := 0; i < 60; i++ {
		mid := (lo + hi) / 2
		if normLoss(mid) > target {
			lo = mid
		} else {
			hi = mid
		}
	}
	return hi
}

// minLeadErrors is the fewest lead-time errors the empirical safety stock
// is computed from; with fewer the normal approximation is used.
const minLeadErrors = 4 * Season

// empiricalSafety returns the smallest k such that the expected shortage
// per order cycle of an (s, S) policy with s = forecast + k and S = s + q,
// E[(x-k)+] - E[(x-k-q)+] over the samples x of demand beyond the
// forecast, is at most target.
func empiricalSafety(x []float64, q, target float64) float64 {
	x = slices.Clone(x)
	slices.Sort(x)
	// tail[i] = sum of x[i:].
	tail := make([]float64, len(x)+1)
	for i := len(x) - 1; i >= 0; i-- {
		tail[i] = tail[i+1] + x[i]
	}
	above := func(k float64) float64 { // sum of (x-k)+
		i, _ := slices.BinarySearch(x, k)
		for i < len(x) && x[i] <= k {
			i++
		}
		return tail[i] - k*float64(len(x)-i)
	}
	esc := func(k float64) float64 { return (above(k) - above(k+q)) / float64(len(x)) }
	lo, hi := x[0]-q, x[len(x)-1]
	for range 60 {
		mid := (lo + hi) / 2
		if esc(mid) > target {
			lo = mid
		} else {
			hi = mid
		}
	}
	return hi
}

func mean(x []float64) float64 {
	if len(x) == 0 {
		return 0
	}
	s := 0.0
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}

// quantile is the p-quantile of x (nearest rank).
func quantile(x []float64, p float64) float64 {
	y := slices.Clone(x)
	slices.Sort(y)
	i := int(math.Ceil(p*float64(len(y)))) - 1
	return y[min(max(i, 0), len(y)-1)]
}

// normQuantile is the standard normal p-quantile, p in (0, 1).
func normQuantile(p float64) float64 {
	lo, hi := -10.0, 10.0
	for range 80 {
		mid := (lo + hi) / 2
		if normCDF(mid) < p {
			lo = mid
		} else {
			hi = mid
		}
	}
	return hi
}
