// Package audit is tsingma's tamper-evident audit log: an append-only file
// of entries whose RFC 6962 Merkle tree (github.com/transparency-dev/merkle)
// is committed to by Ed25519-signed checkpoints. Anyone holding the public
// key (or an earlier checkpoint) can check, offline, that no entry was
// changed, removed or reordered (Verify), that one entry is in the log
// (inclusion proofs), and that a later log extends an earlier one
// (consistency proofs).
//
// Append returns only after the entry is fsynced; concurrent appends share
// one fsync (group commit). Checkpoints are written periodically, on demand
// and on Close. The signing key is made on first start and kept beside the
// log with mode 0600; keep a copy of signing.pub elsewhere (pin it), since
// whoever can rewrite the directory can also replace the key.
package audit

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/tsingma/tsingma/internal/backup"
)

// File names in the log's directory.
const (
	logFile         = "log"
	checkpointsFile = "checkpoints"
	lockFile        = "LOCK"
)

// Errors.
var (
	ErrClosed   = errors.New("audit log closed")
	ErrLocked   = errors.New("audit log is open in another process")
	ErrNotFound = errors.New("no such audit entry")
	// ErrNotCovered: the entry is newer than the latest checkpoint.
	ErrNotCovered = errors.New("entry not yet covered by a checkpoint")
)

// Event is what callers append.
type Event struct {
	Tenant  string          `json:"tenant"`
	Kind    string          `json:"kind"`              // "twin", "alert", "model.registered", ...
	Actor   string          `json:"actor,omitempty"`   // who did it (a token's name, "system")
	Subject string          `json:"subject,omitempty"` // what it is about (twin id, system/version, ...)
	Data    json.RawMessage `json:"data,omitempty"`    // the change, JSON
}

// Entry is a stored event: its position and time added. Its stored bytes
// (the JSON encoding of Entry) are the Merkle leaf.
type Entry struct {
	Seq  uint64    `json:"seq"` // 0-based leaf index
	Time time.Time `json:"time"`
	Event
}

// Config configures Open.
type Config struct {
	Dir string // required; created if missing
	// CheckpointEvery: how often a checkpoint is signed when the log grew;
	// default 1 minute. Negative disables the timer (Close still signs).
	CheckpointEvery time.Duration
	Logger          *slog.Logger
	Now             func() time.Time
}

// Log is an open audit log. Its methods are safe for concurrent use. Close
// it (it signs a final checkpoint and releases the directory lock).
type Log struct {
	cfg  Config
	log  *slog.Logger
	priv ed25519.PrivateKey
	lock *os.File
	f    *os.File // log, append-only
	cpf  *os.File // checkpoints, append-only

	reqs    chan *appendReq
	closeMu sync.RWMutex
	closed  bool
	quit    chan struct{}
	wg      sync.WaitGroup
	once    sync.Once

	mu      sync.RWMutex
	tree    tree
	offsets []int64 // record start offsets
	end     int64   // where the synced records end (the next record's offset)
	last    Checkpoint
	cpMu    sync.Mutex // one checkpoint at a time

	appended  atomic.Uint64
	fsyncs    atomic.Uint64
	truncated int64 // torn bytes cut at open
}

type appendReq struct {
	ev   Event
	done chan appendRes
}

type appendRes struct {
	e   Entry
	err error
}

// Open opens (or creates) the log in cfg.Dir, recovers a torn tail (bytes
// of an append that was never acknowledged) and starts the writer.
func Open(cfg Config) (*Log, error) {
	if cfg.Dir == "" {
		return nil, errors.New("audit: Config.Dir is required")
	}
	if cfg.CheckpointEvery == 0 {
		cfg.CheckpointEvery = time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("create audit dir %s: %w", cfg.Dir, err)
	}
	l := &Log{cfg: cfg, log: cfg.Logger.With("component", "audit"), reqs: make(chan *appendReq, 1024), quit: make(chan struct{})}
	ok := false
	defer func() {
		if !ok {
			l.closeFiles()
		}
	}()
	var err error
	l.lock, err = os.OpenFile(filepath.Join(cfg.Dir, lockFile), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open audit lock: %w", err)
	}
	if err := syscall.Flock(int(l.lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return nil, fmt.Errorf("lock %s: %w", cfg.Dir, ErrLocked)
	}
	if l.priv, err = loadOrCreateKey(cfg.Dir); err != nil {
		return nil, err
	}
	l.f, err = os.OpenFile(filepath.Join(cfg.Dir, logFile), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open audit log: %w", err)
	}
	end, torn, err := scan(l.f, func(off int64, data []byte) error {
		l.offsets = append(l.offsets, off)
		l.tree.append(LeafHash(data))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("open audit log %s: %w (run tsingma audit verify)", cfg.Dir, err)
	}
	if torn {
		fi, _ := l.f.Stat()
		l.truncated = fi.Size() - end
		l.log.Warn("audit log: cutting an unacknowledged torn append", "bytes", l.truncated)
		if err := l.f.Truncate(end); err != nil {
			return nil, fmt.Errorf("truncate torn audit tail: %w", err)
		}
		if err := l.f.Sync(); err != nil {
			return nil, err
		}
	}
	if _, err := l.f.Seek(end, io.SeekStart); err != nil {
		return nil, err
	}
	l.end = end
	cpPath := filepath.Join(cfg.Dir, checkpointsFile)
	cps, tornCP, err := ReadCheckpoints(cpPath)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read checkpoints: %w", err)
	}
	l.cpf, err = os.OpenFile(cpPath, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open checkpoints: %w", err)
	}
	if tornCP {
		if err := cutTornLine(l.cpf); err != nil {
			return nil, err
		}
	}
	if _, err := l.cpf.Seek(0, io.SeekEnd); err != nil {
		return nil, err
	}
	if len(cps) > 0 {
		last := cps[len(cps)-1]
		if last.Size > l.tree.size() {
			return nil, fmt.Errorf("audit log has %d entries but its checkpoint signs %d: entries were removed (run tsingma audit verify)", l.tree.size(), last.Size)
		}
		if r, _ := l.tree.root(last.Size); string(r) != string(last.Root) {
			return nil, fmt.Errorf("audit log does not match its latest checkpoint (size %d): entries were changed (run tsingma audit verify)", last.Size)
		}
		l.last = last
	}
	ok = true
	l.wg.Add(1)
	go l.writer()
	if cfg.CheckpointEvery > 0 {
		l.wg.Add(1)
		go l.ticker()
	}
	if len(cps) == 0 || l.last.Size != l.tree.size() {
		if _, err := l.Checkpoint(); err != nil {
			l.Close()
			return nil, err
		}
	}
	return l, nil
}

// cutTornLine drops a checkpoints file's last line when it has no newline.
func cutTornLine(f *os.File) error {
	b, err := io.ReadAll(io.NewSectionReader(f, 0, 1<<40))
	if err != nil {
		return err
	}
	i := len(b)
	for i > 0 && b[i-1] != '\n' {
		i--
	}
	if err := f.Truncate(int64(i)); err != nil {
		return err
	}
	return f.Sync()
}

// Record framing: uint32 length, the entry's JSON, uint32 CRC-32C.
const maxRecord = 1 << 20

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// scan reads records from the start of f and calls fn with each one's
// offset and data. It returns the end of the last whole record and whether
// bytes after it are a torn (incomplete or checksum-failing) final record.
// A bad record followed by more data is corruption, an error.
func scan(f io.ReaderAt, fn func(off int64, data []byte) error) (end int64, torn bool, err error) {
	r := bufio.NewReaderSize(io.NewSectionReader(f, 0, 1<<62), 1<<16)
	var hdr [4]byte
	var off int64
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			if err == io.EOF {
				return off, false, nil
			}
			return off, true, nil
		}
		n := binary.BigEndian.Uint32(hdr[:])
		if n == 0 || n > maxRecord {
			if rest, _ := r.Peek(1); len(rest) == 0 {
				return off, true, nil
			}
			return off, false, fmt.Errorf("bad record length %d at offset %d", n, off)
		}
		buf := make([]byte, n+4)
		if _, err := io.ReadFull(r, buf); err != nil {
			return off, true, nil
		}
		data := buf[:n]
		if crc32.Checksum(data, castagnoli) != binary.BigEndian.Uint32(buf[n:]) {
			if rest, _ := r.Peek(1); len(rest) == 0 {
				return off, true, nil
			}
			return off, false, fmt.Errorf("record checksum mismatch at offset %d", off)
		}
		if err := fn(off, data); err != nil {
			return off, false, err
		}
		off += 4 + int64(n) + 4
	}
}

func frame(dst, data []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(data)))
	dst = append(dst, data...)
	return binary.BigEndian.AppendUint32(dst, crc32.Checksum(data, castagnoli))
}

// Append stores ev and returns it as an Entry once it is on disk (fsynced).
// If ctx ends first Append returns its error; the event may still be
// stored, but it was not acknowledged.
func (l *Log) Append(ctx context.Context, ev Event) (Entry, error) {
	if len(ev.Data) > 0 && !json.Valid(ev.Data) {
		return Entry{}, errors.New("audit: event data is not JSON")
	}
	r := &appendReq{ev: ev, done: make(chan appendRes, 1)}
	// Sends happen under closeMu's read lock, so Close (write lock) knows
	// that every request handed over is in reqs before the writer drains.
	l.closeMu.RLock()
	if l.closed {
		l.closeMu.RUnlock()
		return Entry{}, ErrClosed
	}
	select {
	case l.reqs <- r:
	case <-ctx.Done():
		l.closeMu.RUnlock()
		return Entry{}, ctx.Err()
	}
	l.closeMu.RUnlock()
	select {
	case res := <-r.done:
		return res.e, res.err
	case <-ctx.Done():
		return Entry{}, ctx.Err()
	}
}

// AppendAll stores evs in order, as Append does each, and returns once they
// are on disk: the group commit takes them together, so a batch costs
// about one fsync instead of one an event. stored counts the events
// acknowledged; err is the first failure (the events of a failed commit
// are not acknowledged, those of other commits may be).
func (l *Log) AppendAll(ctx context.Context, evs []Event) (stored int, err error) {
	for _, ev := range evs {
		if len(ev.Data) > 0 && !json.Valid(ev.Data) {
			return 0, errors.New("audit: event data is not JSON")
		}
	}
	reqs := make([]*appendReq, 0, len(evs))
	l.closeMu.RLock()
	if l.closed {
		l.closeMu.RUnlock()
		return 0, ErrClosed
	}
	for _, ev := range evs {
		r := &appendReq{ev: ev, done: make(chan appendRes, 1)}
		select {
		case l.reqs <- r:
			reqs = append(reqs, r)
		case <-ctx.Done():
			err = ctx.Err()
		}
		if err != nil {
			break
		}
	}
	l.closeMu.RUnlock()
	for _, r := range reqs {
		select {
		case res := <-r.done:
			if res.err == nil {
				stored++
			} else if err == nil {
				err = res.err
			}
		case <-ctx.Done():
			return stored, ctx.Err()
		}
	}
	return stored, err
}

// writer is the group commit: it takes every waiting append, writes them,
// fsyncs once, then acknowledges them all.
func (l *Log) writer() {
	defer l.wg.Done()
	var batch []*appendReq
	var buf []byte
	for {
		batch = batch[:0]
		select {
		case r := <-l.reqs:
			batch = append(batch, r)
		case <-l.quit:
			// Drain what was handed over before Close.
			for {
				select {
				case r := <-l.reqs:
					batch = append(batch, r)
					continue
				default:
				}
				break
			}
			if len(batch) > 0 {
				l.commit(batch, buf)
			}
			return
		}
	more:
		for len(batch) < 4096 {
			select {
			case r := <-l.reqs:
				batch = append(batch, r)
			default:
				break more
			}
		}
		buf = l.commit(batch, buf)
	}
}

func (l *Log) commit(batch []*appendReq, buf []byte) []byte {
	buf = buf[:0]
	l.mu.RLock()
	seq := l.tree.size()
	l.mu.RUnlock()
	pos, err := l.f.Seek(0, io.SeekCurrent)
	if err != nil {
		failAll(batch, err)
		return buf
	}
	now := l.cfg.Now().UTC()
	entries := make([]Entry, 0, len(batch))
	datas := make([][]byte, 0, len(batch))
	offs := make([]int64, 0, len(batch))
	var ok []*appendReq
	for _, r := range batch {
		e := Entry{Seq: seq + uint64(len(entries)), Time: now, Event: r.ev}
		data, err := json.Marshal(e)
		if err == nil && len(data) > maxRecord {
			err = fmt.Errorf("audit: event of %d bytes exceeds %d", len(data), maxRecord)
		}
		if err != nil {
			r.done <- appendRes{err: err}
			continue
		}
		offs = append(offs, pos+int64(len(buf)))
		buf = frame(buf, data)
		entries = append(entries, e)
		datas = append(datas, data)
		ok = append(ok, r)
	}
	if len(ok) == 0 {
		return buf
	}
	if _, err := l.f.Write(buf); err != nil {
		l.rewind(pos)
		failAll(ok, fmt.Errorf("write audit log: %w", err))
		return buf
	}
	if err := l.f.Sync(); err != nil {
		l.rewind(pos)
		failAll(ok, fmt.Errorf("fsync audit log: %w", err))
		return buf
	}
	l.fsyncs.Add(1)
	l.mu.Lock()
	for i, d := range datas {
		l.tree.append(LeafHash(d))
		l.offsets = append(l.offsets, offs[i])
	}
	l.end = pos + int64(len(buf))
	l.mu.Unlock()
	l.appended.Add(uint64(len(ok)))
	for i, r := range ok {
		r.done <- appendRes{e: entries[i]}
	}
	return buf
}

// rewind drops a failed write so that the file and the tree agree.
func (l *Log) rewind(pos int64) {
	if err := l.f.Truncate(pos); err != nil {
		l.log.Error("audit log: cannot drop a failed write", "err", err)
	}
	_, _ = l.f.Seek(pos, io.SeekStart)
}

func failAll(rs []*appendReq, err error) {
	for _, r := range rs {
		r.done <- appendRes{err: err}
	}
}

func (l *Log) ticker() {
	defer l.wg.Done()
	t := time.NewTicker(l.cfg.CheckpointEvery)
	defer t.Stop()
	for {
		select {
		case <-l.quit:
			return
		case <-t.C:
			if _, err := l.Checkpoint(); err != nil {
				l.log.Error("audit checkpoint", "err", err)
			}
		}
	}
}

// Checkpoint signs the current size and root and appends the checkpoint
// to the checkpoints file (fsynced), unless the latest one already covers
// the log; it returns the latest checkpoint.
func (l *Log) Checkpoint() (Checkpoint, error) {
	l.cpMu.Lock()
	defer l.cpMu.Unlock()
	l.mu.RLock()
	size := l.tree.size()
	root, err := l.tree.root(size)
	last := l.last
	l.mu.RUnlock()
	if err != nil {
		return Checkpoint{}, err
	}
	if last.Sig != nil && last.Size == size {
		return last, nil
	}
	c := sign(l.priv, size, root, l.cfg.Now())
	b, err := json.Marshal(c)
	if err != nil {
		return Checkpoint{}, err
	}
	if _, err := l.cpf.Write(append(b, '\n')); err != nil {
		return Checkpoint{}, fmt.Errorf("write checkpoint: %w", err)
	}
	if err := l.cpf.Sync(); err != nil {
		return Checkpoint{}, fmt.Errorf("fsync checkpoint: %w", err)
	}
	l.mu.Lock()
	l.last = c
	l.mu.Unlock()
	return c, nil
}

// Latest returns the latest checkpoint.
func (l *Log) Latest() Checkpoint {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.last
}

// PublicKey is the key checkpoints are signed with.
func (l *Log) PublicKey() ed25519.PublicKey { return l.priv.Public().(ed25519.PublicKey) }

// Size is the number of acknowledged entries.
func (l *Log) Size() uint64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.tree.size()
}

// Stats are counters for metrics.
type Stats struct {
	Entries, Appended, Fsyncs, CheckpointSize uint64
}

// Stats returns the log's counters.
func (l *Log) Stats() Stats {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return Stats{Entries: l.tree.size(), Appended: l.appended.Load(), Fsyncs: l.fsyncs.Load(), CheckpointSize: l.last.Size}
}

// Get reads one entry and its stored bytes.
func (l *Log) Get(seq uint64) (Entry, []byte, error) {
	l.mu.RLock()
	if seq >= uint64(len(l.offsets)) {
		l.mu.RUnlock()
		return Entry{}, nil, fmt.Errorf("entry %d: %w", seq, ErrNotFound)
	}
	off := l.offsets[seq]
	l.mu.RUnlock()
	return readRecord(l.f, off)
}

func readRecord(f io.ReaderAt, off int64) (Entry, []byte, error) {
	var hdr [4]byte
	if _, err := f.ReadAt(hdr[:], off); err != nil {
		return Entry{}, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n == 0 || n > maxRecord {
		return Entry{}, nil, fmt.Errorf("bad record at %d", off)
	}
	data := make([]byte, n)
	if _, err := f.ReadAt(data, off+4); err != nil {
		return Entry{}, nil, err
	}
	var e Entry
	if err := json.Unmarshal(data, &e); err != nil {
		return Entry{}, nil, fmt.Errorf("entry at %d: %w", off, err)
	}
	return e, data, nil
}

// Entries calls fn with entries from seq from on, in order, until fn
// returns false or the log ends.
func (l *Log) Entries(from uint64, fn func(Entry) bool) error {
	for s := from; ; s++ {
		e, _, err := l.Get(s)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if !fn(e) {
			return nil
		}
	}
}

// Prove returns an inclusion proof of entry seq against the latest
// checkpoint, signing a new checkpoint first if the latest does not cover
// the entry yet.
func (l *Log) Prove(seq uint64) (Proof, error) {
	e, data, err := l.Get(seq)
	if err != nil {
		return Proof{}, err
	}
	cp := l.Latest()
	if seq >= cp.Size {
		if cp, err = l.Checkpoint(); err != nil {
			return Proof{}, err
		}
	}
	l.mu.RLock()
	p, err := l.tree.inclusion(seq, cp.Size)
	l.mu.RUnlock()
	if err != nil {
		return Proof{}, err
	}
	return Proof{Entry: e, Leaf: data, Index: seq, Hashes: p, Checkpoint: cp, PublicKey: l.PublicKey()}, nil
}

// Consistency returns the consistency proof between two sizes of the log.
func (l *Log) Consistency(size1, size2 uint64) ([][]byte, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.tree.consistency(size1, size2)
}

// Close stops the writer (appends handed over are committed), signs a
// final checkpoint and releases the directory. Idempotent.
func (l *Log) Close() error {
	var err error
	l.once.Do(func() {
		l.closeMu.Lock()
		l.closed = true
		l.closeMu.Unlock()
		close(l.quit)
		l.wg.Wait()
		if l.f != nil {
			_, err = l.Checkpoint()
		}
		if e := l.closeFiles(); err == nil {
			err = e
		}
	})
	return err
}

func (l *Log) closeFiles() error {
	var errs []error
	for _, f := range []*os.File{l.f, l.cpf, l.lock} {
		if f != nil {
			errs = append(errs, f.Close())
		}
	}
	return errors.Join(errs...)
}

// Dir is the log's directory (for Verify while it runs).
func (l *Log) Dir() string { return l.cfg.Dir }

// Backup adds the log's files under dir (slash-separated) to sink: the
// records and the checkpoints as they are when it is called, which open
// and verify as the log did then, and the signing key (the restored log
// signs on with it; a backup is as secret as the data directory).
func (l *Log) Backup(sink backup.Sink, dir string) error {
	// No checkpoint is signed until the log's end is taken, so every
	// checkpoint copied covers records that are copied.
	l.cpMu.Lock()
	l.mu.RLock()
	end := l.end
	l.mu.RUnlock()
	fi, err := l.cpf.Stat()
	l.cpMu.Unlock()
	if err != nil {
		return err
	}
	// Both files only grow (a failed append is cut back to where it
	// began, past end), so their copied prefixes do not change.
	if err := backup.FilePrefix(sink, dir+"/"+logFile, filepath.Join(l.cfg.Dir, logFile), end); err != nil {
		return err
	}
	if err := backup.FilePrefix(sink, dir+"/"+checkpointsFile, filepath.Join(l.cfg.Dir, checkpointsFile), fi.Size()); err != nil {
		return err
	}
	for _, f := range []string{keyFile, pubFile} {
		if err := backup.File(sink, dir+"/"+f, filepath.Join(l.cfg.Dir, f)); err != nil {
			return err
		}
	}
	return nil
}
