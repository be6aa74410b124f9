package nab

import (
	"math"
	"path/filepath"
	"testing"
)

// TestThresholdOracleHandMade: two files of one category and one of
// another, each with one window [40, 59] (see handMade). File x scores
// its window start 0.9 and an FP row 30 0.8; file y scores its window
// start 0.5; file z (another category) scores an FP row 30 0.95 and its
// window start 0.4. The sweep's best global threshold is 0.4 (all three
// windows, three FPs), per category 0.5 then 0.4, per file 0.9, 0.5 and
// 0.4; the values below follow from NAB's rules by hand.
func TestThresholdOracleHandMade(t *testing.T) {
	std := DefaultProfiles()[0]
	mk := func(name string, at map[int]float64) Scored {
		s := handMade()
		s.Name, s.Category = name, name[:1]
		for i, v := range at {
			s.Scores[i] = v
		}
		return s
	}
	x := mk("c/x.csv", map[int]float64{40: 0.9, 30: 0.8})
	y := mk("c/y.csv", map[int]float64{40: 0.5})
	z := mk("d/z.csv", map[int]float64{40: 0.4, 30: 0.95})
	got := ThresholdOracle([]Scored{x, y, z}, std)
	norm := func(raw float64) float64 { return 100 * (raw + 3) / 6 }
	want := Oracle{
		Global:      norm(3*credStart - 2*0.11), // threshold 0.4: every window, FPs in x and z
		PerCategory: norm(3*credStart - 2*0.11), // c at 0.5: x's FP stays; d at 0.4: z's FP stays
		PerFile:     norm(3*credStart - 0.11),   // x at 0.9 drops its FP; z cannot
	}
	for _, c := range []struct {
		name      string
		got, want float64
	}{{"global", got.Global, want.Global}, {"per category", got.PerCategory, want.PerCategory}, {"per file", got.PerFile, want.PerFile}} {
		if math.Abs(c.got-c.want) > 1e-9 {
			t.Errorf("%s: %.6f, want %.6f", c.name, c.got, c.want)
		}
	}
	if got.PerCategory < got.Global-1e-9 || got.PerFile < got.PerCategory-1e-9 {
		t.Errorf("oracle %+v: per-category and per-file thresholds must do at least as well as one global threshold", got)
	}
}

// TestThresholdOracleCorpus logs the threshold oracle of the staged ARTime
// outputs (go test -v -run 'TestThresholdOracleCorpus|TestDetectorNAB'
// ./internal/eval/nab; TestDetectorNAB logs tsingma's) and checks that its
// global figure is the NAB score.
func TestThresholdOracleCorpus(t *testing.T) {
	c, dir := loadCorpus(t)
	art, _, err := LoadResults(filepath.Join(dir, "results", "ARTime"), "ARTime", c)
	if err != nil {
		t.Fatal(err)
	}
	logOracle(t, "ARTime", c.Profiles, art)
}

// logOracle logs the threshold oracle of files for every profile and checks
// that its global figure is the NAB score that Evaluate reports.
func logOracle(t *testing.T, name string, profiles []Profile, files []Scored) {
	t.Helper()
	rep, err := Evaluate(name, profiles, files, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range profiles {
		o := ThresholdOracle(files, p)
		t.Logf("%-8s %-20s global %.2f  per category %.2f  per file %.2f", name, p.Name, o.Global, o.PerCategory, o.PerFile)
		if math.Abs(o.Global-rep.Profiles[i].Score) > 1e-6 {
			t.Errorf("%s %s: oracle's global %.6f, NAB score %.6f", name, p.Name, o.Global, rep.Profiles[i].Score)
		}
	}
}
