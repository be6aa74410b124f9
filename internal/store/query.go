package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/util/annotations"

	"github.com/tsingma/tsingma/internal/telemetry"
)

func xorIterator(data []byte) chunkenc.Iterator {
	var c chunkenc.XORChunk
	c.Reset(data)
	return c.Iterator(nil)
}

// snapshot returns the chunks of ser that overlap [mint, maxt], as
// immutable XOR chunk bytes in time order.
func (ser *series) snapshot(mint, maxt int64) ([][]byte, error) {
	var out [][]byte
	err := ser.visit(mint, maxt, func(xor []byte, blk *block, off int64, n int) error {
		if xor == nil {
			var err error
			if xor, err = blk.readXOR(off, n); err != nil {
				return err
			}
		}
		out = append(out, xor)
		return nil
	})
	return out, err
}

// visit calls fn, in time order, for each chunk of ser overlapping
// [mint, maxt]: with XOR bytes for in-memory chunks, or with the block
// location of a D1 chunk (xor nil).
func (ser *series) visit(mint, maxt int64, fn func(xor []byte, blk *block, off int64, n int) error) error {
	ser.mu.Lock()
	ser.encodeLocked() // first: it may close the open chunk
	var metas []*chunkMeta
	for _, cm := range ser.chunks {
		if cm.maxt >= mint && cm.mint <= maxt {
			metas = append(metas, cm)
		}
	}
	// Copy what we need under the lock: block references can change to
	// point at a new block after a flush, in-memory data never changes.
	type ref struct {
		data  []byte
		blk   *block
		off   int64
		n     int
		cm    *chunkMeta
		spans []delSpan // ranged deletions reaching this block chunk
	}
	refs := make([]ref, len(metas))
	for i, cm := range metas { // in-memory chunks are XOR; block chunks are converted below
		refs[i] = ref{cm.data, cm.blk, cm.off, cm.length, cm, ser.spansFor(cm)}
	}
	var open []byte
	if ser.open.n > 0 && ser.openMax >= mint && ser.openMin <= maxt {
		open = ser.open.bytes()
	}
	ser.mu.Unlock()
	for _, r := range refs {
		if len(r.spans) > 0 {
			// Rare: a block chunk with deleted samples is read here and
			// handed over as an in-memory chunk of the samples left.
			ts, vs, err := r.blk.samples(r.cm)
			if err != nil {
				return err
			}
			if ts, vs = dropSpans(ts, vs, r.spans); len(ts) == 0 {
				continue
			}
			r.data, r.blk = xorChunk(ts, vs).data, nil
		}
		if err := fn(r.data, r.blk, r.off, r.n); err != nil {
			return err
		}
	}
	if open != nil {
		return fn(open, nil, 0, 0)
	}
	return nil
}

// Point is a timestamp (ms) and value.
type Point struct {
	TS    int64   `json:"ts"`
	Value float64 `json:"value"`
}

// ErrNoSeries is returned for a series that has never been written.
var ErrNoSeries = fmt.Errorf("store: no such series")

// Range calls fn for each sample of the series in [mint, maxt], in time
// order, until fn returns false.
func (s *Store) Range(ctx context.Context, k telemetry.Key, mint, maxt int64, fn func(ts int64, v float64) bool) error {
	return s.RangeBatch(ctx, k, mint, maxt, func(ts []int64, vs []float64) bool {
		for i, t := range ts {
			if !fn(t, vs[i]) {
				return false
			}
		}
		return true
	})
}

// RangeBatch is Range a run of samples at a time (a chunk's worth, already
// cut to [mint, maxt]), for callers that loop over many samples: it spares
// them a function call per sample. ts and vs are reused after fn returns.
func (s *Store) RangeBatch(ctx context.Context, k telemetry.Key, mint, maxt int64, fn func(ts []int64, vs []float64) bool) error {
	s.visible()
	ser := s.head.get(k)
	if ser == nil {
		return ErrNoSeries
	}
	stop := errors.New("stop")
	n := 0
	var tsBuf []int64
	var vsBuf []float64
	var chunk chunkenc.XORChunk
	var it chunkenc.Iterator // reused across the in-memory chunks
	err := ser.visit(mint, maxt, func(xor []byte, blk *block, off int64, length int) error {
		if n++; n%64 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		var ts []int64
		var vs []float64
		if xor == nil { // a D1 block chunk: decode straight to slices
			raw, err := blk.readChunk(off, length)
			if err != nil {
				return err
			}
			if tsBuf, vsBuf, err = decodeD1Into(raw, tsBuf, vsBuf); err != nil {
				return fmt.Errorf("block %s at %d: %w", blk.path, off, err)
			}
			ts, vs = tsBuf, vsBuf
		} else {
			tsBuf, vsBuf = tsBuf[:0], vsBuf[:0]
			chunk.Reset(xor)
			it = chunk.Iterator(it)
			for it.Next() != chunkenc.ValNone {
				t, v := it.At()
				tsBuf = append(tsBuf, t)
				vsBuf = append(vsBuf, v)
			}
			if err := it.Err(); err != nil {
				return err
			}
			ts, vs = tsBuf, vsBuf
		}
		lo, hi := 0, len(ts)
		for lo < hi && ts[lo] < mint {
			lo++
		}
		end := hi
		for hi > lo && ts[hi-1] > maxt {
			hi--
		}
		if lo < hi && !fn(ts[lo:hi], vs[lo:hi]) {
			return stop
		}
		if hi < end { // past maxt: nothing later can be in range
			return stop
		}
		return nil
	})
	if err == stop {
		return nil
	}
	return err
}

// Latest returns the newest sample of a series.
func (s *Store) Latest(k telemetry.Key) (Point, bool) {
	s.visible()
	ser := s.head.get(k)
	if ser == nil {
		return Point{}, false
	}
	ser.mu.Lock()
	defer ser.mu.Unlock()
	if ser.lastTS == noTS {
		return Point{}, false
	}
	return Point{ser.lastTS, ser.lastVal}, true
}

// SeriesInfo names one series.
type SeriesInfo struct {
	Twin, Channel, Type string
}

// Channels returns the channels of a twin that have data, sorted.
func (s *Store) Channels(tenant, twin string) []string {
	s.visible()
	var out []string
	for _, ser := range s.head.twinSeries(tenant, twin) {
		out = append(out, ser.key.Channel)
	}
	sort.Strings(out)
	return out
}

// LatestOfTwin returns the newest sample of every channel of a twin.
func (s *Store) LatestOfTwin(tenant, twin string) map[string]Point {
	s.visible()
	sers := s.head.twinSeries(tenant, twin)
	out := make(map[string]Point, len(sers))
	for _, ser := range sers {
		ser.mu.Lock()
		if ser.lastTS != noTS {
			out[ser.key.Channel] = Point{ser.lastTS, ser.lastVal}
		}
		ser.mu.Unlock()
	}
	return out
}

// ChannelPoint is the newest sample of one channel.
type ChannelPoint struct {
	Channel string
	Point
}

// AppendLatestOfTwin appends the newest sample of every channel of a twin
// to dst, sorted by channel: LatestOfTwin without a map per twin, for
// answers about thousands of twins.
func (s *Store) AppendLatestOfTwin(dst []ChannelPoint, tenant, twin string) []ChannelPoint {
	s.visible()
	n := len(dst)
	for _, ser := range s.head.twinSeries(tenant, twin) {
		ser.mu.Lock()
		if ser.lastTS != noTS {
			dst = append(dst, ChannelPoint{ser.key.Channel, Point{ser.lastTS, ser.lastVal}})
		}
		ser.mu.Unlock()
	}
	slices.SortFunc(dst[n:], func(a, b ChannelPoint) int { return strings.Compare(a.Channel, b.Channel) })
	return dst
}

// Queryable returns a Prometheus storage.Queryable over one tenant's data.
func (s *Store) Queryable(tenant string) storage.Queryable {
	return storage.QueryableFunc(func(mint, maxt int64) (storage.Querier, error) {
		s.visible()
		return &querier{s: s, tenant: tenant, mint: mint, maxt: maxt}, nil
	})
}

type querier struct {
	s          *Store
	tenant     string
	mint, maxt int64
}

func (q *querier) Select(ctx context.Context, _ bool, hints *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
	mint, maxt := q.mint, q.maxt
	if hints != nil {
		mint, maxt = max(mint, hints.Start), min(maxt, hints.End)
	}
	matched := q.s.head.match(q.tenant, ms)
	out := make([]storage.Series, 0, len(matched))
	for _, ser := range matched {
		chunks, err := ser.snapshot(mint, maxt)
		if err != nil {
			return storage.ErrSeriesSet(err)
		}
		if len(chunks) == 0 {
			continue
		}
		out = append(out, &promSeries{lset: ser.lset, chunks: chunks, mint: mint, maxt: maxt})
	}
	if ctx.Err() != nil {
		return storage.ErrSeriesSet(ctx.Err())
	}
	return &seriesSet{list: out, i: -1}
}

func (q *querier) LabelValues(_ context.Context, name string, hints *storage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	seen := map[string]struct{}{}
	for _, ser := range q.s.head.match(q.tenant, ms) {
		if v := ser.lset.Get(name); v != "" {
			seen[v] = struct{}{}
		}
	}
	out := make([]string, 0, len(seen))
	for v := range seen {
		out = append(out, v)
	}
	sort.Strings(out)
	if hints != nil && hints.Limit > 0 && len(out) > hints.Limit {
		out = out[:hints.Limit]
	}
	return out, nil, nil
}

func (q *querier) LabelNames(_ context.Context, hints *storage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	seen := map[string]struct{}{}
	for _, ser := range q.s.head.match(q.tenant, ms) {
		ser.lset.Range(func(l labels.Label) { seen[l.Name] = struct{}{} })
	}
	out := make([]string, 0, len(seen))
	for v := range seen {
		out = append(out, v)
	}
	sort.Strings(out)
	if hints != nil && hints.Limit > 0 && len(out) > hints.Limit {
		out = out[:hints.Limit]
	}
	return out, nil, nil
}

func (q *querier) Close() error { return nil }

type seriesSet struct {
	list []storage.Series
	i    int
}

func (s *seriesSet) Next() bool                        { s.i++; return s.i < len(s.list) }
func (s *seriesSet) At() storage.Series                { return s.list[s.i] }
func (s *seriesSet) Err() error                        { return nil }
func (s *seriesSet) Warnings() annotations.Annotations { return nil }

type promSeries struct {
	lset       labels.Labels
	chunks     [][]byte
	mint, maxt int64
}

func (p *promSeries) Labels() labels.Labels { return p.lset }

func (p *promSeries) Iterator(it chunkenc.Iterator) chunkenc.Iterator {
	its := make([]chunkenc.Iterator, len(p.chunks))
	for i, c := range p.chunks {
		its[i] = xorIterator(c)
	}
	return storage.ChainSampleIteratorFromIterators(it, its)
}
