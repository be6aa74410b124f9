package alert

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/tsingma/tsingma/internal/backup"
	"github.com/tsingma/tsingma/internal/bus"
	"github.com/tsingma/tsingma/internal/telemetry"
	"github.com/tsingma/tsingma/internal/twin"
)

// Catalog is the twin registry as the engine uses it: to check that a
// rule's channel exists and to find a twin's type. *twin.Registry
// implements it.
type Catalog interface {
	GetType(ctx context.Context, tenant, name string) (twin.Type, error)
	Get(ctx context.Context, tenant, id string) (twin.Twin, error)
}

// Config configures Open.
type Config struct {
	// Path of the bbolt file; created if missing.
	Path string
	// Catalog validates rules' channels and fills signals' twin types.
	Catalog Catalog
	// Bus, if set, is where Start subscribes to samples and where every
	// Change is published.
	Bus *bus.Bus
	// Defaults are created in the default tenant the first time the file
	// is opened (never again, so deleting them sticks). Rules whose type
	// exists without their channel are skipped with a warning; rules for a
	// type not defined yet are kept (their Unit is taken as given).
	Defaults []Rule
	// Admit, if set, is asked before a model's signal may raise an alert;
	// an error refuses it (Raise returns an error matching ErrRefused).
	// Governance uses it to keep shadow models from alerting.
	Admit func(ctx context.Context, s Signal) error
	// OnChange, if set, is called with every change after it is
	// persisted, in order, with the engine's lock held: it must not block
	// or call the engine.
	OnChange func(Change)
	// MaxEvidence bounds the samples kept per alert; default 32.
	MaxEvidence int
	// MaxHistory bounds the alerts kept per tenant (the oldest cleared are
	// deleted); default 100,000.
	MaxHistory int
	// UpdateEvery bounds how often a model that keeps raising an open
	// alert with the same severity and version has it written and
	// published ("updated"); in between, Count, reason, value, evidence
	// and details change in memory (and are served). Default 10s.
	UpdateEvery time.Duration
	// MaxRules bounds the rules per tenant; default 10,000.
	MaxRules int
	// Buffer is the bus subscription's buffer in batches; default 4096.
	Buffer int
	// Logger nil discards; Now nil is time.Now.
	Logger *slog.Logger
	Now    func() time.Time
}

// Engine evaluates rules and keeps alerts. Open it, Start it to follow
// the bus, Close it (which waits for its goroutine) before closing the
// bus's publishers' storage. All methods are safe for concurrent use.
type Engine struct {
	cfg Config
	log *slog.Logger
	db  *bolt.DB

	mu      sync.Mutex
	closed  bool
	tenants map[string]*tenantState
	writes  []write
	changes []Change
	scratch state // evaluate's state for (rule, twin) pairs with none

	sub       atomic.Pointer[bus.Subscription]
	done      chan struct{}
	startOnce sync.Once
	closeOnce sync.Once
	closeErr  error

	stats struct {
		samples, evals, acked, refused, persistErr atomic.Uint64
		raisedRule, raisedModel                    atomic.Uint64
		cleared                                    sync.Map // by → *atomic.Uint64
	}
}

type stateKey struct{ rule, twin string }

type tenantState struct {
	rules  map[string]*compiled
	byType map[string]map[string][]*compiled // type → channel → rules
	byTwin map[string]map[string][]*compiled // twin → channel → rules
	states map[stateKey]*state
	open   map[string]*Alert // key → open alert
	byID   map[uint64]*Alert // open alerts by id
	// written: when an open alert was last written; dirty: open alerts
	// changed in memory since (coalesced model updates).
	written map[uint64]time.Time
	dirty   map[uint64]struct{}
	seq     uint64
	stored  int
}

func newTenantState() *tenantState {
	return &tenantState{
		rules:  map[string]*compiled{},
		states: map[stateKey]*state{},
		open:   map[string]*Alert{},
		byID:   map[uint64]*Alert{},

		written: map[uint64]time.Time{},
		dirty:   map[uint64]struct{}{},
	}
}

func (ts *tenantState) reindex() {
	ts.byType = map[string]map[string][]*compiled{}
	ts.byTwin = map[string]map[string][]*compiled{}
	for _, id := range slices.Sorted(maps.Keys(ts.rules)) {
		k := ts.rules[id]
		if k.Disabled {
			continue
		}
		m, key := ts.byType, k.Type
		if k.Twin != "" {
			m, key = ts.byTwin, k.Twin
		}
		if m[key] == nil {
			m[key] = map[string][]*compiled{}
		}
		m[key][k.Channel] = append(m[key][k.Channel], k)
	}
}

// Open opens (creating) the file, loads rules and open alerts, rebuilds
// the state machines of firing rules, and seeds the defaults on a new
// file. The caller must Close the engine.
func Open(cfg Config) (*Engine, error) {
	if cfg.Path == "" {
		return nil, errors.New("alert: open: Config.Path is empty")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxEvidence <= 0 {
		cfg.MaxEvidence = 32
	}
	if cfg.MaxHistory <= 0 {
		cfg.MaxHistory = 100_000
	}
	if cfg.UpdateEvery <= 0 {
		cfg.UpdateEvery = 10 * time.Second
	}
	if cfg.MaxRules <= 0 {
		cfg.MaxRules = 10_000
	}
	if cfg.Buffer <= 0 {
		cfg.Buffer = 4096
	}
	db, err := bolt.Open(cfg.Path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return nil, fmt.Errorf("alert: open %s: %w", cfg.Path, err)
	}
	e := &Engine{cfg: cfg, log: cfg.Logger.With("component", "alert"), db: db, tenants: map[string]*tenantState{}}
	all, seeded, err := loadAll(db)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("alert: load %s: %w", cfg.Path, err)
	}
	for tenant, l := range all {
		ts := e.tenant(tenant)
		ts.seq, ts.stored = l.maxID, l.stored
		for _, ru := range l.rules {
			ts.rules[ru.ID] = compile(ru)
		}
		ts.reindex()
		for _, a := range l.open {
			id, _ := parseID(a.ID)
			ts.open[a.Key], ts.byID[id] = a, a
			if k := ts.rules[a.Rule]; a.Rule != "" && k != nil && !k.Disabled {
				ts.states[stateKey{a.Rule, a.Twin}] = &state{phase: firing, alert: a, start: a.StartsAt.UnixMilli()}
			}
		}
	}
	if !seeded {
		if err := e.seed(); err != nil {
			db.Close()
			return nil, fmt.Errorf("alert: seed default rules: %w", err)
		}
	}
	e.log.Info("alert engine open", "path", cfg.Path, "tenants", len(e.tenants))
	return e, nil
}

func (e *Engine) seed() error {
	ctx := context.Background()
	tenant := telemetry.DefaultTenant
	now := e.now()
	var ws []write
	ts := e.tenant(tenant)
	for _, ru := range e.cfg.Defaults {
		if err := ru.Validate(); err != nil {
			return fmt.Errorf("default rule %s: %w", ru.ID, err)
		}
		if err := e.checkChannel(ctx, tenant, &ru); err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Field != "type" {
				e.log.Warn("default rule skipped", "rule", ru.ID, "err", err)
				continue
			}
			// A type the installation defines later (the demo's racks):
			// the rule applies once twins of that type report.
			e.log.Info("default rule for a type not defined yet", "rule", ru.ID, "type", ru.Type)
		}
		ru.normalize()
		ru.Version, ru.Created, ru.Updated = 1, now, now
		ts.rules[ru.ID] = compile(ru)
		ws = append(ws, write{tenant: tenant, rule: &ru})
	}
	ts.reindex()
	return e.db.Update(func(tx *bolt.Tx) error {
		for _, w := range ws {
			if err := applyWrite(tx, w); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketMeta).Put(keySeeded, []byte("1"))
	})
}

func (e *Engine) tenant(name string) *tenantState {
	ts := e.tenants[name]
	if ts == nil {
		ts = newTenantState()
		ts.reindex()
		e.tenants[name] = ts
	}
	return ts
}

func (e *Engine) now() time.Time { return e.cfg.Now().UTC().Round(0) }

// Start subscribes to the bus's sample batches and evaluates them on one
// goroutine until Close. Without a Bus it does nothing. Idempotent.
func (e *Engine) Start() {
	e.startOnce.Do(func() {
		if e.cfg.Bus == nil {
			return
		}
		sub := e.cfg.Bus.Subscribe(bus.SubscribeOptions{Buffer: e.cfg.Buffer, Filter: func(ev bus.Event) bool {
			return ev.Kind == "samples"
		}})
		e.sub.Store(sub)
		e.done = make(chan struct{})
		go func() {
			defer close(e.done)
			for ev := range sub.C {
				e.Process(ev.Samples)
			}
		}()
	})
}

// Close stops following the bus, waits for the goroutine, and closes the
// file. Later calls return ErrClosed. Idempotent.
func (e *Engine) Close() error {
	e.closeOnce.Do(func() {
		e.startOnce.Do(func() {}) // a later Start does nothing
		if sub := e.sub.Load(); sub != nil {
			sub.Close()
			<-e.done
		}
		e.mu.Lock()
		e.writeDirty()
		e.closed = true
		e.mu.Unlock()
		if err := e.db.Close(); err != nil {
			e.closeErr = fmt.Errorf("alert: close %s: %w", e.cfg.Path, err)
		}
	})
	return e.closeErr
}

// writeDirty persists open alerts whose coalesced updates are only in
// memory.
func (e *Engine) writeDirty() {
	var ws []write
	for _, ts := range e.tenants {
		for id := range ts.dirty {
			if a := ts.byID[id]; a != nil {
				c := a.clone()
				ws = append(ws, write{tenant: a.Tenant, alert: &c})
			}
		}
		clear(ts.dirty)
	}
	if len(ws) > 0 {
		if err := e.commit(ws...); err != nil {
			e.stats.persistErr.Add(1)
			e.log.Error("persist alerts at close", "writes", len(ws), "err", err)
		}
	}
}

// Process evaluates the rules on accepted samples, in order. Start calls
// it for every bus batch; tests and other feeds may call it directly.
// Samples must have Type set (as the ingester does).
func (e *Engine) Process(samples []telemetry.Sample) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return
	}
	e.stats.samples.Add(uint64(len(samples)))
	// Batches carry runs of one tenant and twin: their rule tables are
	// looked up once a run, and a sample with no rule costs no more.
	var (
		ts                          *tenantState
		tenant, twin, typ           string
		byTwin, byType              map[string][]*compiled
		haveTenant, haveTwin, haveT bool
	)
	for _, s := range samples {
		if !haveTenant || s.Tenant != tenant {
			ts, tenant, haveTenant, haveTwin, haveT = e.tenants[s.Tenant], s.Tenant, true, false, false
		}
		if ts == nil {
			continue
		}
		if !haveTwin || s.Twin != twin {
			byTwin, twin, haveTwin = ts.byTwin[s.Twin], s.Twin, true
		}
		if !haveT || s.Type != typ {
			byType, typ, haveT = ts.byType[s.Type], s.Type, true
		}
		if byTwin == nil && byType == nil {
			continue
		}
		for _, rules := range [2][]*compiled{byTwin[s.Channel], byType[s.Channel]} {
			for _, k := range rules {
				e.evaluate(ts, s, k)
			}
		}
	}
	e.flush()
}

func (e *Engine) evaluate(ts *tenantState, s telemetry.Sample, k *compiled) {
	e.stats.evals.Add(1)
	sk := stateKey{k.ID, s.Twin}
	st := ts.states[sk]
	fresh := st == nil
	if fresh {
		// Most samples leave an inactive threshold rule inactive: use a
		// scratch state and keep it only if there is something to remember.
		e.scratch = state{}
		st = &e.scratch
	}
	ev := Evidence{Twin: s.Twin, Channel: s.Channel, TS: s.TS, Value: s.Value}
	tr, x, _ := st.step(k, ev, e.cfg.MaxEvidence)
	if fresh {
		if st.phase == inactive && st.rate == nil {
			return
		}
		kept := *st
		st = &kept
		ts.states[sk] = st
	}
	switch tr {
	case fire:
		st.alert = e.fireRule(ts, s, k, st, x)
	case clearNow:
		if st.alert != nil {
			e.clear(ts, st.alert, ByCondition, time.UnixMilli(s.TS).UTC(), &x)
			st.alert = nil
		}
	}
	if st.phase == inactive && st.rate == nil {
		delete(ts.states, sk) // nothing to remember
	}
}

// fireRule opens (or, after a restart, re-uses) the alert of a rule on a
// twin.
func (e *Engine) fireRule(ts *tenantState, s telemetry.Sample, k *compiled, st *state, x float64) *Alert {
	e.stats.raisedRule.Add(1)
	key := ruleKey(k.ID, s.Twin)
	now := e.now()
	at := time.UnixMilli(s.TS).UTC()
	unit := k.Unit
	val := fmt.Sprintf("%g", x)
	if unit != "" {
		val += " " + unit
	}
	name := k.Name
	if name == "" {
		name = k.ID
	}
	reason := fmt.Sprintf("%s: %s (now %s, since %s)", s.Twin, k.Describe(), val, time.UnixMilli(st.start).UTC().Format(time.RFC3339))
	if a := ts.open[key]; a != nil {
		a.Count++
		a.Updated, a.Reason = now, reason
		a.Evidence = append(a.Evidence[:0], st.evidence...)
		e.record(ts, a, "updated")
		return a
	}
	v, p := x, x
	a := &Alert{
		Tenant: s.Tenant, Key: key, Source: "rule:" + k.ID, Rule: k.ID, RuleVersion: k.Version,
		Twin: s.Twin, Type: s.Type, Channel: s.Channel, Severity: k.Severity, State: Raised,
		Summary: name + " on " + s.Twin, Reason: reason, Unit: unit, Value: &v, Peak: &p,
		StartsAt: time.UnixMilli(st.start).UTC(), RaisedAt: at, Count: 1,
		Evidence: append([]Evidence(nil), st.evidence...), Created: now, Updated: now,
	}
	if k.Description != "" {
		a.Details = map[string]any{"description": k.Description}
	}
	e.open(ts, a)
	return a
}

// open assigns an id and records a new open alert.
func (e *Engine) open(ts *tenantState, a *Alert) {
	ts.seq++
	a.ID = strconv.FormatUint(ts.seq, 10)
	ts.open[a.Key], ts.byID[ts.seq] = a, a
	ts.stored++
	e.record(ts, a, "raised")
}

// clear closes an open alert.
func (e *Engine) clear(ts *tenantState, a *Alert, by string, at time.Time, x *float64) {
	a.State, a.ClearedBy, a.ClearedAt, a.Updated = Cleared, by, at, e.now()
	if x != nil && a.Details == nil {
		a.Details = map[string]any{}
	}
	if x != nil {
		a.Details["clearValue"] = *x
	}
	id, _ := parseID(a.ID)
	delete(ts.open, a.Key)
	delete(ts.byID, id)
	if v, _ := e.stats.cleared.LoadOrStore(by, new(atomic.Uint64)); v != nil {
		v.(*atomic.Uint64).Add(1)
	}
	e.record(ts, a, "cleared")
}

// record queues the alert's write and change; flush commits them.
func (e *Engine) record(ts *tenantState, a *Alert, action string) {
	id, _ := parseID(a.ID)
	delete(ts.dirty, id)
	if a.State.Open() {
		ts.written[id] = e.now()
	} else {
		delete(ts.written, id)
	}
	c := a.clone()
	e.writes = append(e.writes, write{tenant: a.Tenant, alert: &c})
	e.changes = append(e.changes, Change{Tenant: a.Tenant, Action: action, Alert: &c})
}

// flush commits the queued writes in one transaction, then publishes the
// changes. A failed commit is logged and counted: memory stays
// authoritative until the next successful write of the same alert.
func (e *Engine) flush() {
	ws, cs := e.writes, e.changes
	e.writes, e.changes = nil, nil
	if len(ws) > 0 {
		err := e.db.Update(func(tx *bolt.Tx) error {
			for _, w := range ws {
				if err := applyWrite(tx, w); err != nil {
					return err
				}
			}
			for name, ts := range e.tenants {
				if ts.stored > e.cfg.MaxHistory {
					n, err := pruneHistory(tx, name, ts.stored, e.cfg.MaxHistory*9/10)
					if err != nil {
						return err
					}
					ts.stored -= n
				}
			}
			return nil
		})
		if err != nil {
			e.stats.persistErr.Add(1)
			e.log.Error("persist alerts", "writes", len(ws), "err", err)
		}
	}
	for _, c := range cs {
		e.publish(c)
	}
}

func (e *Engine) publish(c Change) {
	if e.cfg.Bus != nil {
		e.cfg.Bus.Publish(bus.Event{Kind: c.Kind(), Tenant: c.Tenant, Data: c})
	}
	if e.cfg.OnChange != nil {
		e.cfg.OnChange(c)
	}
}

// commit writes ws in one transaction (API operations, which must fail
// visibly).
func (e *Engine) commit(ws ...write) error {
	return e.db.Update(func(tx *bolt.Tx) error {
		for _, w := range ws {
			if err := applyWrite(tx, w); err != nil {
				return err
			}
		}
		return nil
	})
}

// Backup adds the database under name to sink, as of one read transaction
// (writes go on meanwhile).
func (e *Engine) Backup(sink backup.Sink, name string) error { return backup.Bolt(sink, name, e.db) }
