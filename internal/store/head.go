package store

import (
	"sort"
	"sync"
	"unique"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/tsingma/tsingma/internal/telemetry"
)

// samplesPerChunk is where the open chunk is cut, as in Prometheus.
const samplesPerChunk = 120

// chunkMeta describes one closed chunk: its bytes are in memory until a
// flush writes them to a block, after which they are read from the block.
type chunkMeta struct {
	mint, maxt int64
	n          int
	enc        byte   // encXOR in memory; encD1 in blocks
	data       []byte // nil once in a block
	blk        *block
	off        int64
	length     int
}

// series is one time series in the head. The fields after mu are guarded
// by it; reserved* are guarded by Store.seqMu.
type series struct {
	ref  uint64
	key  telemetry.Key
	typ  string
	lset labels.Labels

	// Guarded by Store.seqMu: the newest reserved sample, and whether the
	// series record is in the WAL (or a block) already.
	reservedTS  int64
	reservedVal float64
	logged      bool

	mu      sync.Mutex
	lastTS  int64
	lastVal float64
	chunks  []*chunkMeta
	open    xorEnc // the open chunk (no samples: empty)
	openMin int64
	openMax int64
	// Samples appended but not yet encoded into the open chunk: they go in
	// pendN at a time, so that the chunk, its appender and its bytes (each
	// a cache miss with many series) are touched once per pendN samples
	// instead of once per sample. Readers of the open chunk encode them
	// first (encodeLocked).
	npend int32
	// lastSize is the size of the series' last closed chunk: the next
	// one's bytes are allocated about that large (xorEnc.start).
	lastSize int32
	pendT    [pendN]int64
	pendV    [pendN]float64
	// dels are the series' ranged deletions (DeleteRange) that may still
	// reach chunks in blocks.
	dels []delSpan
}

// pendN is the number of samples a series buffers before it encodes them.
const pendN = 8

const noTS = -1 << 63

func newSeries(ref uint64, key telemetry.Key, typ string) *series {
	lb := labels.NewScratchBuilder(4)
	lb.Add("__name__", key.Channel)
	lb.Add("channel", key.Channel)
	lb.Add("twin", key.Twin)
	if typ != "" {
		lb.Add("type", typ)
	}
	lb.Sort()
	return &series{ref: ref, key: key, typ: typ, lset: lb.Labels(), reservedTS: noTS, lastTS: noTS}
}

// append adds a sample; the caller guarantees ts > lastTS. Holds s.mu.
func (s *series) append(ts int64, v float64) {
	s.mu.Lock()
	s.pendT[s.npend], s.pendV[s.npend] = ts, v
	s.npend++
	s.lastTS, s.lastVal = ts, v
	if s.npend == pendN {
		s.encodeLocked()
	}
	s.mu.Unlock()
}

// encodeLocked moves the pending samples into the open chunk, cutting it
// when it is full.
func (s *series) encodeLocked() {
	for i := range s.npend {
		ts, v := s.pendT[i], s.pendV[i]
		if s.open.n == 0 {
			s.openMin = ts
			if s.open.b == nil {
				s.open.start(int(s.lastSize))
			}
		}
		s.open.append(ts, v)
		s.openMax = ts
		if s.open.n >= samplesPerChunk {
			s.closeOpenLocked()
		}
	}
	s.npend = 0
}

// cutLocked closes the open chunk, pending samples included, into the
// list of closed chunks.
func (s *series) cutLocked() {
	s.encodeLocked()
	s.closeOpenLocked()
}

func (s *series) closeOpenLocked() {
	if s.open.n == 0 {
		return
	}
	data := s.open.finish()
	s.lastSize = int32(len(data))
	s.chunks = append(s.chunks, &chunkMeta{mint: s.openMin, maxt: s.openMax, n: s.open.n, enc: encXOR, data: data})
	s.open = xorEnc{}
}

// twinEntry is the series of one twin, their channel names beside them:
// resolve finds a channel without touching the series (each a cache miss
// when there are many).
type twinEntry struct {
	chans []string
	sers  []*series
}

func (e *twinEntry) len() int {
	if e == nil {
		return 0
	}
	return len(e.chans)
}

// head holds every series, indexed by key, ref and label postings.
type head struct {
	mu       sync.RWMutex
	byKey    map[telemetry.Key]*series
	byRef    map[uint64]*series
	postings map[string]map[string][]uint64 // label name → value → refs, per tenant below
	tenants  map[uint64]string
	byTwin   map[telemetry.Key]*twinEntry // Channel "": the series of one twin
	nextRef  uint64
}

func newHead() *head {
	return &head{
		byKey:    make(map[telemetry.Key]*series),
		byRef:    make(map[uint64]*series),
		postings: make(map[string]map[string][]uint64),
		tenants:  make(map[uint64]string),
		byTwin:   make(map[telemetry.Key]*twinEntry),
		nextRef:  1,
	}
}

func (h *head) get(k telemetry.Key) *series {
	h.mu.RLock()
	s := h.byKey[k]
	h.mu.RUnlock()
	return s
}

// resolve sets sers[i] to the series of samples[i], creating the missing
// ones. Batches usually carry several channels of one twin in a row, so it
// finds the twin once (one map lookup) and its channel among the twin's
// few series; a twin with many series falls back to the full-key map.
func (h *head) resolve(samples []telemetry.Sample, sers []*series) {
	missing := false
	h.mu.RLock()
	var twin *twinEntry
	var tenant, name string
	have := false
	next := 0 // where the scan of twin starts: after the last match
	for i := range samples {
		smp := &samples[i]
		if !have || smp.Twin != name || smp.Tenant != tenant {
			tenant, name, have = smp.Tenant, smp.Twin, true
			twin = h.byTwin[telemetry.Key{Tenant: tenant, Twin: name}]
			next = 0
		}
		var found *series
		if n := twin.len(); n <= 64 {
			// Channels usually arrive in the same order batch after
			// batch, so the scan from the last match mostly hits at once.
			for j := range n {
				k := next + j
				if k >= n {
					k -= n
				}
				if twin.chans[k] == smp.Channel {
					found, next = twin.sers[k], k+1
					break
				}
			}
		} else {
			found = h.byKey[smp.Key()]
		}
		sers[i] = found
		missing = missing || found == nil
	}
	h.mu.RUnlock()
	if missing {
		for i := range samples {
			if sers[i] == nil {
				sers[i] = h.add(0, samples[i].Key(), samples[i].Type)
			}
		}
	}
}

// add registers a series with a given ref (from a block or the WAL) or a
// fresh one when ref is 0.
func (h *head) add(ref uint64, key telemetry.Key, typ string) *series {
	h.mu.Lock()
	defer h.mu.Unlock()
	if s, ok := h.byKey[key]; ok {
		return s
	}
	onDisk := ref != 0 // from a block or the WAL
	if ref == 0 {
		ref = h.nextRef
	}
	if ref >= h.nextRef {
		h.nextRef = ref + 1
	}
	// Canonical copies (unique) of the names: the decoders hand out the
	// same ones, so resolve's comparisons stop at the pointers.
	key = telemetry.Key{Tenant: unique.Make(key.Tenant).Value(), Twin: unique.Make(key.Twin).Value(), Channel: unique.Make(key.Channel).Value()}
	s := newSeries(ref, key, typ)
	s.logged = onDisk
	h.byKey[key] = s
	h.byRef[ref] = s
	h.tenants[ref] = key.Tenant
	tk := telemetry.Key{Tenant: key.Tenant, Twin: key.Twin}
	e := h.byTwin[tk]
	if e == nil {
		e = &twinEntry{}
		h.byTwin[tk] = e
	}
	e.chans = append(e.chans, key.Channel)
	e.sers = append(e.sers, s)
	s.lset.Range(func(l labels.Label) {
		m := h.postings[l.Name]
		if m == nil {
			m = make(map[string][]uint64)
			h.postings[l.Name] = m
		}
		m[l.Value] = append(m[l.Value], ref)
	})
	return s
}

func (h *head) numSeries() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.byRef)
}

// all returns every series, in ref order.
func (h *head) all() []*series {
	h.mu.RLock()
	out := make([]*series, 0, len(h.byRef))
	for _, s := range h.byRef {
		out = append(out, s)
	}
	h.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ref < out[j].ref })
	return out
}

// match returns the series of tenant matching every matcher.
func (h *head) match(tenant string, ms []*labels.Matcher) []*series {
	h.mu.RLock()
	defer h.mu.RUnlock()
	var cand []uint64
	narrowed := false
	// Use the most selective equality matcher's postings as the candidates.
	for _, m := range ms {
		if m.Type != labels.MatchEqual || m.Value == "" {
			continue
		}
		refs := h.postings[m.Name][m.Value]
		if !narrowed || len(refs) < len(cand) {
			cand, narrowed = refs, true
		}
	}
	var out []*series
	check := func(s *series) {
		if s.key.Tenant != tenant {
			return
		}
		for _, m := range ms {
			if !m.Matches(s.lset.Get(m.Name)) {
				return
			}
		}
		out = append(out, s)
	}
	if narrowed {
		for _, r := range cand {
			check(h.byRef[r])
		}
	} else {
		for _, s := range h.byRef {
			check(s)
		}
	}
	sort.Slice(out, func(i, j int) bool { return labels.Compare(out[i].lset, out[j].lset) < 0 })
	return out
}

// twinSeries returns the series of one twin.
func (h *head) twinSeries(tenant, twin string) []*series {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if e := h.byTwin[telemetry.Key{Tenant: tenant, Twin: twin}]; e != nil {
		return e.sers
	}
	return nil
}
