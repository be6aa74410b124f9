package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tsingma/tsingma/internal/audit"
	"github.com/tsingma/tsingma/internal/bus"
	"github.com/tsingma/tsingma/internal/scoring"
	"github.com/tsingma/tsingma/internal/store"
	"github.com/tsingma/tsingma/internal/telemetry"
	"github.com/tsingma/tsingma/internal/twin"
	"github.com/tsingma/tsingma/internal/ucum"
)

type ingestScratch struct {
	dec   *telemetry.Decoder
	items []telemetry.Item
	body  []byte
}

// postTelemetry stores a batch: JSON ({"samples":[...]}, per-twin objects)
// or NDJSON. 200 with counts and per-sample reasons; 422 when every sample
// was rejected; 429 when the store's queue is full (nothing stored).
func (s *Server) postTelemetry(w http.ResponseWriter, r *http.Request) error {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	sc, _ := s.scratch.Get().(*ingestScratch)
	if sc == nil {
		sc = &ingestScratch{dec: telemetry.NewDecoder(s.cfg.Now)}
	}
	defer s.scratch.Put(sc)
	var err error
	sc.body, err = readAll(r.Body, sc.body[:0])
	if err != nil {
		return err
	}
	sc.items = sc.items[:0]
	if ct == "application/x-www-form-urlencoded" || ct == "text/plain" {
		// curl -d sends this by default: accept a JSON document anyway.
		if b := bytes.TrimSpace(sc.body); len(b) > 0 && (b[0] == '{' || b[0] == '[') {
			ct = "application/json"
			if bytes.Contains(b, []byte("}\n{")) {
				ct = "application/x-ndjson"
			}
		}
	}
	switch ct {
	case "", "application/json":
		sc.items, err = sc.dec.DecodeJSON(sc.items, sc.body)
	case "application/x-ndjson", "application/ndjson", "application/jsonl":
		sc.items, err = sc.dec.DecodeNDJSON(sc.items, sc.body)
	case "text/csv", "application/csv":
		// twin= and channel= stand for columns the file lacks (a
		// channel's own CSV export goes back in as it is).
		q := r.URL.Query()
		sc.items, err = sc.dec.DecodeCSV(sc.items, sc.body, q.Get("twin"), q.Get("channel"))
	default:
		return errorf("unsupported-media", "Content-Type must be application/json, application/x-ndjson or text/csv, got %q", clip(ct))
	}
	if err != nil {
		return err
	}
	tenant := tenantOf(r)
	for i := range sc.items {
		sc.items[i].Sample.Tenant = tenant
	}
	res, err := s.cfg.Ingester.Ingest(r.Context(), sc.items)
	if err != nil {
		return err
	}
	if res.Accepted == 0 && res.Rejected > 0 {
		return &apiError{code: "invalid", detail: fmt.Sprintf("all %d samples were rejected", res.Rejected),
			extra: func(p *Problem) { p.Errors = res.Errors }}
	}
	return writeJSON(w, http.StatusOK, res)
}

func readAll(r io.Reader, buf []byte) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

var aggs = map[string]bool{"mean": true, "min": true, "max": true, "sum": true, "count": true, "last": true, "p95": true, "first": true}

// getSeries returns a channel's samples in a range, raw or aggregated by
// step, as JSON or CSV (format=csv or Accept: text/csv).
func (s *Server) getSeries(w http.ResponseWriter, r *http.Request) error {
	tenant := tenantOf(r)
	id, ch := r.PathValue("id"), r.PathValue("channel")
	tw, err := s.cfg.Twins.Get(r.Context(), tenant, id)
	if err != nil {
		return err
	}
	unit := "" // the channel's declared unit (none for a score series)
	if ty, err := s.cfg.Twins.GetType(r.Context(), tenant, tw.Type); err == nil {
		unit = ty.Channels[ch].Unit
	}
	q := r.URL.Query()
	now := s.cfg.Now()
	to, err := parseTimeParam(q.Get("to"), "to", now)
	if err != nil {
		return err
	}
	from, err := parseTimeParam(q.Get("from"), "from", to.Add(-time.Hour))
	if err != nil {
		return err
	}
	if from.After(to) {
		return errorf("bad-request", "from is after to")
	}
	var step time.Duration
	if v := q.Get("step"); v != "" {
		if step, err = time.ParseDuration(v); err != nil || step < time.Millisecond {
			return errorf("bad-request", "step must be a duration of at least 1ms, like 1m")
		}
	}
	agg := q.Get("agg")
	if agg == "" && step > 0 {
		agg = "mean"
	}
	if agg != "" && !aggs[agg] {
		return errorf("bad-request", "agg must be one of mean, min, max, sum, count, first, last, p95")
	}
	if agg != "" && step == 0 {
		return errorf("bad-request", "agg needs a step")
	}
	// unit=: the values in another unit, converted from the channel's.
	conv := ucum.Conversion{Scale: 1}
	if u := q.Get("unit"); u != "" && u != unit && agg != "count" {
		if unit == "" {
			return errorf("bad-request", "channel %s declares no unit to convert from", clip(ch))
		}
		if conv, err = ucum.Factor(unit, u); err != nil {
			return errorf("bad-request", "the channel is in %s: %v", unit, err)
		}
		if agg == "sum" && conv.Offset != 0 {
			return errorf("bad-request", "a sum in %s cannot be converted to %s, whose zero is elsewhere", unit, clip(u))
		}
		unit = u
	}
	if agg == "count" {
		unit = "1"
	}
	limit := 1_000_000
	csv := q.Get("format") == "csv" || strings.Contains(r.Header.Get("Accept"), "text/csv")
	key := telemetry.Key{Tenant: tenant, Twin: id, Channel: ch}
	mint, maxt := from.UnixMilli(), to.UnixMilli()

	// In uint64: maxt-mint overflowed int64 over the widest ranges, and
	// the check let any step through.
	if step > 0 && (uint64(maxt)-uint64(mint))/uint64(step.Milliseconds()) > uint64(limit) {
		return errorf("bad-request", "too many steps; use a larger step")
	}
	var pts []store.Point
	if step == 0 {
		truncated := false
		err = s.cfg.Store.Range(r.Context(), key, mint, maxt, func(ts int64, v float64) bool {
			if len(pts) >= limit {
				truncated = true
				return false
			}
			pts = append(pts, store.Point{TS: ts, Value: v})
			return true
		})
		if truncated {
			w.Header().Set("X-Truncated", "true")
		}
	} else {
		pts, err = aggregate(r, s.cfg.Store, key, mint, maxt, step.Milliseconds(), agg)
	}
	if errors.Is(err, store.ErrNoSeries) {
		pts, err = nil, nil
	}
	if err != nil {
		return err
	}
	if conv != (ucum.Conversion{Scale: 1}) {
		for i := range pts {
			pts[i].Value = conv.Apply(pts[i].Value)
		}
	}
	if csv {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", id+"-"+ch+".csv"))
		bw := bufio.NewWriter(w)
		bw.WriteString("time,ts_ms,value\n")
		for _, p := range pts {
			bw.WriteString(time.UnixMilli(p.TS).UTC().Format(time.RFC3339Nano))
			bw.WriteByte(',')
			bw.WriteString(strconv.FormatInt(p.TS, 10))
			bw.WriteByte(',')
			bw.WriteString(strconv.FormatFloat(p.Value, 'g', -1, 64))
			bw.WriteByte('\n')
		}
		return bw.Flush()
	}
	// The same document encoding/json makes of the map of these fields
	// (keys sorted), written directly: a month of minutes is 43,200
	// points, and reflection was a tenth of the query's time.
	buf := make([]byte, 0, 128+len(pts)*40)
	buf = append(buf, `{"agg":`...)
	buf = appendJSONString(buf, agg)
	buf = append(buf, `,"channel":`...)
	buf = appendJSONString(buf, ch)
	buf = append(buf, `,"from":`...)
	buf = strconv.AppendInt(buf, from.UnixMilli(), 10)
	buf = append(buf, `,"points":[`...)
	for i, p := range pts {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, `{"ts":`...)
		buf = strconv.AppendInt(buf, p.TS, 10)
		buf = append(buf, `,"value":`...)
		buf = appendJSONFloat(buf, p.Value)
		buf = append(buf, '}')
	}
	buf = append(buf, `],"step":`...)
	buf = strconv.AppendInt(buf, step.Milliseconds(), 10)
	buf = append(buf, `,"to":`...)
	buf = strconv.AppendInt(buf, to.UnixMilli(), 10)
	buf = append(buf, `,"twin":`...)
	buf = appendJSONString(buf, id)
	if unit != "" {
		buf = append(buf, `,"unit":`...)
		buf = appendJSONString(buf, unit)
	}
	buf = append(buf, "}\n"...)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(buf)
	return err
}

// appendJSONFloat formats a finite float as encoding/json does.
func appendJSONFloat(b []byte, f float64) []byte {
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// e-09 → e-9, as encoding/json writes it.
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// aggregateParallelBuckets is the number of buckets from which an
// aggregation is split across cores.
const aggregateParallelBuckets = 4096

// aggregate buckets [mint, maxt] by step (aligned to multiples of step).
// A long range is cut at bucket boundaries into parts that are decoded
// and bucketed concurrently, one per core: no bucket straddles two parts,
// so the concatenated parts are the serial answer.
func aggregate(r *http.Request, st Telemetry, key telemetry.Key, mint, maxt, step int64, agg string) ([]store.Point, error) {
	parts := min(runtime.GOMAXPROCS(0), 8)
	if step <= 0 || parts < 2 || (maxt-mint)/step < aggregateParallelBuckets {
		b := bucketer{step: step, agg: agg}
		err := st.RangeBatch(r.Context(), key, mint, maxt, b.add)
		b.emit()
		return b.out, err
	}
	// Cut points at multiples of step, strictly inside (mint, maxt].
	cuts := []int64{mint}
	for i := 1; i < parts; i++ {
		c := mint + (maxt-mint)/int64(parts)*int64(i)
		c -= ((c % step) + step) % step
		if c > cuts[len(cuts)-1] && c <= maxt {
			cuts = append(cuts, c)
		}
	}
	cuts = append(cuts, maxt+1)
	bs := make([]bucketer, len(cuts)-1)
	errs := make([]error, len(bs))
	var wg sync.WaitGroup
	for i := range bs {
		bs[i] = bucketer{step: step, agg: agg}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = st.RangeBatch(r.Context(), key, cuts[i], cuts[i+1]-1, bs[i].add)
			bs[i].emit()
		}()
	}
	wg.Wait()
	var out []store.Point
	for i := range bs {
		if errs[i] != nil {
			return nil, errs[i]
		}
		out = append(out, bs[i].out...)
	}
	return out, nil
}

// bucketer aggregates a time-ordered run of samples into step buckets.
type bucketer struct {
	step int64
	agg  string
	out  []store.Point

	cur                      int64 // the open bucket's start
	n                        int   // samples in it (0: none open)
	sum, mn, mx, first, last float64
	vals                     []float64 // p95 only
}

// add takes a run of samples. The open bucket lives in locals for the
// loop: this is the inner loop of every aggregation query.
func (b *bucketer) add(tss []int64, vs []float64) bool {
	step, p95 := b.step, b.agg == "p95"
	cur, n, sum, mn, mx, first, last := b.cur, b.n, b.sum, b.mn, b.mx, b.first, b.last
	for i, ts := range tss {
		v := vs[i]
		if n == 0 || ts < cur || ts-cur >= step { // a new bucket: only then divide
			b.cur, b.n, b.sum, b.mn, b.mx, b.first, b.last = cur, n, sum, mn, mx, first, last
			b.emit()
			cur, n, sum, mn, mx, first = ts-((ts%step)+step)%step, 0, 0, v, v, v
			b.vals = b.vals[:0]
		}
		n++
		sum += v
		if v < mn {
			mn = v
		}
		if v > mx {
			mx = v
		}
		last = v
		if p95 {
			b.vals = append(b.vals, v)
		}
	}
	b.cur, b.n, b.sum, b.mn, b.mx, b.first, b.last = cur, n, sum, mn, mx, first, last
	return true
}

// emit closes the open bucket, if any.
func (b *bucketer) emit() {
	if b.n == 0 {
		return
	}
	var v float64
	switch b.agg {
	case "mean":
		v = b.sum / float64(b.n)
	case "sum":
		v = b.sum
	case "min":
		v = b.mn
	case "max":
		v = b.mx
	case "count":
		v = float64(b.n)
	case "first":
		v = b.first
	case "last":
		v = b.last
	case "p95":
		sort.Float64s(b.vals)
		v = quantile(b.vals, 0.95)
	}
	b.out = append(b.out, store.Point{TS: b.cur, Value: v})
}

// quantile of sorted xs by linear interpolation (type 7).
func quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	h := q * float64(len(xs)-1)
	lo := int(math.Floor(h))
	if lo+1 >= len(xs) {
		return xs[len(xs)-1]
	}
	return xs[lo] + (h-float64(lo))*(xs[lo+1]-xs[lo])
}

type latestValue struct {
	TS    int64   `json:"ts"`
	Value float64 `json:"value"`
}

// getTwinLatest returns the newest sample of every channel of one twin.
func (s *Server) getTwinLatest(w http.ResponseWriter, r *http.Request) error {
	tenant := tenantOf(r)
	id := r.PathValue("id")
	if _, err := s.cfg.Twins.Get(r.Context(), tenant, id); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"twin": id, "channels": s.latestOf(tenant, id, nil)})
}

func (s *Server) latestOf(tenant, id string, only map[string]bool) map[string]latestValue {
	all := s.cfg.Store.LatestOfTwin(tenant, id)
	out := make(map[string]latestValue, len(all))
	for ch, p := range all {
		if only == nil || only[ch] {
			out[ch] = latestValue{p.TS, p.Value}
		}
	}
	return out
}

// getLatest returns the newest samples of many twins at once, selected
// with the twin query parameters (type, label, bbox, ...); channel=a,b
// narrows the channels. Up to 10,000 twins per page.
// appendJSONString appends s as a JSON string: as it is when it is plain
// printable ASCII (ids and channel names are), else through encoding/json.
func appendJSONString(buf []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			b, _ := json.Marshal(s)
			return append(buf, b...)
		}
	}
	buf = append(buf, '"')
	buf = append(buf, s...)
	return append(buf, '"')
}

func (s *Server) getLatest(w http.ResponseWriter, r *http.Request) error {
	tenant := tenantOf(r)
	v := r.URL.Query()
	var only map[string]bool
	if c := v.Get("channel"); c != "" {
		only = map[string]bool{}
		for _, x := range strings.Split(c, ",") {
			only[x] = true
		}
		v.Del("channel")
	}
	want := 10_000
	if l := v.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 10_000 {
			return errorf("bad-query", "limit must be 1-10000")
		}
		want = n
	}
	v.Del("limit")
	q, err := twin.ParseQuery(v)
	if err != nil {
		return &apiError{code: "bad-query", detail: err.Error(), cause: err}
	}
	refs, err := s.cfg.Twins.Refs(r.Context(), tenant, q, want)
	if err != nil {
		return err
	}
	// Written by hand: this answer is read often, for thousands of twins.
	// A long list is written in parts, one per core, joined in order.
	parts := 1
	if len(refs) >= 2*latestPart {
		parts = min(runtime.GOMAXPROCS(0), len(refs)/latestPart, 8)
	}
	bufs := make([][]byte, parts)
	var wg sync.WaitGroup
	for p := range parts {
		lo, hi := len(refs)*p/parts, len(refs)*(p+1)/parts
		wg.Go(func() { bufs[p] = s.appendLatest(make([]byte, 0, (hi-lo)*96), tenant, refs[lo:hi], only, lo == 0) })
	}
	wg.Wait()
	const head, tail = `{"items":[`, "]}\n"
	n := len(head) + len(tail)
	for _, b := range bufs {
		n += len(b)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(n))
	io.WriteString(w, head)
	for _, b := range bufs {
		if _, err := w.Write(b); err != nil {
			return nil // the client went away
		}
	}
	io.WriteString(w, tail)
	return nil
}

// latestPart is the fewest twins a part of getLatest's answer has.
const latestPart = 1024

// appendLatest appends getLatest's items for refs, each but the first
// overall after a comma.
func (s *Server) appendLatest(buf []byte, tenant string, refs []twin.Ref, only map[string]bool, first bool) []byte {
	var latest []store.ChannelPoint
	for i, ref := range refs {
		if i > 0 || !first {
			buf = append(buf, ',')
		}
		buf = append(buf, `{"twin":`...)
		buf = appendJSONString(buf, ref.ID)
		buf = append(buf, `,"type":`...)
		buf = appendJSONString(buf, ref.Type)
		buf = append(buf, `,"channels":{`...)
		latest = s.cfg.Store.AppendLatestOfTwin(latest[:0], tenant, ref.ID)
		firstCh := true
		for _, p := range latest {
			if only != nil && !only[p.Channel] {
				continue
			}
			if !firstCh {
				buf = append(buf, ',')
			}
			firstCh = false
			buf = appendJSONString(buf, p.Channel)
			buf = append(buf, `:{"ts":`...)
			buf = strconv.AppendInt(buf, p.TS, 10)
			buf = append(buf, `,"value":`...)
			buf = strconv.AppendFloat(buf, p.Value, 'g', -1, 64)
			buf = append(buf, '}')
		}
		buf = append(buf, "}}"...)
	}
	return buf
}

// deletedTelemetry is the answer to a telemetry deletion.
type deletedTelemetry struct {
	Twin    string `json:"twin"`
	Channel string `json:"channel,omitempty"`
	// Series is how many series went: a channel's samples and its
	// anomaly scores count as two.
	Series int `json:"deletedSeries"`
}

// deleteTwinTelemetry deletes every stored sample of all the channels of
// a twin (anomaly scores included); deleteChannelTelemetry those of one
// channel and its anomaly scores. The twin need not exist any more. The
// deletion is in the audit log with who made it.
func (s *Server) deleteTwinTelemetry(w http.ResponseWriter, r *http.Request) error {
	return s.deleteTelemetry(w, r, "")
}

func (s *Server) deleteChannelTelemetry(w http.ResponseWriter, r *http.Request) error {
	ch := r.PathValue("channel")
	if ch == "" { // never "all channels" by accident
		return errorf("bad-request", "empty channel name")
	}
	return s.deleteTelemetry(w, r, ch)
}

// deletedRange is the answer to the deletion of a time range.
type deletedRange struct {
	Twin    string `json:"twin"`
	Channel string `json:"channel,omitempty"`
	From    int64  `json:"from"`
	To      int64  `json:"to"`
	Samples int    `json:"deletedSamples"`
	// Scores counts the anomaly scores of those samples deleted with
	// them.
	Scores int `json:"deletedScores"`
}

func (s *Server) deleteTelemetry(w http.ResponseWriter, r *http.Request, ch string) error {
	// from= and to= delete a time range (either alone: to the end, from
	// the start); anything else is refused, not read as asking for less
	// than everything or for everything.
	q := r.URL.Query()
	for k := range q {
		if k != "from" && k != "to" {
			return errorf("bad-request", "%q: a deletion takes only from= and to= (a time range; without them it deletes every stored sample of the channel, or twin)", clip(k))
		}
		if len(q[k]) != 1 || q.Get(k) == "" {
			return errorf("bad-request", "%s: give it once, with a time", k)
		}
	}
	id := r.PathValue("id")
	if err := twin.ValidID(id); err != nil {
		return errorf("bad-request", "twin id: %v", err)
	}
	if len(q) == 0 {
		n, _, err := s.purgeTelemetry(r, id, ch, nil)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, deletedTelemetry{Twin: id, Channel: ch, Series: n})
	}
	sp := telemetry.Span{From: math.MinInt64, To: math.MaxInt64}
	for k, dst := range map[string]*int64{"from": &sp.From, "to": &sp.To} {
		if v := q.Get(k); v != "" {
			t, err := parseTimeParam(v, k, time.Time{})
			if err != nil {
				return err
			}
			*dst = t.UnixMilli()
		}
	}
	if sp.From > sp.To {
		return errorf("bad-request", "from (%d) is after to (%d)", sp.From, sp.To)
	}
	n, scores, err := s.purgeTelemetry(r, id, ch, &sp)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, deletedRange{Twin: id, Channel: ch, From: sp.From, To: sp.To, Samples: n, Scores: scores})
}

// forgetWait bounds how long a deletion of telemetry waits for anomaly
// scoring to reach it (a scorer restoring its checkpoint, or starved of
// CPU under overload, may take longer; the deletion stands either way).
const forgetWait = 5 * time.Second

// purgeTelemetry deletes a twin's telemetry (channel "": all of it),
// whole series or (sp) a time range of them, and records the deletion in
// the audit log. It returns the series deleted (a channel's samples and
// its anomaly scores count as two), or for a time range the samples and
// the anomaly scores deleted.
func (s *Server) purgeTelemetry(r *http.Request, id, ch string, sp *telemetry.Span) (n, scores int, err error) {
	tenant := tenantOf(r)
	if sp == nil {
		n, err = s.cfg.Store.DeleteSeries(r.Context(), tenant, id, ch)
		if err == nil && ch != "" {
			var m int
			m, err = s.cfg.Store.DeleteSeries(r.Context(), tenant, id, ch+scoring.Suffix)
			n += m
		}
	} else {
		// Channel by channel, so that samples and scores are counted
		// apart.
		chans := []string{ch, ch + scoring.Suffix}
		if ch == "" {
			chans = s.cfg.Store.Channels(tenant, id)
		}
		for _, c := range chans {
			m, derr := s.cfg.Store.DeleteRange(r.Context(), tenant, id, c, sp.From, sp.To)
			if strings.HasSuffix(c, scoring.Suffix) {
				scores += m
			} else {
				n += m
			}
			if err = derr; err != nil {
				break
			}
		}
	}
	if err != nil {
		return n, scores, fmt.Errorf("delete telemetry of %s: %w", id, err)
	}
	if n+scores > 0 {
		// Scoring forgets the series' state, or for a time range keeps it
		// (the bus keeps the order with the samples before and after). It
		// may be behind: the scores of samples from before the deletion
		// that it stores after it are deleted when it reaches the
		// deletion. The answer waits for that
		// (at most forgetWait), so that nothing deleted shows again after
		// it.
		d := telemetry.Deleted{Twin: id, Channel: ch, Span: sp}
		var forgotten chan struct{}
		if s.cfg.Anomaly != nil {
			forgotten = make(chan struct{})
			d.Forgotten = forgotten
		}
		s.cfg.Bus.Publish(bus.Event{Kind: telemetry.DeletedKind, Tenant: tenant, Data: d})
		if forgotten != nil {
			t := time.NewTimer(forgetWait)
			select {
			case <-forgotten:
			case <-t.C:
				s.log.Warn("telemetry deleted; anomaly scoring has not reached the deletion yet, and may show scores of the deleted samples until it does", "twin", id, "channel", ch, "waited", forgetWait)
			case <-r.Context().Done():
			}
			t.Stop()
		}
	}
	if n+scores > 0 && s.cfg.Govern != nil {
		var data []byte
		if sp != nil {
			data, _ = json.Marshal(deletedRange{Twin: id, Channel: ch, From: sp.From, To: sp.To, Samples: n, Scores: scores})
		} else {
			data, _ = json.Marshal(deletedTelemetry{Twin: id, Channel: ch, Series: n})
		}
		ev := audit.Event{Tenant: tenant, Kind: "telemetry.deleted", Actor: principalOf(r).Name, Subject: id, Data: data}
		if _, err := s.cfg.Govern.AuditLog().Append(context.WithoutCancel(r.Context()), ev); err != nil {
			return n, scores, fmt.Errorf("telemetry of %s deleted, but not recorded in the audit log: %w", id, err)
		}
	}
	return n, scores, nil
}
