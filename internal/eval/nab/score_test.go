package nab

import (
	"math"
	"testing"
)

// The hand-made file: 100 rows, probation 15 rows, one window [40, 59]
// (width 20). Expected values were computed by hand from NAB's rules
// (S(y) = 2σ(−5y) − 1, A_FP = 0.11 in the standard profile).
const (
	credStart = 1.0                  // first row of the window: S(−1)/S(−1)
	credLast  = 0.1260401374727592   // row 59: S(−1/20)/S(−1)
	cred50    = 0.8597925669097837   // row 50: S(−10/20)/S(−1)
	cred45    = 0.9669890878000605   // row 45: S(−15/20)/S(−1)
	fpAfter70 = -0.09846884215047913 // row 70: 0.11·S(11/19)
	fpAfter60 = -0.014390730906933252
)

func handMade(detect ...int) Scored {
	s := Scored{Name: "x/hand.csv", Scores: make([]float64, 100), Windows: []Window{{40, 59}}}
	for _, i := range detect {
		s.Scores[i] = 1
	}
	return s
}

func TestScoreAtHandMade(t *testing.T) {
	std := DefaultProfiles()[0]
	cases := []struct {
		name   string
		detect []int
		want   float64
		tp, fp int
	}{
		{"none", nil, -1, 0, 0},
		{"window start", []int{40}, credStart, 1, 0},
		{"inside", []int{50}, cred50, 1, 0},
		{"late, last row", []int{59}, credLast, 1, 0},
		{"two in one window: best counts", []int{50, 45}, cred45, 2, 0},
		{"before the window: full FP, window missed", []int{30}, -1 - 0.11, 0, 1},
		{"just after the window", []int{60}, -1 + fpAfter60, 0, 1},
		{"after the window", []int{70}, -1 + fpAfter70, 0, 1},
		{"in probation: ignored", []int{10}, -1, 0, 0},
		{"probation and window", []int{3, 40}, credStart, 1, 0},
		{"every row", seq(0, 100), credStart - 0.11*25 + sumAfter(60, 100), 20, 25 + 40},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := ScoreAt(handMade(c.detect...), std, 0.5)
			if math.Abs(r.Raw-c.want) > 1e-12 {
				t.Errorf("raw %.15g, want %.15g", r.Raw, c.want)
			}
			if r.TP != c.tp || r.FP != c.fp {
				t.Errorf("TP %d FP %d, want %d %d", r.TP, r.FP, c.tp, c.fp)
			}
			if r.TP+r.FN+r.FP+r.TN != 85 {
				t.Errorf("counted %d rows, want 85 non-probationary", r.TP+r.FN+r.FP+r.TN)
			}
		})
	}
}

func seq(a, b int) []int {
	var out []int
	for i := a; i < b; i++ {
		out = append(out, i)
	}
	return out
}

// sumAfter adds the FP costs of rows [a, b) after the window ending at 59.
func sumAfter(a, b int) float64 {
	sum := 0.0
	for i := a; i < b; i++ {
		sum += 0.11 * ScaledSigmoid(float64(i-59)/19)
	}
	return sum
}

func TestScaledSigmoid(t *testing.T) {
	for _, c := range []struct{ y, want float64 }{
		{-1, 0.9866142981514303}, {-0.5, 0.8482836399575129}, {0, 0}, {1, -0.9866142981514303}, {3, 2/(1+math.Exp(15)) - 1}, {3.0001, -1},
	} {
		if got := ScaledSigmoid(c.y); math.Abs(got-c.want) > 1e-15 {
			t.Errorf("S(%v) = %v, want %v", c.y, got, c.want)
		}
	}
}

func TestProbationLength(t *testing.T) {
	for n, want := range map[int]int{100: 15, 1127: 169, 4032: 604, 5000: 750, 22695: 750, 6: 0} {
		if got := ProbationLength(n); got != want {
			t.Errorf("ProbationLength(%d) = %d, want %d", n, got, want)
		}
	}
}

func TestRowScoresProfiles(t *testing.T) {
	for _, p := range DefaultProfiles() {
		rs := RowScores(100, []Window{{40, 59}}, p)
		want := map[int]float64{0: -p.FP, 39: -p.FP, 40: p.TP, 50: p.TP * cred50, 59: p.TP * credLast, 70: fpAfter70 / 0.11 * p.FP, 99: p.FP * (2/(1+math.Exp(5*40.0/19)) - 1)}
		for i, w := range want {
			if math.Abs(rs[i]-w) > 1e-12 {
				t.Errorf("%s row %d: %v, want %v", p.Name, i, rs[i], w)
			}
		}
	}
}

// TestSweepHandMade checks the threshold sweep: the best threshold, ties to
// the highest threshold, and "detect nothing" (1.1) when every detection
// costs more than it earns.
func TestSweepHandMade(t *testing.T) {
	std := DefaultProfiles()[0]
	a := handMade()
	a.Scores[45] = 0.9 // early in the window
	a.Scores[70] = 0.8 // FP after the window
	a.Scores[20] = 0.7 // FP before the window
	th, raw := Sweep([]Scored{a}, std)
	if th != 0.9 || math.Abs(raw-cred45) > 1e-12 {
		t.Errorf("sweep: threshold %v raw %v, want 0.9 and %v", th, raw, cred45)
	}
	b := handMade()
	b.Scores[30] = 0.9 // an FP only
	if th, raw := Sweep([]Scored{b}, std); th != NoDetectTh || raw != -1 {
		t.Errorf("sweep of a lone FP: threshold %v raw %v, want %v and -1", th, raw, NoDetectTh)
	}
	c := handMade()
	c.Scores[40] = 0.6
	c.Scores[50] = 0.9 // detecting 50 then 40: 40 is better
	th, raw = Sweep([]Scored{c}, std)
	if th != 0.6 || math.Abs(raw-1) > 1e-12 {
		t.Errorf("sweep: threshold %v raw %v, want 0.6 and 1", th, raw)
	}
	// With threshold 0 every row would be detected, which is worse, so the
	// sweep stops at 0.6, and ScoreAt agrees with the sweep's raw score.
	if r := ScoreAt(c, std, th); math.Abs(r.Raw-raw) > 1e-12 {
		t.Errorf("ScoreAt(%v) = %v, sweep said %v", th, r.Raw, raw)
	}
	// A tie: detecting the later row 50 as well adds nothing, so 0.9 and
	// 0.5 score the same and the highest threshold wins.
	d := handMade()
	d.Scores[40] = 0.9
	d.Scores[50] = 0.5
	if th, raw := Sweep([]Scored{d}, std); th != 0.9 || raw != 1 {
		t.Errorf("tie: threshold %v raw %v, want 0.9 and 1", th, raw)
	}
}

func TestNormalize(t *testing.T) {
	p := DefaultProfiles()
	for _, c := range []struct {
		raw  float64
		p    Profile
		want float64
	}{{-116, p[0], 0}, {116, p[0], 100}, {57.66075157860638, p[0], 74.85377223215792}, {47.66075157860638, p[2], 80.36228493638114}} {
		if got := Normalize(c.raw, 116, c.p); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("Normalize(%v, %s) = %v, want %v", c.raw, c.p.Name, got, c.want)
		}
	}
	if !math.IsNaN(Normalize(1, 0, p[0])) {
		t.Error("Normalize with no windows should be NaN")
	}
}
