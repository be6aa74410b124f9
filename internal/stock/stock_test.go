package stock

import (
	"errors"
	"math"
	"math/rand/v2"
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
