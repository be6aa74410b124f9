package stock

import (
	"fmt"
	"math"
)

// Policy turns a forecast into a reorder decision for a continuously
// (daily) reviewed item: an (s, S) rule with reorder point s and
// order-up-to level S = s + Q.
type Policy struct {
	// LeadTime is the number of days from ordering to receiving (>= 1).
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
}

// Decision is the policy's answer for one item on one day.
type Decision struct {
	ReorderPoint  float64 // s: order when the inventory position is at or below it
	SafetyStock   float64 // z * sigma over the lead time
	OrderQuantity float64 // Q: the regular order size
	Order         float64 // what to order now: S - position when at or below s, else 0
	// StockoutRisk is the probability that demand over the lead time
	// exceeds the current inventory position (normal approximation).
	StockoutRisk float64
}

// Decide computes the reorder point from the forecast demand over the
// lead time plus a safety stock sized for the target fill rate (the
// standard normal loss function method: expected shortage per order cycle
// equal to (1-FillRate)·Q), and the order for the given inventory
// position (on hand plus on order).
func (p Policy) Decide(f Forecast, position float64) (Decision, error) {
	if p.LeadTime < 1 {
		return Decision{}, fmt.Errorf("stock: lead time %d must be at least one day", p.LeadTime)
	}
	if !(p.FillRate > 0 && p.FillRate < 1) {
		return Decision{}, fmt.Errorf("stock: fill rate %g must be in (0, 1)", p.FillRate)
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
	sig := f.LeadTimeSigma(p.LeadTime)
	z := 0.0
	if sig > 0 {
		z = safetyFactor((1 - p.FillRate) * q / sig)
	}
	d := Decision{SafetyStock: z * sig, OrderQuantity: q}
	d.ReorderPoint = mu + d.SafetyStock
	if position <= d.ReorderPoint {
		d.Order = math.Ceil(d.ReorderPoint + q - position)
	}
	d.StockoutRisk = StockoutRisk(mu, sig, position)
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
