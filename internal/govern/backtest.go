package govern

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/tsingma/tsingma/internal/auth"
)

// ModelRef names the version a report is about.
type ModelRef struct {
	Version    string `json:"version"`
	Family     string `json:"family"`
	ConfigHash string `json:"config_hash"`
}

// BacktestReport is a backtest's result. Its JSON is byte-identical for
// the same data, range, request and seed: it holds no wall-clock time.
type BacktestReport struct {
	System      string    `json:"system"`
	Model       ModelRef  `json:"model"`
	From        time.Time `json:"from"`
	To          time.Time `json:"to"`
	Seed        uint64    `json:"seed"`
	Series      int       `json:"series"`
	Labels      int       `json:"labels"`
	MatchWindow string    `json:"match_window"`
	Rejected    string    `json:"rejected,omitempty"`
	Metrics     Metrics   `json:"metrics"`
	Criteria    string    `json:"criteria"`
	Pass        bool      `json:"pass"`
	Alerts      []Onset   `json:"alerts"` // the first 1000
}

// runnable returns a fresh model of a registered version.
func (r *Registry) runnable(tenant, system, version string, seed uint64) (Model, ModelRef, error) {
	s, err := r.GetSystem(tenant, system)
	if err != nil {
		return nil, ModelRef{}, err
	}
	v, ok := s.Version(version)
	if !ok {
		return nil, ModelRef{}, fmt.Errorf("version %q of %s: %w", version, system, ErrNotFound)
	}
	if v.Family == "" {
		return nil, ModelRef{}, invalid("version %s has no model family: tsingma can record it but not replay it", version)
	}
	m, err := r.newModel(v.Family, v.Config, seed)
	return m, ModelRef{Version: v.Version, Family: v.Family, ConfigHash: v.ConfigHash}, err
}

// Backtest replays a version over recorded telemetry and stores the
// result as an evaluation. Pass: the model was not rejected (no look-ahead,
// no panic) and, when labels are given, precision and recall reach the
// request's minimums. Without labels a backtest only shows that the model
// runs safely over the range.
func (r *Registry) Backtest(ctx context.Context, p auth.Principal, tenant string, src Source, version string, q ReplayRequest) (Evaluation, *BacktestReport, error) {
	if err := q.defaults(); err != nil {
		return Evaluation{}, nil, err
	}
	m, ref, err := r.runnable(tenant, q.System, version, q.Seed)
	if err != nil {
		return Evaluation{}, nil, err
	}
	rec, err := load(ctx, src, tenant, &q)
	if err != nil {
		return Evaluation{}, nil, err
	}
	res := replay(rec, m, time.Duration(q.MatchWindow))
	blocks := seriesDays(rec)
	score(rec, &res, &q, blocks)
	rep := &BacktestReport{System: q.System, Model: ref, From: q.From.UTC(), To: q.To.UTC(), Seed: q.Seed, Series: len(rec.keys),
		Labels: len(q.Labels), MatchWindow: q.MatchWindow.String(), Rejected: res.rejected, Metrics: res.metrics}
	rep.Alerts = res.onsets[:min(len(res.onsets), 1000)]
	if rep.Alerts == nil {
		rep.Alerts = []Onset{}
	}
	switch {
	case res.rejected != "":
		rep.Criteria = "rejected models fail"
	case len(q.Labels) == 0:
		rep.Criteria = "no labels: passes when the model runs the range without look-ahead or panic"
		rep.Pass = true
	default:
		rep.Criteria = fmt.Sprintf("precision >= %g and recall >= %g", q.MinPrecision, q.MinRecall)
		rep.Pass = *res.metrics.Precision >= q.MinPrecision && *res.metrics.Recall >= q.MinRecall
	}
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return Evaluation{}, nil, err
	}
	summary := fmt.Sprintf("%d samples, %d alerts", res.metrics.Samples, res.metrics.Alerts)
	if res.metrics.F1 != nil {
		summary += fmt.Sprintf(", precision %.3f, recall %.3f", *res.metrics.Precision, *res.metrics.Recall)
	}
	if res.rejected != "" {
		summary = "rejected: " + res.rejected
	}
	ev, err := r.storeEvaluation(ctx, p, tenant, Evaluation{Kind: EvalBacktest, System: q.System, Version: version, Pass: rep.Pass, Summary: summary}, "bt-", b)
	return ev, rep, err
}

func (r *Registry) storeEvaluation(ctx context.Context, p auth.Principal, tenant string, ev Evaluation, prefix string, report []byte) (Evaluation, error) {
	ev.ID, ev.ReportHash = reportID(prefix, report)
	if len(report) <= 8<<20 {
		ev.Report = report
	}
	ev.By, ev.Created = actorName(p), r.now()
	err := r.update(func(tx *bolt.Tx) error {
		if old, err := get[Evaluation](tx, bEvaluations, tenant, ev.ID); err == nil {
			ev = *old // the same run again: same report, same evaluation
			return nil
		}
		rec := ev
		rec.Report = nil
		var err error
		if ev.AuditSeq, err = r.record(ctx, tenant, "evaluation.recorded", p, ev.ID, rec); err != nil {
			return err
		}
		return put(tx, bEvaluations, tenant, ev.ID, &ev)
	})
	return ev, err
}

// GetEvaluation returns a stored evaluation.
func (r *Registry) GetEvaluation(tenant, id string) (Evaluation, error) {
	var e *Evaluation
	err := r.db.View(func(tx *bolt.Tx) error {
		var err error
		e, err = get[Evaluation](tx, bEvaluations, tenant, id)
		return err
	})
	if err != nil {
		return Evaluation{}, fmt.Errorf("evaluation %q: %w", id, err)
	}
	return *e, nil
}

// Evaluations lists a system's evaluations ("" for all), oldest first.
func (r *Registry) Evaluations(tenant, system string) ([]Evaluation, error) {
	var all []Evaluation
	err := r.db.View(func(tx *bolt.Tx) error {
		var err error
		all, err = list[Evaluation](tx, bEvaluations, tenant)
		return err
	})
	out := all[:0]
	for _, e := range all {
		if system == "" || e.System == system {
			e.Report = nil
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b Evaluation) int { return a.Created.Compare(b.Created) })
	return out, err
}

// Interval is a paired bootstrap confidence interval of a difference
// (challenger minus champion).
type Interval struct {
	Metric     string  `json:"metric"`
	Champion   float64 `json:"champion"`
	Challenger float64 `json:"challenger"`
	Diff       float64 `json:"diff"`
	Low        float64 `json:"low"`  // 2.5th percentile
	High       float64 `json:"high"` // 97.5th percentile
}

// ComparisonReport is a champion-challenger report. Byte-identical for
// the same data, range, request and seed.
type ComparisonReport struct {
	System      string     `json:"system"`
	Champion    ModelRef   `json:"champion"`
	Challenger  ModelRef   `json:"challenger"`
	From        time.Time  `json:"from"`
	To          time.Time  `json:"to"`
	Seed        uint64     `json:"seed"`
	Series      int        `json:"series"`
	Labels      int        `json:"labels"`
	Blocks      int        `json:"blocks"` // (series, day) blocks resampled
	Resamples   int        `json:"resamples"`
	MatchWindow string     `json:"match_window"`
	Rejected    []string   `json:"rejected,omitempty"`
	Metrics     [2]Metrics `json:"metrics"` // champion, challenger
	Intervals   []Interval `json:"intervals"`
	// The alerts each would have raised that the other would not (first
	// 1000 of each), and how many both raised.
	Both           int     `json:"both"`
	OnlyChampion   []Onset `json:"only_champion"`
	OnlyChallenger []Onset `json:"only_challenger"`
	NOnlyChampion  int     `json:"n_only_champion"`
	NOnlyChallen   int     `json:"n_only_challenger"`
	Criteria       string  `json:"criteria"`
	Pass           bool    `json:"pass"`
}

// Compare replays the champion and a challenger over the same samples and
// reports their metrics side by side, paired bootstrap intervals of the
// differences (resampling (series, day) blocks with the request's seed),
// and the alerts on which they differ. It is stored as a comparison
// evaluation of the challenger. Pass: neither was rejected and, with
// labels, the challenger's F1 is not significantly worse (the interval's
// upper end is at least 0).
func (r *Registry) Compare(ctx context.Context, p auth.Principal, tenant string, src Source, champion, challenger string, q ReplayRequest) (Evaluation, *ComparisonReport, error) {
	if err := q.defaults(); err != nil {
		return Evaluation{}, nil, err
	}
	if champion == "" {
		s, err := r.GetSystem(tenant, q.System)
		if err != nil {
			return Evaluation{}, nil, err
		}
		champion = s.Aliases[Champion]
	}
	if champion == challenger {
		return Evaluation{}, nil, invalid("champion and challenger are the same version")
	}
	m0, ref0, err := r.runnable(tenant, q.System, champion, q.Seed)
	if err != nil {
		return Evaluation{}, nil, err
	}
	m1, ref1, err := r.runnable(tenant, q.System, challenger, q.Seed)
	if err != nil {
		return Evaluation{}, nil, err
	}
	rec, err := load(ctx, src, tenant, &q)
	if err != nil {
		return Evaluation{}, nil, err
	}
	runs := [2]run{replay(rec, m0, time.Duration(q.MatchWindow)), replay(rec, m1, time.Duration(q.MatchWindow))}
	blocks := seriesDays(rec)
	per := [2]map[blockKey]*blockStats{score(rec, &runs[0], &q, blocks), score(rec, &runs[1], &q, blocks)}
	rep := &ComparisonReport{System: q.System, Champion: ref0, Challenger: ref1, From: q.From.UTC(), To: q.To.UTC(), Seed: q.Seed,
		Series: len(rec.keys), Labels: len(q.Labels), Resamples: q.Resamples, MatchWindow: q.MatchWindow.String(),
		Metrics: [2]Metrics{runs[0].metrics, runs[1].metrics}}
	for i, who := range []string{"champion", "challenger"} {
		if runs[i].rejected != "" {
			rep.Rejected = append(rep.Rejected, who+": "+runs[i].rejected)
		}
	}
	// Blocks: every (series, day) with samples or labels, in a fixed order.
	all := map[blockKey]bool{}
	for _, pm := range per {
		for b := range pm {
			all[b] = true
		}
	}
	keys := make([]blockKey, 0, len(all))
	for b := range all {
		keys = append(keys, b)
	}
	slices.SortFunc(keys, func(a, b blockKey) int {
		if a.series != b.series {
			return strings.Compare(a.series, b.series)
		}
		return int(a.day - b.day)
	})
	rep.Blocks = len(keys)
	rep.Intervals = bootstrap(keys, per, len(q.Labels) > 0, q.Resamples, q.Seed)
	both, only0, only1 := diffOnsets(runs[0].onsets, runs[1].onsets, q.MatchWindow.Milliseconds())
	rep.Both, rep.NOnlyChampion, rep.NOnlyChallen = both, len(only0), len(only1)
	rep.OnlyChampion, rep.OnlyChallenger = only0[:min(len(only0), 1000)], only1[:min(len(only1), 1000)]
	switch {
	case len(rep.Rejected) > 0:
		rep.Criteria = "a rejected model fails the comparison"
	case len(q.Labels) == 0:
		rep.Criteria = "no labels: passes when both run the range without look-ahead or panic; read the alert differences"
		rep.Pass = true
	default:
		rep.Criteria = "the challenger's F1 is not significantly worse: the 95% interval of the F1 difference reaches 0 or above"
		for _, iv := range rep.Intervals {
			if iv.Metric == "f1" {
				rep.Pass = iv.High >= 0
			}
		}
	}
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return Evaluation{}, nil, err
	}
	summary := fmt.Sprintf("vs %s: alerts %d vs %d, %d only champion, %d only challenger", champion, runs[0].metrics.Alerts, runs[1].metrics.Alerts, rep.NOnlyChampion, rep.NOnlyChallen)
	ev, err := r.storeEvaluation(ctx, p, tenant, Evaluation{Kind: EvalComparison, System: q.System, Version: challenger, Against: champion, Pass: rep.Pass, Summary: summary}, "cc-", b)
	return ev, rep, err
}

// bootstrap resamples blocks with replacement, the same blocks for both
// models (paired), and returns the percentile intervals of the
// differences.
func bootstrap(keys []blockKey, per [2]map[blockKey]*blockStats, labelled bool, n int, seed uint64) []Interval {
	type sums struct{ alerts, tp, fp, windows, detected int }
	stat := func(s sums, days int, metric string) float64 {
		p, r, f := prf(s.tp, s.fp, s.detected, s.windows)
		switch metric {
		case "alerts_per_series_day":
			if days == 0 {
				return 0
			}
			return float64(s.alerts) / float64(days)
		case "precision":
			return p
		case "recall":
			return r
		}
		return f
	}
	metrics := []string{"alerts_per_series_day"}
	if labelled {
		metrics = append(metrics, "precision", "recall", "f1")
	}
	sum := func(m int, idx func(i int) int) sums {
		var s sums
		for i := range keys {
			b := per[m][keys[idx(i)]]
			if b == nil {
				continue
			}
			s.alerts += b.alerts
			s.tp += b.tp
			s.fp += b.fp
			s.windows += b.windows
			s.detected += b.detected
		}
		return s
	}
	ident := func(i int) int { return i }
	base := [2]sums{sum(0, ident), sum(1, ident)}
	out := make([]Interval, len(metrics))
	diffs := make([][]float64, len(metrics))
	for i, m := range metrics {
		out[i] = Interval{Metric: m, Champion: stat(base[0], len(keys), m), Challenger: stat(base[1], len(keys), m)}
		out[i].Diff = out[i].Challenger - out[i].Champion
	}
	if len(keys) == 0 {
		return out
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	draw := make([]int, len(keys))
	for range n {
		for i := range draw {
			draw[i] = rng.IntN(len(keys))
		}
		at := func(i int) int { return draw[i] }
		s0, s1 := sum(0, at), sum(1, at)
		for i, m := range metrics {
			diffs[i] = append(diffs[i], stat(s1, len(keys), m)-stat(s0, len(keys), m))
		}
	}
	for i := range metrics {
		slices.Sort(diffs[i])
		out[i].Low = quantile(diffs[i], 0.025)
		out[i].High = quantile(diffs[i], 0.975)
	}
	return out
}

func quantile(sorted []float64, q float64) float64 {
	pos := q * float64(len(sorted)-1)
	lo := int(math.Floor(pos))
	hi := min(lo+1, len(sorted)-1)
	return sorted[lo] + (pos-float64(lo))*(sorted[hi]-sorted[lo])
}

// diffOnsets matches onsets of the same series within w of each other.
func diffOnsets(a, b []Onset, w int64) (both int, onlyA, onlyB []Onset) {
	used := make([]bool, len(b))
	for _, x := range a {
		found := false
		for j, y := range b {
			if !used[j] && x.Twin == y.Twin && x.Channel == y.Channel && abs(x.TS-y.TS) <= w {
				used[j], found = true, true
				break
			}
		}
		if found {
			both++
		} else {
			onlyA = append(onlyA, x)
		}
	}
	for j, y := range b {
		if !used[j] {
			onlyB = append(onlyB, y)
		}
	}
	if onlyA == nil {
		onlyA = []Onset{}
	}
	if onlyB == nil {
		onlyB = []Onset{}
	}
	return both, onlyA, onlyB
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

var reportTmpl = template.Must(template.New("r").Funcs(template.FuncMap{
	"ms": func(ts int64) string { return time.UnixMilli(ts).UTC().Format(time.RFC3339) },
	"f":  func(x float64) string { return fmt.Sprintf("%.4f", x) },
	"pf": func(x *float64) string {
		if x == nil {
			return "–"
		}
		return fmt.Sprintf("%.4f", *x)
	},
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Champion-challenger report: {{.System}}</title>
<style>body{font:14px system-ui,sans-serif;margin:2em;max-width:70em}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:right}th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}.pass{color:#070}.fail{color:#a00}</style></head>
<body><h1>Champion-challenger report: {{.System}}</h1>
<p>Champion <b>{{.Champion.Version}}</b> (config {{.Champion.ConfigHash}}) against challenger <b>{{.Challenger.Version}}</b> (config {{.Challenger.ConfigHash}}),
replayed over {{.From.Format "2006-01-02T15:04:05Z07:00"}} to {{.To.Format "2006-01-02T15:04:05Z07:00"}}: {{.Series}} series, {{.Labels}} labelled windows, seed {{.Seed}}.</p>
<p class="{{if .Pass}}pass{{else}}fail{{end}}"><b>{{if .Pass}}Pass{{else}}Fail{{end}}</b>: {{.Criteria}}</p>
{{range .Rejected}}<p class="fail">Rejected: {{.}}</p>{{end}}
<h2>Metrics</h2>
<table><tr><th>metric</th><th>champion</th><th>challenger</th></tr>
<tr><td>samples</td><td>{{(index .Metrics 0).Samples}}</td><td>{{(index .Metrics 1).Samples}}</td></tr>
<tr><td>alerts</td><td>{{(index .Metrics 0).Alerts}}</td><td>{{(index .Metrics 1).Alerts}}</td></tr>
<tr><td>errors</td><td>{{(index .Metrics 0).Errors}}</td><td>{{(index .Metrics 1).Errors}}</td></tr>
<tr><td>precision</td><td>{{pf (index .Metrics 0).Precision}}</td><td>{{pf (index .Metrics 1).Precision}}</td></tr>
<tr><td>recall</td><td>{{pf (index .Metrics 0).Recall}}</td><td>{{pf (index .Metrics 1).Recall}}</td></tr>
<tr><td>F1</td><td>{{pf (index .Metrics 0).F1}}</td><td>{{pf (index .Metrics 1).F1}}</td></tr></table>
<h2>Differences (challenger − champion), paired bootstrap over {{.Blocks}} series-days, {{.Resamples}} resamples</h2>
<table><tr><th>metric</th><th>champion</th><th>challenger</th><th>difference</th><th>95% interval</th></tr>
{{range .Intervals}}<tr><td>{{.Metric}}</td><td>{{f .Champion}}</td><td>{{f .Challenger}}</td><td>{{f .Diff}}</td><td>[{{f .Low}}, {{f .High}}]</td></tr>
{{end}}</table>
<h2>Alerts</h2><p>Both raised {{.Both}}; only the champion {{.NOnlyChampion}}; only the challenger {{.NOnlyChallen}} (matched within {{.MatchWindow}}).</p>
<table><tr><th>only champion</th><th>channel</th><th>time</th><th>score</th></tr>{{range .OnlyChampion}}<tr><td>{{.Twin}}</td><td>{{.Channel}}</td><td>{{ms .TS}}</td><td>{{f .Score}}</td></tr>{{end}}</table>
<table><tr><th>only challenger</th><th>channel</th><th>time</th><th>score</th></tr>{{range .OnlyChallenger}}<tr><td>{{.Twin}}</td><td>{{.Channel}}</td><td>{{ms .TS}}</td><td>{{f .Score}}</td></tr>{{end}}</table>
</body></html>
`))

// HTML renders the report (deterministic, like the JSON).
func (c *ComparisonReport) HTML() ([]byte, error) {
	var b bytes.Buffer
	if err := reportTmpl.Execute(&b, c); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func jsonIndent(v any) ([]byte, error) { return json.MarshalIndent(v, "", "  ") }
