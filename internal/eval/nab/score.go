package nab

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
)

// Profile is an application profile: the weights of NAB's cost matrix.
// The true-negative weight is read by NAB but never used, so it is absent.
type Profile struct {
	Name       string
	TP, FP, FN float64
}

// The names of NAB's three profiles, in the order they are reported.
const (
	Standard   = "standard"
	LowFP      = "reward_low_FP_rate"
	LowFN      = "reward_low_FN_rate"
	NoDetectTh = 1.1 // NAB's "detect nothing" threshold candidate
)

// DefaultProfiles are NAB v1.1's config/profiles.json.
func DefaultProfiles() []Profile {
	return []Profile{
		{Name: Standard, TP: 1, FP: 0.11, FN: 1},
		{Name: LowFP, TP: 1, FP: 0.22, FN: 1},
		{Name: LowFN, TP: 1, FP: 0.11, FN: 2},
	}
}

// ReadProfiles decodes config/profiles.json. It returns the three NAB
// profiles in the order standard, low FP, low FN; other names are rejected.
func ReadProfiles(r io.Reader) ([]Profile, error) {
	var m map[string]struct {
		CostMatrix map[string]float64 `json:"CostMatrix"`
	}
	if err := json.NewDecoder(r).Decode(&m); err != nil {
		return nil, fmt.Errorf("decode profiles: %w", err)
	}
	var out []Profile
	for _, name := range []string{Standard, LowFP, LowFN} {
		p, ok := m[name]
		if !ok {
			return nil, fmt.Errorf("profiles: %q is missing", name)
		}
		cm := p.CostMatrix
		pr := Profile{Name: name, TP: cm["tpWeight"], FP: cm["fpWeight"], FN: cm["fnWeight"]}
		if !(pr.TP > 0) || !(pr.FP > 0) || !(pr.FN > 0) {
			return nil, fmt.Errorf("profiles: %q needs positive tpWeight, fpWeight and fnWeight", name)
		}
		out = append(out, pr)
	}
	if len(m) != 3 {
		return nil, errors.New("profiles: want exactly standard, reward_low_FP_rate and reward_low_FN_rate")
	}
	return out, nil
}

// ReadProfilesFile reads profiles from a file.
func ReadProfilesFile(p string) ([]Profile, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("open profiles: %w", err)
	}
	defer f.Close()
	out, err := ReadProfiles(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return out, nil
}

// ProbationLength is the number of leading rows of an n-row file that are
// never scored: min(floor(0.15 n), 750).
func ProbationLength(n int) int {
	return min(n*15/100, 750)
}

// ScaledSigmoid is NAB's S(y): 2σ(−5y) − 1 for y ≤ 3, and −1 beyond.
func ScaledSigmoid(y float64) float64 {
	if y > 3 {
		return -1
	}
	return 2/(1+math.Exp(5*y)) - 1
}

// RowScores returns, for each of n rows, the score the row would add if it
// were a detection (NAB's per-row sweep score, the S(t) columns): inside a
// window it is A_TP·S(y)/S(−1) with y = −(R−i+1)/W; outside, −A_FP before
// any window, and A_FP·S(|i−R'|/(W'−1)) after the most recent window
// [L', R'] of width W'. Probationary rows get a value too; scoring ignores
// them. windows must be sorted, non-overlapping and inside [0, n).
func RowScores(n int, windows []Window, p Profile) []float64 {
	out := make([]float64, n)
	maxTP := ScaledSigmoid(-1)
	prev := -1 // index of the most recent window ended before row i
	k := 0     // next window not yet passed
	for i := range n {
		for k < len(windows) && windows[k].End < i {
			prev = k
			k++
		}
		switch {
		case k < len(windows) && windows[k].Start <= i:
			w := windows[k]
			y := -float64(w.End-i+1) / float64(w.Width())
			out[i] = p.TP * ScaledSigmoid(y) / maxTP
		case prev < 0:
			out[i] = -p.FP
		default:
			w := windows[prev]
			y := math.Abs(float64(i-w.End)) / float64(w.Width()-1)
			out[i] = p.FP * ScaledSigmoid(y)
		}
	}
	return out
}

// windowIndex returns, for each row, the index of the window holding it or
// -1.
func windowIndex(n int, windows []Window) []int32 {
	out := make([]int32, n)
	for i := range out {
		out[i] = -1
	}
	for k, w := range windows {
		for i := max(w.Start, 0); i <= w.End && i < n; i++ {
			out[i] = int32(k)
		}
	}
	return out
}

// Scored is one series' detector output together with its labels.
type Scored struct {
	Name     string
	Scores   []float64 // one anomaly score per row, in file order
	Windows  []Window
	Category string
}

// FileResult is the outcome of one series at one threshold. TP, TN, FP and
// FN count non-probationary rows (NAB's diagnostic columns); Raw is the
// score.
type FileResult struct {
	Name           string
	Category       string
	Raw            float64
	TP, TN, FP, FN int
	Windows        int // windows that have a non-probationary row
	WindowsHit     int // of those, windows with at least one detection
}

// ScoreAt scores one series at threshold th: a non-probationary row is a
// detection iff its score is ≥ th. Each window adds the best row score among
// its detections, or −A_FN when it has none; each detection outside the
// windows adds its (negative) row score.
func ScoreAt(s Scored, p Profile, th float64) FileResult {
	n := len(s.Scores)
	L := ProbationLength(n)
	rs := RowScores(n, s.Windows, p)
	win := windowIndex(n, s.Windows)
	r := FileResult{Name: s.Name, Category: s.Category}
	best := make([]float64, len(s.Windows))
	hit := make([]bool, len(s.Windows))
	counted := make([]bool, len(s.Windows))
	for i := L; i < n; i++ {
		det := s.Scores[i] >= th
		w := win[i]
		if w >= 0 {
			counted[w] = true
			if det {
				r.TP++
				if !hit[w] || rs[i] > best[w] {
					best[w] = rs[i]
				}
				hit[w] = true
			} else {
				r.FN++
			}
			continue
		}
		if det {
			r.FP++
			r.Raw += rs[i]
		} else {
			r.TN++
		}
	}
	for k := range s.Windows {
		if !counted[k] {
			continue
		}
		r.Windows++
		if hit[k] {
			r.WindowsHit++
			r.Raw += best[k]
		} else {
			r.Raw -= p.FN
		}
	}
	return r
}

// Sweep finds NAB's optimal global threshold for one profile: the candidates
// are 1.1 (no detection) and every distinct non-probationary score; the one
// with the highest corpus raw score wins, ties going to the highest
// threshold. It returns the threshold and the raw score found by the sweep.
func Sweep(files []Scored, p Profile) (threshold, raw float64) {
	type row struct {
		score float64
		val   float64 // row score if detected
		win   int32   // global window id or -1
	}
	var rows []row
	nw := 0
	total := 0.0
	for _, s := range files {
		n := len(s.Scores)
		L := ProbationLength(n)
		rs := RowScores(n, s.Windows, p)
		win := windowIndex(n, s.Windows)
		local := make([]bool, len(s.Windows))
		for i := L; i < n; i++ {
			g := int32(-1)
			if win[i] >= 0 {
				g = int32(nw) + win[i]
				local[win[i]] = true
			}
			rows = append(rows, row{score: s.Scores[i], val: rs[i], win: g})
		}
		for _, c := range local {
			if c {
				total -= p.FN
			}
		}
		nw += len(s.Windows)
	}
	sort.Slice(rows, func(a, b int) bool { return rows[a].score > rows[b].score })
	best := make([]float64, nw)
	hit := make([]bool, nw)
	bestTh := NoDetectTh
	if len(rows) > 0 && rows[0].score >= NoDetectTh {
		bestTh = math.Inf(1)
	}
	bestRaw := total
	for i := 0; i < len(rows); {
		th := rows[i].score
		for ; i < len(rows) && rows[i].score == th; i++ {
			r := rows[i]
			if r.win < 0 {
				total += r.val
				continue
			}
			switch {
			case !hit[r.win]:
				hit[r.win] = true
				best[r.win] = r.val
				total += p.FN + r.val
			case r.val > best[r.win]:
				total += r.val - best[r.win]
				best[r.win] = r.val
			}
		}
		if total > bestRaw {
			bestRaw, bestTh = total, th
		}
	}
	return bestTh, bestRaw
}

// Normalize maps a raw corpus score to NAB's 0–100 scale, where the null
// detector (no detections, −A_FN per window) scores 0 and the perfect one
// (A_TP per window) scores 100. It returns NaN when there are no windows.
func Normalize(raw float64, windows int, p Profile) float64 {
	if windows == 0 {
		return math.NaN()
	}
	null := -float64(windows) * p.FN
	perfect := float64(windows) * p.TP
	return 100 * (raw - null) / (perfect - null)
}
