// Package scoring runs the streaming anomaly detector on every channel of
// every twin as samples become durable: one detector per series, sharded
// over worker goroutines with bounded queues (a full queue drops the batch
// and counts it; ingest never waits). Scores are stored as their own series
// (channel "<channel>.anomaly"), and an anomaly onset raises an alert
// through the alerts engine, naming the model and its version. Detector
// state is checkpointed to disk and, after a restart, brought up to date
// from the stored samples, so nothing is re-learnt from zero.
package scoring

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tsingma/tsingma/internal/alert"
	"github.com/tsingma/tsingma/internal/anomaly"
	"github.com/tsingma/tsingma/internal/backup"
	"github.com/tsingma/tsingma/internal/bus"
	"github.com/tsingma/tsingma/internal/pace"
	"github.com/tsingma/tsingma/internal/telemetry"
)

// Suffix marks the score series of a channel.
const Suffix = ".anomaly"

// ModelName and ModelVersion identify the detector in alerts and the
// registry. The version changes whenever the detector's method or default
// configuration changes.
const (
	ModelName    = "anomaly"
	ModelVersion = anomaly.Version
)

// Store is what scoring needs of the telemetry store.
type Store interface {
	Append(ctx context.Context, samples []telemetry.Sample) ([]telemetry.Status, error)
	Range(ctx context.Context, k telemetry.Key, mint, maxt int64, fn func(ts int64, v float64) bool) error
	DeleteSeries(ctx context.Context, tenant, twin, channel string) (int, error)
	DeleteRange(ctx context.Context, tenant, twin, channel string, from, to int64) (int, error)
}

// Alerter raises and clears model alerts (the alerts engine).
type Alerter interface {
	// Apply raises or clears the signals in order, persisted together,
	// and returns each one's error (alert.Engine.Apply).
	Apply(ctx context.Context, ops []alert.SignalOp) []error
}

// Settings are the per-type or per-twin knobs.
type Settings struct {
	Enabled *bool `json:"enabled,omitempty"`
	// Threshold is the score at or above which an onset raises an alert
	// (the sensitivity; NAB's swept standard-profile threshold by default).
	Threshold *float64 `json:"threshold,omitempty"`
	// LearningSamples: no alerts until a series has seen this many samples.
	LearningSamples *int `json:"learning_samples,omitempty"`
	// Alerts: false keeps scoring (the score series) but raises no alert.
	Alerts *bool `json:"alerts,omitempty"`
}

// Policy holds the defaults and overrides by type and by twin (twin wins).
type Policy struct {
	Default Settings            `json:"default"`
	Types   map[string]Settings `json:"types,omitempty"`
	Twins   map[string]Settings `json:"twins,omitempty"`
}

// DefaultPolicy: on for everything, threshold 0.261 (NAB's swept
// standard-profile threshold), 300 samples learning. Vehicles are scored
// but raise no anomaly alerts: speed and vibration switch regimes at every
// stop, so onsets are routine there; breakdowns are caught by rules.
func DefaultPolicy() Policy {
	on, off, th, learn := true, false, 0.261, 300
	return Policy{
		Default: Settings{Enabled: &on, Threshold: &th, LearningSamples: &learn, Alerts: &on},
		Types:   map[string]Settings{"vehicle": {Alerts: &off}},
	}
}

type effective struct {
	enabled   bool
	threshold float64
	learning  int
	alerts    bool
}

func (p *Policy) resolve(typ, twin string) effective {
	e := effective{true, 0.261, 300, true}
	apply := func(s Settings) {
		if s.Enabled != nil {
			e.enabled = *s.Enabled
		}
		if s.Threshold != nil {
			e.threshold = *s.Threshold
		}
		if s.LearningSamples != nil {
			e.learning = *s.LearningSamples
		}
		if s.Alerts != nil {
			e.alerts = *s.Alerts
		}
	}
	apply(p.Default)
	if s, ok := p.Types[typ]; ok {
		apply(s)
	}
	if s, ok := p.Twins[twin]; ok {
		apply(s)
	}
	return e
}

// Validate checks a policy.
func (p *Policy) Validate() error {
	check := func(where string, s Settings) error {
		if s.Threshold != nil && (math.IsNaN(*s.Threshold) || *s.Threshold <= 0 || *s.Threshold > 1) {
			return fmt.Errorf("%s: threshold must be in (0, 1]", where)
		}
		if s.LearningSamples != nil && (*s.LearningSamples < 0 || *s.LearningSamples > 1_000_000) {
			return fmt.Errorf("%s: learning_samples must be in [0, 1000000]", where)
		}
		return nil
	}
	if err := check("default", p.Default); err != nil {
		return err
	}
	for k, s := range p.Types {
		if err := check("types."+k, s); err != nil {
			return err
		}
	}
	for k, s := range p.Twins {
		if err := check("twins."+k, s); err != nil {
			return err
		}
	}
	return nil
}

// Config configures a Service.
type Config struct {
	Dir             string        // checkpoint and policy files; required
	Bus             *bus.Bus      // required
	Store           Store         // required
	Alerts          Alerter       // nil: no alerts
	Shards          int           // worker goroutines; DefaultShards(GOMAXPROCS)
	QueueBatches    int           // batches queued per shard before dropping; 256
	CheckpointEvery time.Duration // 5m
	ClearAfter      time.Duration // sample time without onset before the alert clears; 1h
	Logger          *slog.Logger
}

// DefaultShards is the number of workers for procs threads running Go
// code (GOMAXPROCS): half of them, at least one. Scoring never takes more
// than half the cores from ingest: on two cores, one scoring goroutine
// scored as many samples a second as two (which mostly contended with
// ingest) and left ingest 18-30% more (see docs/decisions.md, session 4).
// Each worker holds a P while the kernel keeps its thread of lowered
// priority waiting (workerNice), so a process sized for ingest adds one P
// a worker (cli's --procs default).
func DefaultShards(procs int) int { return max(1, procs/2) }

// Service scores every sample. Start it with Start; Close stops it and
// writes a final checkpoint.
type Service struct {
	cfg    Config
	log    *slog.Logger
	shards []*shard
	sub    *bus.Subscription

	polMu  sync.RWMutex
	policy Policy
	polGen atomic.Uint64 // bumped by SetPolicy; series re-resolve on change

	dropped atomic.Uint64
	scored  atomic.Uint64
	alerts  atomic.Uint64
	pauses  atomic.Uint64 // the workers' pauses for other work (package pace)

	ctx    context.Context
	cancel context.CancelFunc
	wgWork sync.WaitGroup // route, the restore and the workers
	wgLoop sync.WaitGroup // the checkpoint loop
	once   sync.Once

	// The checkpoint is restored in the background (Start).
	stopRestore context.CancelFunc
	restoring   atomic.Bool
	partial     atomic.Bool   // the restore did not finish: the file on disk must stay
	restored    chan struct{} // closed when the restore has ended and the workers run
}

type seriesState struct {
	det      *anomaly.Detector
	typ      string
	n        int
	lastTS   int64
	mean     float64 // EWMA of the value, for the expected band
	vari     float64
	onsetTS  int64
	alerting bool
	// recent holds the last samples (newest at recent[head]), kept without
	// strings so that the hot path moves no pointers.
	recent [4]struct {
		ts int64
		v  float64
	}
	head uint8
	// eff is the policy resolved for this series at generation effGen.
	eff    effective
	effGen uint64

	channel      string
	scoreChannel string // channel + Suffix, built once
}

// A shard owns the series of the twins that hash to it. series serves the
// checkpoint; twins serves the hot path, which finds a twin once for a run
// of its samples and its channel among the twin's few series.
type shard struct {
	in     chan work
	ckpt   chan ckptRequest
	series map[telemetry.Key]*seriesState
	twins  map[telemetry.Key][]*seriesState // Channel ""
	count  atomic.Int64                     // len(series), for Stats
}

// work is what a shard's worker takes from its queue, in order: a batch
// of samples, or a deletion of stored telemetry (forget: Channel "" for
// all of a twin's), after which the series starts afresh, or, with span,
// of a time range of it, which deletes the scores of that range and
// leaves the series' state as it is.
type work struct {
	samples   []telemetry.Sample
	forget    *telemetry.Key
	span      *telemetry.Span
	forgotten chan<- struct{} // closed once forget is done (telemetry.Deleted); may be nil
}

// forget drops the state of the deleted series (Channel "": all of the
// twin's) and returns their channels: their samples may come again from
// any time, and a detector that learned the deleted ones would skip them
// (older than its last) and judge them by what was deleted.
func (sh *shard) forget(k telemetry.Key) []string {
	tk := telemetry.Key{Tenant: k.Tenant, Twin: k.Twin}
	kept := sh.twins[tk][:0:0]
	var gone []string
	for _, st := range sh.twins[tk] {
		if k.Channel != "" && st.channel != k.Channel {
			kept = append(kept, st)
			continue
		}
		gone = append(gone, st.channel)
		delete(sh.series, telemetry.Key{Tenant: k.Tenant, Twin: k.Twin, Channel: st.channel})
		sh.count.Add(-1)
	}
	if len(kept) == 0 {
		delete(sh.twins, tk)
	} else {
		sh.twins[tk] = kept
	}
	return gone
}

// forget handles a deletion in the worker's order: the scores not stored
// yet of the deleted series are dropped, the rest stored, the series'
// state forgotten, and their score series deleted (scores of samples from
// before the deletion may have been stored after it, while the worker was
// behind; the samples after it are scored from here on).
func (s *Service) forget(sh *shard, k telemetry.Key, out []telemetry.Sample) []telemetry.Sample {
	out = slices.DeleteFunc(out, func(x telemetry.Sample) bool {
		return x.Tenant == k.Tenant && x.Twin == k.Twin && (k.Channel == "" || x.Channel == k.Channel+Suffix)
	})
	chans := sh.forget(k)
	if k.Channel != "" && len(chans) == 0 {
		chans = []string{k.Channel}
	}
	for _, ch := range chans {
		if _, err := s.cfg.Store.DeleteSeries(s.ctx, k.Tenant, k.Twin, ch+Suffix); err != nil && s.ctx.Err() == nil {
			s.log.Warn("delete anomaly scores", "twin", k.Twin, "channel", ch, "err", err)
		}
	}
	return out
}

// forgetSpan handles a deletion of a time range in the worker's order:
// the scores not stored yet of the range are dropped, and those stored
// (the worker may have stored some after the deletion) deleted. The
// series' state stays: the detector has learnt from the deleted samples,
// as it would have from any, and samples sent again into a deleted tail
// are scored as new ones.
func (s *Service) forgetSpan(sh *shard, k telemetry.Key, sp telemetry.Span, out []telemetry.Sample) []telemetry.Sample {
	match := func(tenant, twin, ch string) bool {
		return tenant == k.Tenant && twin == k.Twin && (k.Channel == "" || ch == k.Channel+Suffix)
	}
	out = slices.DeleteFunc(out, func(x telemetry.Sample) bool {
		return match(x.Tenant, x.Twin, x.Channel) && x.TS >= sp.From && x.TS <= sp.To
	})
	// Only score series: a deleted tail may have been sent again since.
	// For a whole twin, the channels this shard scores (the deleter
	// deleted the range of all the twin's series before).
	chans := []string{k.Channel}
	if k.Channel == "" {
		chans = chans[:0]
		for _, st := range sh.twins[telemetry.Key{Tenant: k.Tenant, Twin: k.Twin}] {
			chans = append(chans, st.channel)
		}
	}
	for _, ch := range chans {
		if _, err := s.cfg.Store.DeleteRange(s.ctx, k.Tenant, k.Twin, ch+Suffix, sp.From, sp.To); err != nil && s.ctx.Err() == nil {
			s.log.Warn("delete anomaly scores of a time range", "twin", k.Twin, "channel", ch, "err", err)
		}
	}
	return out
}

func (sh *shard) put(k telemetry.Key, st *seriesState) {
	st.channel = k.Channel
	if old := sh.series[k]; old != nil {
		tk := telemetry.Key{Tenant: k.Tenant, Twin: k.Twin}
		for i, x := range sh.twins[tk] {
			if x == old {
				sh.twins[tk][i] = st
			}
		}
		sh.series[k] = st
		return
	}
	sh.series[k] = st
	sh.count.Add(1)
	tk := telemetry.Key{Tenant: k.Tenant, Twin: k.Twin}
	sh.twins[tk] = append(sh.twins[tk], st)
}

// Open loads the policy. It does not subscribe until Start, which
// restores the checkpoint in the background.
func Open(cfg Config) (*Service, error) {
	if cfg.Dir == "" || cfg.Bus == nil || cfg.Store == nil {
		return nil, errors.New("scoring: Config needs Dir, Bus and Store")
	}
	if cfg.Shards <= 0 {
		cfg.Shards = DefaultShards(runtime.GOMAXPROCS(0))
	}
	if cfg.QueueBatches <= 0 {
		cfg.QueueBatches = 256
	}
	if cfg.CheckpointEvery <= 0 {
		cfg.CheckpointEvery = 5 * time.Minute
	}
	if cfg.ClearAfter <= 0 {
		cfg.ClearAfter = time.Hour
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", cfg.Dir, err)
	}
	s := &Service{cfg: cfg, log: cfg.Logger.With("component", "scoring"), policy: DefaultPolicy()}
	s.polGen.Store(1)
	if b, err := os.ReadFile(filepath.Join(cfg.Dir, "policy.json")); err == nil {
		var p Policy
		if err := json.Unmarshal(b, &p); err != nil {
			return nil, fmt.Errorf("read anomaly policy: %w", err)
		}
		if err := p.Validate(); err != nil {
			return nil, fmt.Errorf("anomaly policy: %w", err)
		}
		s.policy = p
	}
	for i := 0; i < cfg.Shards; i++ {
		s.shards = append(s.shards, &shard{in: make(chan work, cfg.QueueBatches), ckpt: make(chan ckptRequest), series: map[telemetry.Key]*seriesState{}, twins: map[telemetry.Key][]*seriesState{}})
	}
	s.restored = make(chan struct{})
	return s, nil
}

func (s *Service) shardOf(k telemetry.Key) *shard {
	return s.shards[s.shardIndex(k)]
}

// shardIndex places a series by its twin: all channels of a twin share a
// shard, so that a batch's run of one twin's samples is found once.
func (s *Service) shardIndex(k telemetry.Key) int {
	return int(shardHash(k) % uint32(len(s.shards)))
}

// shardHash is FNV-1a (32 bit) of tenant NUL twin, computed without
// building the string.
func shardHash(k telemetry.Key) uint32 {
	const prime = 16777619
	h := uint32(2166136261)
	for i, part := range [2]string{k.Tenant, k.Twin} {
		if i > 0 {
			h *= prime // the NUL separator: h ^ 0 is h
		}
		for j := 0; j < len(part); j++ {
			h = (h ^ uint32(part[j])) * prime
		}
	}
	return h
}

// Start subscribes to durable samples and starts the workers.
func (s *Service) Start() {
	s.ctx, s.cancel = context.WithCancel(context.Background())
	var rctx context.Context
	rctx, s.stopRestore = context.WithCancel(s.ctx)
	s.subscribe()
	s.restoring.Store(true)
	s.wgWork.Add(2)
	go s.route()
	go s.restoreThenWork(rctx)
	s.wgLoop.Add(1)
	go s.checkpointLoop()
}

// subscribe follows the bus's samples and deletions. A deletion is never
// lost to a full buffer (Keep): lost, it would leave the series' state
// and the scores of its deleted samples stored after it for good, and the
// deleter waiting for Forgotten until its time-out. The batches published
// while it waits for room are dropped (counted by the subscription).
func (s *Service) subscribe() {
	s.sub = s.cfg.Bus.Subscribe(bus.SubscribeOptions{Buffer: 4096, Filter: func(ev bus.Event) bool {
		return ev.Kind == "samples" || ev.Kind == telemetry.DeletedKind
	}, Keep: func(ev bus.Event) bool { return ev.Kind == telemetry.DeletedKind }})
}

// restoreThenWork restores the checkpoint, then starts the shard workers.
// The server does not wait for it: with 100,000 series the restore takes
// seconds (8.7 KB of detector state each, and each series' catch-up from
// the store). Meanwhile the router queues the new batches for the
// workers, and sheds them (counted) once the queues are full; a restored
// series' catch-up reads from the store what was stored meanwhile, and
// its queued samples that the catch-up already saw are skipped, so those
// samples are learnt but get no score. A restore cut short by Close (or
// failing to read the file) leaves the file as it was: no checkpoint is
// written over it.
func (s *Service) restoreThenWork(ctx context.Context) {
	defer s.wgWork.Done()
	defer close(s.restored)
	t0 := time.Now()
	n, err := s.restore(ctx)
	switch {
	case err != nil && ctx.Err() != nil:
		s.partial.Store(true)
		s.log.Warn("anomaly checkpoint restore stopped by the shutdown; the checkpoint on disk is kept", "restored", n)
	case err != nil:
		s.partial.Store(true)
		s.log.Error("anomaly checkpoint restore failed; the checkpoint on disk is kept and the series start afresh", "restored", n, "err", err)
	default:
		s.log.Info("anomaly scoring ready", "series", n, "restore", time.Since(t0).Round(time.Millisecond), "model", ModelVersion)
	}
	s.restoring.Store(false)
	s.wgWork.Add(len(s.shards))
	for _, sh := range s.shards {
		go s.work(sh)
	}
}

// Restored is closed once the checkpoint's restore has ended and the
// workers run (Start).
func (s *Service) Restored() <-chan struct{} { return s.restored }

// route splits each batch by shard; a full shard queue loses the batch.
// When every queue is full (overload) the batch is shed without being
// split: its samples are only counted.
//
// A deletion goes to its shard's queue in order with the batches; when
// that queue is full it waits in route's list for the shard, and the
// shard's batches that come meanwhile are shed (queued, they would be
// scored before the deletion was forgotten). route never waits for a
// queue: while it did, the bus dropped what it could not hand over, later
// deletions included, and a dropped deletion left the series' state as
// it was and the scores of its deleted samples stored after the
// deletion for good (TestRoutingKeepsDeletionsWhileAShardIsFull).
func (s *Service) route() {
	defer s.wgWork.Done()
	parts := make([][]telemetry.Sample, len(s.shards))
	held := make([][]work, len(s.shards)) // deletions waiting for room, per shard
	nheld := 0
	send := func(i int, p []telemetry.Sample) {
		if len(held[i]) > 0 {
			s.dropped.Add(uint64(len(p)))
			return
		}
		select {
		case s.shards[i].in <- work{samples: p}:
		default:
			s.dropped.Add(uint64(len(p)))
		}
	}
	for {
		var ev bus.Event
		ok := true
		if nheld == 0 {
			ev, ok = <-s.sub.C
		} else {
			// Look again for room about every millisecond.
			t := time.NewTimer(time.Millisecond)
			select {
			case ev, ok = <-s.sub.C:
				t.Stop()
			case <-t.C:
				nheld = s.queueHeld(held)
				continue
			}
		}
		if !ok {
			break
		}
		if nheld > 0 {
			nheld = s.queueHeld(held)
		}
		if d, ok := ev.Data.(telemetry.Deleted); ok {
			k := telemetry.Key{Tenant: ev.Tenant, Twin: d.Twin, Channel: d.Channel}
			i := s.shardIndex(telemetry.Key{Tenant: ev.Tenant, Twin: d.Twin})
			held[i] = append(held[i], work{forget: &k, span: d.Span, forgotten: d.Forgotten})
			nheld = s.queueHeld(held)
			continue
		}
		full := s.allFull()
		if !full {
			if i, ok := s.oneShard(ev.Samples); ok {
				// The bus's slice, which its subscribers only read, goes
				// to the shard as it is (with one shard, every batch of
				// ingested samples).
				send(i, ev.Samples)
				continue
			}
		}
		for i := range parts {
			parts[i] = nil
		}
		var tenant, twin string
		i, shed := -1, 0
		for _, smp := range ev.Samples {
			if strings.HasSuffix(smp.Channel, Suffix) {
				continue
			}
			if full {
				shed++
				continue
			}
			if i < 0 || smp.Twin != twin || smp.Tenant != tenant {
				tenant, twin, i = smp.Tenant, smp.Twin, s.shardIndex(smp.Key())
				if parts[i] == nil {
					// About an even share, so the part rarely grows.
					parts[i] = make([]telemetry.Sample, 0, len(ev.Samples)/len(parts)+len(ev.Samples)/8+8)
				}
			}
			parts[i] = append(parts[i], smp)
		}
		s.dropped.Add(uint64(shed))
		for i, p := range parts {
			if len(p) > 0 {
				send(i, p)
			}
		}
	}
	// Closing: the workers drain their queues, so the held deletions can
	// wait for room.
	for i, ws := range held {
		for _, w := range ws {
			s.shards[i].in <- w
		}
	}
	for _, sh := range s.shards {
		close(sh.in)
	}
}

// queueHeld queues the held deletions of each shard, in order, while its
// queue has room, and returns how many are still held.
func (s *Service) queueHeld(held [][]work) int {
	n := 0
	for i, ws := range held {
		j := 0
	queue:
		for ; j < len(ws); j++ {
			select {
			case s.shards[i].in <- ws[j]:
			default:
				break queue
			}
		}
		held[i] = append(ws[:0], ws[j:]...)
		n += len(held[i])
	}
	return n
}

// oneShard reports whether every sample of a batch is of one shard's
// twins (always so with one shard) and none is a score, and which shard.
func (s *Service) oneShard(samples []telemetry.Sample) (int, bool) {
	i := -1
	var tenant, twin string
	for _, smp := range samples {
		if strings.HasSuffix(smp.Channel, Suffix) {
			return 0, false
		}
		if i >= 0 && smp.Twin == twin && smp.Tenant == tenant {
			continue
		}
		j := 0
		if len(s.shards) > 1 {
			j = s.shardIndex(smp.Key())
		}
		if i >= 0 && j != i {
			return 0, false
		}
		i, tenant, twin = j, smp.Tenant, smp.Twin
	}
	return i, i >= 0
}

// flushScores is the most scores a shard worker gathers before it stores
// them.
const flushScores = 4096

// scoreShare is the part of a core a worker keeps while ingest waits for
// the CPU all the time (package pace). At half the MQTT peak (session 10,
// lab, 330,000 samples/s on a schedule) 0.1 scored 43% of the samples,
// 0.25 47% and 0.5 56%, with PUBACK p99s within the noise of each other
// (15.8, 17.9 and 17.2 ms, slice means); scoring nothing gave 8.5-13.7 ms.
const scoreShare = 0.5

// paceEvery is how many samples a worker scores between looks at whether
// other goroutines wait for the CPU (about 0.1 ms of work).
const paceEvery = 32

// workerNice is how many nice levels below the process the workers'
// threads run (package pace, Lower): the kernel gives the cores to
// ingest and acknowledgements whenever they can run, and the workers the
// time they leave. The pacer alone sees only goroutines that wait for a
// P; with one P more than cores (cli's --procs default) the workers held
// a P and a core while the acknowledging threads waited for the core.
// Lab, session 15, half the MQTT peak (380,000 samples/s) after four HTTP
// slices, eight 6-second slices each: PUBACK p99 mean 18.4 ms at the
// process's priority, 16.2 at nice 10 and 15.9 at nice 5 (12.4-13.9 with
// no scoring at all); p50 4.8 against 4.3 and 4.1. The price is the
// samples scored under that load: 24-29% instead of 45-60%.
const workerNice = 10

// allFull reports whether every shard's queue is full.
func (s *Service) allFull() bool {
	for _, sh := range s.shards {
		if len(sh.in) < cap(sh.in) {
			return false
		}
	}
	return true
}

// work scores one shard's batches, on a thread of lowered priority
// (workerNice) and paced (package pace): while ingest
// waits for the CPU, it pauses until none waits, at most as long as it has
// just worked, so under CPU overload it takes at most about half of one
// core's time (scoreShare) and leaves the rest to acknowledgement; with
// the CPU to spare it never pauses. What it cannot
// keep up with is shed in whole batches when its queue is full, and
// counted (Stats.Dropped, /metrics). Measured in session 5
// (docs/decisions.md): against a worker that only yielded
// (runtime.Gosched) while others were runnable, HTTP ingest with scoring
// went from 0.67-0.71 to 0.97-1.15 M samples/s, with 6-7% of the samples
// scored instead of 33%; MQTT from 370,000 to 548,000 samples/s with about
// as many scored.
func (s *Service) work(sh *shard) {
	defer s.wgWork.Done()
	if err := pace.Lower(workerNice); err != nil {
		s.log.Warn("anomaly scoring runs at the process's CPU priority", "err", err)
	}
	p := pace.New(scoreShare)
	var out []telemetry.Sample
	var al alertBatch
	// flush raises and clears the alerts decided so far, then stores and
	// publishes the scores made so far.
	flush := func() {
		s.applyAlerts(&al)
		if len(out) == 0 {
			return
		}
		if _, err := s.cfg.Store.Append(s.ctx, out); err != nil && s.ctx.Err() == nil {
			s.log.Warn("store anomaly scores", "err", err)
		}
		// Publish the scores for live views (never back to ourselves).
		s.cfg.Bus.PublishSamples(out)
		out = out[:0]
	}
	// The pacer is looked at every paceEvery samples, counted across
	// batches: at half the MQTT peak a batch is one message of a few
	// samples, and a count that started again with each batch never
	// reached it, so the worker never gave way to the acknowledgements.
	since := 0
	for {
		idle := len(sh.in) == 0
		select {
		case w, ok := <-sh.in:
			if !ok {
				flush()
				return
			}
			if w.forget != nil {
				// The alerts decided before the deletion go first, as
				// the samples they were decided on did.
				s.applyAlerts(&al)
				if w.span != nil {
					out = s.forgetSpan(sh, *w.forget, *w.span, out)
				} else {
					out = s.forget(sh, *w.forget, out)
				}
				flush()
				if w.forgotten != nil {
					close(w.forgotten)
				}
				continue
			}
			batch := w.samples
			if idle {
				p.Start()
			}
			var cur twinCursor
			for _, smp := range batch {
				if since++; since >= paceEvery {
					since = 0
					if p.Pace() {
						s.pauses.Add(1)
					}
				}
				st := cur.find(sh, smp)
				if st == nil {
					continue
				}
				if sc, ok := s.score(st, smp, &al); ok {
					// Stored to 1e-4: finer than any threshold, and a
					// quantised series compresses to about a byte a
					// sample instead of seven.
					out = append(out, telemetry.Sample{Tenant: smp.Tenant, Twin: smp.Twin, Channel: st.scoreChannel, Type: smp.Type, TS: smp.TS, Value: math.Round(sc*1e4) / 1e4})
				}
			}
			// While more batches wait, their scores join these (up to
			// flushScores): one store append, one WAL record and one
			// wait for its fsync instead of one a batch (at half the MQTT
			// peak a batch is a message, and the scorer waited for a
			// commit after each).
			if len(sh.in) == 0 || len(out) >= flushScores || len(al.ops) >= flushAlerts {
				flush()
			}
		case req := <-sh.ckpt:
			flush() // the checkpoint is not ahead of the stored scores
			req.reply <- s.marshalChunk(sh, req.job)
		}
	}
}

// twinCursor finds the series of a batch's samples: the twin once for a
// run of its samples, then its channel among the twin's series, scanning
// from after the last match (channels mostly arrive in the same order).
type twinCursor struct {
	tenant, twin string
	sers         []*seriesState
	next         int
	have         bool
}

// find returns the series of smp, created if new (nil only if no
// detector can be built).
func (c *twinCursor) find(sh *shard, smp telemetry.Sample) *seriesState {
	if !c.have || smp.Twin != c.twin || smp.Tenant != c.tenant {
		c.tenant, c.twin, c.have = smp.Tenant, smp.Twin, true
		c.sers, c.next = sh.twins[telemetry.Key{Tenant: smp.Tenant, Twin: smp.Twin}], 0
	}
	n := len(c.sers)
	if n > 64 {
		if st := sh.series[smp.Key()]; st != nil {
			return st
		}
		n = 0 // new series
	}
	for j := range n {
		k := c.next + j
		if k >= n {
			k -= n
		}
		if st := c.sers[k]; st.channel == smp.Channel {
			c.next = k + 1
			return st
		}
	}
	d, err := anomaly.New(anomaly.DefaultConfig())
	if err != nil {
		return nil
	}
	st := &seriesState{det: d, typ: smp.Type, lastTS: math.MinInt64}
	sh.put(smp.Key(), st)
	c.sers = sh.twins[telemetry.Key{Tenant: smp.Tenant, Twin: smp.Twin}]
	c.next = len(c.sers)
	return st
}

// score updates the series' detector and decides about alerts.
func (s *Service) score(st *seriesState, smp telemetry.Sample, al *alertBatch) (float64, bool) {
	if smp.TS <= st.lastTS {
		return 0, false
	}
	if g := s.polGen.Load(); st.effGen != g {
		s.polMu.RLock()
		st.eff = s.policy.resolve(smp.Type, smp.Twin)
		s.polMu.RUnlock()
		st.effGen = g
	}
	eff := st.eff
	if !eff.enabled {
		return 0, false
	}
	if st.scoreChannel == "" {
		st.scoreChannel = smp.Channel + Suffix
	}
	sc := st.det.Update(smp.TS, smp.Value)
	st.lastTS = smp.TS
	st.n++
	s.scored.Add(1)
	st.head = (st.head + 1) % uint8(len(st.recent))
	st.recent[st.head].ts, st.recent[st.head].v = smp.TS, smp.Value
	raise := eff.alerts && sc >= eff.threshold && st.n > eff.learning
	var lo, hi float64
	if raise {
		// The band before this sample moved it.
		lo, hi = st.mean-3*math.Sqrt(st.vari), st.mean+3*math.Sqrt(st.vari)
	}
	// EWMA over ~100 samples for the band shown in the reason.
	const a = 0.02
	if st.n == 1 {
		st.mean = smp.Value
	} else {
		d := smp.Value - st.mean
		st.mean += a * d
		st.vari = (1 - a) * (st.vari + a*d*d)
	}
	if s.cfg.Alerts == nil || (!eff.alerts && !st.alerting) {
		return sc, true
	}
	switch {
	case raise:
		st.onsetTS = smp.TS
		v := sc
		ev := make([]alert.Evidence, 0, len(st.recent))
		for i := range len(st.recent) {
			e := st.recent[(int(st.head)-i+len(st.recent))%len(st.recent)]
			if e.ts != 0 {
				ev = append(ev, alert.Evidence{Twin: smp.Twin, Channel: smp.Channel, TS: e.ts, Value: e.v})
			}
		}
		al.add(st, false, alert.Signal{
			Tenant: smp.Tenant, Source: "model:" + ModelName, ModelVersion: ModelVersion,
			Twin: smp.Twin, Type: smp.Type, Channel: smp.Channel, Severity: alert.Warning, Value: &v,
			Reason: fmt.Sprintf("anomaly score %.2f (threshold %.3f): %g is unusual for this channel; recent band %.3g to %.3g",
				sc, eff.threshold, smp.Value, lo, hi),
			Evidence: ev,
			Details:  map[string]any{"score": sc, "threshold": eff.threshold, "expected_band": []float64{lo, hi}, "detector": ModelName, "version": ModelVersion},
			At:       time.UnixMilli(smp.TS),
		})
	case st.alerting && smp.TS-st.onsetTS > s.cfg.ClearAfter.Milliseconds() && !al.clearing(st):
		al.add(st, true, alert.Signal{Tenant: smp.Tenant, Source: "model:" + ModelName, ModelVersion: ModelVersion,
			Twin: smp.Twin, Type: smp.Type, Channel: smp.Channel, Reason: "no anomaly for " + s.cfg.ClearAfter.String(), At: time.UnixMilli(smp.TS)})
	}
	return sc, true
}

// alertBatch is the alerts a worker decided since its last flush: raised
// and cleared together (Alerter.Apply), one commit instead of one each.
type alertBatch struct {
	ops []alert.SignalOp
	sts []*seriesState // the series of each op
}

// flushAlerts bounds the alert changes a worker holds before it applies
// them.
const flushAlerts = 256

func (b *alertBatch) add(st *seriesState, clear bool, sig alert.Signal) {
	b.ops = append(b.ops, alert.SignalOp{Signal: sig, Clear: clear})
	b.sts = append(b.sts, st)
}

// clearing reports whether a clear of st waits in the batch (a series'
// state says alerting until its clear is applied).
func (b *alertBatch) clearing(st *seriesState) bool {
	for i := len(b.sts) - 1; i >= 0; i-- {
		if b.sts[i] == st {
			return b.ops[i].Clear
		}
	}
	return false
}

// applyAlerts raises and clears the batch's alerts and records in each
// series whether its alert is open. An op that failed leaves its series
// as it was: a failed raise is tried again at the next onset, a failed
// clear at the series' next sample.
func (s *Service) applyAlerts(b *alertBatch) {
	if len(b.ops) == 0 {
		return
	}
	errs := s.cfg.Alerts.Apply(s.ctx, b.ops)
	for i, err := range errs {
		op := b.ops[i]
		if err != nil {
			if s.ctx.Err() == nil {
				s.log.Warn("anomaly alert", "twin", op.Signal.Twin, "channel", op.Signal.Channel, "clear", op.Clear, "err", err)
			}
			continue
		}
		b.sts[i].alerting = !op.Clear
		if !op.Clear {
			s.alerts.Add(1)
		}
	}
	clear(b.ops)
	clear(b.sts)
	b.ops, b.sts = b.ops[:0], b.sts[:0]
}

func (s *Service) checkpointLoop() {
	defer s.wgLoop.Done()
	t := time.NewTicker(s.cfg.CheckpointEvery)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
			if err := s.Checkpoint(); err != nil {
				s.log.Error("anomaly checkpoint", "err", err)
			}
		}
	}
}

// Checkpoint writes every detector's state to disk atomically. While the
// workers run it asks each for its shard's states a chunk at a time
// (ckptChunk bytes), and the worker scores between chunks: with 100,000
// series a shard's states are 870 MB, which the worker marshalled in one
// piece, in about a second without scoring, into a buffer as large.
// Each series' state is consistent (with its own last timestamp, from
// which a restore catches up); series made after the checkpoint began
// wait for the next one.
func (s *Service) Checkpoint() error {
	return s.writeShards(func(sh *shard, job *ckptJob) ([]byte, error) {
		reply := make(chan []byte, 1)
		select {
		case sh.ckpt <- ckptRequest{job: job, reply: reply}:
		case <-s.ctx.Done():
			return nil, s.ctx.Err()
		}
		chunk := <-reply
		// A checkpoint that waited for the workers while the restore ran
		// must not replace the file if the restore was cut short (partial
		// is set before the workers start).
		if s.partial.Load() {
			return nil, errRestoreUnfinished
		}
		return chunk, nil
	})
}

var errRestoreUnfinished = errors.New("the checkpoint's restore did not finish: the file on disk is kept")

// writeShards writes the checkpoint from every shard's entries, a chunk
// at a time: next gives a shard's next chunk of job.
func (s *Service) writeShards(next func(sh *shard, job *ckptJob) ([]byte, error)) error {
	return s.writeCheckpoint(func(w io.Writer) error {
		for _, sh := range s.shards {
			for job := (&ckptJob{}); !job.done; {
				chunk, err := next(sh, job)
				if err != nil {
					return err
				}
				if _, err := w.Write(chunk); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// ckptChunk is about how many bytes of states a worker marshals for the
// checkpoint before it goes back to scoring.
const ckptChunk = 4 << 20

// A ckptJob is one shard's part of a checkpoint in progress: the series
// to write (listed at the first chunk) and how far it has come. Only the
// shard's worker touches it, one request at a time.
type ckptJob struct {
	keys   []telemetry.Key
	listed bool
	next   int
	done   bool
	buf    []byte // reused: the writer is done with a chunk before it asks for the next
}

// ckptRequest asks a shard's worker for the next chunk of job.
type ckptRequest struct {
	job   *ckptJob
	reply chan []byte
}

// marshalChunk encodes the job's next series, about ckptChunk bytes of
// them, and marks the job done after the last. The buffer is reused and
// sized once: with 10,000 series a whole-shard checkpoint allocated 7
// times its size before session 9 (the buffer's doublings, and a copy and
// a buffer of each state), 624 MB for 87 MB; the detectors' own encoding
// (anomaly's codec.go) made it 5 times faster (BenchmarkCheckpointShard).
func (s *Service) marshalChunk(sh *shard, job *ckptJob) []byte {
	if !job.listed {
		job.keys = make([]telemetry.Key, 0, len(sh.series))
		for k := range sh.series {
			job.keys = append(job.keys, k)
		}
		job.listed = true
	}
	stateSize := anomaly.StateSize()
	if job.buf == nil {
		job.buf = make([]byte, 0, ckptChunk+stateSize+1024)
	}
	b := job.buf[:0]
	for ; job.next < len(job.keys) && len(b) < ckptChunk; job.next++ {
		k := job.keys[job.next]
		b = s.appendEntry(b, k, sh.series[k], stateSize)
	}
	job.done = job.next == len(job.keys)
	job.buf = b
	return b
}

// appendEntry appends one series' entry (the layout readEntry reads).
func (s *Service) appendEntry(b []byte, k telemetry.Key, st *seriesState, stateSize int) []byte {
	mark := len(b)
	for _, x := range [...]string{k.Tenant, k.Twin, k.Channel, st.typ} {
		b = binary.AppendUvarint(b, uint64(len(x)))
		b = append(b, x...)
	}
	b = binary.AppendVarint(b, st.lastTS)
	b = binary.AppendUvarint(b, uint64(st.n))
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(st.mean))
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(st.vari))
	b = binary.AppendUvarint(b, uint64(stateSize))
	nb, err := st.det.AppendBinary(b)
	if err != nil || len(nb)-len(b) != stateSize {
		s.log.Warn("checkpoint skips a series", "twin", k.Twin, "channel", k.Channel, "err", err)
		return b[:mark]
	}
	return nb
}

// marshalShard encodes a whole shard (no worker may run).
func (s *Service) marshalShard(sh *shard) []byte {
	var out []byte
	for job := (&ckptJob{}); !job.done; {
		out = append(out, s.marshalChunk(sh, job)...)
	}
	return out
}

const ckptMagic = "TSMANOM1"

// writeCheckpoint writes the header and what entries writes, then
// replaces the checkpoint with it atomically.
func (s *Service) writeCheckpoint(entries func(w io.Writer) error) error {
	path := filepath.Join(s.cfg.Dir, "checkpoint")
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("create checkpoint: %w", err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	w.WriteString(ckptMagic)
	w.WriteString(ModelVersion + "\n")
	err = entries(w)
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write checkpoint: %w", err)
	}
	return os.Rename(tmp, path)
}

// restore loads the checkpoint (if it is of this model version) and feeds
// each detector the stored samples newer than its checkpoint. The file is
// read entry by entry (with 100,000 series it is about 870 MB, which a
// whole-file read held beside the detectors it fills). A damaged entry
// ends the restore with a warning: the series before it are restored,
// the others start learning afresh; scoring never keeps the platform from
// starting.
func (s *Service) restore(ctx context.Context) (int, error) {
	f, err := os.Open(filepath.Join(s.cfg.Dir, "checkpoint"))
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read anomaly checkpoint: %w", err)
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	head := ckptMagic + ModelVersion + "\n"
	if got, err := r.Peek(len(head)); err != nil || string(got) != head {
		s.log.Warn("anomaly checkpoint is of another model version; starting fresh")
		return 0, nil
	}
	r.Discard(len(head))
	n := 0
	var state []byte
	for {
		e, err := readEntry(r, state)
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			s.log.Warn("anomaly checkpoint is damaged: the series after it start afresh", "restored", n, "err", err)
			return n, nil
		}
		state = e.state
		var d anomaly.Detector
		if err := d.UnmarshalBinary(e.state); err != nil {
			s.log.Warn("anomaly checkpoint has a bad detector state: the series after it start afresh", "restored", n, "twin", e.key.Twin, "channel", e.key.Channel, "err", err)
			return n, nil
		}
		st := &seriesState{det: &d, typ: e.typ, lastTS: e.lastTS, n: e.n, mean: e.mean, vari: e.vari}
		s.shardOf(e.key).put(e.key, st)
		// Catch up on samples stored after the checkpoint (alerts are not
		// re-raised for them: they were decided, or missed, before).
		err = s.cfg.Store.Range(ctx, e.key, e.lastTS+1, math.MaxInt64, func(ts int64, v float64) bool {
			st.det.Update(ts, v)
			st.lastTS = ts
			st.n++
			return true
		})
		if err != nil && ctx.Err() != nil {
			return n, ctx.Err()
		}
		n++
	}
}

// ckptEntry is one series of the checkpoint (marshalShard's layout).
type ckptEntry struct {
	key        telemetry.Key
	typ        string
	lastTS     int64
	n          int
	mean, vari float64
	state      []byte
}

// readEntry reads the next entry; io.EOF only at an entry's boundary. Its
// state is read into buf's storage when it fits.
func readEntry(r *bufio.Reader, buf []byte) (ckptEntry, error) {
	var e ckptEntry
	var strs [4]string
	for i := range strs {
		l, err := binary.ReadUvarint(r)
		if err != nil {
			if i == 0 && err == io.EOF {
				return e, io.EOF
			}
			return e, unexpected(err)
		}
		if l > 1<<16 {
			return e, fmt.Errorf("a name of %d bytes", l)
		}
		b := make([]byte, l)
		if _, err := io.ReadFull(r, b); err != nil {
			return e, unexpected(err)
		}
		strs[i] = string(b)
	}
	e.key, e.typ = telemetry.Key{Tenant: strs[0], Twin: strs[1], Channel: strs[2]}, strs[3]
	var err error
	if e.lastTS, err = binary.ReadVarint(r); err != nil {
		return e, unexpected(err)
	}
	cnt, err := binary.ReadUvarint(r)
	if err != nil {
		return e, unexpected(err)
	}
	e.n = int(min(cnt, math.MaxInt32))
	var mv [16]byte
	if _, err := io.ReadFull(r, mv[:]); err != nil {
		return e, unexpected(err)
	}
	e.mean = math.Float64frombits(binary.LittleEndian.Uint64(mv[:]))
	e.vari = math.Float64frombits(binary.LittleEndian.Uint64(mv[8:]))
	l, err := binary.ReadUvarint(r)
	if err != nil {
		return e, unexpected(err)
	}
	if l > 1<<20 {
		return e, fmt.Errorf("a detector state of %d bytes", l)
	}
	if uint64(cap(buf)) < l {
		buf = make([]byte, l)
	}
	e.state = buf[:l]
	if _, err := io.ReadFull(r, e.state); err != nil {
		return e, unexpected(err)
	}
	return e, nil
}

// unexpected turns an end of file inside an entry into an error.
func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// Policy returns the current policy.
func (s *Service) Policy() Policy {
	s.polMu.RLock()
	defer s.polMu.RUnlock()
	b, _ := json.Marshal(s.policy)
	var p Policy
	json.Unmarshal(b, &p)
	return p
}

// SetPolicy validates, stores (atomically, fsynced) and applies p.
func (s *Service) SetPolicy(p Policy) error {
	if err := p.Validate(); err != nil {
		return err
	}
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	path := filepath.Join(s.cfg.Dir, "policy.json")
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err == nil {
		_, err = f.Write(b)
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		return fmt.Errorf("save anomaly policy: %w", err)
	}
	s.polMu.Lock()
	s.policy = p
	s.polGen.Add(1)
	s.polMu.Unlock()
	return nil
}

// Stats for /metrics.
type Stats struct {
	Series                           int
	Scored, Dropped, Alerts, Backlog uint64
	// Pauses counts the times a worker gave the CPU to goroutines that
	// waited for it (ingest, acknowledgements, queries).
	Pauses uint64
}

// Stats returns counters. Series (the series with a detector) is counted
// without stopping the workers.
func (s *Service) Stats() Stats {
	st := Stats{Scored: s.scored.Load(), Dropped: s.dropped.Load(), Alerts: s.alerts.Load(), Pauses: s.pauses.Load()}
	for _, sh := range s.shards {
		st.Backlog += uint64(len(sh.in))
		st.Series += int(sh.count.Load())
	}
	return st
}

// WriteMetrics appends Prometheus text lines.
func (s *Service) WriteMetrics(w io.Writer) {
	st := s.Stats()
	fmt.Fprintf(w, "# HELP tsingma_anomaly_scored_total Samples scored by the anomaly detector.\n# TYPE tsingma_anomaly_scored_total counter\ntsingma_anomaly_scored_total %d\n", st.Scored)
	fmt.Fprintf(w, "# HELP tsingma_anomaly_dropped_total Samples not scored because a shard queue was full.\n# TYPE tsingma_anomaly_dropped_total counter\ntsingma_anomaly_dropped_total %d\n", st.Dropped)
	fmt.Fprintf(w, "# HELP tsingma_anomaly_series Series with a detector.\n# TYPE tsingma_anomaly_series gauge\ntsingma_anomaly_series %d\n", st.Series)
	fmt.Fprintf(w, "# HELP tsingma_anomaly_backlog_batches Batches waiting in the scoring queues.\n# TYPE tsingma_anomaly_backlog_batches gauge\ntsingma_anomaly_backlog_batches %d\n", st.Backlog)
	fmt.Fprintf(w, "# HELP tsingma_anomaly_pauses_total Times a scoring worker paused to give the CPU to waiting work.\n# TYPE tsingma_anomaly_pauses_total counter\ntsingma_anomaly_pauses_total %d\n", st.Pauses)
	restoring := 0
	if s.restoring.Load() {
		restoring = 1
	}
	fmt.Fprintf(w, "# HELP tsingma_anomaly_restoring Whether the detectors' checkpoint is being restored (samples queue or are shed meanwhile).\n# TYPE tsingma_anomaly_restoring gauge\ntsingma_anomaly_restoring %d\n", restoring)
	fmt.Fprintf(w, "# HELP tsingma_anomaly_alerts_total Anomaly alerts raised.\n# TYPE tsingma_anomaly_alerts_total counter\ntsingma_anomaly_alerts_total %d\n", st.Alerts)
}

// Close stops scoring, drains the queues and writes a final checkpoint.
// Idempotent; call before the store closes.
func (s *Service) Close() error {
	var err error
	s.once.Do(func() {
		if s.sub == nil {
			return
		}
		s.stopRestore()
		s.sub.Close() // route() drains, closes the shard queues, workers finish
		s.wgWork.Wait()
		s.cancel()
		s.wgLoop.Wait()
		if s.partial.Load() {
			return // the file holds more than the detectors do
		}
		err = s.writeShards(func(sh *shard, job *ckptJob) ([]byte, error) {
			return s.marshalChunk(sh, job), nil // no worker runs now
		})
	})
	return err
}

// Backup adds the scoring policy and the last detector checkpoint under
// dir (both are replaced whole by rename, so each is copied as it was
// when opened). A restored platform resumes from that checkpoint, as
// after a restart, catching up on the stored samples after it.
func (s *Service) Backup(sink backup.Sink, dir string) error {
	for _, f := range []string{"policy.json", "checkpoint"} {
		if err := backup.File(sink, dir+"/"+f, filepath.Join(s.cfg.Dir, f)); err != nil {
			return err
		}
	}
	return nil
}
