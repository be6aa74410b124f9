// Package slopewatch runs the landslide early-warning model
// (internal/landslide) live on every slope twin. It follows the durable
// samples on the bus: rain-gauge rainfall (mm per 5 min) feeds per-gauge
// rolling accumulations, stored as "rainfall.<window>" series on the gauge,
// and, interpolated at each slope by inverse-distance weighting, the
// transient infiltration / factor-of-safety Engine; extensometer and
// inclinometer displacement feed failure-time forecasts. On a cadence in
// sample time (each closed 5-minute interval with rain, hourly in a dry
// spell of an event) every slope's risk level is assessed with its reasons,
// stored as "landslide.*" series on the slope, and level changes raise or
// clear alerts naming the model and its version. A territory-wide landslip
// warning follows the curve fitted on the 1984–2005 Hong Kong records.
//
// One worker goroutine owns all model state (the Engine parallelises over
// slopes itself); the bus feeds it through a bounded queue (a full queue
// drops the batch and counts it; ingest never waits). Readers (the API) see
// an immutable snapshot published after every evaluation. Start subscribes;
// Close stops the worker and must run before the store closes.
package slopewatch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tsingma/tsingma/internal/alert"
	"github.com/tsingma/tsingma/internal/bus"
	"github.com/tsingma/tsingma/internal/landslide"
	"github.com/tsingma/tsingma/internal/telemetry"
)

// ModelName and ModelVersion identify the model in alerts and series.
const (
	ModelName    = "landslide"
	ModelVersion = "tsingma-landslide/1.0"
)

// Models of the Engine.
const (
	ModelSaturatedFinite   = "saturated-finite"
	ModelSaturatedInfinite = "saturated-infinite"
)

// Series written to the store.
const (
	// On each rain gauge: "rainfall.1h", "rainfall.3h", ... (mm), one per
	// configured window, at the end of each closed interval.
	RollingPrefix = "rainfall."
	// On each slope, at each evaluation.
	ChannelLevel     = "landslide.level"      // 0 normal, 1 watch, 2 warning, 3 critical
	ChannelFSMin     = "landslide.fs_min"     // minimum factor of safety over depth
	ChannelZAtMin    = "landslide.z_fs_min"   // its depth, m
	ChannelRain      = "landslide.rain"       // mm in the interval at the slope (IDW)
	ChannelRainRatio = "landslide.rain_ratio" // largest rolling/criterion ratio
)

// Store is what the service needs of the telemetry store: Append for the
// derived series, Range to catch up after a start.
type Store interface {
	Append(ctx context.Context, samples []telemetry.Sample) ([]telemetry.Status, error)
	Range(ctx context.Context, k telemetry.Key, mint, maxt int64, fn func(ts int64, v float64) bool) error
}

// Alerter raises and clears model alerts (the alerts engine).
type Alerter interface {
	Raise(ctx context.Context, s alert.Signal) (alert.Alert, error)
	Clear(ctx context.Context, s alert.Signal) (alert.Alert, bool, error)
}

// Config configures a Service. Zero values take the documented defaults.
type Config struct {
	Twins  Catalog  // required
	Bus    *bus.Bus // required
	Store  Store    // required
	Alerts Alerter  // nil: no alerts
	Logger *slog.Logger

	Model      string        // ModelSaturatedFinite (default) or ModelSaturatedInfinite
	Resolution time.Duration // rain interval, 5m
	// Grace: an interval is closed (and the model evaluated) when sample
	// time passes its end by this much, so that gauges reporting slightly
	// later are still counted; default one Resolution.
	Grace time.Duration
	// DryEvery: during a dry spell of an event the model is evaluated at
	// this cadence instead of every interval; 1h.
	DryEvery time.Duration
	// EngineStep: rain is added to the Engine (and the model evaluated) in
	// periods of this length; a multiple of Resolution. Default: Resolution
	// up to 5,000 slopes in a tenant, 1h above (the Engine's cost grows with
	// the periods of an event: 5-minute periods over a day of storm are 288).
	EngineStep time.Duration
	// DryReset ends an event after this long without rain at any slope:
	// the Engine is Reset to the steady state; 24h.
	DryReset time.Duration
	Radius   float64         // IDW radius, m; 10 km
	K        int             // IDW gauges; 3
	Windows  []time.Duration // rolling windows stored per gauge; landslide.StandardWindows
	// Criteria are the per-slope rainfall criteria (rolling rainfall at
	// the slope); default 1h ≥ 70 mm (HKO black rainstorm), 24h ≥ 200 mm,
	// 72h ≥ 300 mm.
	Criteria []landslide.Criterion
	// Risk holds the level thresholds; nil: landslide.DefaultRiskConfig()
	// except that rainfall criteria alone raise a slope to watch only
	// (RainWarning = RainCritical = +Inf): the criteria are territory
	// numbers, while the FS applies the same rain to the slope's own
	// parameters.
	Risk *landslide.RiskConfig
	// AlertFrom is the lowest level that raises an alert (Warning); lower
	// levels are series and status only.
	AlertFrom landslide.Level
	// Gauge: plausibility limits (landslide.NewGaugeCheck's defaults:
	// 150 mm per reading, stuck after 6 identical non-zero readings,
	// dropped after 30 min). Six is short enough that a gauge stuck at a
	// black-rainstorm value is caught before the FS of a weak slope reaches
	// critical (TestBadGauge; with 12 it is not); the price is that six
	// equal drizzle readings (0.1 mm resolution) are flagged too.
	Gauge    landslide.GaugeCheckConfig
	Forecast landslide.ForecastConfig // default VelocityPoints 7, FitPoints 20, JumpSize 10 mm, MaxGap 6h
	// Nodes per column (depth intervals) and Engine workers.
	Nodes, Workers int
	// KeepProfiles: the FS-over-depth profile of every slope is kept for
	// the API when the tenant has at most this many slopes; 20000.
	KeepProfiles int
	QueueBatches int // 256
	// Replay: on Start, the gauges' and instruments' samples of this long
	// before Now are read back from the store and replayed (no alerts, no
	// series), so rolling sums, the current event and the forecasts
	// survive a restart; 72h. Negative disables it.
	Replay time.Duration
	Now    func() time.Time // wall clock for the replay window; time.Now
}

func (c *Config) defaults() error {
	if c.Twins == nil || c.Bus == nil || c.Store == nil {
		return errors.New("slopewatch: Config needs Twins, Bus and Store")
	}
	if c.Model == "" {
		c.Model = ModelSaturatedFinite
	}
	if c.Model != ModelSaturatedFinite && c.Model != ModelSaturatedInfinite {
		return fmt.Errorf("slopewatch: unknown model %q", c.Model)
	}
	if c.Resolution <= 0 {
		c.Resolution = 5 * time.Minute
	}
	if c.Grace <= 0 {
		c.Grace = c.Resolution
	}
	if c.EngineStep < 0 || c.EngineStep%c.Resolution != 0 {
		return fmt.Errorf("slopewatch: EngineStep %v is not a multiple of %v", c.EngineStep, c.Resolution)
	}
	if c.DryEvery <= 0 {
		c.DryEvery = time.Hour
	}
	if c.DryReset <= 0 {
		c.DryReset = 24 * time.Hour
	}
	if c.Radius <= 0 {
		c.Radius = 10000
	}
	if c.K <= 0 {
		c.K = 3
	}
	if len(c.Windows) == 0 {
		c.Windows = landslide.StandardWindows
	}
	if c.Criteria == nil {
		c.Criteria = []landslide.Criterion{{Window: time.Hour, MM: 70}, {Window: 24 * time.Hour, MM: 200}, {Window: 72 * time.Hour, MM: 300}}
	}
	if c.Risk == nil {
		r := landslide.DefaultRiskConfig()
		r.RainWarning, r.RainCritical = math.Inf(1), math.Inf(1)
		c.Risk = &r
	}
	if c.AlertFrom == landslide.Normal {
		c.AlertFrom = landslide.Warning
	}
	if c.Forecast.JumpSize == 0 {
		c.Forecast.JumpSize = 10
	}
	if c.Forecast.MaxGap == 0 {
		c.Forecast.MaxGap = 6 * time.Hour
	}
	if _, err := landslide.NewForecaster(c.Forecast); err != nil {
		return fmt.Errorf("slopewatch: %w", err)
	}
	if c.Nodes <= 0 {
		c.Nodes = 20
	}
	if c.KeepProfiles <= 0 {
		c.KeepProfiles = 20000
	}
	if c.QueueBatches <= 0 {
		c.QueueBatches = 256
	}
	if c.Replay == 0 {
		c.Replay = 72 * time.Hour
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// Service is the live landslide model. Methods are safe for concurrent use.
type Service struct {
	cfg    Config
	coef   Coefficients
	warn   landslide.TerritoryWarning
	log    *slog.Logger
	sub    *bus.Subscription
	in     chan bus.Event
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once

	mu   sync.RWMutex
	snap map[string]*Snapshot // by tenant

	tenants map[string]*tenantState // worker only

	dropped, samples, evaluations, alerts, late, rejected atomic.Uint64
	closes                                                atomic.Uint64 // rain intervals closed (one step may close a quiet stretch)
}

// New validates cfg and loads the committed coefficients; it reads no
// twins until Start.
func New(cfg Config) (*Service, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	coef, err := loadCoefficients()
	if err != nil {
		return nil, err
	}
	s := &Service{cfg: cfg, coef: coef, log: cfg.Logger.With("component", "slopewatch"),
		snap: map[string]*Snapshot{}, tenants: map[string]*tenantState{}}
	s.warn = landslide.TerritoryWarning{Curve: coef.curve(), Threshold: coef.Curve.Threshold10}
	return s, nil
}

// Start subscribes to the bus and starts the worker.
func (s *Service) Start() {
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.in = make(chan bus.Event, s.cfg.QueueBatches)
	s.sub = s.cfg.Bus.Subscribe(bus.SubscribeOptions{Buffer: 4096, Filter: func(ev bus.Event) bool {
		return ev.Kind == "samples" || ev.Kind == "twin"
	}})
	s.wg.Add(2)
	go s.route()
	go s.work()
	s.log.Info("landslide model running", "model", ModelVersion, "engine", s.cfg.Model)
}

// route moves bus events to the worker's bounded queue.
func (s *Service) route() {
	defer s.wg.Done()
	for ev := range s.sub.C {
		if ev.Kind == "samples" && !s.wanted(ev.Samples) {
			continue
		}
		select {
		case s.in <- ev:
		default:
			s.dropped.Add(uint64(len(ev.Samples)))
		}
	}
	close(s.in)
}

// wanted keeps batches holding at least one sample the model reads (and
// never the model's own output).
func (s *Service) wanted(smp []telemetry.Sample) bool {
	for _, x := range smp {
		switch x.Type {
		case TypeRainGauge:
			if x.Channel == "rainfall" {
				return true
			}
		case TypeExtensometer, TypeInclinometer:
			if x.Channel == "displacement" {
				return true
			}
		case TypePiezometer:
			if x.Channel == "porePressure" {
				return true
			}
		}
	}
	return false
}

type twinRef interface{ TwinRef() (string, string) }

func (s *Service) work() {
	defer s.wg.Done()
	for _, t := range s.cfg.Twins.Tenants() {
		s.newTenant(t)
	}
	s.rebuildDirty()
	if s.cfg.Replay > 0 {
		for _, ts := range s.tenants {
			if err := ts.catchUp(); err != nil && s.ctx.Err() == nil {
				s.log.Warn("landslide catch-up", "tenant", ts.name, "err", err)
			}
		}
	}
	for ev := range s.in {
		s.handle(ev)
		if len(s.in) == 0 { // idle: apply twin changes now (debounced by the queue)
			s.rebuildDirty()
		}
	}
}

// rebuildDirty reloads the topology of the tenants whose twins changed.
func (s *Service) rebuildDirty() {
	for name, ts := range s.tenants {
		if ts.dirty {
			if err := ts.rebuild(); err != nil && s.ctx.Err() == nil {
				s.log.Warn("landslide topology", "tenant", name, "err", err)
			}
		}
	}
}

func (s *Service) handle(ev bus.Event) {
	tenant := ev.Tenant
	switch ev.Kind {
	case "twin":
		if r, ok := ev.Data.(twinRef); ok {
			if _, typ := r.TwinRef(); typ != "" && !relevantType(typ) {
				return
			}
		}
		if tenant == "" {
			tenant = telemetry.DefaultTenant
		}
		ts := s.tenants[tenant]
		if ts == nil {
			ts = s.newTenant(tenant)
		}
		ts.dirty = true
	case "samples":
		byTenant := map[string][]telemetry.Sample{}
		for _, x := range ev.Samples {
			t := x.Tenant
			if t == "" {
				t = telemetry.DefaultTenant
			}
			byTenant[t] = append(byTenant[t], x)
		}
		for t, smp := range byTenant {
			ts, err := s.tenant(t)
			if err != nil {
				if s.ctx.Err() == nil {
					s.log.Warn("landslide topology", "tenant", t, "err", err)
				}
				continue
			}
			ts.handle(smp)
		}
	}
}

func (s *Service) newTenant(name string) *tenantState {
	ts := &tenantState{s: s, name: name, gauges: map[string]*gaugeState{}, forecasts: map[string]*sensorState{}, dirty: true}
	ts.warn = landslide.WarningTracker{Warning: s.warn}
	s.tenants[name] = ts
	return ts
}

func (s *Service) tenant(name string) (*tenantState, error) {
	ts := s.tenants[name]
	if ts == nil {
		ts = s.newTenant(name)
	}
	if ts.dirty {
		if err := ts.rebuild(); err != nil {
			return nil, err
		}
	}
	return ts, nil
}

// Snapshot returns the tenant's latest published state (nil before any).
func (s *Service) Snapshot(tenant string) *Snapshot {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.snap[tenant]
}

func (s *Service) publish(tenant string, sn *Snapshot) {
	s.mu.Lock()
	s.snap[tenant] = sn
	s.mu.Unlock()
}

// Stats are the service's counters.
type Stats struct {
	Samples, Dropped, Evaluations, Alerts, Late, Rejected uint64
	Closes                                                uint64 // steps that closed rain intervals
	Backlog                                               int
}

// Stats returns the counters.
func (s *Service) Stats() Stats {
	st := Stats{Samples: s.samples.Load(), Dropped: s.dropped.Load(), Evaluations: s.evaluations.Load(),
		Alerts: s.alerts.Load(), Late: s.late.Load(), Rejected: s.rejected.Load(), Closes: s.closes.Load()}
	if s.in != nil {
		st.Backlog = len(s.in)
	}
	return st
}

// WriteMetrics appends Prometheus text lines.
func (s *Service) WriteMetrics(w io.Writer) {
	st := s.Stats()
	m := func(name, typ, help string, v any) {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n%s %v\n", name, help, name, typ, name, v)
	}
	m("tsingma_landslide_samples_total", "counter", "Samples read by the landslide model.", st.Samples)
	m("tsingma_landslide_dropped_total", "counter", "Samples lost because the landslide queue was full.", st.Dropped)
	m("tsingma_landslide_evaluations_total", "counter", "Model evaluations (all slopes of a tenant at one time).", st.Evaluations)
	m("tsingma_landslide_alerts_total", "counter", "Landslide alerts raised or cleared.", st.Alerts)
	m("tsingma_landslide_late_samples_total", "counter", "Rain samples for an interval already closed (not in the model).", st.Late)
	m("tsingma_landslide_rejected_samples_total", "counter", "Rain readings flagged as absurd, negative or stuck (not in the sums).", st.Rejected)
	m("tsingma_landslide_interval_closes_total", "counter", "Steps that closed rain intervals (a quiet stretch closes in one step).", st.Closes)
	m("tsingma_landslide_backlog_batches", "gauge", "Batches waiting in the landslide queue.", st.Backlog)
}

// Close stops the worker after it has drained its queue. Idempotent; call
// before the store and the alerts engine close.
func (s *Service) Close() error {
	s.once.Do(func() {
		if s.sub == nil {
			return
		}
		s.sub.Close()
		s.wg.Wait()
		s.cancel()
	})
	return nil
}

func levelSeverity(l landslide.Level) alert.Severity {
	switch l {
	case landslide.Critical:
		return alert.Critical
	case landslide.Warning:
		return alert.Warning
	}
	return alert.Info
}

func reasonText(a landslide.Assessment) string {
	var parts []string
	for _, r := range a.Reasons {
		parts = append(parts, r.Text)
	}
	if len(parts) == 0 {
		return "no evidence above the watch thresholds"
	}
	s := "landslide risk " + a.Level.String() + ": " + strings.Join(parts, "; ")
	if a.Quality != 0 {
		s += " (data quality: " + a.Quality.String() + ")"
	}
	return s
}
