package store

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// The write-ahead log is a directory of numbered segment files. Each record
// is framed as [uint32 length][uint32 CRC-32C of payload][payload]. A torn
// record at the tail of the last segment (a crash during write) is cut off on
// open; damage anywhere else is reported as corruption.
//
// A busy store writes into segments that were filled with zeros beforehand
// (as PostgreSQL does with its WAL segments): an fsync of data written over
// allocated blocks has no block allocation or file size to commit, which
// measured 2-4x faster on this project's ext4 disk than an fsync after an
// append (docs/decisions.md). So a segment may end in zeros: an all-zero
// frame header is the clean end of its records, and the rest of the file
// must then be zeros too.

const (
	recSeries  byte = 1
	recSamples byte = 2
	frameHdr        = 8
	maxRecord       = 64 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrCorrupt reports a damaged WAL or block that cannot be repaired by
// cutting a torn tail.
var ErrCorrupt = errors.New("store: corrupt data")

type segmentWriter struct {
	dir      string
	seq      int
	f        *os.File
	bw       *bufio.Writer
	size     int64 // bytes of records written
	prealloc bool  // the file was zero-filled before its first record
}

// spareName is the zero-filled file the next segment is made from; it is
// not a segment until it is renamed to one.
const spareName = "spare.tmp"

// prepareSpare writes the zero-filled spare segment file of size bytes and
// syncs it. It syncs every MiB so that the dirty zeros never make a WAL
// fsync wait behind a large write-back (every 8 MiB, until session 8, held
// WAL fsyncs up to 15-30 ms while a spare was made: 32 over 5 ms against 11
// in six slices of the half-load lab).
func prepareSpare(ctx context.Context, dir string, size int64) error {
	name := filepath.Join(dir, spareName)
	f, err := os.OpenFile(name, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("create spare wal segment: %w", err)
	}
	zero := make([]byte, 1<<20)
	for off := int64(0); off < size && err == nil; off += int64(len(zero)) {
		if err = ctx.Err(); err != nil {
			break
		}
		if _, err = f.Write(zero[:min(int64(len(zero)), size-off)]); err == nil {
			err = f.Sync()
		}
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(name)
		return fmt.Errorf("write spare wal segment: %w", err)
	}
	return nil
}

// useSpare turns the spare file into segment seq.
func useSpare(dir string, seq int) (*segmentWriter, error) {
	name := segmentName(dir, seq)
	if err := os.Rename(filepath.Join(dir, spareName), name); err != nil {
		return nil, fmt.Errorf("use spare wal segment: %w", err)
	}
	if err := syncDir(dir); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(name, os.O_WRONLY, 0)
	if err != nil {
		return nil, fmt.Errorf("open wal segment %s: %w", name, err)
	}
	return &segmentWriter{dir: dir, seq: seq, f: f, bw: bufio.NewWriterSize(f, 1<<20), prealloc: true}, nil
}

func segmentName(dir string, seq int) string {
	return filepath.Join(dir, fmt.Sprintf("%08d", seq))
}

// listSegments returns the segment sequence numbers in dir, ascending.
func listSegments(dir string) ([]int, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read wal dir %s: %w", dir, err)
	}
	var seqs []int
	for _, e := range ents {
		if e.IsDir() || strings.HasSuffix(e.Name(), ".tmp") {
			continue
		}
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		seqs = append(seqs, n)
	}
	sort.Ints(seqs)
	return seqs, nil
}

func openSegment(dir string, seq int) (*segmentWriter, error) {
	name := segmentName(dir, seq)
	f, err := os.OpenFile(name, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open wal segment %s: %w", name, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("stat wal segment %s: %w", name, err)
	}
	if err := syncDir(dir); err != nil {
		f.Close()
		return nil, err
	}
	return &segmentWriter{dir: dir, seq: seq, f: f, bw: bufio.NewWriterSize(f, 1<<20), size: st.Size()}, nil
}

func (w *segmentWriter) write(payload []byte) error {
	var hdr [frameHdr]byte
	binary.LittleEndian.PutUint32(hdr[0:], uint32(len(payload)))
	binary.LittleEndian.PutUint32(hdr[4:], crc32.Checksum(payload, castagnoli))
	if _, err := w.bw.Write(hdr[:]); err != nil {
		return err
	}
	if _, err := w.bw.Write(payload); err != nil {
		return err
	}
	w.size += int64(frameHdr + len(payload))
	return nil
}

func (w *segmentWriter) sync() error {
	if err := w.bw.Flush(); err != nil {
		return fmt.Errorf("write wal segment %d: %w", w.seq, err)
	}
	if err := datasync(w.f); err != nil {
		return fmt.Errorf("fsync wal segment %d: %w", w.seq, err)
	}
	return nil
}

// close syncs the segment and closes it; a zero-filled segment is cut to
// its records first.
func (w *segmentWriter) close() error {
	err := w.bw.Flush()
	if err == nil && w.prealloc {
		err = w.f.Truncate(w.size)
	}
	if err == nil {
		err = w.sync()
	}
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// readSegment calls fn for every intact record of segment seq and returns
// the bytes its records take. When last is true a torn or damaged tail is
// truncated away (durably); otherwise it is ErrCorrupt.
func readSegment(dir string, seq int, last bool, fn func(payload []byte) error) (int64, error) {
	name := segmentName(dir, seq)
	f, err := os.Open(name)
	if err != nil {
		return 0, fmt.Errorf("open wal segment %s: %w", name, err)
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<20)
	var off int64
	var hdr [frameHdr]byte
	buf := make([]byte, 0, 64<<10)
	for {
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			if err == io.EOF {
				return off, nil
			}
			return off, tornTail(name, off, last, "short header")
		}
		n := binary.LittleEndian.Uint32(hdr[0:])
		sum := binary.LittleEndian.Uint32(hdr[4:])
		if n == 0 && sum == 0 {
			// The zero-filled end of a preallocated segment.
			if last {
				return off, tornTail(name, off, true, "")
			}
			if !allZero(br) {
				return off, fmt.Errorf("%w: wal segment %s: data after the end of its records at offset %d", ErrCorrupt, name, off)
			}
			return off, nil
		}
		if n == 0 || n > maxRecord {
			return off, tornTail(name, off, last, fmt.Sprintf("bad length %d", n))
		}
		if cap(buf) < int(n) {
			buf = make([]byte, n)
		}
		buf = buf[:n]
		if _, err := io.ReadFull(br, buf); err != nil {
			return off, tornTail(name, off, last, "short record")
		}
		if crc32.Checksum(buf, castagnoli) != sum {
			return off, tornTail(name, off, last, "checksum mismatch")
		}
		if err := fn(buf); err != nil {
			return off, fmt.Errorf("wal segment %s offset %d: %w", name, off, err)
		}
		off += int64(frameHdr) + int64(n)
	}
}

// allZero reports whether everything left in r is zero bytes.
func allZero(r *bufio.Reader) bool {
	for {
		b, err := r.Peek(r.Size())
		for _, c := range b {
			if c != 0 {
				return false
			}
		}
		if _, derr := r.Discard(len(b)); derr != nil || err != nil {
			return err == io.EOF
		}
	}
}

// tornTail cuts the last segment at off, durably: a later open, which sees
// this segment as one before the last, must not find the torn bytes again.
func tornTail(name string, off int64, last bool, why string) error {
	if !last {
		return fmt.Errorf("%w: wal segment %s at offset %d: %s", ErrCorrupt, name, off, why)
	}
	f, err := os.OpenFile(name, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("open torn wal tail %s: %w", name, err)
	}
	defer f.Close()
	if err := f.Truncate(off); err != nil {
		return fmt.Errorf("truncate torn wal tail %s at %d: %w", name, off, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync truncated wal tail %s: %w", name, err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open dir %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsync dir %s: %w", dir, err)
	}
	return nil
}

// Record encoding helpers. Strings are uvarint length + bytes.

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = fmt.Errorf("%w: bad uvarint", ErrCorrupt)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = fmt.Errorf("%w: bad varint", ErrCorrupt)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) u64() uint64 {
	if d.err != nil {
		return 0
	}
	if len(d.b) < 8 {
		d.err = fmt.Errorf("%w: short record", ErrCorrupt)
		return 0
	}
	v := binary.LittleEndian.Uint64(d.b)
	d.b = d.b[8:]
	return v
}

func (d *decoder) str() string {
	n := d.uvarint()
	if d.err != nil {
		return ""
	}
	if uint64(len(d.b)) < n {
		d.err = fmt.Errorf("%w: short string", ErrCorrupt)
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}
