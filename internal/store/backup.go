package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tsingma/tsingma/internal/backup"
)

// walPosition is a point in the WAL: segment seq, size bytes into it.
type walPosition struct {
	seq  int
	size int64
}

// snapPrefix names the directories Backup links a snapshot into, inside
// the store's directory; Open removes any left by a crash.
const snapPrefix = "backup-"

// Backup adds the store's files under dir (slash-separated) to sink, as
// they are once everything acknowledged before the call is durable: the
// blocks, the tombstones and the WAL up to that point. Opened as a store,
// the copy holds every sample acknowledged before Backup was called.
//
// The files are hard-linked into a snapshot directory while no flush,
// block rewrite, retention pass or deletion runs (a moment: no data is
// copied), then streamed from there with appends, flushes and all going
// on, however slowly the sink takes them; the snapshot is removed after.
// The segment being written is linked too, and only its part up to the
// point is read: records past it are not read at all (a copy of a
// zero-filled segment being written could hold a record's tail after
// zeros, which replay rightly calls corruption).
func (s *Store) Backup(ctx context.Context, sink backup.Sink, dir string) error {
	if s.closed.Load() {
		return ErrClosed
	}
	snap, pos, err := s.linkSnapshot(ctx)
	if snap != "" {
		defer os.RemoveAll(snap)
	}
	if err != nil {
		return err
	}
	ents, err := os.ReadDir(filepath.Join(snap, "blocks"))
	if err != nil {
		return err
	}
	for _, e := range ents {
		if err := backup.File(sink, dir+"/blocks/"+e.Name(), filepath.Join(snap, "blocks", e.Name())); err != nil {
			return err
		}
	}
	for _, name := range []string{tombstoneFile, spanFile} {
		if err := backup.File(sink, dir+"/"+name, filepath.Join(snap, name)); err != nil {
			return err
		}
	}
	ents, err = os.ReadDir(filepath.Join(snap, "wal"))
	if err != nil {
		return err
	}
	for _, e := range ents {
		q, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		p := filepath.Join(snap, "wal", e.Name())
		if q == pos.seq {
			err = backup.FilePrefix(sink, dir+"/wal/"+e.Name(), p, pos.size)
		} else {
			err = backup.File(sink, dir+"/wal/"+e.Name(), p) // closed: cut to its records
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// linkSnapshot hard-links the blocks and the WAL segments up to the
// acknowledged point into a new snapshot directory, with a copy of the
// tombstones, and returns it and the point.
func (s *Store) linkSnapshot(ctx context.Context) (string, walPosition, error) {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	if err := s.barrier(ctx); err != nil {
		return "", walPosition{}, err
	}
	pos := s.walPos.Load()
	if pos == nil {
		return "", walPosition{}, errors.New("store: no commit after the barrier") // cannot happen: the barrier commits
	}
	snap := filepath.Join(s.cfg.Dir, snapPrefix+strconv.FormatInt(time.Now().UnixNano(), 10))
	for _, d := range []string{"blocks", "wal"} {
		if err := os.MkdirAll(filepath.Join(snap, d), 0o755); err != nil {
			return snap, *pos, fmt.Errorf("backup snapshot: %w", err)
		}
	}
	s.blocksMu.RLock()
	blocks := slices.Clone(s.blocks)
	s.blocksMu.RUnlock()
	for _, b := range blocks {
		if err := os.Link(b.path, filepath.Join(snap, "blocks", filepath.Base(b.path))); err != nil {
			return snap, *pos, fmt.Errorf("backup snapshot: %w", err)
		}
	}
	if err := s.persistTombstones(); err != nil {
		return snap, *pos, err
	}
	for _, name := range []string{tombstoneFile, spanFile} {
		if b, err := os.ReadFile(filepath.Join(s.cfg.Dir, name)); err == nil {
			if err := os.WriteFile(filepath.Join(snap, name), b, 0o644); err != nil {
				return snap, *pos, fmt.Errorf("backup snapshot: %w", err)
			}
		} else if !errors.Is(err, os.ErrNotExist) {
			return snap, *pos, err
		}
	}
	seqs, err := listSegments(s.walDir)
	if err != nil {
		return snap, *pos, err
	}
	for _, q := range seqs {
		if q > pos.seq {
			continue // begun after the point
		}
		name := segmentName(s.walDir, q)
		if err := os.Link(name, filepath.Join(snap, "wal", filepath.Base(name))); err != nil {
			return snap, *pos, fmt.Errorf("backup snapshot: %w", err)
		}
	}
	return snap, *pos, nil
}

// removeSnapshots removes backup snapshot directories a crash left.
func removeSnapshots(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if e.IsDir() && strings.HasPrefix(e.Name(), snapPrefix) {
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				return fmt.Errorf("remove an old backup snapshot: %w", err)
			}
		}
	}
	return nil
}
