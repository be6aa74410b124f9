package govern

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tsingma/tsingma/internal/telemetry"
)

// Source is recorded telemetry as replays read it.
type Source interface {
	// Series lists a tenant's series (score series excluded).
	Series(ctx context.Context, tenant string) ([]telemetry.Key, error)
	Range(ctx context.Context, k telemetry.Key, mint, maxt int64, fn func(ts int64, v float64) bool) error
}

// Label marks a time window of a series as a true event (an incident, a
// known failure), for precision and recall.
type Label struct {
	Twin    string    `json:"twin"`
	Channel string    `json:"channel"`
	From    time.Time `json:"from"`
	To      time.Time `json:"to"`
}

// ReplayRequest says what to replay.
type ReplayRequest struct {
	System string    `json:"system"`
	From   time.Time `json:"from"`
	To     time.Time `json:"to"` // exclusive
	// Series to replay; empty: every series of the tenant.
	Series []telemetry.Key `json:"series,omitempty"`
	Seed   uint64          `json:"seed"`
	Labels []Label         `json:"labels,omitempty"`
	// MatchWindow: an alert within this of a label window (or, between
	// two models, of each other) counts as matching; default 1h. Alerts
	// of one series closer than this to the previous one are the same
	// alert (as the alerts engine de-duplicates).
	MatchWindow Duration `json:"match_window,omitempty"`
	// Acceptance for a backtest with labels; defaults 0.5 and 0.5.
	MinPrecision float64 `json:"min_precision,omitempty"`
	MinRecall    float64 `json:"min_recall,omitempty"`
	// Resamples of the paired bootstrap; default 1000.
	Resamples int `json:"resamples,omitempty"`
	// MaxSamples bounds the samples loaded; default 5,000,000.
	MaxSamples int `json:"max_samples,omitempty"`
}

func (q *ReplayRequest) defaults() error {
	if !q.From.Before(q.To) {
		return invalid("from must be before to")
	}
	if q.MatchWindow == 0 {
		q.MatchWindow = Duration(time.Hour)
	}
	if q.MatchWindow < 0 {
		return invalid("match_window must be positive")
	}
	if q.MinPrecision == 0 {
		q.MinPrecision = 0.5
	}
	if q.MinRecall == 0 {
		q.MinRecall = 0.5
	}
	if q.MinPrecision < 0 || q.MinPrecision > 1 || q.MinRecall < 0 || q.MinRecall > 1 {
		return invalid("min_precision and min_recall must be in [0, 1]")
	}
	if q.Resamples == 0 {
		q.Resamples = 1000
	}
	if q.Resamples < 100 || q.Resamples > 100_000 {
		return invalid("resamples must be in [100, 100000]")
	}
	if q.MaxSamples == 0 {
		q.MaxSamples = 5_000_000
	}
	if len(q.Labels) > 100_000 {
		return invalid("at most 100000 labels")
	}
	for _, l := range q.Labels {
		if !l.From.Before(l.To) && !l.From.Equal(l.To) {
			return invalid("label %s/%s: from after to", l.Twin, l.Channel)
		}
	}
	return nil
}

type point struct {
	ts int64
	v  float64
}

// recorded is the loaded range: every series' points, and the merged
// order in which samples are scored (time, then series).
type recorded struct {
	keys  []telemetry.Key
	types map[telemetry.Key]string
	data  map[telemetry.Key][]point
	order []ref
}

type ref struct {
	k  int // index into keys
	ix int // index into data[keys[k]]
}

func load(ctx context.Context, src Source, tenant string, q *ReplayRequest) (*recorded, error) {
	keys := slices.Clone(q.Series)
	if len(keys) == 0 {
		var err error
		if keys, err = src.Series(ctx, tenant); err != nil {
			return nil, err
		}
	}
	for i := range keys {
		keys[i].Tenant = tenant // nothing crosses tenants
	}
	slices.SortFunc(keys, func(a, b telemetry.Key) int {
		return cmp.Or(strings.Compare(a.Twin, b.Twin), strings.Compare(a.Channel, b.Channel))
	})
	keys = slices.Compact(keys)
	rec := &recorded{keys: keys, data: map[telemetry.Key][]point{}}
	total := 0
	mint, maxt := q.From.UnixMilli(), q.To.UnixMilli()-1
	for ki, k := range keys {
		var pts []point
		err := src.Range(ctx, k, mint, maxt, func(ts int64, v float64) bool {
			if len(pts) == 0 || ts > pts[len(pts)-1].ts {
				pts = append(pts, point{ts, v})
			}
			total++
			return total <= q.MaxSamples
		})
		if err != nil {
			return nil, fmt.Errorf("read %s/%s: %w", k.Twin, k.Channel, err)
		}
		if total > q.MaxSamples {
			return nil, invalid("the range holds more than %d samples; narrow it", q.MaxSamples)
		}
		rec.data[k] = pts
		for i := range pts {
			rec.order = append(rec.order, ref{ki, i})
		}
	}
	slices.SortStableFunc(rec.order, func(a, b ref) int {
		return cmp.Or(cmp.Compare(rec.data[keys[a.k]][a.ix].ts, rec.data[keys[b.k]][b.ix].ts), cmp.Compare(a.k, b.k))
	})
	return rec, nil
}

// pitView is the point-in-time History of a replay: reads up to now only.
type pitView struct {
	rec       *recorded
	now       int64
	violation string
}

func (v *pitView) Range(k telemetry.Key, mint, maxt int64, fn func(ts int64, v float64) bool) error {
	if maxt > v.now {
		if v.violation == "" {
			v.violation = fmt.Sprintf("asked for %s/%s up to %s while scoring a sample at %s",
				k.Twin, k.Channel, time.UnixMilli(maxt).UTC().Format(time.RFC3339Nano), time.UnixMilli(v.now).UTC().Format(time.RFC3339Nano))
		}
		return ErrLookAhead
	}
	pts := v.rec.data[k]
	i, _ := slices.BinarySearchFunc(pts, mint, func(p point, t int64) int { return cmp.Compare(p.ts, t) })
	for ; i < len(pts) && pts[i].ts <= maxt; i++ {
		if !fn(pts[i].ts, pts[i].v) {
			return nil
		}
	}
	return nil
}

// Onset is an alert a model would have raised.
type Onset struct {
	Twin    string  `json:"twin"`
	Channel string  `json:"channel"`
	TS      int64   `json:"ts"`
	Score   float64 `json:"score"`
}

// Metrics are a model's results over a replay.
type Metrics struct {
	Samples   int `json:"samples"`
	Errors    int `json:"errors"`
	Alerts    int `json:"alerts"`
	AlertDays int `json:"series_days"` // (series, day) blocks replayed
	// With labels:
	TruePositives  int      `json:"true_positives,omitempty"`
	FalsePositives int      `json:"false_positives,omitempty"`
	Windows        int      `json:"windows,omitempty"`
	Detected       int      `json:"detected,omitempty"`
	Precision      *float64 `json:"precision,omitempty"`
	Recall         *float64 `json:"recall,omitempty"`
	F1             *float64 `json:"f1,omitempty"`
}

// run is one model's pass.
type run struct {
	onsets   []Onset
	metrics  Metrics
	rejected string
}

// replay scores every sample with m, in order, through a point-in-time
// view. A model that reads the future or panics is rejected.
func replay(rec *recorded, m Model, match time.Duration) (r run) {
	view := &pitView{rec: rec}
	last := map[int]int64{}
	defer func() {
		if p := recover(); p != nil {
			r.rejected = fmt.Sprintf("model panicked: %v", p)
		}
	}()
	for _, o := range rec.order {
		k := rec.keys[o.k]
		p := rec.data[k][o.ix]
		view.now = p.ts
		out, err := m.Score(telemetry.Sample{Tenant: k.Tenant, Twin: k.Twin, Channel: k.Channel, Type: rec.types[k], TS: p.ts, Value: p.v}, view)
		if view.violation != "" {
			r.rejected = "point-in-time violation: " + view.violation
			return r
		}
		r.metrics.Samples++
		if err != nil {
			if errors.Is(err, ErrLookAhead) {
				r.rejected = "point-in-time violation"
				return r
			}
			r.metrics.Errors++
			continue
		}
		if !out.Alert {
			continue
		}
		if t, ok := last[o.k]; !ok || p.ts-t > match.Milliseconds() {
			r.onsets = append(r.onsets, Onset{Twin: k.Twin, Channel: k.Channel, TS: p.ts, Score: out.Score})
		}
		last[o.k] = p.ts
	}
	return r
}

const day = int64(24 * time.Hour / time.Millisecond)

// blockStats are one (series, day) block's counts, the unit the paired
// bootstrap resamples.
type blockStats struct {
	alerts, tp, fp, windows, detected int
}

type blockKey struct {
	series string
	day    int64
}

// score turns onsets into metrics and per-block counts against labels.
func score(rec *recorded, r *run, q *ReplayRequest, blocks []blockKey) map[blockKey]*blockStats {
	per := map[blockKey]*blockStats{}
	for _, b := range blocks {
		per[b] = &blockStats{}
	}
	w := q.MatchWindow.Milliseconds()
	hit := map[int]bool{} // label index within q.Labels
	for _, o := range r.onsets {
		s := o.Twin + "/" + o.Channel
		b := per[blockKey{s, o.TS / day}]
		if b == nil {
			b = &blockStats{}
			per[blockKey{s, o.TS / day}] = b
		}
		b.alerts++
		if len(q.Labels) == 0 {
			continue
		}
		tp := false
		for i := range q.Labels {
			l := &q.Labels[i]
			if l.Twin == o.Twin && l.Channel == o.Channel && o.TS >= l.From.UnixMilli()-w && o.TS <= l.To.UnixMilli()+w {
				tp = true
				hit[i] = true
			}
		}
		if tp {
			b.tp++
		} else {
			b.fp++
		}
	}
	for i, l := range q.Labels {
		s := l.Twin + "/" + l.Channel
		bk := blockKey{s, l.From.UnixMilli() / day}
		b := per[bk]
		if b == nil {
			b = &blockStats{}
			per[bk] = b
		}
		b.windows++
		if hit[i] {
			b.detected++
		}
	}
	m := &r.metrics
	m.Alerts = len(r.onsets)
	m.AlertDays = len(blocks)
	if len(q.Labels) > 0 {
		for _, b := range per {
			m.TruePositives += b.tp
			m.FalsePositives += b.fp
			m.Windows += b.windows
			m.Detected += b.detected
		}
		p, rc, f := prf(m.TruePositives, m.FalsePositives, m.Detected, m.Windows)
		m.Precision, m.Recall, m.F1 = &p, &rc, &f
	}
	return per
}

// prf: precision over alerts, recall over windows, their harmonic mean.
// No alerts gives precision 1 (nothing claimed wrongly) but recall 0.
func prf(tp, fp, detected, windows int) (p, r, f float64) {
	p = 1
	if tp+fp > 0 {
		p = float64(tp) / float64(tp+fp)
	}
	if windows > 0 {
		r = float64(detected) / float64(windows)
	}
	if p+r > 0 {
		f = 2 * p * r / (p + r)
	}
	return p, r, f
}

// seriesDays lists the (series, day) blocks with samples.
func seriesDays(rec *recorded) []blockKey {
	seen := map[blockKey]bool{}
	var out []blockKey
	for _, k := range rec.keys {
		for _, p := range rec.data[k] {
			b := blockKey{k.Twin + "/" + k.Channel, p.ts / day}
			if !seen[b] {
				seen[b] = true
				out = append(out, b)
			}
		}
	}
	slices.SortFunc(out, func(a, b blockKey) int { return cmp.Or(strings.Compare(a.series, b.series), cmp.Compare(a.day, b.day)) })
	return out
}

// Evaluation is a stored evaluation of a model version: a backtest, a
// champion-challenger comparison or a shadow trial. Report is the
// report's exact bytes; ReportHash their SHA-256.
type Evaluation struct {
	ID         string    `json:"id"`
	Kind       string    `json:"kind"`
	System     string    `json:"system"`
	Version    string    `json:"version"`
	Against    string    `json:"against,omitempty"` // the champion, for a comparison
	Pass       bool      `json:"pass"`
	Summary    string    `json:"summary"`
	ReportHash string    `json:"report_hash"`
	Report     []byte    `json:"report,omitempty"` // base64 in JSON: the exact bytes
	By         string    `json:"by"`
	Created    time.Time `json:"created"`
	AuditSeq   uint64    `json:"audit_seq"`
}

func reportID(prefix string, b []byte) (string, string) {
	h := sha256.Sum256(b)
	s := hex.EncodeToString(h[:])
	return prefix + s[:16], s
}

// Duration is a time.Duration that reads and writes JSON as "90m" (a
// number is taken as nanoseconds).
type Duration time.Duration

// String formats like time.Duration.
func (d Duration) String() string { return time.Duration(d).String() }

// Milliseconds returns d in milliseconds.
func (d Duration) Milliseconds() int64 { return time.Duration(d).Milliseconds() }

// MarshalJSON writes "1h0m0s".
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads "90m" or nanoseconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		x, err := time.ParseDuration(s)
		if err != nil {
			return invalid("duration %q: want e.g. 90m", s)
		}
		*d = Duration(x)
		return nil
	}
	var n int64
	if err := json.Unmarshal(b, &n); err != nil {
		return invalid("duration: want a string like 90m")
	}
	*d = Duration(n)
	return nil
}
