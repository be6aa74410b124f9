package govern

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/tsingma/tsingma/internal/auth"
	"github.com/tsingma/tsingma/internal/bus"
	"github.com/tsingma/tsingma/internal/telemetry"
)

// ErrHung: a shadow model did not return within the close timeout; its
// goroutine is abandoned (it holds no platform resource).
var ErrHung = errors.New("shadow model did not return")

// ShadowOutput is one recorded shadow output.
type ShadowOutput struct {
	Twin    string  `json:"twin"`
	Channel string  `json:"channel"`
	TS      int64   `json:"ts"`
	Score   float64 `json:"score"`
	Alert   bool    `json:"alert"`
}

// ShadowStats are a shadow trial's counters. Dropped counts samples the
// shadow lost because it was slow (never the champion's).
type ShadowStats struct {
	Tenant   string         `json:"-"`
	System   string         `json:"system"`
	Version  string         `json:"version"`
	Fraction float64        `json:"fraction"`
	Started  time.Time      `json:"started"`
	Seen     uint64         `json:"seen"`    // samples on the live stream
	Sampled  uint64         `json:"sampled"` // chosen by the fraction
	Scored   uint64         `json:"scored"`
	Dropped  uint64         `json:"dropped"`
	Alerts   uint64         `json:"alerts"` // outputs that would have alerted (recorded, never raised)
	Errors   uint64         `json:"errors"`
	Panics   uint64         `json:"panics"`
	Recent   []ShadowOutput `json:"recent"` // the latest 50 alerting outputs
}

// ShadowConfig configures a Shadow.
type ShadowConfig struct {
	Bus                     *bus.Bus
	Tenant, System, Version string
	Model                   Model
	// Source, if set, lets the model read recorded telemetry up to the
	// sample it scores (point-in-time, like a replay).
	Source   Source
	Fraction float64 // (0, 1]; 0 means 1
	Queue    int     // samples queued for the model before dropping; 4096
	Logger   *slog.Logger
}

// Shadow runs a model on a copy of the live stream. It is given no
// alerter, no twin registry and no route planner: its outputs are only
// counted and kept in memory. The bus never waits for it; a slow, hung or
// panicking model only loses its own samples. Close it.
type Shadow struct {
	cfg   ShadowConfig
	sub   *bus.Subscription
	q     chan telemetry.Sample
	done  chan struct{}
	wg    sync.WaitGroup
	once  sync.Once
	start time.Time

	seen, sampled, scored, dropped, alerts, errs, panics atomic.Uint64
	mu                                                   sync.Mutex
	recent                                               []ShadowOutput
}

// StartShadow subscribes to the live stream and starts the model.
func StartShadow(cfg ShadowConfig) (*Shadow, error) {
	if cfg.Bus == nil || cfg.Model == nil || cfg.Tenant == "" {
		return nil, errors.New("govern: ShadowConfig needs Bus, Model and Tenant")
	}
	if cfg.Fraction == 0 {
		cfg.Fraction = 1
	}
	if math.IsNaN(cfg.Fraction) || cfg.Fraction < 0 || cfg.Fraction > 1 {
		return nil, invalid("fraction must be in (0, 1]")
	}
	if cfg.Queue <= 0 {
		cfg.Queue = 4096
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Shadow{cfg: cfg, q: make(chan telemetry.Sample, cfg.Queue), done: make(chan struct{}), start: time.Now().UTC()}
	tenant := cfg.Tenant
	s.sub = cfg.Bus.Subscribe(bus.SubscribeOptions{Buffer: 1024, Filter: func(ev bus.Event) bool {
		return ev.Kind == "samples" && ev.Tenant == tenant
	}})
	s.wg.Add(1)
	go s.receive()
	go s.work()
	return s, nil
}

// receive copies samples into the model's queue without ever waiting.
func (s *Shadow) receive() {
	defer s.wg.Done()
	defer close(s.q)
	for ev := range s.sub.C {
		for _, smp := range ev.Samples {
			if strings.HasSuffix(smp.Channel, ".anomaly") {
				continue // the champion's scores are not telemetry
			}
			s.seen.Add(1)
			if !s.pick(smp) {
				continue
			}
			s.sampled.Add(1)
			select {
			case s.q <- smp:
			default:
				s.dropped.Add(1)
			}
		}
	}
}

// pick samples a fraction deterministically by series and time.
func (s *Shadow) pick(smp telemetry.Sample) bool {
	if s.cfg.Fraction >= 1 {
		return true
	}
	h := fnv.New64a()
	fmt.Fprintf(h, "%s\x00%s\x00%d", smp.Twin, smp.Channel, smp.TS)
	return float64(h.Sum64()>>11)/float64(1<<53) < s.cfg.Fraction
}

type liveView struct {
	ctx context.Context
	src Source
	now int64
}

func (v *liveView) Range(k telemetry.Key, mint, maxt int64, fn func(ts int64, v float64) bool) error {
	if maxt > v.now {
		return ErrLookAhead
	}
	if v.src == nil {
		return errors.New("no telemetry source for this shadow")
	}
	return v.src.Range(v.ctx, k, mint, maxt, fn)
}

func (s *Shadow) work() {
	defer close(s.done)
	view := &liveView{ctx: context.Background(), src: s.cfg.Source}
	for smp := range s.q {
		view.now = smp.TS
		out, err := s.score(smp, view)
		switch {
		case err != nil:
			s.errs.Add(1)
		default:
			s.scored.Add(1)
			if out.Alert {
				s.alerts.Add(1)
				s.mu.Lock()
				if len(s.recent) == 50 {
					copy(s.recent, s.recent[1:])
					s.recent = s.recent[:49]
				}
				s.recent = append(s.recent, ShadowOutput{Twin: smp.Twin, Channel: smp.Channel, TS: smp.TS, Score: out.Score, Alert: true})
				s.mu.Unlock()
			}
		}
	}
}

func (s *Shadow) score(smp telemetry.Sample, view History) (out Output, err error) {
	defer func() {
		if p := recover(); p != nil {
			s.panics.Add(1)
			err = fmt.Errorf("shadow model panicked: %v", p)
			s.cfg.Logger.Warn("shadow model panicked", "system", s.cfg.System, "version", s.cfg.Version, "panic", p)
		}
	}()
	return s.cfg.Model.Score(smp, view)
}

// Stats returns the counters.
func (s *Shadow) Stats() ShadowStats {
	s.mu.Lock()
	recent := append([]ShadowOutput{}, s.recent...)
	s.mu.Unlock()
	return ShadowStats{Tenant: s.cfg.Tenant, System: s.cfg.System, Version: s.cfg.Version, Fraction: s.cfg.Fraction, Started: s.start,
		Seen: s.seen.Load(), Sampled: s.sampled.Load(), Scored: s.scored.Load(), Dropped: s.dropped.Load() + s.sub.Dropped(),
		Alerts: s.alerts.Load(), Errors: s.errs.Load(), Panics: s.panics.Load(), Recent: recent}
}

// Close unsubscribes and waits up to timeout for the model's current
// call to return; a hung model is abandoned with ErrHung. Idempotent.
func (s *Shadow) Close(timeout time.Duration) error {
	var err error
	s.once.Do(func() {
		s.sub.Close()
		s.wg.Wait()
		t := time.NewTimer(timeout)
		defer t.Stop()
		select {
		case <-s.done:
		case <-t.C:
			err = fmt.Errorf("%s %s: %w", s.cfg.System, s.cfg.Version, ErrHung)
		}
	})
	return err
}

// Shadows runs the shadow trials of the registry's systems (one per
// system, the version under the "shadow" alias). Close it.
type Shadows struct {
	reg     *Registry
	bus     *bus.Bus
	src     Source
	log     *slog.Logger
	mu      sync.Mutex
	running map[string]*Shadow // tenant\x00system
}

// NewShadows returns a shadow manager; src may be nil.
func NewShadows(reg *Registry, b *bus.Bus, src Source, logger *slog.Logger) *Shadows {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Shadows{reg: reg, bus: b, src: src, log: logger.With("component", "shadow"), running: map[string]*Shadow{}}
}

// Start puts version under the shadow alias (a recorded transition) and
// starts its trial on the live stream, replacing a running one.
func (m *Shadows) Start(ctx context.Context, p auth.Principal, tenant, system, version string, fraction float64) (ShadowStats, error) {
	model, _, err := m.reg.runnable(tenant, system, version, 0)
	if err != nil {
		return ShadowStats{}, err
	}
	if fraction < 0 || fraction > 1 || math.IsNaN(fraction) {
		return ShadowStats{}, invalid("fraction must be in (0, 1]")
	}
	if _, err := m.reg.SetAlias(ctx, p, tenant, system, ShadowAl, version, fmt.Sprintf("shadow trial, fraction %g", max(fraction, 0))); err != nil {
		return ShadowStats{}, err
	}
	sh, err := StartShadow(ShadowConfig{Bus: m.bus, Tenant: tenant, System: system, Version: version, Model: model, Source: m.src, Fraction: fraction, Logger: m.log})
	if err != nil {
		return ShadowStats{}, err
	}
	m.mu.Lock()
	old := m.running[tenant+"\x00"+system]
	m.running[tenant+"\x00"+system] = sh
	m.mu.Unlock()
	if old != nil {
		if err := old.Close(5 * time.Second); err != nil {
			m.log.Warn("stop shadow", "err", err)
		}
	}
	return sh.Stats(), nil
}

// Resume restarts the trials of every system with a shadow alias (after
// a restart).
func (m *Shadows) Resume(ctx context.Context) error {
	type sys struct{ tenant, id, version string }
	var todo []sys
	err := m.reg.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bSystems).ForEach(func(k, _ []byte) error {
			tenant, id, _ := strings.Cut(string(k), "\x00")
			s, err := get[System](tx, bSystems, tenant, id)
			if err != nil {
				return err
			}
			if v := s.Aliases[ShadowAl]; v != "" {
				todo = append(todo, sys{tenant, id, v})
			}
			return nil
		})
	})
	if err != nil {
		return err
	}
	for _, s := range todo {
		model, _, err := m.reg.runnable(s.tenant, s.id, s.version, 0)
		if err != nil {
			m.log.Warn("resume shadow", "system", s.id, "version", s.version, "err", err)
			continue
		}
		sh, err := StartShadow(ShadowConfig{Bus: m.bus, Tenant: s.tenant, System: s.id, Version: s.version, Model: model, Source: m.src, Logger: m.log})
		if err != nil {
			return err
		}
		m.mu.Lock()
		m.running[s.tenant+"\x00"+s.id] = sh
		m.mu.Unlock()
	}
	return nil
}

// Stop ends a system's trial and removes the shadow alias.
func (m *Shadows) Stop(ctx context.Context, p auth.Principal, tenant, system string) error {
	m.mu.Lock()
	sh := m.running[tenant+"\x00"+system]
	delete(m.running, tenant+"\x00"+system)
	m.mu.Unlock()
	if sh == nil {
		return fmt.Errorf("no shadow trial of %s: %w", system, ErrNotFound)
	}
	err := sh.Close(5 * time.Second)
	if _, e := m.reg.SetAlias(ctx, p, tenant, system, ShadowAl, "", "shadow trial stopped"); e != nil {
		return e
	}
	return err
}

// List returns a tenant's running trials.
func (m *Shadows) List(tenant string) []ShadowStats {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []ShadowStats
	for k, sh := range m.running {
		if strings.HasPrefix(k, tenant+"\x00") {
			out = append(out, sh.Stats())
		}
	}
	return out
}

// MinShadowSamples is how many samples a trial must score to pass.
const MinShadowSamples = 1000

// Record stores the running trial's counters as a shadow evaluation of
// its version. Pass: at least MinShadowSamples scored, no panic, errors
// under 1% of scored samples.
func (m *Shadows) Record(ctx context.Context, p auth.Principal, tenant, system string) (Evaluation, error) {
	m.mu.Lock()
	sh := m.running[tenant+"\x00"+system]
	m.mu.Unlock()
	if sh == nil {
		return Evaluation{}, fmt.Errorf("no shadow trial of %s: %w", system, ErrNotFound)
	}
	st := sh.Stats()
	pass := st.Scored >= MinShadowSamples && st.Panics == 0 && st.Errors*100 < max(st.Scored, 1)
	b, err := jsonIndent(st)
	if err != nil {
		return Evaluation{}, err
	}
	summary := fmt.Sprintf("%d scored, %d dropped, %d would-be alerts, %d errors, %d panics since %s", st.Scored, st.Dropped, st.Alerts, st.Errors, st.Panics, st.Started.Format(time.RFC3339))
	return m.reg.storeEvaluation(ctx, p, tenant, Evaluation{Kind: EvalShadow, System: system, Version: st.Version, Pass: pass, Summary: summary}, "sh-", b)
}

// Close stops every trial.
func (m *Shadows) Close() error {
	m.mu.Lock()
	all := m.running
	m.running = map[string]*Shadow{}
	m.mu.Unlock()
	var errs []error
	for _, sh := range all {
		errs = append(errs, sh.Close(5*time.Second))
	}
	return errors.Join(errs...)
}
