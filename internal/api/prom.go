package api

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"runtime"
	"sort"
	"strconv"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"
)

// promqlQueryable is a per-tenant Prometheus storage.
type promqlQueryable = storage.Queryable

// The Prometheus HTTP API subset that Grafana's Prometheus data source
// uses: query, query_range, series, labels, label values. Responses use
// Prometheus's envelope; errors are problem+json carrying Prometheus's
// "status"/"errorType"/"error" fields as well, so both kinds of client
// understand them.

type promResponse struct {
	Status string `json:"status"`
	Data   any    `json:"data"`
}

func promError(code, errType, msg string, cause error) error {
	return &apiError{code: code, detail: msg, cause: cause, extra: func(p *Problem) {
		p.PromStatus, p.PromErrorType, p.PromError = "error", errType, msg
	}}
}

func parsePromTime(v string, def time.Time) (time.Time, error) {
	if v == "" {
		return def, nil
	}
	// Bounded so that the seconds convert to an int64 (and the
	// milliseconds too): 1e300 became a wrapped, arbitrary time.
	if f, err := strconv.ParseFloat(v, 64); err == nil && math.Abs(f) <= 9e12 {
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(math.Round(frac*1e9))), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	return time.Time{}, promError("bad-query", "bad_data", "cannot parse "+strconv.Quote(clip(v))+" as a timestamp", nil)
}

func parsePromDuration(v string) (time.Duration, error) {
	if f, err := strconv.ParseFloat(v, 64); err == nil && f > 0 && f <= float64(math.MaxInt64)/float64(time.Second) {
		return time.Duration(f * float64(time.Second)), nil
	}
	if d, err := time.ParseDuration(v); err == nil && d > 0 {
		return d, nil
	}
	return 0, promError("bad-query", "bad_data", "cannot parse "+strconv.Quote(clip(v))+" as a positive duration", nil)
}

func (s *Server) promQuery(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return promError("bad-query", "bad_data", "cannot parse the form", err)
	}
	ts, err := parsePromTime(r.Form.Get("time"), s.cfg.Now())
	if err != nil {
		return err
	}
	if err := checkQuery(r.Form.Get("query")); err != nil {
		return err
	}
	ctx, cancel := s.queryContext(r)
	defer cancel()
	q, err := s.cfg.Engine.NewInstantQuery(ctx, s.cfg.Queryable(tenantOf(r)), nil, r.Form.Get("query"), ts)
	if err != nil {
		return promError("bad-query", "bad_data", err.Error(), err)
	}
	defer q.Close()
	if err := checkSubqueries(q, 0); err != nil {
		return err
	}
	return s.writePromResult(w, q.Exec(ctx))
}

func (s *Server) promQueryRange(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return promError("bad-query", "bad_data", "cannot parse the form", err)
	}
	start, err := parsePromTime(r.Form.Get("start"), time.Time{})
	if err != nil {
		return err
	}
	end, err := parsePromTime(r.Form.Get("end"), time.Time{})
	if err != nil {
		return err
	}
	if start.IsZero() || end.IsZero() || end.Before(start) {
		return promError("bad-query", "bad_data", "start and end are required, with end not before start", nil)
	}
	step, err := parsePromDuration(r.Form.Get("step"))
	if err != nil {
		return err
	}
	if end.Sub(start)/step > 11000 {
		return promError("bad-query", "bad_data", "exceeded maximum resolution of 11,000 points per timeseries; use a larger step", nil)
	}
	if err := checkQuery(r.Form.Get("query")); err != nil {
		return err
	}
	ctx, cancel := s.queryContext(r)
	defer cancel()
	q, err := s.cfg.Engine.NewRangeQuery(ctx, s.cfg.Queryable(tenantOf(r)), nil, r.Form.Get("query"), start, end, step)
	if err != nil {
		return promError("bad-query", "bad_data", err.Error(), err)
	}
	defer q.Close()
	if err := checkSubqueries(q, end.Sub(start)); err != nil {
		return err
	}
	return s.writePromResult(w, q.Exec(ctx))
}

// EngineOpts are the options of the PromQL engine that serves this API
// (the caller adds its logger). Without NoStepSubqueryIntervalFn a subquery
// that names no step (x[1h:]) called a nil function (session 11).
func EngineOpts() promql.EngineOpts {
	return promql.EngineOpts{
		MaxSamples:               50_000_000,
		Timeout:                  queryTimeout,
		LookbackDelta:            5 * time.Minute,
		NoStepSubqueryIntervalFn: func(int64) int64 { return subqueryStep.Milliseconds() },
		EnableAtModifier:         true,
		EnableNegativeOffset:     true,
		Parser:                   newPromParser(),
	}
}

func newPromParser() parser.Parser { return parser.NewParser(parser.Options{}) }

// Bounds on a query's text, checked before the engine sees it (session
// 11): abs(abs(...vector(1)...)) 100,000 deep (600 KB) overflowed the
// evaluator's stack and killed the process; 100,000 nested parentheses
// took the parser 51 s; a chain of 25,000 unary minuses 1.6 s and of
// 250,000 over 2 minutes (the parser's checks walk down the chain for
// every operator). Grafana's queries are a few kilobytes, tens with
// template variables expanded into a regular expression (one string).
const (
	maxQueryLen       = 256 << 10 // bytes
	maxQueryNesting   = 256       // brackets of any kind, outside strings and comments
	maxQueryOperators = 1000      // + - * / % ^ outside strings and comments
)

// checkQuery refuses a query that is too long, nested too deep or made of
// too many operators to hand to the engine. Together the bounds keep its
// syntax tree within about 1,300 levels, which the engine's recursive
// parse checks and evaluation handle in milliseconds.
func checkQuery(q string) error {
	if len(q) > maxQueryLen {
		return promError("bad-query", "bad_data", fmt.Sprintf("the query is %d bytes, more than %d", len(q), maxQueryLen), nil)
	}
	depth, ops := 0, 0
	var quote byte
	for i := 0; i < len(q); i++ {
		c := q[i]
		if quote != 0 {
			switch {
			case c == '\\' && quote != '`':
				i++
			case c == quote:
				quote = 0
			}
			continue
		}
		switch c {
		case '"', '\'', '`':
			quote = c
		case '#': // a comment, to the end of the line
			for i < len(q) && q[i] != '\n' {
				i++
			}
		case '(', '[', '{':
			if depth++; depth > maxQueryNesting {
				return promError("bad-query", "bad_data", fmt.Sprintf("the query nests brackets more than %d deep", maxQueryNesting), nil)
			}
		case ')', ']', '}':
			depth--
		case '+', '-', '*', '/', '%', '^':
			if ops++; ops > maxQueryOperators {
				return promError("bad-query", "bad_data", fmt.Sprintf("the query has more than %d operators", maxQueryOperators), nil)
			}
		}
	}
	return nil
}

// subqueryStep is the step of a subquery that names none: Prometheus's
// default evaluation interval.
const subqueryStep = time.Minute

// maxSubquerySteps bounds the steps at which one subquery is evaluated.
// The engine allocates its per-step statistics for all of them before it
// evaluates the first, unbounded by MaxSamples: x[10y:1ms] asked for 2.5 TB
// and the process died (session 11). A million steps is 16 MB of them.
const maxSubquerySteps = 1_000_000

// checkSubqueries refuses a query whose subqueries would be evaluated at
// more than maxSubquerySteps steps. A subquery is evaluated over the
// query's span (zero for an instant query) widened by its own range and
// those of the subqueries around it.
func checkSubqueries(q promql.Query, span time.Duration) error {
	st, ok := q.Statement().(*parser.EvalStmt)
	if !ok {
		return nil
	}
	var refused error
	parser.Inspect(st.Expr, func(n parser.Node, path []parser.Node) error {
		sq, ok := n.(*parser.SubqueryExpr)
		if !ok {
			return nil
		}
		w := span + sq.Range
		for _, p := range path {
			if outer, ok := p.(*parser.SubqueryExpr); ok {
				w += outer.Range
			}
		}
		step := sq.Step
		if step <= 0 {
			step = subqueryStep
		}
		if steps := w / step; steps > maxSubquerySteps {
			refused = promError("bad-query", "bad_data", fmt.Sprintf("the subquery %s would be evaluated at %d steps, more than %d; use a larger subquery step or a shorter range",
				clip(sq.String()), steps, maxSubquerySteps), nil)
			return refused
		}
		return nil
	})
	return refused
}

// queryTimeout bounds a query: the engine's own timeout and the request's.
const queryTimeout = 2 * time.Minute

func (s *Server) queryContext(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), queryTimeout)
}

func (s *Server) writePromResult(w http.ResponseWriter, res *promql.Result) error {
	if res.Err != nil {
		var et string
		switch {
		case errors.As(res.Err, new(promql.ErrQueryCanceled)):
			et = "canceled"
		case errors.As(res.Err, new(promql.ErrQueryTimeout)):
			et = "timeout"
		default:
			et = "execution"
		}
		return promError("query-failed", et, res.Err.Error(), res.Err)
	}
	var data map[string]any
	switch v := res.Value.(type) {
	case promql.Vector:
		out := make([]map[string]any, len(v))
		for i, smp := range v {
			out[i] = map[string]any{"metric": labelMap(smp.Metric), "value": promPoint(smp.T, smp.F)}
		}
		data = map[string]any{"resultType": "vector", "result": out}
	case promql.Matrix:
		out := make([]map[string]any, len(v))
		for i, ser := range v {
			pts := make([][2]any, len(ser.Floats))
			for j, p := range ser.Floats {
				pts[j] = promPoint(p.T, p.F)
			}
			out[i] = map[string]any{"metric": labelMap(ser.Metric), "values": pts}
		}
		data = map[string]any{"resultType": "matrix", "result": out}
	case promql.Scalar:
		data = map[string]any{"resultType": "scalar", "result": promPoint(v.T, v.V)}
	case promql.String:
		data = map[string]any{"resultType": "string", "result": [2]any{float64(v.T) / 1000, v.V}}
	default:
		return errorf("internal", "unexpected result type %T", res.Value)
	}
	return writeJSON(w, http.StatusOK, promResponse{Status: "success", Data: data})
}

func promPoint(t int64, f float64) [2]any {
	return [2]any{float64(t) / 1000, strconv.FormatFloat(f, 'f', -1, 64)}
}

func labelMap(ls labels.Labels) map[string]string {
	m := make(map[string]string, ls.Len())
	ls.Range(func(l labels.Label) { m[l.Name] = l.Value })
	return m
}

func (s *Server) promMatchers(r *http.Request) ([][]*labels.Matcher, error) {
	var sets [][]*labels.Matcher
	p := parser.NewParser(parser.Options{})
	for _, m := range r.Form["match[]"] {
		ms, err := p.ParseMetricSelector(m)
		if err != nil {
			return nil, promError("bad-query", "bad_data", err.Error(), err)
		}
		sets = append(sets, ms)
	}
	return sets, nil
}

func (s *Server) promRange(r *http.Request) (int64, int64, error) {
	start, err := parsePromTime(r.Form.Get("start"), time.Unix(0, 0))
	if err != nil {
		return 0, 0, err
	}
	end, err := parsePromTime(r.Form.Get("end"), s.cfg.Now().Add(24*time.Hour))
	if err != nil {
		return 0, 0, err
	}
	return start.UnixMilli(), end.UnixMilli(), nil
}

func (s *Server) promSeries(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return promError("bad-query", "bad_data", "cannot parse the form", err)
	}
	sets, err := s.promMatchers(r)
	if err != nil {
		return err
	}
	if len(sets) == 0 {
		return promError("bad-query", "bad_data", "no match[] parameter provided", nil)
	}
	mint, maxt, err := s.promRange(r)
	if err != nil {
		return err
	}
	q, err := s.cfg.Queryable(tenantOf(r)).Querier(mint, maxt)
	if err != nil {
		return err
	}
	defer q.Close()
	seen := map[string]bool{}
	out := []map[string]string{}
	for _, ms := range sets {
		ss := q.Select(r.Context(), true, &storage.SelectHints{Start: mint, End: maxt, Func: "series"}, ms...)
		for ss.Next() {
			ls := ss.At().Labels()
			if k := ls.String(); !seen[k] {
				seen[k] = true
				out = append(out, labelMap(ls))
			}
		}
		if err := ss.Err(); err != nil {
			return err
		}
	}
	return writeJSON(w, http.StatusOK, promResponse{Status: "success", Data: out})
}

func (s *Server) promLabels(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return promError("bad-query", "bad_data", "cannot parse the form", err)
	}
	return s.promLabelQuery(w, r, "")
}

func (s *Server) promLabelValues(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return promError("bad-query", "bad_data", "cannot parse the form", err)
	}
	name := r.PathValue("name")
	if name == "" {
		return promError("bad-query", "bad_data", "empty label name", nil)
	}
	return s.promLabelQuery(w, r, name)
}

func (s *Server) promLabelQuery(w http.ResponseWriter, r *http.Request, name string) error {
	sets, err := s.promMatchers(r)
	if err != nil {
		return err
	}
	if len(sets) == 0 {
		sets = [][]*labels.Matcher{nil}
	}
	mint, maxt, err := s.promRange(r)
	if err != nil {
		return err
	}
	q, err := s.cfg.Queryable(tenantOf(r)).Querier(mint, maxt)
	if err != nil {
		return err
	}
	defer q.Close()
	seen := map[string]bool{}
	for _, ms := range sets {
		var vals []string
		if name == "" {
			vals, _, err = q.LabelNames(r.Context(), nil, ms...)
		} else {
			vals, _, err = q.LabelValues(r.Context(), name, nil, ms...)
		}
		if err != nil {
			return err
		}
		for _, v := range vals {
			seen[v] = true
		}
	}
	out := make([]string, 0, len(seen))
	for v := range seen {
		out = append(out, v)
	}
	sort.Strings(out)
	return writeJSON(w, http.StatusOK, promResponse{Status: "success", Data: out})
}

// promBuildInfo answers Grafana's version probe; tsingma speaks the
// Prometheus 2.x query API subset listed in the OpenAPI document.
func (s *Server) promBuildInfo(w http.ResponseWriter, _ *http.Request) error {
	return writeJSON(w, http.StatusOK, promResponse{Status: "success", Data: map[string]string{
		"version": "2.53.0", "revision": "tsingma", "branch": "tsingma", "goVersion": runtime.Version(),
	}})
}

// promMetadata lists metric metadata: channels are gauges.
func (s *Server) promMetadata(w http.ResponseWriter, r *http.Request) error {
	q, err := s.cfg.Queryable(tenantOf(r)).Querier(0, s.cfg.Now().Add(24*time.Hour).UnixMilli())
	if err != nil {
		return err
	}
	defer q.Close()
	names, _, err := q.LabelValues(r.Context(), "__name__", nil)
	if err != nil {
		return err
	}
	out := map[string][]map[string]string{}
	for _, n := range names {
		out[n] = []map[string]string{{"type": "gauge", "help": "tsingma channel " + n, "unit": ""}}
	}
	return writeJSON(w, http.StatusOK, promResponse{Status: "success", Data: out})
}
