package store

import (
	"cmp"
	"context"
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

const recDelete byte = 3

// tombstone is one deletion: Key's series (Channel "": all of the twin's)
// in blocks numbered below Before.
type tombstone struct {
	Tenant  string `json:"tenant"`
	Twin    string `json:"twin"`
	Channel string `json:"channel,omitempty"`
	Before  int    `json:"before"`
}

const tombstoneFile = "tombstones.json"

// DeleteSeries deletes the series of one twin's channel, or of all its
// channels when channel is "", and returns how many series it deleted
// (0: none had data). When it returns nil the deletion is durable.
func (s *Store) DeleteSeries(ctx context.Context, tenant, twin, channel string) (int, error) {
	if s.closed.Load() {
		if err := s.Err(); err != nil {
			return 0, err
		}
		return 0, ErrClosed
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

// loadTombstones reads the tombstone file, if any.
func (s *Store) loadTombstones() error {
	b, err := os.ReadFile(filepath.Join(s.cfg.Dir, tombstoneFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read tombstones: %w", err)
	}
	var ts []tombstone
	if err := json.Unmarshal(b, &ts); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrCorrupt, tombstoneFile, err)
	}
	for _, t := range ts {
		s.addTombstone(t)
	}
	s.tombsDirty = false
	return nil
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
	body, err := json.Marshal(ts)
	if err != nil {
		return err
	}
	name := filepath.Join(s.cfg.Dir, tombstoneFile)
	if len(ts) == 0 {
		if err := os.Remove(name); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove tombstones: %w", err)
		}
	} else if err := writeFileSync(name, body); err != nil {
		return err
	}
	if err := syncDir(s.cfg.Dir); err != nil {
		return err
	}
	s.tombsDirty = false
	return nil
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
