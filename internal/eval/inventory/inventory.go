// Package inventory simulates a year of daily demand for a seeded set of
// items (trend, weekly seasonality, promotions, intermittent items) and
// runs tsingma's reorder policy (internal/stock) against a naive policy
// with a fixed reorder point from the average demand. The policies see
// only demand up to the current day, never the future.
package inventory

import (
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"

	"github.com/tsingma/tsingma/internal/stock"
)

// OrderRule is how tsingma sizes its orders.
type OrderRule string

// The order rules.
const (
	// OrderEOQ: the economic order quantity for the item's holding cost
	// and an ordering cost chosen so that all items together are expected
	// to place as many orders as the naive 7-day cover (the default).
	OrderEOQ OrderRule = "eoq"
	// OrderCover: 7 days of forecast demand, the naive policy's cycle.
	OrderCover OrderRule = "cover"
)

// Config sets up the simulation.
type Config struct {
	Seed         uint64
	Items        int       // default 120
	Days         int       // simulated days, default 365 (after a year of history)
	FillRate     float64   // tsingma's target fill rate, default 0.98
	OrderRule    OrderRule // tsingma's order sizing, default OrderEOQ
	CycleService float64

	orderingCost float64 // set by Run from the order budget
}

// Outcome is one policy's totals over all items.
type Outcome struct {
	Demand, Served float64
	Holding        float64 // sum over item-days of end-of-day stock times unit cost
	StockoutDays   int     // item-days with unmet demand
	Orders         int
}

// FillRate is served over demanded units.
func (o Outcome) FillRate() float64 {
	if o.Demand == 0 {
		return 1
	}
	return o.Served / o.Demand
}

// Result compares the policies.
type Result struct {
	Tsingma, Naive Outcome
	// NaiveEOQ is a reference, not part of the comparison: the naive
	// reorder point with EOQ order quantities from the average demand,
	// to show how much of the difference the order sizing alone makes.
	NaiveEOQ Outcome
	// OrderingCost is the cost per order implied by the order budget, in
	// the holding cost's unit (unit cost × days).
	OrderingCost float64
	Methods      map[stock.Method]int  // model chosen at the start, per item
	ByKind       map[string][2]Outcome // per item kind: tsingma, naive
}

type item struct {
	demand []float64 // history then simulated days
	promo  []bool    // planned promotion days (a calendar known in advance)
	lead   int
	cost   float64
	kind   string
}

const historyDays = 365

// Run simulates and writes a summary whose last line is
// "inventory fill_rate=F holding_cost_ratio=R stockout_days_ratio=S".
func Run(cfg Config, out io.Writer) (*Result, error) {
	if cfg.Items == 0 {
		cfg.Items = 120
	}
	if cfg.Days == 0 {
		cfg.Days = 365
	}
	if cfg.FillRate == 0 {
		cfg.FillRate = 0.98
	}
	if cfg.OrderRule == "" {
		cfg.OrderRule = OrderEOQ
	}
	if cfg.Items < 0 || cfg.Days < 0 || !(cfg.FillRate > 0 && cfg.FillRate < 1) {
		return nil, errors.New("inventory: items and days must be positive and the fill rate in (0, 1)")
	}
	if !(cfg.CycleService >= 0 && cfg.CycleService < 1) {
		return nil, fmt.Errorf("inventory: cycle service level %g is not in [0, 1)", cfg.CycleService)
	}
	if cfg.OrderRule != OrderEOQ && cfg.OrderRule != OrderCover {
		return nil, fmt.Errorf("inventory: order rule %q is not %q or %q", cfg.OrderRule, OrderEOQ, OrderCover)
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x5eed))
	items := make([]item, cfg.Items)
	for i := range items {
		items[i] = genItem(rng, historyDays+cfg.Days)
	}
	a := budgetScale(items)
	cfg.orderingCost = a * a / 2
	res := &Result{Methods: map[stock.Method]int{}, ByKind: map[string][2]Outcome{}, OrderingCost: cfg.orderingCost}
	kinds := map[string]int{}
	for _, it := range items {
		kinds[it.kind]++
		n, err := simulate(it, naivePolicy, cfg, nil, nil)
		if err != nil {
			return nil, err
		}
		ne, err := simulate(it, naiveEOQPolicy, cfg, nil, nil)
		if err != nil {
			return nil, err
		}
		ts, err := simulate(it, tsingmaPolicy, cfg, res.Methods, nil)
		if err != nil {
			return nil, err
		}
		res.Naive.add(n)
		res.NaiveEOQ.add(ne)
		res.Tsingma.add(ts)
		k := res.ByKind[it.kind]
		k[0].add(ts)
		k[1].add(n)
		res.ByKind[it.kind] = k
	}
	fmt.Fprintf(out, "items=%d (smooth=%d intermittent=%d) days=%d history=%d seed=%d target_fill=%.2f cycle_service=%.2f order_rule=%s\n",
		cfg.Items, kinds["smooth"], kinds["intermittent"], cfg.Days, historyDays, cfg.Seed, cfg.FillRate, cfg.CycleService, cfg.OrderRule)
	fmt.Fprintf(out, "ordering cost %.0f per order (EOQ scale for the naive 7-day cover's expected order count), holding cost 1 per unit cost and day\n", res.OrderingCost)
	fmt.Fprintf(out, "models chosen at start: holt-winters=%d croston-sba=%d\n", res.Methods[stock.HoltWinters], res.Methods[stock.CrostonSBA])
	for _, kind := range []string{"smooth", "intermittent"} {
		k := res.ByKind[kind]
		fmt.Fprintf(out, "%-12s tsingma fill=%.4f holding=%.0f stockout_days=%d orders=%d | naive fill=%.4f holding=%.0f stockout_days=%d orders=%d\n",
			kind, k[0].FillRate(), k[0].Holding, k[0].StockoutDays, k[0].Orders, k[1].FillRate(), k[1].Holding, k[1].StockoutDays, k[1].Orders)
	}
	for _, r := range []struct {
		name string
		o    Outcome
	}{{"naive+eoq", res.NaiveEOQ}, {"tsingma", res.Tsingma}, {"naive", res.Naive}} {
		fmt.Fprintf(out, "%-9s fill_rate=%.4f holding_cost=%.0f stockout_days=%d orders=%d total_cost=%.0f\n",
			r.name, r.o.FillRate(), r.o.Holding, r.o.StockoutDays, r.o.Orders, r.o.Holding+res.OrderingCost*float64(r.o.Orders))
	}
	fmt.Fprintf(out, "inventory fill_rate=%.4f holding_cost_ratio=%.3f stockout_days_ratio=%.3f\n",
		res.Tsingma.FillRate(), ratio(res.Tsingma.Holding, res.Naive.Holding), ratio(float64(res.Tsingma.StockoutDays), float64(res.Naive.StockoutDays)))
	return res, nil
}

func ratio(a, b float64) float64 {
	if b == 0 {
		if a == 0 {
			return 1
		}
		return math.Inf(1)
	}
	return a / b
}

func (o *Outcome) add(x Outcome) {
	o.Demand += x.Demand
	o.Served += x.Served
	o.Holding += x.Holding
	o.StockoutDays += x.StockoutDays
	o.Orders += x.Orders
}

// genItem draws one item's demand series.
func genItem(rng *rand.Rand, days int) item {
	it := item{demand: make([]float64, days), promo: make([]bool, days), lead: 2 + rng.IntN(6), cost: 1 + 19*rng.Float64()}
	if rng.Float64() < 0.35 {
		it.kind = "intermittent"
		p := 0.05 + 0.3*rng.Float64()
		size := 0.5 + 5.5*rng.Float64()
		for t := range it.demand {
			if rng.Float64() < p {
				it.demand[t] = 1 + poisson(rng, size)
			}
		}
		return it
	}
	it.kind = "smooth"
	base := 4 + 56*rng.Float64()
	growth := -0.5 + 1.5*rng.Float64() // relative change over the two years
	amp := 0.1 + 0.5*rng.Float64()
	var week [7]float64
	for d := range week {
		week[d] = 1 + amp*(2*rng.Float64()-1)
	}
	promo := make([]float64, days)
	for t := range promo {
		promo[t] = 1
	}
	for year := 0; year*365 < days; year++ {
		for k := 4 + rng.IntN(5); k > 0; k-- {
			start := year*365 + rng.IntN(365)
			lift := 1.5 + 1.5*rng.Float64()
			for d := 0; d < 2+rng.IntN(5) && start+d < days; d++ {
				promo[start+d] = lift
				it.promo[start+d] = true
			}
		}
	}
	for t := range it.demand {
		level := base * (1 + growth*float64(t)/float64(days))
		lam := math.Max(0, level*week[t%7]*promo[t])
		// Gamma-mixed Poisson (negative binomial): over-dispersed demand.
		lam *= rng.ExpFloat64()*0.2 + 0.8
		it.demand[t] = poisson(rng, lam)
	}
	return it
}

// poisson draws a Poisson variate (Knuth for small means, a rounded
// normal for large ones).
func poisson(rng *rand.Rand, lam float64) float64 {
	if lam <= 0 {
		return 0
	}
	if lam > 30 {
		return math.Max(0, math.Round(lam+math.Sqrt(lam)*rng.NormFloat64()))
	}
	l := math.Exp(-lam)
	k, p := 0.0, 1.0
	for {
		p *= rng.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// policy names a simulated policy.
type policy int

const (
	tsingmaPolicy  policy = iota // internal/stock, re-forecast weekly
	naivePolicy                  // fixed s from the history average, Q = 7 days of it
	naiveEOQPolicy               // the naive s with Q = EOQ of the history average
)

// simulate runs one item under one policy. Orders placed at the end of
// day t arrive at the start of day t+lead; unmet demand is lost. When
// methods is not nil the forecasting model chosen at the start is counted
// in it; onOrder, when not nil, sees every order placed.
func simulate(it item, pol policy, cfg Config, methods map[stock.Method]int, onOrder func(day int, q float64)) (Outcome, error) {
	var o Outcome
	hist := it.demand[:historyDays]
	mean, sd := meanSD(hist)
	naiveS := mean*float64(it.lead) + 1.645*sd*math.Sqrt(float64(it.lead))
	naiveQ := math.Max(1, math.Ceil(7*mean))
	if pol == naiveEOQPolicy {
		naiveQ = math.Max(1, math.Ceil(math.Sqrt(2*cfg.orderingCost*mean/it.cost)))
	}
	sp := stock.Policy{LeadTime: it.lead - 1, FillRate: cfg.FillRate, CoverDays: 7, CycleService: cfg.CycleService}
	if cfg.OrderRule == OrderEOQ {
		sp.HoldingCost, sp.OrderingCost = it.cost, cfg.orderingCost
	}
	// The model (method and parameters) is chosen weekly; every day it
	// is re-run over the demand so far and forecasts from there.
	const refit = 7
	horizon := it.lead + 7
	var model stock.Model
	fitDay := -1
	decide := func(t int, position float64) (float64, error) {
		if pol != tsingmaPolicy {
			if position <= naiveS {
				return math.Ceil(naiveS + naiveQ - position), nil
			}
			return 0, nil
		}
		// The forecast made after day t sees demand[0..t] only.
		// Promotions are planned: the calendar is known ahead, the demand
		// they bring is not.
		if fitDay < 0 || t-fitDay >= refit {
			m, err := stock.Fit(it.demand[:t+1], it.promo[:t+1])
			if err != nil {
				return 0, err
			}
			if fitDay < 0 && methods != nil {
				methods[m.Method]++
			}
			model, fitDay = m, t
		}
		fc, err := model.Forecast(it.demand[:t+1], horizon, stock.Promotions{
			Past:   it.promo[:t+1],
			Future: it.promo[t+1 : min(t+1+horizon, len(it.promo))],
		})
		if err != nil {
			return 0, err
		}
		d, err := sp.Decide(fc, position)
		return d.Order, err
	}
	// Start with stock for the lead time and one order cycle.
	start, err := decide(historyDays-1, 0)
	if err != nil {
		return o, err
	}
	onHand := start
	type arrival struct {
		day int
		qty float64
	}
	var pipe []arrival
	for t := historyDays; t < len(it.demand); t++ {
		kept := pipe[:0]
		for _, a := range pipe {
			if a.day == t {
				onHand += a.qty
			} else {
				kept = append(kept, a)
			}
		}
		pipe = kept
		d := it.demand[t]
		served := math.Min(onHand, d)
		onHand -= served
		o.Demand += d
		o.Served += served
		if served < d {
			o.StockoutDays++
		}
		o.Holding += onHand * it.cost
		position := onHand
		for _, a := range pipe {
			position += a.qty
		}
		q, err := decide(t, position)
		if err != nil {
			return o, err
		}
		if q > 0 {
			pipe = append(pipe, arrival{t + it.lead, q})
			o.Orders++
			if onOrder != nil {
				onOrder(t, q)
			}
		}
	}
	return o, nil
}

func meanSD(y []float64) (float64, float64) {
	m := 0.0
	for _, v := range y {
		m += v
	}
	m /= float64(len(y))
	s := 0.0
	for _, v := range y {
		s += (v - m) * (v - m)
	}
	return m, math.Sqrt(s / float64(len(y)))
}

// budgetScale returns A such that order quantities Q_i = A·sqrt(d_i/c_i)
// (the EOQ for ordering cost A²/2 per order and holding cost c_i per unit
// and day) place as many orders as the naive 7-day cover, in expectation
// over the history year: Brown's exchange curve, an ordering cost chosen
// for a given total workload rather than guessed.
func budgetScale(items []item) float64 {
	budget := expectedOrders(items, func(d, _ float64) float64 { return math.Max(1, math.Ceil(7*d)) })
	lo, hi := 1e-6, 1e6
	for range 100 {
		mid := math.Sqrt(lo * hi)
		if expectedOrders(items, func(d, c float64) float64 { return math.Max(1, math.Ceil(mid*math.Sqrt(d/c))) }) > budget {
			lo = mid
		} else {
			hi = mid
		}
	}
	return hi
}

// expectedOrders is the expected number of orders per day of all items
// under order quantities q(d, c) for daily demand d and unit cost c, from
// the history year: an (s, S) policy reviewed daily orders on average
// Q + u units, u = E[D²]/(2E[D]) being the undershoot of s.
func expectedOrders(items []item, q func(d, c float64) float64) float64 {
	n := 0.0
	for _, it := range items {
		var s1, s2 float64
		for _, y := range it.demand[:historyDays] {
			s1 += y
			s2 += y * y
		}
		if s1 == 0 {
			continue
		}
		d := s1 / historyDays
		n += d / (q(d, it.cost) + s2/(2*s1))
	}
	return n
}
