// Package backup writes a running tsingma's state as one tar stream: each
// component adds its files, each consistent on its own (a bbolt database
// from one read transaction, an append-only log up to its last synced
// record, the telemetry store's blocks and the WAL up to an acknowledged
// point). Restoring is extracting the stream into an empty data directory
// and starting tsingma on it: every component opens its files as after a
// crash at the moment its part was taken.
package backup

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Sink takes a backup's files, one at a time.
type Sink interface {
	// File adds the file name (slash-separated, relative to the data
	// directory) of exactly size bytes, which write writes. After an
	// error the backup is unusable.
	File(name string, size int64, write func(io.Writer) error) error
}

// Tar is a Sink writing a tar stream.
type Tar struct {
	tw    *tar.Writer
	now   time.Time
	dirs  map[string]bool
	files int
	bytes int64
}

// NewTar returns a Sink that writes a tar stream to w; Close ends it.
func NewTar(w io.Writer) *Tar {
	return &Tar{tw: tar.NewWriter(w), now: time.Now().UTC().Truncate(time.Second), dirs: map[string]bool{}}
}

// File implements Sink.
func (t *Tar) File(name string, size int64, write func(io.Writer) error) error {
	if name == "" || path.IsAbs(name) || strings.Contains(name, "..") || strings.Contains(name, "\\") {
		return fmt.Errorf("backup: bad file name %q", name)
	}
	if size < 0 {
		return fmt.Errorf("backup: %s: negative size", name)
	}
	if err := t.dir(path.Dir(name)); err != nil {
		return err
	}
	if err := t.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Size: size, Mode: 0o600, ModTime: t.now, Format: tar.FormatPAX}); err != nil {
		return fmt.Errorf("backup: %s: %w", name, err)
	}
	cw := &countWriter{w: t.tw}
	if err := write(cw); err != nil {
		return fmt.Errorf("backup: %s: %w", name, err)
	}
	if cw.n != size {
		return fmt.Errorf("backup: %s: wrote %d bytes, said %d", name, cw.n, size)
	}
	t.files++
	t.bytes += size
	return nil
}

// dir adds the directory entries above a file once.
func (t *Tar) dir(d string) error {
	if d == "." || d == "" || t.dirs[d] {
		return nil
	}
	if err := t.dir(path.Dir(d)); err != nil {
		return err
	}
	t.dirs[d] = true
	if err := t.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o755, ModTime: t.now, Format: tar.FormatPAX}); err != nil {
		return fmt.Errorf("backup: %s: %w", d, err)
	}
	return nil
}

// Close writes the end of the stream.
func (t *Tar) Close() error { return t.tw.Close() }

// Counts returns the files and bytes added.
func (t *Tar) Counts() (files int, bytes int64) { return t.files, t.bytes }

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// Bolt adds a bbolt database as of one read transaction (writers go on
// meanwhile). The transaction writes a copy to a temporary file and ends
// before the copy is streamed: a read transaction held while a slow
// reader takes the stream would hold back every write that grows the
// database (bbolt remaps the file only when no reader holds it).
func Bolt(s Sink, name string, db *bolt.DB) error {
	tmp, err := os.CreateTemp("", "tsingma-backup-*.db")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	if err := db.View(func(tx *bolt.Tx) error {
		_, err := tx.WriteTo(tmp)
		return err
	}); err != nil {
		return fmt.Errorf("copy %s: %w", name, err)
	}
	fi, err := tmp.Stat()
	if err != nil {
		return err
	}
	size := fi.Size()
	return s.File(name, size, func(w io.Writer) error {
		_, err := io.Copy(w, io.NewSectionReader(tmp, 0, size))
		return err
	})
}

// FilePrefix adds the first size bytes of the file at p (an append-only
// file whose first size bytes no longer change).
func FilePrefix(s Sink, name, p string, size int64) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	return s.File(name, size, func(w io.Writer) error {
		n, err := io.Copy(w, io.NewSectionReader(f, 0, size))
		if err == nil && n != size {
			err = fmt.Errorf("%s is %d bytes, shorter than %d", p, n, size)
		}
		return err
	})
}

// File adds the file at p as it is when opened (a file replaced by
// rename, or not changed while the backup runs). A missing file is
// skipped.
func File(s Sink, name, p string) error {
	f, err := os.Open(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	size := fi.Size()
	return s.File(name, size, func(w io.Writer) error {
		n, err := io.Copy(w, io.NewSectionReader(f, 0, size))
		if err == nil && n != size {
			err = fmt.Errorf("%s shrank to %d bytes while it was read", p, n)
		}
		return err
	})
}

// Extract writes a backup stream's files into dir, which must be empty or
// not exist. Only plain files and directories with relative names inside
// dir are accepted; anything else (a link, a device, "..", an absolute
// name) is refused before it is written, and so is a file twice. Each file
// is synced, then the directories.
func Extract(r io.Reader, dir string) (files int, bytes int64, err error) {
	return extract(r, dir, true)
}

// extract is Extract; without sync nothing is synced (the fuzz target's
// thousands of runs a second).
func extract(r io.Reader, dir string, sync bool) (files int, bytes int64, err error) {
	if ents, err := os.ReadDir(dir); err == nil && len(ents) > 0 {
		return 0, 0, fmt.Errorf("restore: %s is not empty", dir)
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return 0, 0, fmt.Errorf("restore: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, 0, fmt.Errorf("restore: %w", err)
	}
	dirs := []string{dir}
	seen := map[string]bool{}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return files, bytes, fmt.Errorf("restore: read the backup: %w", err)
		}
		name := strings.TrimSuffix(h.Name, "/")
		if name == "" || path.IsAbs(name) || strings.Contains(name, "\\") || path.Clean(name) != name || name == "." || strings.HasPrefix(name, "../") || name == ".." {
			return files, bytes, fmt.Errorf("restore: refusing the entry %q: not a plain relative name", h.Name)
		}
		if seen[name] {
			return files, bytes, fmt.Errorf("restore: %q is in the backup twice", name)
		}
		seen[name] = true
		target := filepath.Join(dir, filepath.FromSlash(name))
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return files, bytes, fmt.Errorf("restore: %w", err)
			}
			dirs = append(dirs, target)
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return files, bytes, fmt.Errorf("restore: %w", err)
			}
			n, err := writeFile(target, tr, sync)
			bytes += n
			if err != nil {
				return files, bytes, fmt.Errorf("restore: %s: %w", name, err)
			}
			files++
		default:
			return files, bytes, fmt.Errorf("restore: refusing the entry %q: type %q is not a file or a directory", h.Name, h.Typeflag)
		}
	}
	for i := len(dirs) - 1; i >= 0 && sync; i-- {
		if err := syncDir(dirs[i]); err != nil {
			return files, bytes, fmt.Errorf("restore: %w", err)
		}
	}
	return files, bytes, nil
}

func writeFile(name string, r io.Reader, sync bool) (int64, error) {
	f, err := os.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(f, r)
	if err == nil && sync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return n, err
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
