package store

import (
	"context"
	"errors"
	"path/filepath"
	"slices"

	"github.com/tsingma/tsingma/internal/backup"
)

// walPosition is a point in the WAL: segment seq, size bytes into it.
type walPosition struct {
	seq  int
	size int64
}

// Backup adds the store's files under dir (slash-separated) to sink, as
// they are once everything acknowledged before the call is durable: the
// blocks, the tombstones and the WAL up to that point. No flush, block
// rewrite, retention pass or deletion runs meanwhile (appends do; the WAL
// they write after the point is left out). Opened as a store, the copy
// holds every sample acknowledged before Backup was called.
func (s *Store) Backup(ctx context.Context, sink backup.Sink, dir string) error {
	if s.closed.Load() {
		return ErrClosed
	}
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	if err := s.barrier(ctx); err != nil {
		return err
	}
	pos := s.walPos.Load()
	if pos == nil {
		return errors.New("store: no commit after the barrier") // cannot happen: the barrier commits
	}
	s.blocksMu.RLock()
	blocks := slices.Clone(s.blocks)
	s.blocksMu.RUnlock()
	slices.SortFunc(blocks, func(a, b *block) int { return a.seq - b.seq })
	for _, b := range blocks {
		if err := backup.File(sink, dir+"/blocks/"+filepath.Base(b.path), b.path); err != nil {
			return err
		}
	}
	if err := s.persistTombstones(); err != nil {
		return err
	}
	if err := backup.File(sink, dir+"/"+tombstoneFile, filepath.Join(s.cfg.Dir, tombstoneFile)); err != nil {
		return err
	}
	seqs, err := listSegments(s.walDir)
	if err != nil {
		return err
	}
	for _, q := range seqs {
		name := dir + "/wal/" + filepath.Base(segmentName(s.walDir, q))
		switch {
		case q < pos.seq: // closed: cut to its records, never written again
			err = backup.File(sink, name, segmentName(s.walDir, q))
		case q == pos.seq:
			err = backup.FilePrefix(sink, name, segmentName(s.walDir, q), pos.size)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
