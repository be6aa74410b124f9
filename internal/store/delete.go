package store

import (
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/tsingma/tsingma/internal/telemetry"
)

// Deleting telemetry
//
// DeleteSeries removes series whole: every sample of one channel of a
// twin, or of all its channels. It is durable the way an append is: a
// record in the WAL, synced before DeleteSeries returns, orders it among
// the appends (samples acknowledged before it are gone, samples appended
// after it make a new series, which may start at any timestamp again).
//
// The head forgets the series at once, so no later flush or block rewrite
// writes it again. Blocks already on disk still hold its chunks until a
// rewrite or retention drops them; a tombstone file in the store's
// directory names each deleted series with the first block sequence
// number written after its deletion, and loading skips its chunks in
// older blocks. The file is written before DeleteSeries returns, and
// again (if a write failed) before a flush deletes the WAL segments that
// hold the deletion's record; a tombstone no older block can hold is
// dropped.
//
// DeleteRange removes the samples of a time range, the same way: a WAL
// record, synced before it returns, that names each series with the
// newest sample it had then, so that the range never reaches a sample
// appended after the deletion (every later one is newer). The samples in
// memory are removed at once (the chunks that held them are encoded
// again); those in blocks stay on disk until a rewrite or retention, and
// a ranged tombstone (a span in the span file: the series, the range,
// and the first block written after it, which the record names too)
// keeps them out of every
// read, the rewrite's included, and never reaches a block written after
// the deletion. A series' newest sample (Latest) is then its newest one
// left, and appends go on after it (the store keeps each series in time
// order): a deleted tail can be sent again, corrected; a deleted stretch
// before the newest sample cannot.
//
// On replay the record cuts the samples replayed before it, and moves
// the series' newest back as the deletion did; what came after it is all
// in the WAL still, so a sample flushed to a block after the deletion and
// before a crash is either in that block (which the span does not reach)
// or replayed.

const (
	recDelete      byte = 3
	recDeleteRange byte = 4
)

// delSpan is a ranged deletion of one series: its samples in [from, to]
// in blocks numbered below before (those in memory were removed when it
// was made).
type delSpan struct {
	from, to int64
	before   int
}

// spansFor returns the spans that delete samples of cm (a block chunk).
// The caller holds ser.mu, or owns ser.
func (ser *series) spansFor(cm *chunkMeta) []delSpan {
	if cm.blk == nil || len(ser.dels) == 0 {
		return nil
	}
	var out []delSpan
	for _, d := range ser.dels {
		if cm.blk.seq < d.before && cm.maxt >= d.from && cm.mint <= d.to {
			out = append(out, d)
		}
	}
	return out
}

// dropSpans removes from ts and vs (in place) the samples that spans
// delete.
func dropSpans(ts []int64, vs []float64, spans []delSpan) ([]int64, []float64) {
	if len(spans) == 0 {
		return ts, vs
	}
	j := 0
next:
	for i, t := range ts {
		for _, d := range spans {
			if t >= d.from && t <= d.to {
				continue next
			}
		}
		ts[j], vs[j] = t, vs[i]
		j++
	}
	return ts[:j], vs[:j]
}

// xorChunk encodes samples (at most 65,535) as an in-memory chunk.
func xorChunk(ts []int64, vs []float64) *chunkMeta {
	var e xorEnc
	e.start(0)
	for i, t := range ts {
		e.append(t, vs[i])
	}
	return &chunkMeta{mint: ts[0], maxt: ts[len(ts)-1], n: len(ts), enc: encXOR, data: e.finish()}
}

// tombstone is one deletion: Key's series (Channel "": all of the twin's)
// in blocks numbered below Before.
type tombstone struct {
	Tenant  string `json:"tenant"`
	Twin    string `json:"twin"`
	Channel string `json:"channel,omitempty"`
	Before  int    `json:"before"`
}

const tombstoneFile = "tombstones.json"

// spanRecord is a span (a ranged deletion of one series) in spanFile: the
// samples in [From, To] in blocks numbered below Before. The spans have a
// file of their own, which a tsingma from before ranged deletions does
// not read: it shows the deleted samples again, where reading them as
// tombstones would have deleted the series.
type spanRecord struct {
	Tenant  string `json:"tenant"`
	Twin    string `json:"twin"`
	Channel string `json:"channel"`
	Before  int    `json:"before"`
	From    int64  `json:"from"`
	To      int64  `json:"to"`
}

const spanFile = "spans.json"

// DeleteSeries deletes the series of one twin's channel, or of all its
// channels when channel is "", and returns how many series it deleted
// (0: none had data). When it returns nil the deletion is durable.
func (s *Store) DeleteSeries(ctx context.Context, tenant, twin, channel string) (int, error) {
	if err := s.refusing(); err != nil {
		return 0, err
	}
	if tenant == "" || twin == "" {
		return 0, errors.New("store: DeleteSeries needs a tenant and a twin")
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	// No flush, block rewrite or retention runs while a deletion is made:
	// every block that can hold the series is numbered below nextBlk.
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	rec := []byte{recDelete}
	rec = appendString(rec, tenant)
	rec = appendString(rec, twin)
	rec = appendString(rec, channel)
	req := &commitReq{done: make(chan error, 1)}
	s.seqMu.Lock()
	gone := s.head.remove(tenant, twin, channel)
	if len(gone) == 0 {
		s.seqMu.Unlock()
		return 0, nil
	}
	// Appends that resolved their series before this look them up again
	// (AppendStatus compares delGen under seqMu).
	s.delGen.Add(1)
	s.enqueue(req, [][]byte{rec})
	s.seqMu.Unlock()
	// Not cancelled by ctx: once queued the record may become durable, and
	// the tombstone must then be written before a flush drops the record.
	if err := <-req.done; err != nil {
		return 0, err
	}
	s.addTombstone(tombstone{Tenant: tenant, Twin: twin, Channel: channel, Before: s.blockSeqNext()})
	if err := s.persistTombstones(); err != nil {
		return len(gone), fmt.Errorf("deleted, but the tombstone file was not written (it is again before the next flush): %w", err)
	}
	return len(gone), nil
}

// DeleteRange deletes the samples in [from, to] (milliseconds, both
// included) of one twin's channel, or of all its channels when channel
// is "", and returns how many it deleted. When it returns nil the
// deletion is durable.
func (s *Store) DeleteRange(ctx context.Context, tenant, twin, channel string, from, to int64) (int, error) {
	if err := s.refusing(); err != nil {
		return 0, err
	}
	if tenant == "" || twin == "" {
		return 0, errors.New("store: DeleteRange needs a tenant and a twin")
	}
	if from > to {
		return 0, fmt.Errorf("store: DeleteRange from %d is after to %d", from, to)
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	// No block is written while flushMu is held: the first one after the
	// deletion is numbered before.
	before := s.blockSeqNext()
	// Each series' range ends at its newest sample so far (nothing newer
	// is there to delete).
	var sers []*series
	var tos, newest []int64
	rec := []byte{recDeleteRange}
	rec = binary.AppendUvarint(rec, uint64(before))
	rec = binary.AppendVarint(rec, from)
	s.seqMu.Lock()
	for _, ser := range s.head.twinSeries(tenant, twin) {
		if channel != "" && ser.key.Channel != channel {
			continue
		}
		if t := min(to, ser.reservedTS); t >= from && ser.reservedTS != noTS {
			sers, tos, newest = append(sers, ser), append(tos, t), append(newest, ser.reservedTS)
		}
	}
	if len(sers) == 0 {
		s.seqMu.Unlock()
		return 0, nil
	}
	rec = binary.AppendUvarint(rec, uint64(len(sers)))
	for i, ser := range sers {
		rec = binary.AppendUvarint(rec, ser.ref)
		rec = binary.AppendVarint(rec, tos[i])
	}
	req := &commitReq{done: make(chan error, 1)}
	s.enqueue(req, [][]byte{rec})
	s.seqMu.Unlock()
	// Not cancelled by ctx, as in DeleteSeries.
	if err := <-req.done; err != nil {
		return 0, err
	}
	// The appends before the record are in the head (applied after their
	// writers were woken), so the cut below sees every sample it deletes.
	s.visible()
	n := 0
	for i, ser := range sers {
		d := delSpan{from: from, to: tos[i], before: before}
		m, err := s.cutSpan(ser, d)
		n += m
		s.addSpan(ser.key, d)
		if err != nil {
			return n, fmt.Errorf("deleted, but counting the deleted samples failed: %w", err)
		}
		// Appends go on after the newest sample left, unless one came
		// since the record.
		ser.mu.Lock()
		t, v := ser.lastTS, ser.lastVal
		ser.mu.Unlock()
		s.seqMu.Lock()
		if ser.reservedTS == newest[i] && t < newest[i] {
			ser.reservedTS, ser.reservedVal = t, v
		}
		s.seqMu.Unlock()
	}
	if err := s.persistTombstones(); err != nil {
		return n, fmt.Errorf("deleted, but the tombstone file was not written (it is again before the next flush): %w", err)
	}
	return n, nil
}

// cutSpan applies d to ser: it removes the span's samples from the chunks
// in memory, adds d to the series' spans for those in blocks, and moves
// the newest sample back if it was deleted. It returns how many samples
// it deleted, those in blocks included (read outside the series' lock).
// The caller holds flushMu (or is Open), so no block chunk comes or goes
// meanwhile.
func (s *Store) cutSpan(ser *series, d delSpan) (int, error) {
	ser.mu.Lock()
	ser.cutLocked()
	n := 0
	type blockChunk struct {
		cm    *chunkMeta
		older []delSpan // spans before d that reach it
	}
	var inBlocks []blockChunk
	kept := make([]*chunkMeta, 0, len(ser.chunks))
	var ts []int64
	var vs []float64
	var err error
	for _, cm := range ser.chunks {
		if cm.maxt < d.from || cm.mint > d.to {
			kept = append(kept, cm)
			continue
		}
		if cm.blk != nil {
			kept = append(kept, cm)
			inBlocks = append(inBlocks, blockChunk{cm, ser.spansFor(cm)})
			continue
		}
		// In memory: encoded again without the span (the old bytes are
		// left as they are to the reads that hold them).
		if ts, vs, err = xorSamples(cm.data, ts[:0], vs[:0]); err != nil {
			kept = append(kept, cm)
			break
		}
		m := len(ts)
		ts, vs = dropSpans(ts, vs, []delSpan{{from: d.from, to: d.to}})
		n += m - len(ts)
		if len(ts) > 0 {
			kept = append(kept, xorChunk(ts, vs))
		}
	}
	if err != nil {
		ser.mu.Unlock()
		return n, err
	}
	ser.chunks = kept
	ser.dels = append(ser.dels, d)
	stale := ser.lastTS != noTS && ser.lastTS >= d.from && ser.lastTS <= d.to
	oldLast := ser.lastTS
	ser.mu.Unlock()
	for _, bc := range inBlocks {
		if len(bc.older) == 0 && bc.cm.mint >= d.from && bc.cm.maxt <= d.to {
			n += bc.cm.n
			continue
		}
		ts, vs, err := bc.cm.blk.samples(bc.cm)
		if err != nil {
			return n, err
		}
		ts, _ = dropSpans(ts, vs, bc.older)
		for _, t := range ts {
			if t >= d.from && t <= d.to {
				n++
			}
		}
	}
	if stale {
		t, v, err := ser.newestLeft()
		if err != nil {
			return n, err
		}
		ser.mu.Lock()
		if ser.lastTS == oldLast { // no append since
			ser.lastTS, ser.lastVal = t, v
		}
		ser.mu.Unlock()
	}
	return n, nil
}

// newestLeft returns the newest sample of ser that no span deletes
// (noTS if none is left), reading chunks from the newest back.
func (ser *series) newestLeft() (int64, float64, error) {
	ser.mu.Lock()
	ser.encodeLocked()
	if ser.open.n > 0 {
		ts, vs, err := xorSamples(ser.open.bytes(), nil, nil)
		ser.mu.Unlock()
		if err != nil || len(ts) == 0 {
			return noTS, 0, err
		}
		return ts[len(ts)-1], vs[len(vs)-1], nil
	}
	chunks := slices.Clone(ser.chunks)
	spans := make([][]delSpan, len(chunks))
	for i, cm := range chunks {
		spans[i] = ser.spansFor(cm)
	}
	ser.mu.Unlock()
	order := make([]int, len(chunks))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(chunks[b].maxt, chunks[a].maxt) })
	for _, i := range order {
		ts, vs, err := chunks[i].samples()
		if err != nil {
			return noTS, 0, err
		}
		if ts, vs = dropSpans(ts, vs, spans[i]); len(ts) > 0 {
			return ts[len(ts)-1], vs[len(vs)-1], nil
		}
	}
	return noTS, 0, nil
}

// replayDeleteRange applies a ranged deletion found in the WAL: the
// blocks loaded so far were all written before it.
func (s *Store) replayDeleteRange(d *decoder) error {
	before := int(d.uvarint())
	from := d.varint()
	n := d.uvarint()
	for i := uint64(0); i < n && d.err == nil; i++ {
		ref, to := d.uvarint(), d.varint()
		if d.err != nil {
			break
		}
		if to < from {
			return fmt.Errorf("%w: a ranged delete record ends before it starts", ErrCorrupt)
		}
		s.head.mu.RLock()
		ser := s.head.byRef[ref]
		s.head.mu.RUnlock()
		if ser == nil {
			if s.deadRefs[ref] {
				continue // deleted whole later
			}
			return fmt.Errorf("%w: ranged delete of unknown series %d", ErrCorrupt, ref)
		}
		sp := delSpan{from: from, to: to, before: before}
		if _, err := s.cutSpan(ser, sp); err != nil {
			return err
		}
		s.addSpan(ser.key, sp)
		ser.reservedTS, ser.reservedVal = ser.lastTS, ser.lastVal
	}
	if d.err != nil {
		return d.err
	}
	if len(d.b) != 0 {
		return fmt.Errorf("%w: %d bytes after a ranged delete record", ErrCorrupt, len(d.b))
	}
	return nil
}

// addSpan records a ranged tombstone (once).
func (s *Store) addSpan(k telemetry.Key, d delSpan) {
	t := spanTomb{k, d}
	if !slices.Contains(s.spans, t) {
		s.spans = append(s.spans, t)
		s.tombsDirty = true
	}
}

// spanTomb is a ranged tombstone: a span of one series.
type spanTomb struct {
	key  telemetry.Key
	span delSpan
}

func (s *Store) blockSeqNext() int {
	s.blocksMu.RLock()
	defer s.blocksMu.RUnlock()
	return s.nextBlk
}

// replayDelete applies a deletion found in the WAL: the blocks loaded so
// far were all written before it.
func (s *Store) replayDelete(d *decoder) error {
	tenant, twin, channel := d.str(), d.str(), d.str()
	if d.err != nil {
		return d.err
	}
	if len(d.b) != 0 {
		return fmt.Errorf("%w: %d bytes after a delete record", ErrCorrupt, len(d.b))
	}
	s.head.remove(tenant, twin, channel)
	s.addTombstone(tombstone{Tenant: tenant, Twin: twin, Channel: channel, Before: s.nextBlk})
	return nil
}

// addTombstone records t (a later deletion of the same series replaces an
// earlier one: its bound covers more blocks).
func (s *Store) addTombstone(t tombstone) {
	k := telemetry.Key{Tenant: t.Tenant, Twin: t.Twin, Channel: t.Channel}
	if old, ok := s.tombs[k]; !ok || old < t.Before {
		if s.tombs == nil {
			s.tombs = map[telemetry.Key]int{}
		}
		s.tombs[k] = t.Before
		s.tombsDirty = true
	}
}

// tombstoned reports whether block seq's chunks of key k were deleted.
func (s *Store) tombstoned(k telemetry.Key, seq int) bool {
	if len(s.tombs) == 0 {
		return false
	}
	if b, ok := s.tombs[k]; ok && seq < b {
		return true
	}
	b, ok := s.tombs[telemetry.Key{Tenant: k.Tenant, Twin: k.Twin}]
	return ok && seq < b
}

// loadTombstones reads the tombstone and span files, if any.
func (s *Store) loadTombstones() error {
	var ts []tombstone
	if err := readList(filepath.Join(s.cfg.Dir, tombstoneFile), &ts); err != nil {
		return err
	}
	for _, t := range ts {
		s.addTombstone(t)
	}
	var spans []spanRecord
	if err := readList(filepath.Join(s.cfg.Dir, spanFile), &spans); err != nil {
		return err
	}
	for _, t := range spans {
		if t.Channel == "" || t.From > t.To {
			return fmt.Errorf("%w: %s: a span needs a channel, and from before to", ErrCorrupt, spanFile)
		}
		s.addSpan(telemetry.Key{Tenant: t.Tenant, Twin: t.Twin, Channel: t.Channel}, delSpan{from: t.From, to: t.To, before: t.Before})
	}
	s.tombsDirty = false
	return nil
}

// readList reads a JSON file into list; a missing file is an empty list.
func readList(name string, list any) error {
	b, err := os.ReadFile(name)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", filepath.Base(name), err)
	}
	if err := json.Unmarshal(b, list); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrCorrupt, filepath.Base(name), err)
	}
	return nil
}

// attachSpans gives each series loaded from blocks the spans that delete
// samples of it (Open, before the newest samples are taken).
func (s *Store) attachSpans() {
	for _, t := range s.spans {
		if ser := s.head.get(t.key); ser != nil {
			ser.dels = append(ser.dels, t.span)
		}
	}
}

// persistTombstones drops the tombstones that no block left can match and
// writes the file if it changed (atomically: a temporary file, synced,
// renamed). The caller holds flushMu, or is Open.
func (s *Store) persistTombstones() error {
	s.blocksMu.RLock()
	oldest := -1
	for _, b := range s.blocks {
		if oldest < 0 || b.seq < oldest {
			oldest = b.seq
		}
	}
	s.blocksMu.RUnlock()
	for k, before := range s.tombs {
		if oldest < 0 || before <= oldest {
			delete(s.tombs, k)
			s.tombsDirty = true
		}
	}
	if n := len(s.spans); n > 0 {
		s.spans = slices.DeleteFunc(s.spans, func(t spanTomb) bool { return oldest < 0 || t.span.before <= oldest })
		s.tombsDirty = s.tombsDirty || len(s.spans) != n
	}
	if !s.tombsDirty {
		return nil
	}
	ts := make([]tombstone, 0, len(s.tombs))
	for k, before := range s.tombs {
		ts = append(ts, tombstone{Tenant: k.Tenant, Twin: k.Twin, Channel: k.Channel, Before: before})
	}
	slices.SortFunc(ts, func(a, b tombstone) int {
		return cmp.Or(cmp.Compare(a.Tenant, b.Tenant), cmp.Compare(a.Twin, b.Twin), cmp.Compare(a.Channel, b.Channel))
	})
	spans := make([]spanRecord, 0, len(s.spans))
	for _, t := range s.spans {
		spans = append(spans, spanRecord{Tenant: t.key.Tenant, Twin: t.key.Twin, Channel: t.key.Channel, Before: t.span.before, From: t.span.from, To: t.span.to})
	}
	if err := writeList(filepath.Join(s.cfg.Dir, tombstoneFile), ts, len(ts)); err != nil {
		return err
	}
	if err := writeList(filepath.Join(s.cfg.Dir, spanFile), spans, len(spans)); err != nil {
		return err
	}
	if err := syncDir(s.cfg.Dir); err != nil {
		return err
	}
	s.tombsDirty = false
	return nil
}

// writeList writes list (of n entries) as the JSON file name, or removes
// the file when the list is empty.
func writeList(name string, list any, n int) error {
	if n == 0 {
		if err := os.Remove(name); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove %s: %w", filepath.Base(name), err)
		}
		return nil
	}
	body, err := json.Marshal(list)
	if err != nil {
		return err
	}
	return writeFileSync(name, body)
}

// writeFileSync writes name atomically: a temporary file, synced, then
// renamed over it.
func writeFileSync(name string, body []byte) error {
	tmp := name + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("create %s: %w", tmp, err)
	}
	_, err = f.Write(body)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, name)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

// remove takes the series of a twin's channel (all its channels when
// channel is "") out of the head and returns them.
func (h *head) remove(tenant, twin, channel string) []*series {
	h.mu.Lock()
	defer h.mu.Unlock()
	tk := telemetry.Key{Tenant: tenant, Twin: twin}
	e := h.byTwin[tk]
	if e == nil {
		return nil
	}
	// A new entry: twinSeries hands out the old one's slice to readers
	// that use it without the lock.
	kept := &twinEntry{}
	var gone []*series
	for i, ser := range e.sers {
		if channel != "" && e.chans[i] != channel {
			kept.chans = append(kept.chans, e.chans[i])
			kept.sers = append(kept.sers, ser)
			continue
		}
		gone = append(gone, ser)
	}
	if len(gone) == 0 {
		return nil
	}
	if len(kept.sers) == 0 {
		delete(h.byTwin, tk)
	} else {
		h.byTwin[tk] = kept
	}
	for _, ser := range gone {
		delete(h.byKey, ser.key)
		delete(h.byRef, ser.ref)
		delete(h.tenants, ser.ref)
		ser.lset.Range(func(l labels.Label) {
			m := h.postings[l.Name]
			refs := slices.DeleteFunc(m[l.Value], func(r uint64) bool { return r == ser.ref })
			if len(refs) == 0 {
				delete(m, l.Value)
			} else {
				m[l.Value] = refs
			}
		})
	}
	return gone
}

// reserveRef keeps ref from being given to a new series (the ref of a
// deleted series, still in an old block).
func (h *head) reserveRef(ref uint64) {
	h.mu.Lock()
	if ref >= h.nextRef {
		h.nextRef = ref + 1
	}
	h.mu.Unlock()
}
