package stock

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func seasonal(rng *rand.Rand, days int, noise float64) []float64 {
	week := [7]float64{1, 0.8, 0.9, 1, 1.2, 1.6, 0.5}
	y := make([]float64, days)
	for t := range y {
		y[t] = math.Max(0, (20+0.02*float64(t))*week[t%7]+noise*rng.NormFloat64())
	}
	return y
}

func TestHoltWintersFollowsWeeklySeason(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	y := seasonal(rng, 400, 1)
	f, err := ForecastDemand(y[:386], 14)
	if err != nil {
		t.Fatal(err)
	}
	if f.Method != HoltWinters {
		t.Errorf("got method %s, want %s", f.Method, HoltWinters)
	}
	truth := seasonal(rand.New(rand.NewPCG(9, 9)), 400, 0)[386:]
	e := mae(f.Mean, truth)
	if e > 2.5 {
		t.Errorf("14-day MAE %.2f against the noise-free series, want <= 2.5 (forecast %v)", e, f.Mean)
	}
	// A flat forecast at the mean would be far worse.
	mean := 0.0
	for _, v := range y[386-28 : 386] {
		mean += v / 28
	}
	flat := make([]float64, 14)
	for i := range flat {
		flat[i] = mean
	}
	if fe := mae(flat, truth); fe < 2*e {
		t.Errorf("flat MAE %.2f is not clearly worse than Holt-Winters %.2f", fe, e)
	}
}

func TestCrostonForIntermittentDemand(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	y := make([]float64, 300)
	total := 0.0
	for t := range y {
		if rng.Float64() < 0.1 {
			y[t] = float64(3 + rng.IntN(5))
			total += y[t]
		}
	}
	f, err := ForecastDemand(y, 10)
	if err != nil {
		t.Fatal(err)
	}
	if f.Method != CrostonSBA {
		t.Errorf("got method %s, want %s", f.Method, CrostonSBA)
	}
	rate := total / float64(len(y))
	if math.Abs(f.Mean[0]-rate) > 0.5*rate {
		t.Errorf("rate %.3f, want about %.3f", f.Mean[0], rate)
	}
}

func TestForecastErrors(t *testing.T) {
	if _, err := ForecastDemand(make([]float64, 10), 5); !errors.Is(err, ErrShortHistory) {
		t.Errorf("short history: got %v", err)
	}
	y := make([]float64, 60)
	y[3] = -1
	if _, err := ForecastDemand(y, 5); err == nil {
		t.Error("negative demand accepted")
	}
	if _, err := ForecastWithPromotions(make([]float64, 60), 5, Promotions{Past: make([]bool, 3)}); err == nil {
		t.Error("mismatched promotion flags accepted")
	}
}

func TestPromotionLift(t *testing.T) {
	y := make([]float64, 200)
	past := make([]bool, 200)
	for t := range y {
		y[t] = 10
		if t%30 < 3 {
			past[t] = true
			y[t] = 25
		}
	}
	f, err := ForecastWithPromotions(y, 10, Promotions{Past: past, Future: []bool{false, true}})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(f.Mean[0]-10) > 1 || math.Abs(f.Mean[1]-25) > 2.5 {
		t.Errorf("got %.2f (plain day) and %.2f (promotion day), want about 10 and 25", f.Mean[0], f.Mean[1])
	}
}

func TestPolicy(t *testing.T) {
	f := Forecast{Mean: make([]float64, 30), Sigma: 4}
	for i := range f.Mean {
		f.Mean[i] = 10
	}
	pol := Policy{LeadTime: 4, FillRate: 0.98, CoverDays: 7}
	d, err := pol.Decide(f, 100)
	if err != nil {
		t.Fatal(err)
	}
	if d.OrderQuantity != 70 || d.ReorderPoint < 40 || d.Order != 0 {
		t.Errorf("got %+v, want Q=70, s>=40, no order at position 100", d)
	}
	d2, _ := pol.Decide(f, 30)
	if d2.Order != math.Ceil(d2.ReorderPoint+70-30) {
		t.Errorf("order %v, want up to S=%v", d2.Order, d2.ReorderPoint+70)
	}
	hi, _ := Policy{LeadTime: 4, FillRate: 0.995}.Decide(f, 30)
	if hi.SafetyStock <= d2.SafetyStock {
		t.Errorf("higher fill rate should need more safety stock: %v vs %v", hi.SafetyStock, d2.SafetyStock)
	}
	if d2.StockoutRisk <= d.StockoutRisk || d.StockoutRisk > 0.01 {
		t.Errorf("stock-out risk: position 30 -> %v, position 100 -> %v", d2.StockoutRisk, d.StockoutRisk)
	}
	for _, bad := range []Policy{{LeadTime: 0, FillRate: 0.9}, {LeadTime: 2, FillRate: 1}, {LeadTime: 40, FillRate: 0.9}} {
		if _, err := bad.Decide(f, 0); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

func TestSafetyFactor(t *testing.T) {
	for _, z := range []float64{0.3, 1, 1.645, 2.5} {
		if got := safetyFactor(normLoss(z)); math.Abs(got-z) > 1e-6 {
			t.Errorf("safetyFactor(G(%v)) = %v", z, got)
		}
	}
}

func TestPolicyEOQ(t *testing.T) {
	f := Forecast{Mean: make([]float64, 30), Sigma: 4}
	for i := range f.Mean {
		f.Mean[i] = 10
	}
	for _, tc := range []struct {
		name          string
		holding, cost float64
		want          float64
	}{
		{"eoq", 2, 90, 30},                        // sqrt(2·90·10/2)
		{"expensive item orders less", 8, 90, 15}, // sqrt(2·90·10/8)
		{"no ordering cost: cover", 2, 0, 70},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := Policy{LeadTime: 4, FillRate: 0.98, CoverDays: 7, HoldingCost: tc.holding, OrderingCost: tc.cost}.Decide(f, 0)
			if err != nil {
				t.Fatal(err)
			}
			if d.OrderQuantity != tc.want {
				t.Errorf("got Q=%v, want %v", d.OrderQuantity, tc.want)
			}
		})
	}
}

func TestModelForecastMatchesForecastDemand(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	y := seasonal(rng, 200, 2)
	past := make([]bool, len(y))
	for i := 20; i < 200; i += 30 {
		past[i], past[i+1] = true, true
		y[i] *= 2
		y[i+1] *= 2
	}
	promo := Promotions{Past: past, Future: []bool{true}}
	want, err := ForecastWithPromotions(y, 10, promo)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Fit(y, past)
	if err != nil {
		t.Fatal(err)
	}
	got, err := m.Forecast(y, 10, promo)
	if err != nil {
		t.Fatal(err)
	}
	if m.Lift < 1.5 || m.Lift > 2.5 {
		t.Errorf("lift %.2f, want about 2", m.Lift)
	}
	for k := range want.Mean {
		if got.Mean[k] != want.Mean[k] {
			t.Fatalf("day %d: Fit+Forecast %v, ForecastWithPromotions %v", k, got.Mean[k], want.Mean[k])
		}
	}
	// Re-run over a longer history with a level shift: the forecast follows.
	longer := append(append([]float64(nil), y...), make([]float64, 28)...)
	for i := 200; i < len(longer); i++ {
		longer[i] = 60 * [7]float64{1, 0.8, 0.9, 1, 1.2, 1.6, 0.5}[i%7]
	}
	f2, err := m.Forecast(longer, 7, Promotions{Past: append(past, make([]bool, 28)...)})
	if err != nil {
		t.Fatal(err)
	}
	if avg := mean(f2.Mean); avg < 45 {
		t.Errorf("mean forecast %.1f after a shift to about 60, want the model to follow", avg)
	}
	if _, err := (Model{}).Forecast(y, 5, Promotions{}); err == nil {
		t.Error("an unfitted model forecast")
	}
}

func TestLeadTimeErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 6))
	y := make([]float64, 400)
	for i := range y {
		y[i] = float64(poisson(rng, 20))
	}
	f, err := ForecastDemand(y, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []int{1, 3, 6} {
		e := f.LeadTimeErrors(l)
		if len(e) < residualWindow-l-1 {
			t.Fatalf("l=%d: %d errors", l, len(e))
		}
		v := 0.0
		for _, x := range e {
			v += x * x
		}
		v /= float64(len(e))
		// Poisson(20) summed over l days: variance 20·l, plus the level's error.
		if want := 20 * float64(l); v < 0.6*want || v > 1.8*want {
			t.Errorf("l=%d: error variance %.1f, want about %.0f", l, v, want)
		}
	}
	// The forecast keeps its own copy: reusing the history slice changes nothing.
	before := f.LeadTimeErrors(3)
	for i := range y {
		y[i] = 1000
	}
	if after := f.LeadTimeErrors(3); !slices.Equal(before, after) {
		t.Error("lead-time errors changed with the caller's history slice")
	}
	if (Forecast{Mean: []float64{1}}).LeadTimeErrors(2) != nil {
		t.Error("a hand-made forecast has lead-time errors")
	}
}

func poisson(rng *rand.Rand, lam float64) int {
	l, k, p := math.Exp(-lam), 0, 1.0
	for {
		p *= rng.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

func TestUndershootOfConstantDemand(t *testing.T) {
	p := &errorPath{y: make([]float64, 100), lift: make([]float64, 100)}
	for i := range p.y {
		p.y[i] = 10
	}
	// Constant daily demand d: the position crosses s uniformly within a day's demand.
	for j, u := range p.undershoots(10) {
		if want := (float64(j) + 0.5) / undershootQuantiles * 10; math.Abs(u-want) > 1e-6 {
			t.Errorf("quantile %d: %v, want %v", j, u, want)
		}
	}
}

func TestEmpiricalSafetyMatchesNormalLoss(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	x := make([]float64, 20000)
	for i := range x {
		x[i] = 10 * rng.NormFloat64()
	}
	// With a large Q the second term vanishes: E[(X-k)+] = σ·G(k/σ).
	for _, z := range []float64{0.5, 1, 2} {
		k := empiricalSafety(x, 1e6, 10*normLoss(z))
		if math.Abs(k-10*z) > 0.4 {
			t.Errorf("z=%v: k=%.2f, want about %.2f", z, k, 10*z)
		}
	}
}

// TestFillRateCalibrated runs the policy daily on two years of seasonal
// Poisson demand (a year of history, a year simulated, lost sales, orders
// placed at the end of a day arriving four days later) and checks that
// the achieved fill rate is near the target.
func TestFillRateCalibrated(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	const hist, days, lead = 365, 365, 4
	week := [7]float64{1, 0.8, 0.9, 1, 1.2, 1.6, 0.5}
	y := make([]float64, hist+days)
	for i := range y {
		y[i] = float64(poisson(rng, 25*week[i%7]))
	}
	for _, target := range []float64{0.95, 0.98} {
		pol := Policy{LeadTime: lead - 1, FillRate: target, HoldingCost: 1, OrderingCost: 400}
		m, err := Fit(y[:hist], nil)
		if err != nil {
			t.Fatal(err)
		}
		onHand, demand, served := 150.0, 0.0, 0.0
		pipe := map[int]float64{}
		for d := hist; d < len(y); d++ {
			onHand += pipe[d]
			delete(pipe, d)
			s := math.Min(onHand, y[d])
			onHand -= s
			demand += y[d]
			served += s
			pos := onHand
			for _, q := range pipe {
				pos += q
			}
			f, err := m.Forecast(y[:d+1], lead+7, Promotions{})
			if err != nil {
				t.Fatal(err)
			}
			dec, err := pol.Decide(f, pos)
			if err != nil {
				t.Fatal(err)
			}
			if dec.Order > 0 {
				pipe[d+lead] += dec.Order
			}
		}
		got := served / demand
		t.Logf("target %.3f: achieved %.4f", target, got)
		if math.Abs(got-target) > 0.012 {
			t.Errorf("target fill rate %.3f: achieved %.4f", target, got)
		}
	}
}

func TestCycleServiceFloor(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	y := make([]float64, 300)
	for i := range y {
		y[i] = float64(poisson(rng, 20))
	}
	fitted, err := ForecastDemand(y, 20)
	if err != nil {
		t.Fatal(err)
	}
	hand := Forecast{Mean: fitted.Mean, Sigma: 4.5}
	for name, f := range map[string]Forecast{"fitted": fitted, "hand-made": hand} {
		t.Run(name, func(t *testing.T) {
			// A large batch: the fill-rate target alone needs little safety stock.
			base := Policy{LeadTime: 3, FillRate: 0.98, CoverDays: 14}
			plain, err := base.Decide(f, 0)
			if err != nil {
				t.Fatal(err)
			}
			base.CycleService = 0.95
			floor, err := base.Decide(f, 0)
			if err != nil {
				t.Fatal(err)
			}
			// Lead-time demand has sd about sqrt(3·20) ≈ 7.7: 95 % needs about 1.645·7.7 ≈ 12.7 above the mean.
			if floor.ReorderPoint < plain.ReorderPoint+1 || floor.SafetyStock < 9 {
				t.Errorf("with a 95%% cycle service floor s=%.1f (safety %.1f), without s=%.1f: want a clearly higher s", floor.ReorderPoint, floor.SafetyStock, plain.ReorderPoint)
			}
		})
	}
	if _, err := (Policy{LeadTime: 3, FillRate: 0.98, CycleService: 1}).Decide(fitted, 0); err == nil {
		t.Error("cycle service level 1 accepted")
	}
}
