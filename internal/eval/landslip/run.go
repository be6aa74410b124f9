package landslip

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/tsingma/tsingma/internal/landslide"
)

// Paths of the inputs under the hk dataset directory.
const (
	RainFile      = "weather/hko-daily-rainfall-hq.csv"
	IncidentsFile = "slopes/cedd-landslide-incidents-1984-2020.csv"
)

// Config fixes the split and the rainfall windows. DefaultConfig is the
// task's protocol: fit on 1984–2005, score 2006–2020.
type Config struct {
	TrainFrom, TrainTo time.Time // inclusive days
	TestFrom, TestTo   time.Time
	Windows            []time.Duration
	Events             []int // event sizes scored (landslides per day)
}

// DefaultConfig returns the evaluation protocol. The windows are fixed a
// priori, not tuned: the 24-h and 72-h rolling rainfall of the standard
// list and a 30-day antecedent total (seasonal wetness).
func DefaultConfig() Config {
	d := func(y, m, dd int) time.Time { return time.Date(y, time.Month(m), dd, 0, 0, 0, 0, time.UTC) }
	return Config{
		TrainFrom: d(1984, 1, 1), TrainTo: d(2005, 12, 31),
		TestFrom: d(2006, 1, 1), TestTo: d(2020, 12, 31),
		Windows: []time.Duration{24 * time.Hour, 72 * time.Hour, 30 * 24 * time.Hour},
		Events:  []int{10, 50},
	}
}

// Score is the day-by-day skill for one event size on the test years.
type Score struct {
	Event                   int     // days with ≥ Event reported landslides
	Threshold               float64 // expected landslides, chosen on the training years
	Hits, Misses, FalseAlms int
	TrainCSI                float64
	POD, FAR                float64
}

// Report is the result of Run.
type Report struct {
	Curve          landslide.Curve
	Fit            landslide.FitStats
	TrainDays      int
	TestDays       int
	MissingDays    int // days with no rainfall value in the span (treated as 0 mm)
	CallDateOnly   int // incidents dated by their call date
	Undated        int // incidents with only a month (not counted on any day)
	TrainEvents    map[int]int
	TestEvents     map[int]int
	Scores         []Score
	Spearman       float64
	TopTestDays    []DayResult
	IncidentsTotal int
	Baseline       *Report // the 24-h-only curve under the same protocol (Run only)
}

// DayResult is one scored day.
type DayResult struct {
	Date     time.Time
	RainMM   []float64
	Expected float64
	Reported int
}

// Run loads the HK data from dir and evaluates cfg.
func Run(ctx context.Context, dir string, cfg Config) (*Report, error) {
	rf, err := os.Open(filepath.Join(dir, RainFile))
	if err != nil {
		return nil, err
	}
	rain, err := ReadHKODaily(rf)
	rf.Close()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", RainFile, err)
	}
	inf, err := os.Open(filepath.Join(dir, IncidentsFile))
	if err != nil {
		return nil, err
	}
	inc, err := ReadIncidents(inf)
	inf.Close()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", IncidentsFile, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rep, err := Evaluate(rain, inc, cfg)
	if err != nil {
		return nil, err
	}
	// Reference: the same protocol with the 24-h window alone (a Finlay et
	// al. (1997)-style power law), to show what the other windows add.
	base := cfg
	base.Windows = []time.Duration{24 * time.Hour}
	if rep.Baseline, err = Evaluate(rain, inc, base); err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	return rep, nil
}

// Evaluate fits on the training days and scores the test days.
func Evaluate(rain []DailyRain, inc []Incident, cfg Config) (*Report, error) {
	rep := &Report{TrainEvents: map[int]int{}, TestEvents: map[int]int{}, IncidentsTotal: len(inc)}
	counts := map[time.Time]int{}
	for _, in := range inc {
		if in.Undated {
			rep.Undated++
			continue
		}
		counts[in.Date]++
		if in.FromCall {
			rep.CallDateOnly++
		}
	}
	byDay := map[time.Time]DailyRain{}
	for _, r := range rain {
		byDay[r.Date] = r
	}
	var longest time.Duration
	for _, w := range cfg.Windows {
		longest = max(longest, w)
	}
	roll, err := landslide.NewRolling(24*time.Hour, cfg.Windows)
	if err != nil {
		return nil, err
	}
	start := cfg.TrainFrom.Add(-longest)
	var trainX [][]float64
	var trainY []float64
	var days []DayResult
	for d := start; !d.After(cfg.TestTo); d = d.AddDate(0, 0, 1) {
		r, ok := byDay[d]
		if !ok || r.Missing {
			if !d.Before(cfg.TrainFrom) {
				rep.MissingDays++
			}
			roll.AdvanceTo(d)
		} else if err := roll.Add(d, r.MM); err != nil {
			return nil, err
		}
		if d.Before(cfg.TrainFrom) {
			continue
		}
		sums := roll.Sums(nil)
		dr := DayResult{Date: d, RainMM: sums, Reported: counts[d]}
		switch {
		case !d.After(cfg.TrainTo):
			trainX = append(trainX, sums)
			trainY = append(trainY, float64(dr.Reported))
			rep.TrainDays++
		case !d.Before(cfg.TestFrom):
			rep.TestDays++
		default:
			continue
		}
		days = append(days, dr)
	}
	curve, st, err := landslide.FitCurve(cfg.Windows, trainX, trainY)
	if err != nil {
		return nil, err
	}
	rep.Curve, rep.Fit = curve, st
	var train, test []DayResult
	for i := range days {
		days[i].Expected = curve.Expected(days[i].RainMM)
		if !days[i].Date.After(cfg.TrainTo) {
			train = append(train, days[i])
		} else {
			test = append(test, days[i])
		}
	}
	for _, ev := range cfg.Events {
		for _, d := range train {
			if d.Reported >= ev {
				rep.TrainEvents[ev]++
			}
		}
		for _, d := range test {
			if d.Reported >= ev {
				rep.TestEvents[ev]++
			}
		}
		thr, csi := bestThreshold(train, ev)
		s := Score{Event: ev, Threshold: thr, TrainCSI: csi}
		for _, d := range test {
			warn, event := d.Expected >= thr, d.Reported >= ev
			switch {
			case warn && event:
				s.Hits++
			case event:
				s.Misses++
			case warn:
				s.FalseAlms++
			}
		}
		s.POD = ratio(s.Hits, s.Hits+s.Misses)
		s.FAR = ratio(s.FalseAlms, s.Hits+s.FalseAlms)
		rep.Scores = append(rep.Scores, s)
	}
	pred := make([]float64, len(test))
	obs := make([]float64, len(test))
	for i, d := range test {
		pred[i], obs[i] = d.Expected, float64(d.Reported)
	}
	rep.Spearman = Spearman(pred, obs)
	top := append([]DayResult(nil), test...)
	sort.Slice(top, func(i, j int) bool { return top[i].Reported > top[j].Reported })
	rep.TopTestDays = top[:min(8, len(top))]
	return rep, nil
}

func ratio(a, b int) float64 {
	if b == 0 {
		return math.NaN()
	}
	return float64(a) / float64(b)
}

// bestThreshold returns the warning threshold on the expected count that
// maximises the critical success index hits/(hits+misses+false alarms) for
// events of ≥ ev landslides on the given (training) days.
func bestThreshold(days []DayResult, ev int) (thr, csi float64) {
	s := append([]DayResult(nil), days...)
	sort.Slice(s, func(i, j int) bool { return s[i].Expected > s[j].Expected })
	total := 0
	for _, d := range s {
		if d.Reported >= ev {
			total++
		}
	}
	hits, fa := 0, 0
	thr = math.Inf(1)
	for i, d := range s {
		if d.Reported >= ev {
			hits++
		} else {
			fa++
		}
		if i+1 < len(s) && s[i+1].Expected == d.Expected {
			continue // same threshold admits ties together
		}
		if c := float64(hits) / float64(total+fa); c > csi {
			csi, thr = c, d.Expected
		}
	}
	return thr, csi
}

// Spearman returns the rank correlation of a and b (average ranks for
// ties), NaN if either is constant.
func Spearman(a, b []float64) float64 {
	ra, rb := ranks(a), ranks(b)
	n := float64(len(a))
	var ma, mb float64
	for i := range ra {
		ma += ra[i]
		mb += rb[i]
	}
	ma /= n
	mb /= n
	var sab, saa, sbb float64
	for i := range ra {
		da, db := ra[i]-ma, rb[i]-mb
		sab += da * db
		saa += da * da
		sbb += db * db
	}
	if saa == 0 || sbb == 0 {
		return math.NaN()
	}
	return sab / math.Sqrt(saa*sbb)
}

func ranks(v []float64) []float64 {
	idx := make([]int, len(v))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(i, j int) bool { return v[idx[i]] < v[idx[j]] })
	r := make([]float64, len(v))
	for i := 0; i < len(idx); {
		j := i
		for j+1 < len(idx) && v[idx[j+1]] == v[idx[i]] {
			j++
		}
		avg := float64(i+j)/2 + 1
		for k := i; k <= j; k++ {
			r[idx[k]] = avg
		}
		i = j + 1
	}
	return r
}

// Write prints the fit, the scores and, last,
// "landslip pod10=.. far10=.. pod50=.. far50=.. spearman=..".
func (r *Report) Write(w io.Writer) {
	fmt.Fprintf(w, "data: %d incidents (%d dated by call date, %d with no day, left out), train days %d, test days %d, days without rainfall value %d\n",
		r.IncidentsTotal, r.CallDateOnly, r.Undated, r.TrainDays, r.TestDays, r.MissingDays)
	fmt.Fprintf(w, "curve: E[N] = exp(%.4f", r.Curve.Intercept)
	for i, b := range r.Curve.Coef {
		fmt.Fprintf(w, " %+.4f·ln(1+R%s)", b, fmtWindow(r.Curve.Windows[i]))
	}
	fmt.Fprintf(w, ")  [Poisson deviance %.0f, null %.0f, %d IRLS iterations]\n", r.Fit.Deviance, r.Fit.NullDev, r.Fit.Iterations)
	for _, s := range r.Scores {
		fmt.Fprintf(w, "event >=%d/day: train events %d, test events %d; threshold E[N]>=%.2f (train CSI %.3f); test hits %d misses %d false alarms %d: POD %.3f FAR %.3f\n",
			s.Event, r.TrainEvents[s.Event], r.TestEvents[s.Event], s.Threshold, s.TrainCSI, s.Hits, s.Misses, s.FalseAlms, s.POD, s.FAR)
	}
	fmt.Fprintf(w, "largest test days (date, reported, expected, rolling mm):\n")
	for _, d := range r.TopTestDays {
		fmt.Fprintf(w, "  %s %4d %8.1f %v\n", d.Date.Format(time.DateOnly), d.Reported, d.Expected, roundAll(d.RainMM))
	}
	s10, s50 := r.score(10), r.score(50)
	if b := r.Baseline; b != nil {
		b10, b50 := b.score(10), b.score(50)
		fmt.Fprintf(w, "reference, 24-h window alone (same protocol): pod10=%.3f far10=%.3f pod50=%.3f far50=%.3f spearman=%.3f\n",
			b10.POD, b10.FAR, b50.POD, b50.FAR, b.Spearman)
	}
	fmt.Fprintf(w, "landslip pod10=%.3f far10=%.3f pod50=%.3f far50=%.3f spearman=%.3f\n", s10.POD, s10.FAR, s50.POD, s50.FAR, r.Spearman)
}

func (r *Report) score(ev int) Score {
	for _, s := range r.Scores {
		if s.Event == ev {
			return s
		}
	}
	return Score{POD: math.NaN(), FAR: math.NaN()}
}

func fmtWindow(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return fmt.Sprintf("%dh", d/time.Hour)
}

func roundAll(v []float64) []float64 {
	o := make([]float64, len(v))
	for i, x := range v {
		o[i] = math.Round(x*10) / 10
	}
	return o
}
