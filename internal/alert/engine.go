package alert

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

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

	sub       *bus.Subscription
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
	seq    uint64
	stored int
}

func newTenantState() *tenantState {
	return &tenantState{
		rules:  map[string]*compiled{},
		states: map[stateKey]*state{},
		open:   map[string]*Alert{},
		byID:   map[uint64]*Alert{},
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
		e.sub = e.cfg.Bus.Subscribe(bus.SubscribeOptions{Buffer: e.cfg.Buffer, Filter: func(ev bus.Event) bool {
			return ev.Kind == "samples"
		}})
		e.done = make(chan struct{})
		go func() {
			defer close(e.done)
			for ev := range e.sub.C {
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
		if e.sub != nil {
			e.sub.Close()
			<-e.done
		}
		e.mu.Lock()
		e.closed = true
		e.mu.Unlock()
		if err := e.db.Close(); err != nil {
			e.closeErr = fmt.Errorf("alert: close %s: %w", e.cfg.Path, err)
		}
	})
	return e.closeErr
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
	for _, s := range samples {
		e.stats.samples.Add(1)
		ts := e.tenants[s.Tenant]
		if ts == nil {
			continue
		}
		for _, rules := range [2][]*compiled{ts.byTwin[s.Twin][s.Channel], ts.byType[s.Type][s.Channel]} {
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
func (e *Engine) record(_ *tenantState, a *Alert, action string) {
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

// ---- Models ----

// Raise opens an alert for a model's signal, or updates the open alert
// with the same source, twin, channel and key (de-duplication): its
// severity, reason, evidence, details and model version become the
// signal's, Count grows, and an escalation of severity returns an
// acknowledged alert to raised. It returns the alert as stored.
func (e *Engine) Raise(ctx context.Context, s Signal) (Alert, error) {
	if err := e.checkSignal(ctx, &s, true); err != nil {
		return Alert{}, err
	}
	if e.cfg.Admit != nil {
		if err := e.cfg.Admit(ctx, s); err != nil {
			e.stats.refused.Add(1)
			return Alert{}, fmt.Errorf("%w: %s: %v", ErrRefused, s.Source, err)
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return Alert{}, ErrClosed
	}
	ts := e.tenant(s.Tenant)
	now := e.now()
	at := s.At.UTC()
	if s.At.IsZero() {
		at = now
	}
	evidence := s.Evidence
	if len(evidence) > e.cfg.MaxEvidence {
		evidence = evidence[len(evidence)-e.cfg.MaxEvidence:]
	}
	e.stats.raisedModel.Add(1)
	if a := ts.open[s.key()]; a != nil {
		if s.Severity.Rank() > a.Severity.Rank() && a.State == Acknowledged {
			a.State = Raised
		}
		a.Severity, a.Reason, a.ModelVersion = s.Severity, s.Reason, s.ModelVersion
		a.Evidence = append([]Evidence(nil), evidence...)
		if s.Details != nil {
			a.Details = maps.Clone(s.Details)
		}
		if s.Value != nil {
			v := *s.Value
			a.Value = &v
		}
		a.Count++
		a.Updated = now
		e.record(ts, a, "updated")
		return a.clone(), e.flushErr()
	}
	a := &Alert{
		Tenant: s.Tenant, Key: s.key(), Source: s.Source, ModelVersion: s.ModelVersion,
		Twin: s.Twin, Type: s.Type, Channel: s.Channel, Severity: s.Severity, State: Raised,
		Summary: strings.TrimPrefix(s.Source, "model:") + " on " + orTenant(s.Twin), Reason: s.Reason,
		StartsAt: at, RaisedAt: at, Count: 1, Evidence: append([]Evidence(nil), evidence...),
		Details: maps.Clone(s.Details), Created: now, Updated: now,
	}
	if s.Value != nil {
		v := *s.Value
		a.Value = &v
	}
	e.open(ts, a)
	return a.clone(), e.flushErr()
}

func orTenant(tw string) string {
	if tw == "" {
		return "the whole tenant"
	}
	return tw
}

// Clear closes the open alert with the signal's source, twin, channel and
// key; it reports whether there was one. Severity is ignored; Reason, if
// set, is recorded as the clearing reason.
func (e *Engine) Clear(ctx context.Context, s Signal) (Alert, bool, error) {
	if err := e.checkSignal(ctx, &s, false); err != nil {
		return Alert{}, false, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return Alert{}, false, ErrClosed
	}
	ts := e.tenants[s.Tenant]
	if ts == nil || ts.open[s.key()] == nil {
		return Alert{}, false, nil
	}
	a := ts.open[s.key()]
	at := s.At.UTC()
	if s.At.IsZero() {
		at = e.now()
	}
	if s.Reason != "" {
		if a.Details == nil {
			a.Details = map[string]any{}
		}
		a.Details["clearReason"] = s.Reason
	}
	a.ModelVersion = s.ModelVersion
	e.clear(ts, a, ByModel, at, nil)
	return a.clone(), true, e.flushErr()
}

func (e *Engine) flushErr() error {
	before := e.stats.persistErr.Load()
	e.flush()
	if e.stats.persistErr.Load() != before {
		return errors.New("alert: the change is live but could not be persisted; see the log")
	}
	return nil
}

const maxDetailsBytes = 16 << 10

func (e *Engine) checkSignal(ctx context.Context, s *Signal, raise bool) error {
	s.normalize()
	name, ok := strings.CutPrefix(s.Source, "model:")
	if !ok || twin.ValidID(name) != nil {
		return invalid("source", "%q: want model:<name>, the name in [A-Za-z0-9._~-]", clip(s.Source))
	}
	if s.ModelVersion == "" || validText(s.ModelVersion, twin.MaxNameLen) != nil {
		return invalid("modelVersion", "required: the model version that decided (at most %d bytes)", twin.MaxNameLen)
	}
	if s.Twin != "" && twin.ValidID(s.Twin) != nil {
		return invalid("twin", "%q is not a valid twin id", clip(s.Twin))
	}
	if s.Channel != "" && twin.ValidID(s.Channel) != nil {
		return invalid("channel", "%q is not a valid channel name", clip(s.Channel))
	}
	if validText(s.Key, twin.MaxNameLen) != nil {
		return invalid("key", "at most %d bytes of text", twin.MaxNameLen)
	}
	if err := validText(s.Reason, MaxTextLen); err != nil {
		return invalid("reason", "%v", err)
	}
	if !raise {
		return nil
	}
	if !s.Severity.valid() {
		return invalid("severity", "%q: want info, warning or critical", clip(string(s.Severity)))
	}
	if s.Reason == "" {
		return invalid("reason", "required: say which evidence and numbers decided")
	}
	if s.Value != nil && !finite(*s.Value) {
		return invalid("value", "must be finite")
	}
	for i, ev := range s.Evidence {
		if !finite(ev.Value) {
			return invalid(fmt.Sprintf("evidence[%d].value", i), "must be finite")
		}
	}
	if s.Details != nil {
		b, err := json.Marshal(s.Details)
		if err != nil {
			return invalid("details", "not encodable as JSON: %v", err)
		}
		if len(b) > maxDetailsBytes {
			return invalid("details", "%d bytes encoded; at most %d", len(b), maxDetailsBytes)
		}
	}
	if s.Twin != "" && s.Type == "" && e.cfg.Catalog != nil {
		tw, err := e.cfg.Catalog.Get(ctx, s.Tenant, s.Twin)
		if err != nil {
			if errors.Is(err, twin.ErrNotFound) {
				return invalid("twin", "no twin %q in tenant %q", clip(s.Twin), clip(s.Tenant))
			}
			return fmt.Errorf("look up twin %s: %w", s.Twin, err)
		}
		s.Type = tw.Type
	}
	return nil
}

// ---- Rules ----

// checkChannel verifies that the rule's channel exists on its type (or on
// its twin's type) and records the channel's unit.
func (e *Engine) checkChannel(ctx context.Context, tenant string, ru *Rule) error {
	if e.cfg.Catalog == nil {
		return nil
	}
	typ := ru.Type
	if ru.Twin != "" {
		tw, err := e.cfg.Catalog.Get(ctx, tenant, ru.Twin)
		if errors.Is(err, twin.ErrNotFound) {
			return invalid("twin", "no twin %q", clip(ru.Twin))
		} else if err != nil {
			return fmt.Errorf("look up twin %s: %w", ru.Twin, err)
		}
		typ = tw.Type
	}
	t, err := e.cfg.Catalog.GetType(ctx, tenant, typ)
	if errors.Is(err, twin.ErrNotFound) {
		return invalid("type", "no type %q", clip(typ))
	} else if err != nil {
		return fmt.Errorf("look up type %s: %w", typ, err)
	}
	ch, ok := t.Channels[ru.Channel]
	if !ok {
		names := slices.Sorted(maps.Keys(t.Channels))
		return invalid("channel", "type %s has no channel %q (it has: %s)", typ, clip(ru.Channel), strings.Join(names, ", "))
	}
	ru.Unit = ch.Unit
	if ru.Rate != nil {
		ru.Unit = ch.Unit + "/" + perLabel(ru.Rate.Per)
	}
	return nil
}

// ListRules returns the tenant's rules sorted by id.
func (e *Engine) ListRules(_ context.Context, tenant string) []Rule {
	e.mu.Lock()
	defer e.mu.Unlock()
	ts := e.tenants[tenant]
	out := []Rule{}
	if ts == nil {
		return out
	}
	for _, id := range slices.Sorted(maps.Keys(ts.rules)) {
		out = append(out, ts.rules[id].Rule)
	}
	return out
}

// GetRule returns one rule.
func (e *Engine) GetRule(_ context.Context, tenant, id string) (Rule, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if ts := e.tenants[tenant]; ts != nil && ts.rules[id] != nil {
		return ts.rules[id].Rule, nil
	}
	return Rule{}, fmt.Errorf("rule %s: %w", clip(id), ErrNotFound)
}

// CreateRule adds a rule; an empty ID is assigned ("rule-N"). An ID in
// use gives ErrExists.
func (e *Engine) CreateRule(ctx context.Context, tenant string, ru Rule) (Rule, error) {
	out, _, err := e.putRule(ctx, tenant, ru, 0, true)
	return out, err
}

// PutRule creates or replaces the rule ru.ID. ifMatch, when non-zero, must
// equal the stored version (ErrConflict otherwise; ErrNotFound if there is
// none). It reports whether the rule was created. Replacing a rule keeps
// its open alerts firing under the new thresholds, unless it was disabled
// or its twin, type or channel changed: then they are cleared.
func (e *Engine) PutRule(ctx context.Context, tenant string, ru Rule, ifMatch uint64) (Rule, bool, error) {
	if ru.ID == "" {
		return Rule{}, false, invalid("id", "required")
	}
	return e.putRule(ctx, tenant, ru, ifMatch, false)
}

func (e *Engine) putRule(ctx context.Context, tenant string, ru Rule, ifMatch uint64, create bool) (Rule, bool, error) {
	if err := ru.Validate(); err != nil {
		return Rule{}, false, err
	}
	ru.normalize()
	if err := e.checkChannel(ctx, tenant, &ru); err != nil {
		return Rule{}, false, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return Rule{}, false, ErrClosed
	}
	ts := e.tenant(tenant)
	if ru.ID == "" {
		for i := len(ts.rules) + 1; ; i++ {
			if id := "rule-" + strconv.Itoa(i); ts.rules[id] == nil {
				ru.ID = id
				break
			}
		}
	}
	old := ts.rules[ru.ID]
	switch {
	case old == nil && len(ts.rules) >= e.cfg.MaxRules:
		return Rule{}, false, invalid("id", "the tenant has %d rules, the most allowed; delete some first", e.cfg.MaxRules)
	case old != nil && create:
		return Rule{}, false, fmt.Errorf("rule %s: %w", ru.ID, ErrExists)
	case old == nil && ifMatch != 0:
		return Rule{}, false, fmt.Errorf("rule %s: %w", ru.ID, ErrNotFound)
	case old != nil && ifMatch != 0 && ifMatch != old.Version:
		return Rule{}, false, fmt.Errorf("rule %s is at version %d, not %d: %w", ru.ID, old.Version, ifMatch, ErrConflict)
	}
	now := e.now()
	ru.Version, ru.Created, ru.Updated = 1, now, now
	action := "created"
	if old != nil {
		ru.Version, ru.Created, action = old.Version+1, old.Created, "replaced"
	}
	if err := e.commit(write{tenant: tenant, rule: &ru}); err != nil {
		return Rule{}, false, fmt.Errorf("persist rule %s: %w", ru.ID, err)
	}
	k := compile(ru)
	ts.rules[ru.ID] = k
	ts.reindex()
	c := ru
	e.changes = append(e.changes, Change{Tenant: tenant, Action: action, Rule: &c})
	if old != nil {
		rescoped := old.Twin != ru.Twin || old.Type != ru.Type || old.Channel != ru.Channel
		e.resetRule(ts, ru.ID, rescoped || ru.Disabled, ByRuleChanged, !sameRate(old.Rate, ru.Rate))
	}
	e.flush()
	return ru, old == nil, nil
}

func sameRate(a, b *Rate) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// resetRule drops the rule's state machines except firing ones; with
// clearAll it also clears the rule's open alerts (cause by).
func (e *Engine) resetRule(ts *tenantState, id string, clearAll bool, by string, resetRate bool) {
	for sk, st := range ts.states {
		if sk.rule != id {
			continue
		}
		if (st.phase == firing || st.phase == clearing) && !clearAll {
			st.phase = firing
			if resetRate {
				st.rate = nil
			}
			continue
		}
		delete(ts.states, sk)
	}
	if clearAll {
		now := e.now()
		for _, key := range slices.Sorted(maps.Keys(ts.open)) {
			if a := ts.open[key]; a.Rule == id {
				e.clear(ts, a, by, now, nil)
			}
		}
	}
}

// DeleteRule deletes a rule and clears its open alerts.
func (e *Engine) DeleteRule(_ context.Context, tenant, id string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return ErrClosed
	}
	ts := e.tenants[tenant]
	if ts == nil || ts.rules[id] == nil {
		return fmt.Errorf("rule %s: %w", clip(id), ErrNotFound)
	}
	if err := e.commit(write{tenant: tenant, delRule: id}); err != nil {
		return fmt.Errorf("delete rule %s: %w", id, err)
	}
	old := ts.rules[id].Rule
	delete(ts.rules, id)
	ts.reindex()
	e.changes = append(e.changes, Change{Tenant: tenant, Action: "deleted", Rule: &old})
	e.resetRule(ts, id, true, ByRuleDeleted, true)
	e.flush()
	return nil
}

// ---- Alerts ----

// GetAlert returns one alert.
func (e *Engine) GetAlert(_ context.Context, tenant, id string) (Alert, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a, err := e.find(tenant, id)
	if err != nil {
		return Alert{}, err
	}
	return a.clone(), nil
}

// find returns the live open alert or a decoded stored one.
func (e *Engine) find(tenant, id string) (*Alert, error) {
	if e.closed {
		return nil, ErrClosed
	}
	n, ok := parseID(id)
	if !ok {
		return nil, fmt.Errorf("alert %s: %w", clip(id), ErrNotFound)
	}
	if ts := e.tenants[tenant]; ts != nil {
		if a := ts.byID[n]; a != nil {
			return a, nil
		}
	}
	return getAlert(e.db, tenant, n)
}

// Ack acknowledges an alert (open or cleared) once; a second
// acknowledgement gives ErrState.
func (e *Engine) Ack(_ context.Context, tenant, id string, act Action) (Alert, error) {
	if err := act.Validate(); err != nil {
		return Alert{}, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	a, err := e.find(tenant, id)
	if err != nil {
		return Alert{}, err
	}
	if a.Ack != nil {
		return Alert{}, fmt.Errorf("alert %s was acknowledged by %s at %s: %w", id, a.Ack.By, a.Ack.At.Format(time.RFC3339), ErrState)
	}
	next := a.clone()
	act.At = e.now()
	next.Ack, next.Updated = &act, act.At
	if next.State == Raised {
		next.State = Acknowledged
	}
	if err := e.commit(write{tenant: tenant, alert: &next}); err != nil {
		return Alert{}, fmt.Errorf("persist alert %s: %w", id, err)
	}
	*a = next.clone() // a is the live alert when open; a throwaway otherwise
	e.stats.acked.Add(1)
	out := next.clone()
	e.publish(Change{Tenant: tenant, Action: "acknowledged", Alert: &out})
	return next, nil
}

// Resolve closes an open alert by hand. A rule's state machine restarts:
// if its condition still holds the rule raises a new alert after its hold
// duration.
func (e *Engine) Resolve(_ context.Context, tenant, id string, act Action) (Alert, error) {
	if err := act.Validate(); err != nil {
		return Alert{}, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	a, err := e.find(tenant, id)
	if err != nil {
		return Alert{}, err
	}
	if !a.State.Open() {
		return Alert{}, fmt.Errorf("alert %s is already cleared: %w", id, ErrState)
	}
	ts := e.tenants[tenant]
	next := a.clone()
	act.At = e.now()
	next.Resolve = &act
	next.State, next.ClearedBy, next.ClearedAt, next.Updated = Cleared, ByHand, act.At, act.At
	if err := e.commit(write{tenant: tenant, alert: &next}); err != nil {
		return Alert{}, fmt.Errorf("persist alert %s: %w", id, err)
	}
	*a = next.clone()
	n, _ := parseID(id)
	delete(ts.open, a.Key)
	delete(ts.byID, n)
	if a.Rule != "" {
		delete(ts.states, stateKey{a.Rule, a.Twin})
	}
	if v, _ := e.stats.cleared.LoadOrStore(ByHand, new(atomic.Uint64)); v != nil {
		v.(*atomic.Uint64).Add(1)
	}
	out := next.clone()
	e.publish(Change{Tenant: tenant, Action: "cleared", Alert: &out})
	return next, nil
}

// ListAlerts returns a page of the tenant's alerts, newest first.
func (e *Engine) ListAlerts(_ context.Context, tenant string, q Query) (Page, error) {
	switch q.State {
	case "", "open", string(Raised), string(Acknowledged), string(Cleared):
	default:
		return Page{}, invalid("state", "%q: want raised, acknowledged, cleared or open", clip(q.State))
	}
	if q.Severity != "" && !q.Severity.valid() {
		return Page{}, invalid("severity", "%q: want info, warning or critical", clip(string(q.Severity)))
	}
	if q.Limit < 0 || q.Limit > 1000 {
		return Page{}, invalid("limit", "must be between 1 and 1000")
	}
	if q.Limit == 0 {
		q.Limit = 100
	}
	before := uint64(0) // exclusive upper bound; 0: none
	if q.Cursor != "" {
		n, ok := parseID(q.Cursor)
		if !ok {
			return Page{}, invalid("cursor", "not a cursor returned by this API")
		}
		before = n
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return Page{}, ErrClosed
	}
	ts := e.tenants[tenant]
	page := Page{Items: []Alert{}}
	if ts == nil {
		return page, nil
	}
	add := func(a *Alert) bool { // false when the page is full
		if !q.match(a) {
			return true
		}
		if len(page.Items) == q.Limit {
			page.Next = page.Items[len(page.Items)-1].ID
			return false
		}
		page.Items = append(page.Items, a.clone())
		return true
	}
	if q.State == "open" || q.State == string(Raised) || q.State == string(Acknowledged) {
		ids := slices.Collect(maps.Keys(ts.byID))
		sort.Slice(ids, func(i, j int) bool { return ids[i] > ids[j] })
		for _, id := range ids {
			if before != 0 && id >= before {
				continue
			}
			if !add(ts.byID[id]) {
				break
			}
		}
		return page, nil
	}
	err := e.db.View(func(tx *bolt.Tx) error {
		tb := tenantBucketRO(tx, tenant)
		if tb == nil {
			return nil
		}
		c := tb.Bucket(bucketAlerts).Cursor()
		var k, v []byte
		if before != 0 {
			k, _ = c.Seek(idKey(before))
			if k == nil {
				k, v = c.Last()
			} else {
				k, v = c.Prev()
			}
		} else {
			k, v = c.Last()
		}
		for ; k != nil; k, v = c.Prev() {
			id := uint64FromKey(k)
			if before != 0 && id >= before {
				continue
			}
			a := ts.byID[id] // the live one (its peak is newer)
			if a == nil {
				a = &Alert{}
				if err := json.Unmarshal(v, a); err != nil {
					return fmt.Errorf("decode alert %d: %w", id, err)
				}
				a.Tenant = tenant
			}
			if !add(a) {
				return nil
			}
		}
		return nil
	})
	return page, err
}

func uint64FromKey(k []byte) uint64 {
	var n uint64
	for _, b := range k {
		n = n<<8 | uint64(b)
	}
	return n
}

func (q *Query) match(a *Alert) bool {
	switch q.State {
	case "":
	case "open":
		if !a.State.Open() {
			return false
		}
	default:
		if string(a.State) != q.State {
			return false
		}
	}
	if q.Severity != "" && a.Severity != q.Severity {
		return false
	}
	if q.Twin != "" && a.Twin != q.Twin || q.Type != "" && a.Type != q.Type || q.Channel != "" && a.Channel != q.Channel {
		return false
	}
	if q.Rule != "" && a.Rule != q.Rule {
		return false
	}
	switch q.Source {
	case "":
	case "rule", "model":
		return strings.HasPrefix(a.Source, q.Source+":")
	default:
		return a.Source == q.Source
	}
	return true
}

// ---- Metrics ----

// WriteMetrics appends the engine's counters in Prometheus text format.
func (e *Engine) WriteMetrics(w io.Writer) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	p("# HELP tsingma_alert_samples_total Samples examined by the rule engine.\n# TYPE tsingma_alert_samples_total counter\ntsingma_alert_samples_total %d\n", e.stats.samples.Load())
	p("# HELP tsingma_alert_rule_evaluations_total Rule evaluations (a sample against a rule in scope).\n# TYPE tsingma_alert_rule_evaluations_total counter\ntsingma_alert_rule_evaluations_total %d\n", e.stats.evals.Load())
	p("# HELP tsingma_alerts_raised_total Alerts raised (or re-raised while open), by kind of source.\n# TYPE tsingma_alerts_raised_total counter\n")
	p("tsingma_alerts_raised_total{source=\"rule\"} %d\ntsingma_alerts_raised_total{source=\"model\"} %d\n", e.stats.raisedRule.Load(), e.stats.raisedModel.Load())
	p("# HELP tsingma_alerts_cleared_total Alerts cleared, by cause.\n# TYPE tsingma_alerts_cleared_total counter\n")
	for _, by := range []string{ByCondition, ByModel, ByHand, ByRuleDeleted, ByRuleChanged} {
		var n uint64
		if v, ok := e.stats.cleared.Load(by); ok {
			n = v.(*atomic.Uint64).Load()
		}
		p("tsingma_alerts_cleared_total{by=%q} %d\n", by, n)
	}
	p("# HELP tsingma_alerts_acknowledged_total Alerts acknowledged.\n# TYPE tsingma_alerts_acknowledged_total counter\ntsingma_alerts_acknowledged_total %d\n", e.stats.acked.Load())
	p("# HELP tsingma_alert_signals_refused_total Model signals refused by the admission hook (governance).\n# TYPE tsingma_alert_signals_refused_total counter\ntsingma_alert_signals_refused_total %d\n", e.stats.refused.Load())
	p("# HELP tsingma_alert_persist_errors_total Failed writes of alert changes.\n# TYPE tsingma_alert_persist_errors_total counter\ntsingma_alert_persist_errors_total %d\n", e.stats.persistErr.Load())
	var dropped uint64
	if e.sub != nil {
		dropped = e.sub.Dropped()
	}
	p("# HELP tsingma_alert_dropped_batches_total Sample batches the rule engine lost to a full bus buffer.\n# TYPE tsingma_alert_dropped_batches_total counter\ntsingma_alert_dropped_batches_total %d\n", dropped)
	e.mu.Lock()
	open := map[Severity]int{}
	rules := 0
	for _, ts := range e.tenants {
		rules += len(ts.rules)
		for _, a := range ts.byID {
			open[a.Severity]++
		}
	}
	e.mu.Unlock()
	p("# HELP tsingma_alerts_open Open alerts, by severity.\n# TYPE tsingma_alerts_open gauge\n")
	for _, s := range []Severity{Info, Warning, Critical} {
		p("tsingma_alerts_open{severity=%q} %d\n", s, open[s])
	}
	p("# HELP tsingma_alert_rules Rules defined.\n# TYPE tsingma_alert_rules gauge\ntsingma_alert_rules %d\n", rules)
}
