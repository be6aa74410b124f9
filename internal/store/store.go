// Package store is tsingma's embedded telemetry storage: a write-ahead log
// with group commit (every acknowledged sample is fsynced), an in-memory
// head of Gorilla-compressed chunks (Prometheus's chunkenc), and immutable
// block files that the head is flushed to. It implements Prometheus's
// storage.Queryable so that the PromQL engine runs on it unchanged.
//
// A Store is safe for concurrent use. Open starts one committer goroutine
// and one maintenance goroutine; Close stops both and flushes.
package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tsingma/tsingma/internal/telemetry"
)

// Config configures a Store. Zero values take the defaults shown.
type Config struct {
	Dir             string        // required
	SegmentSize     int64         // WAL segment size; 64 MiB
	MaxPending      int           // samples queued for commit before Append refuses (a larger batch is taken when none are); 1,000,000
	FlushInterval   time.Duration // head → block at least this often; 2h
	FlushWALBytes   int64         // or when this much WAL has accumulated; 256 MiB
	Retention       time.Duration // blocks older than this are deleted; 0 keeps everything
	Downsample      []DownsampleRule
	CompactBlocks   int           // merge this many small blocks at a time; 8
	CompactMaxBytes int64         // blocks at least this big are not merged further; 512 MiB
	MaintainEvery   time.Duration // how often compaction, downsampling and retention run; 30s
	Logger          *slog.Logger
	Now             func() time.Time
}

func (c *Config) defaults() error {
	if c.Dir == "" {
		return errors.New("store: Config.Dir is required")
	}
	if c.SegmentSize <= 0 {
		c.SegmentSize = 64 << 20
	}
	if c.SegmentSize < 64<<10 || c.SegmentSize > 1<<30 {
		return fmt.Errorf("store: WAL segment size %d is outside 64 KiB to 1 GiB", c.SegmentSize)
	}
	if c.MaxPending <= 0 {
		c.MaxPending = 1_000_000
	}
	if c.FlushInterval <= 0 {
		c.FlushInterval = 2 * time.Hour
	}
	if c.FlushWALBytes <= 0 {
		c.FlushWALBytes = 256 << 20
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.CompactBlocks < 2 {
		c.CompactBlocks = 8
	}
	if c.CompactMaxBytes <= 0 {
		c.CompactMaxBytes = 512 << 20
	}
	if c.MaintainEvery <= 0 {
		c.MaintainEvery = 30 * time.Second
	}
	for _, r := range c.Downsample {
		if r.After <= 0 || r.Interval <= 0 {
			return fmt.Errorf("store: downsample rule %v: both durations must be positive", r)
		}
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return nil
}

// DownsampleRule keeps one sample per Interval (the last) of data older
// than After.
type DownsampleRule struct {
	After, Interval time.Duration
}

// Status is telemetry.Status; the aliases keep call sites short.
type Status = telemetry.Status

const (
	Accepted   = telemetry.Accepted
	Duplicate  = telemetry.Duplicate
	OutOfOrder = telemetry.OutOfOrder
	Conflict   = telemetry.Conflict
)

// ErrBusy is returned by Append when the commit queue is full. Nothing of
// the batch was written; the caller may retry (HTTP 429, MQTT no PUBACK).
var ErrBusy = errors.New("store: commit queue full")

// ErrClosed is returned after Close.
var ErrClosed = errors.New("store: closed")

// ErrFailed is returned once a WAL write or sync has failed: the WAL's
// state on disk is unknown, so the store accepts nothing more until it is
// opened again (a restart), which replays what is intact.
var ErrFailed = errors.New("store: a write-ahead log write failed; restart to recover")

// Stats are counters for /metrics.
type Stats struct {
	Series       int
	SamplesAdded uint64
	Pending      int64
	Commits      uint64
	Fsync        Histogram // fsync latency, seconds
	Blocks       int
	WALBytes     int64
	BlockBytes   int64
	// Background is the number of flushes and block rewrites running now,
	// BackgroundRuns the number finished (a benchmark tells by them
	// whether its interval carried such work).
	Background     int
	BackgroundRuns uint64
}

type commitReq struct {
	payload []byte
	apply   []applied
	n       int
	done    chan error // read by the writer: never changed once queued
	woken   bool       // done has had its value (committer and applier only)

	applyBuf *[]applied // pooled backing of apply
	recBuf   *[]byte    // pooled backing of the samples record (a payload queued before this request)
}

var (
	sersPool  = sync.Pool{New: func() any { return new([]*series) }}
	applyPool = sync.Pool{New: func() any { return new([]applied) }}
	recPool   = sync.Pool{New: func() any { return new([]byte) }}
)

// release returns a request's pooled buffers once the committer has
// written its WAL record and applied its samples (or it was never queued).
func (r *commitReq) release() {
	if r.applyBuf != nil {
		clear(r.apply) // drop the series pointers
		*r.applyBuf = r.apply[:0]
		applyPool.Put(r.applyBuf)
		r.applyBuf, r.apply = nil, nil
	}
	if r.recBuf != nil {
		recPool.Put(r.recBuf)
		r.recBuf = nil
	}
}

// applyJob is one synced (or failed) batch, the seq-th commit, or a
// barrier (done only).
type applyJob struct {
	batch []*commitReq
	err   error
	seq   uint64
	done  chan struct{}
}

type applied struct {
	s  *series
	ts int64
	v  float64
}

// Store is the embedded telemetry store.
type Store struct {
	cfg  Config
	log  *slog.Logger
	head *head

	seqMu   sync.Mutex // orders reservation and enqueue
	pendMu  sync.Mutex
	pending []*commitReq
	pendN   atomic.Int64
	wake    chan struct{}
	flushRq chan chan cutResult
	// walFull wakes the maintenance loop when the WAL grows past
	// FlushWALBytes, so the flush starts then rather than at its next tick.
	walFull chan struct{}
	// flushMu: one flush, block rewrite, retention pass or deletion at a
	// time. It also guards tombs.
	flushMu sync.Mutex
	// delGen counts deletions (DeleteSeries): an append whose series were
	// resolved before one looks them up again.
	delGen atomic.Uint64
	// tombs holds the deleted series' tombstones (delete.go): key → the
	// first block sequence number written after the deletion.
	tombs map[telemetry.Key]int
	// spans holds the ranged tombstones (DeleteRange), in the order made.
	spans      []spanTomb
	tombsDirty bool
	// deadRefs are the refs of deleted series whose chunks loading
	// skipped (Open only): the WAL may still hold their samples from
	// before the deletion, which replay skips too.
	deadRefs map[uint64]bool

	walDir string
	seg    *segmentWriter // owned by the committer
	// The spare: a zero-filled file the next segment is made from, asked
	// for (by the committer, once a segment has seen SegmentSize/64 bytes)
	// through spareWant and written by spareMaker.
	spareWant  chan struct{}
	spareReady atomic.Bool
	spareAsked bool // owned by the committer
	// applyCh carries fsynced batches from the committer to the applier,
	// which adds them to the head in commit order while the committer
	// writes and syncs the next batch (their writers are woken at the
	// sync; those of a failed batch by the applier).
	applyCh   chan applyJob
	applyBusy atomic.Int32 // jobs handed to the applier and not yet done
	// A batch's writers are woken as soon as it is synced, before it is
	// in the head; a read waits (visible) until the head holds every
	// batch acknowledged when it started. Commits are numbered from 1 by
	// the committer (commitSeq); acked is the last one whose writers were
	// woken, applied the last one in the head.
	commitSeq      uint64 // owned by the committer
	acked, applied atomic.Uint64
	visMu          sync.Mutex
	visCond        sync.Cond // on visMu: applied moved while visWaiters > 0
	visWaiters     atomic.Int32
	walSinceFlush  atomic.Int64
	// walPos is where the WAL's synced records end after the last commit
	// (Backup copies up to it).
	walPos atomic.Pointer[walPosition]
	// Flushes and block rewrites: running now, and finished.
	bgRunning atomic.Int32
	bgRuns    atomic.Uint64

	blocksMu sync.RWMutex
	blocks   []*block
	nextBlk  int

	added   atomic.Uint64
	commits atomic.Uint64
	fsync   histogram

	ctx       context.Context
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closed    atomic.Bool
	failed    atomic.Pointer[error] // the WAL failure that stopped appends (ErrFailed)
	closeOnce sync.Once
	closeErr  error
}

// Open opens or creates the store in cfg.Dir, loads its blocks and replays
// its WAL, then starts the committer.
func Open(cfg Config) (*Store, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	s := &Store{
		cfg:       cfg,
		log:       cfg.Logger.With("component", "store"),
		head:      newHead(),
		wake:      make(chan struct{}, 1),
		flushRq:   make(chan chan cutResult),
		walFull:   make(chan struct{}, 1),
		spareWant: make(chan struct{}, 1),
		applyCh:   make(chan applyJob, 4),
		walDir:    filepath.Join(cfg.Dir, "wal"),
	}
	s.visCond.L = &s.visMu
	for _, d := range []string{cfg.Dir, s.walDir, filepath.Join(cfg.Dir, "blocks")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("create %s: %w", d, err)
		}
	}
	start := time.Now()
	if err := removeSnapshots(cfg.Dir); err != nil {
		return nil, err
	}
	if err := s.loadTombstones(); err != nil {
		return nil, err
	}
	if err := s.loadBlocks(); err != nil {
		s.closeBlocks()
		return nil, err
	}
	seqs, err := listSegments(s.walDir)
	if err != nil {
		s.closeBlocks()
		return nil, err
	}
	var replayed int
	for i, seq := range seqs {
		used, err := readSegment(s.walDir, seq, i == len(seqs)-1, func(p []byte) error {
			n, err := s.replayRecord(p)
			replayed += n
			return err
		})
		if err != nil {
			s.closeBlocks()
			return nil, fmt.Errorf("replay wal: %w", err)
		}
		s.walSinceFlush.Add(used)
	}
	// A spare left by the last run may be incomplete; it is made again
	// when needed.
	if err := os.Remove(filepath.Join(s.walDir, spareName)); err != nil && !errors.Is(err, os.ErrNotExist) {
		s.closeBlocks()
		return nil, fmt.Errorf("remove old spare wal segment: %w", err)
	}
	s.deadRefs = nil
	if err := s.persistTombstones(); err != nil {
		s.closeBlocks()
		return nil, err
	}
	next := 1
	if len(seqs) > 0 {
		next = seqs[len(seqs)-1] + 1
	}
	seg, err := openSegment(s.walDir, next)
	if err != nil {
		s.closeBlocks()
		return nil, err
	}
	s.seg = seg
	s.log.Info("store opened", "dir", cfg.Dir, "series", s.head.numSeries(), "blocks", len(s.blocks),
		"wal_segments", len(seqs), "replayed_samples", replayed, "took", time.Since(start))
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.wg.Add(4)
	go s.committer()
	go s.applier()
	go s.maintain()
	go s.spareMaker()
	return s, nil
}

func (s *Store) replayRecord(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, fmt.Errorf("%w: empty record", ErrCorrupt)
	}
	d := &decoder{b: p[1:]}
	switch p[0] {
	case recSeries:
		for len(d.b) > 0 && d.err == nil {
			ref := d.uvarint()
			k := telemetry.Key{Tenant: d.str(), Twin: d.str(), Channel: d.str()}
			typ := d.str()
			if d.err == nil {
				s.head.add(ref, k, typ)
			}
		}
		return 0, d.err
	case recSamples:
		n := 0
		var ser *series
		var lastRef uint64
		for len(d.b) > 0 && d.err == nil {
			ref := d.uvarint()
			ts := d.varint()
			v := math.Float64frombits(d.u64())
			if d.err != nil {
				break
			}
			if ser == nil || ref != lastRef {
				s.head.mu.RLock()
				ser = s.head.byRef[ref]
				s.head.mu.RUnlock()
				lastRef = ref
			}
			if ser == nil && s.deadRefs[ref] {
				continue // deleted later (its tombstone kept it out of the head)
			}
			if ser == nil {
				return n, fmt.Errorf("%w: sample for unknown series %d", ErrCorrupt, ref)
			}
			if ts <= ser.reservedTS { // already in a block (or a duplicate)
				continue
			}
			ser.append(ts, v)
			ser.reservedTS, ser.reservedVal = ts, v
			s.added.Add(1)
			n++
		}
		return n, d.err
	case recDelete:
		return 0, s.replayDelete(d)
	case recDeleteRange:
		return 0, s.replayDeleteRange(d)
	default:
		return 0, fmt.Errorf("%w: unknown record type %d", ErrCorrupt, p[0])
	}
}

// Append stores samples durably: when it returns nil, every sample whose
// status is Accepted or Duplicate is on disk (fsynced), and every read
// that starts after it sees them. Samples must be
// validated already (Type filled in, finite values). It returns ErrBusy
// without writing anything when the commit queue is full.
func (s *Store) Append(ctx context.Context, samples []telemetry.Sample) ([]Status, error) {
	st := make([]Status, len(samples))
	return st, s.AppendStatus(ctx, samples, st)
}

// AppendStatus is Append writing the statuses into st (len(st) >= len(samples)).
func (s *Store) AppendStatus(ctx context.Context, samples []telemetry.Sample, st []Status) error {
	wait, err := s.AppendAsync(samples, st)
	if err != nil {
		return err
	}
	return wait(ctx)
}

// AppendAsync is AppendStatus in two steps: it reserves the samples' place
// in the WAL's order and fills st (an error means nothing was stored), and
// the returned wait blocks until they are durable. A caller that has more
// to store need not wait between batches (the MQTT workers hand a batch on
// and take the next while it commits); nothing is durable, or acknowledged,
// before wait returns nil.
func (s *Store) AppendAsync(samples []telemetry.Sample, st []Status) (wait func(context.Context) error, err error) {
	if err := s.refusing(); err != nil {
		return nil, err
	}
	if len(samples) == 0 {
		return noWait, nil
	}
	// A batch larger than MaxPending is taken when nothing waits: refused
	// every time, its sender would retry for ever (a 429 it can never
	// get past). The queue then holds at most MaxPending plus the batches
	// that found it empty at once, each bounded by its request's size.
	if n := s.pendN.Load(); n > 0 && n+int64(len(samples)) > int64(s.cfg.MaxPending) {
		return nil, ErrBusy
	}
	// The per-batch buffers come from pools: the lookups' slice is back
	// when the reservation is done, the WAL record and the apply list
	// when the committer has written and applied them.
	req := &commitReq{done: make(chan error, 1), applyBuf: applyPool.Get().(*[]applied), recBuf: recPool.Get().(*[]byte)}
	req.apply = slices.Grow((*req.applyBuf)[:0], len(samples))
	// Series are looked up before taking seqMu, so that concurrent batches
	// resolve their series in parallel; only the reservation below is
	// serialised. A series is written to the WAL by the first batch that
	// enqueues a sample for it (under seqMu), which keeps every series
	// record ahead of the samples that refer to it.
	sersBuf := sersPool.Get().(*[]*series)
	sers := slices.Grow((*sersBuf)[:0], len(samples))[:len(samples)]
	dels := s.delGen.Load()
	s.head.resolve(samples, sers)
	var seriesRec []byte
	sampRec := append(slices.Grow((*req.recBuf)[:0], 1+len(samples)*14), recSamples)

	s.seqMu.Lock()
	if s.delGen.Load() != dels {
		// A deletion took series out of the head since: the batch's
		// samples go to the series that are there now (new ones where
		// theirs was deleted), after the deletion's WAL record.
		clear(sers)
		s.head.resolve(samples, sers)
	}
	for i := range samples {
		smp := &samples[i]
		ser := sers[i]
		if !ser.logged {
			ser.logged = true
			if seriesRec == nil {
				seriesRec = []byte{recSeries}
			}
			seriesRec = binary.AppendUvarint(seriesRec, ser.ref)
			seriesRec = appendString(seriesRec, ser.key.Tenant)
			seriesRec = appendString(seriesRec, ser.key.Twin)
			seriesRec = appendString(seriesRec, ser.key.Channel)
			seriesRec = appendString(seriesRec, ser.typ)
		}
		switch {
		case smp.TS > ser.reservedTS:
			ser.reservedTS, ser.reservedVal = smp.TS, smp.Value
			st[i] = Accepted
			sampRec = binary.AppendUvarint(sampRec, ser.ref)
			sampRec = binary.AppendVarint(sampRec, smp.TS)
			sampRec = binary.LittleEndian.AppendUint64(sampRec, math.Float64bits(smp.Value))
			req.apply = append(req.apply, applied{ser, smp.TS, smp.Value})
		case smp.TS == ser.reservedTS && smp.Value == ser.reservedVal:
			st[i] = Duplicate
		case smp.TS == ser.reservedTS:
			st[i] = Conflict
		default:
			st[i] = OutOfOrder
		}
	}
	req.n = len(req.apply)
	clear(sers)
	*sersBuf = sers[:0]
	sersPool.Put(sersBuf)
	*req.recBuf = sampRec
	var payloads [][]byte
	if seriesRec != nil {
		payloads = append(payloads, seriesRec)
	}
	if req.n > 0 {
		payloads = append(payloads, sampRec)
	}
	if len(payloads) == 0 {
		// Only duplicates: they are durable already, if their original is.
		// Wait for anything queued before us so the original is on disk.
		req.release()
		req = &commitReq{done: make(chan error, 1)}
		s.enqueue(req, nil)
		s.seqMu.Unlock()
		return waitDone(req.done), nil
	}
	s.enqueue(req, payloads)
	s.seqMu.Unlock()
	return waitDone(req.done), nil
}

// waitDone waits for a commit's outcome; if ctx ends first the batch may
// still become durable, but it is not acknowledged.
func waitDone(done chan error) func(context.Context) error {
	return func(ctx context.Context) error {
		select {
		case err := <-done:
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func noWait(context.Context) error { return nil }

func (s *Store) enqueue(req *commitReq, payloads [][]byte) {
	// Each payload becomes one WAL record, written in order before req's
	// completion is signalled.
	s.pendMu.Lock()
	for _, p := range payloads {
		s.pending = append(s.pending, &commitReq{payload: p})
	}
	s.pending = append(s.pending, req) // carries apply + done, no payload
	s.pendN.Add(int64(req.n))
	s.pendMu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// barrier waits until everything enqueued so far is durable.
func (s *Store) barrier(ctx context.Context) error {
	req := &commitReq{done: make(chan error, 1)}
	s.seqMu.Lock()
	s.enqueue(req, nil)
	s.seqMu.Unlock()
	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Store) committer() {
	defer s.wg.Done()
	defer close(s.applyCh) // after the last batch: the applier drains and stops
	var batch []*commitReq
	for {
		select {
		case <-s.wake:
		case ch := <-s.flushRq:
			// The cut snapshots the head and starts a new WAL segment; the
			// old segments are deleted once the block is written, so every
			// batch synced to them must be in the head first.
			s.drainApplier()
			snap, err := s.cut()
			ch <- cutResult{snap, err}
			continue
		case <-s.ctx.Done():
			// Drain what is queued, then stop.
			s.pendMu.Lock()
			batch, s.pending = s.pending, batch[:0]
			s.pendMu.Unlock()
			if len(batch) > 0 {
				s.commit(batch)
			}
			return
		}
		s.pendMu.Lock()
		batch, s.pending = s.pending, batch[:0]
		s.pendMu.Unlock()
		if len(batch) == 0 {
			continue
		}
		s.commit(batch)
		for i := range batch {
			batch[i] = nil
		}
	}
}

// commit writes and syncs a batch, then hands it to the applier.
func (s *Store) commit(batch []*commitReq) {
	// After a failed write nothing more is written: a later record that
	// synced behind a torn one would be acknowledged, and then cut off
	// with the torn tail when the WAL is replayed.
	err := s.Err()
	var bytes int64
	for _, r := range batch {
		if r.payload != nil && err == nil {
			err = s.seg.write(r.payload)
			bytes += int64(len(r.payload) + frameHdr)
		}
	}
	if err == nil {
		t0 := time.Now()
		err = s.seg.sync()
		s.fsync.observe(time.Since(t0).Seconds())
	}
	if w := s.walSinceFlush.Add(bytes); w >= s.cfg.FlushWALBytes && w-bytes < s.cfg.FlushWALBytes {
		select {
		case s.walFull <- struct{}{}:
		default:
		}
	}
	s.commits.Add(1)
	s.commitSeq++
	seq := s.commitSeq
	switch {
	case errors.Is(err, ErrFailed): // an earlier failure: nothing written
	case err != nil:
		// A failed write or fsync leaves the WAL in an unknown state: stop
		// accepting (as PostgreSQL does) rather than acknowledge later data.
		s.log.Error("wal write failed; refusing further appends", "err", err)
		err = fmt.Errorf("%w: %v", ErrFailed, err)
		s.failed.Store(&err)
		s.closed.Store(true)
	default:
		// Durable: wake the writers now, not after the apply (a wake-up of
		// the applier and the apply itself were on every writer's path);
		// reads that start from here wait for the apply (visible).
		s.acked.Store(seq)
		s.walPos.Store(&walPosition{seq: s.seg.seq, size: s.seg.size})
		for _, r := range batch {
			if r.done != nil {
				r.done <- nil
				r.woken = true
			}
		}
	}
	// A small batch with nothing ahead of it at the applier is applied
	// here: a hand-off costs a goroutine wake-up, which on a busy machine
	// is longer than the apply. Large batches go to the applier, so that
	// the next fsync overlaps their apply.
	n := 0
	for _, r := range batch {
		n += r.n
	}
	if n <= inlineApply && s.applyBusy.Load() == 0 {
		s.apply(batch, err, seq)
	} else {
		s.applyBusy.Add(1)
		s.applyCh <- applyJob{batch: slices.Clone(batch), err: err, seq: seq}
	}
	if err != nil {
		return
	}
	// A segment that was not zero-filled is left as soon as a spare is
	// ready: its fsyncs cost more.
	if s.seg.size >= s.cfg.SegmentSize || (!s.seg.prealloc && s.spareReady.Load()) {
		if err := s.rotate(); err != nil {
			s.log.Error("wal rotate failed", "err", err)
		}
	}
	if !s.spareAsked && s.seg.size >= s.cfg.SegmentSize/64 {
		s.spareAsked = true
		select {
		case s.spareWant <- struct{}{}:
		default:
		}
	}
}

// spareMaker writes the spare segment file whenever the committer asks.
func (s *Store) spareMaker() {
	defer s.wg.Done()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-s.spareWant:
		}
		if err := prepareSpare(s.ctx, s.walDir, s.cfg.SegmentSize); err != nil {
			if s.ctx.Err() == nil {
				s.log.Warn("prepare spare wal segment", "err", err)
			}
			continue
		}
		s.spareReady.Store(true)
	}
}

// applier adds synced batches to the head and wakes their writers, in
// commit order. It stops when the committer closes applyCh.
func (s *Store) applier() {
	defer s.wg.Done()
	for job := range s.applyCh {
		if job.done != nil {
			close(job.done) // a barrier: everything before it is applied
			continue
		}
		s.apply(job.batch, job.err, job.seq)
		s.applyBusy.Add(-1)
	}
}

// inlineApply is the largest batch (in samples) the committer applies
// itself when the applier is idle.
const inlineApply = 2048

// apply adds the seq-th commit, a synced batch, to the head and wakes
// the writers not woken yet (err: the batch failed and is only reported).
func (s *Store) apply(batch []*commitReq, err error, seq uint64) {
	for _, r := range batch {
		if err == nil {
			for _, a := range r.apply {
				a.s.append(a.ts, a.v)
			}
			s.added.Add(uint64(len(r.apply)))
		}
		s.pendN.Add(-int64(r.n))
		// Every payload of the batch was written before the sync, so the
		// request's buffers are free; return them before waking its owner.
		r.release()
		if r.done != nil && !r.woken {
			r.done <- err
		}
	}
	s.applied.Store(seq)
	if s.visWaiters.Load() > 0 {
		s.visMu.Lock()
		s.visCond.Broadcast()
		s.visMu.Unlock()
	}
}

// visible waits until the head holds every batch acknowledged so far, so
// that a read sees what was written before it started. The applier is a
// few batches behind at most (applyCh's capacity), and mostly none, so
// this is mostly two atomic loads.
func (s *Store) visible() {
	want := s.acked.Load()
	if s.applied.Load() >= want {
		return
	}
	s.visWaiters.Add(1)
	s.visMu.Lock()
	for s.applied.Load() < want {
		s.visCond.Wait()
	}
	s.visMu.Unlock()
	s.visWaiters.Add(-1)
}

// drainApplier waits until the applier has applied every batch handed to
// it. Only the committer calls it.
func (s *Store) drainApplier() {
	done := make(chan struct{})
	s.applyCh <- applyJob{done: done}
	<-done
}

func (s *Store) rotate() error {
	next := s.seg.seq + 1
	if err := s.seg.close(); err != nil {
		return err
	}
	if s.spareReady.Load() {
		seg, err := useSpare(s.walDir, next)
		s.spareReady.Store(false)
		s.spareAsked = false
		if err == nil {
			s.seg = seg
			return nil
		}
		s.log.Warn("use spare wal segment", "err", err)
	}
	seg, err := openSegment(s.walDir, next)
	if err != nil {
		return err
	}
	s.seg = seg
	return nil
}

func (s *Store) maintain() {
	defer s.wg.Done()
	tick := time.NewTicker(s.cfg.MaintainEvery)
	defer tick.Stop()
	lastFlush := time.Now()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-tick.C:
		case <-s.walFull:
		}
		if time.Since(lastFlush) >= s.cfg.FlushInterval || s.walSinceFlush.Load() >= s.cfg.FlushWALBytes {
			if err := s.Flush(s.ctx); err != nil && !errors.Is(err, context.Canceled) {
				s.log.Error("flush failed", "err", err)
			}
			lastFlush = time.Now()
		}
		s.flushMu.Lock()
		if err := s.applyRetention(); err != nil {
			s.log.Error("retention failed", "err", err)
		}
		if err := s.compactBlocks(); err != nil {
			s.log.Error("compaction failed", "err", err)
		}
		s.flushMu.Unlock()
	}
}

// Flush writes the head's chunks to a new block and deletes the WAL
// segments it covers. Appends continue meanwhile.
func (s *Store) Flush(ctx context.Context) error {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	ch := make(chan cutResult, 1)
	select {
	case s.flushRq <- ch:
	case <-ctx.Done():
		return ctx.Err()
	}
	// The cut is quick and runs between commits; the block is written
	// here, while appends go on into the new WAL segment.
	var res cutResult
	select {
	case res = <-ch:
	case <-ctx.Done():
		return ctx.Err()
	}
	if res.err != nil {
		return res.err
	}
	return s.writeFlush(res.snap)
}

// background counts a flush or block rewrite while it runs; call the
// function it returns when it ends.
func (s *Store) background() (done func()) {
	s.bgRunning.Add(1)
	return func() {
		s.bgRunning.Add(-1)
		s.bgRuns.Add(1)
	}
}

// Stats returns the store's counters.
func (s *Store) Stats() Stats {
	s.visible() // SamplesAdded counts what was acknowledged
	st := Stats{
		Series:       s.head.numSeries(),
		SamplesAdded: s.added.Load(),
		Pending:      s.pendN.Load(),
		Commits:      s.commits.Load(),
		WALBytes:     s.walSinceFlush.Load(),
	}
	st.Background, st.BackgroundRuns = int(s.bgRunning.Load()), s.bgRuns.Load()
	st.Fsync = s.fsync.snapshot()
	s.blocksMu.RLock()
	st.Blocks = len(s.blocks)
	for _, b := range s.blocks {
		st.BlockBytes += b.size
	}
	s.blocksMu.RUnlock()
	return st
}

// Err returns the WAL failure that stopped the store accepting appends
// (wrapping ErrFailed), or nil. /readyz reports it.
func (s *Store) Err() error {
	if p := s.failed.Load(); p != nil {
		return *p
	}
	return nil
}

// refusing returns why the store takes no more writes (its failure, or
// ErrClosed), or nil while it does.
func (s *Store) refusing() error {
	if !s.closed.Load() {
		return nil
	}
	if err := s.Err(); err != nil {
		return err
	}
	return ErrClosed
}

// Close stops accepting, commits what is queued, flushes the head to a
// block and closes files. It is idempotent.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		if err := s.Flush(context.Background()); err != nil {
			s.closeErr = fmt.Errorf("flush on close: %w", err)
		}
		s.closed.Store(true)
		s.cancel()
		s.wg.Wait()
		if err := s.seg.close(); err != nil && s.closeErr == nil {
			s.closeErr = err
		}
		os.Remove(filepath.Join(s.walDir, spareName))
		s.closeBlocks()
	})
	return s.closeErr
}

// FsyncBuckets are the upper bounds (seconds) of the fsync histogram.
var FsyncBuckets = [...]float64{0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1}

// Histogram is a cumulative snapshot in Prometheus's shape.
type Histogram struct {
	Counts [len(FsyncBuckets)]uint64 // cumulative, per bucket of FsyncBuckets
	Count  uint64
	Sum    float64
}

type histogram struct {
	mu sync.Mutex
	h  Histogram
}

func (h *histogram) observe(v float64) {
	h.mu.Lock()
	for i, b := range FsyncBuckets {
		if v <= b {
			h.h.Counts[i]++
		}
	}
	h.h.Count++
	h.h.Sum += v
	h.mu.Unlock()
}

func (h *histogram) snapshot() Histogram {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.h
}
