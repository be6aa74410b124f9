package inventory

import (
	"bytes"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
)

func TestRunShort(t *testing.T) {
	var a, b bytes.Buffer
	if _, err := Run(Config{Seed: 3, Items: 6, Days: 60}, &a); err != nil {
		t.Fatal(err)
	}
	if _, err := Run(Config{Seed: 3, Items: 6, Days: 60}, &b); err != nil {
		t.Fatal(err)
	}
	if a.String() != b.String() {
		t.Fatalf("same seed, different output:\n%s\n%s", a.String(), b.String())
	}
	lines := strings.Split(strings.TrimSpace(a.String()), "\n")
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "inventory fill_rate=") || !strings.Contains(last, "holding_cost_ratio=") || !strings.Contains(last, "stockout_days_ratio=") {
		t.Fatalf("last line %q", last)
	}
}

// TestNoPeeking: changing demand after day t must not change any order
// placed up to day t.
func TestNoPeeking(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	it := genItem(rng, historyDays+90)
	cut := historyDays + 40
	orders := func(it item) []float64 {
		var got []float64
		_, err := simulateTrace(it, Config{FillRate: 0.98}, func(day int, q float64) {
			if day <= cut {
				got = append(got, q)
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	a := orders(it)
	changed := it
	changed.demand = append([]float64(nil), it.demand...)
	for d := cut + 1; d < len(changed.demand); d++ {
		changed.demand[d] = changed.demand[d]*3 + 7
	}
	b := orders(changed)
	if len(a) != len(b) {
		t.Fatalf("orders up to day %d differ: %v vs %v", cut, a, b)
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("order %d differs after changing the future: %v vs %v", i, a[i], b[i])
		}
	}
}

func TestFull(t *testing.T) {
	if os.Getenv("INV_FULL") == "" {
		t.Skip("set INV_FULL=1")
	}
	var out bytes.Buffer
	if _, err := Run(Config{Seed: 1}, &out); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + out.String())
}
