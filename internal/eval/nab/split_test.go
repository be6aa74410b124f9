package nab

import (
	"fmt"
	"testing"
)

// TestHalves checks the held-out split: every series in exactly one half,
// each category split as evenly as possible, and the same split every time.
func TestHalves(t *testing.T) {
	c := &Corpus{Profiles: DefaultProfiles()}
	for _, cat := range []string{"x", "y", "z"} {
		for k := range 7 {
			c.Series = append(c.Series, &Series{Name: fmt.Sprintf("%s/s%d.csv", cat, k)})
		}
	}
	h := c.Halves()
	if len(h) != len(c.Series) {
		t.Fatalf("%d series in the split, want %d", len(h), len(c.Series))
	}
	per := map[string]map[string]int{}
	for _, s := range c.Series {
		if per[s.Category()] == nil {
			per[s.Category()] = map[string]int{}
		}
		per[s.Category()][h[s.Name]]++
	}
	for cat, n := range per {
		if n["a"]+n["b"] != 7 || n["a"]-n["b"] < -1 || n["a"]-n["b"] > 1 {
			t.Errorf("category %s split %v, want 4/3 or 3/4", cat, n)
		}
	}
	a, b := c.SelectHalf("a"), c.SelectHalf("b")
	if len(a.Series)+len(b.Series) != len(c.Series) || c.SelectHalf("") != c {
		t.Fatalf("halves of %d and %d series from %d", len(a.Series), len(b.Series), len(c.Series))
	}
	again := c.Halves()
	for k, v := range h {
		if again[k] != v {
			t.Fatalf("%s: %s, then %s", k, v, again[k])
		}
	}
}

// TestHalvesNAB pins the split of the real corpus (docs/decisions/anomaly.md
// reports scores on each half): 31 series and 59 windows in half a.
func TestHalvesNAB(t *testing.T) {
	c, _ := loadCorpus(t)
	a := c.SelectHalf("a")
	if len(a.Series) != 31 || a.NumWindows() != 59 {
		t.Fatalf("half a has %d series and %d windows, want 31 and 59", len(a.Series), a.NumWindows())
	}
}
