package twin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"reflect"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unique"

	"github.com/tidwall/rtree"
	bolt "go.etcd.io/bbolt"

	"github.com/tsingma/tsingma/internal/backup"
)

// DefaultTenant is the tenant used until tenancy is configured.
const DefaultTenant = "default"

// Config configures Open.
type Config struct {
	// Path of the bbolt file; created if missing.
	Path string
	// Logger receives operational messages; nil discards them.
	Logger *slog.Logger
	// OnChange, if set, is called after each committed change, in commit
	// order, from the goroutine that led the commit. It must not block and
	// must not call back into the registry's write methods.
	OnChange func(Event)
	// Now returns the current time; nil means time.Now. For tests.
	Now func() time.Time
	// LockTimeout bounds the wait for the file lock held by another
	// process; 0 means one second.
	LockTimeout time.Duration
}

// EventKind names a change.
type EventKind string

// Event kinds.
const (
	TwinCreated EventKind = "twin.created"
	TwinUpdated EventKind = "twin.updated"
	TwinDeleted EventKind = "twin.deleted"
	TypePut     EventKind = "type.put"
	TypeDeleted EventKind = "type.deleted"
)

// Event describes one committed change. Twin is a copy of the new state
// for twin events other than TwinDeleted; Type likewise for TypePut.
type Event struct {
	Kind     EventKind
	Tenant   string
	ID       string // twin id or type name
	Revision uint64 // twin revision or type version
	Twin     *Twin
	Type     *Type
}

// Registry holds types and twins per tenant, persisted in bbolt and indexed
// in memory. Open it with Open and close it with Close. Safe for
// concurrent use.
type Registry struct {
	db       *bolt.DB
	log      *slog.Logger
	onChange func(Event)
	now      func() time.Time
	builtins []Type

	// mu guards tenants and closed. Only the commit leader writes tenants
	// (under mu.Lock, after the bbolt commit); so the leader may read them
	// without the lock.
	mu       sync.RWMutex
	tenants  map[string]*tenant
	template *tenant // what an unused tenant looks like: builtins, no twins
	closed   bool
	gen      atomic.Uint64 // the changes applied (Generation)

	// group commit: writers queue ops; one leader at a time commits a batch.
	qmu      sync.Mutex
	queue    []*op
	leading  bool
	qclosed  bool
	idle     *sync.Cond
	commits  atomic.Uint64
	ops      atomic.Uint64
	closeMu  sync.Mutex
	closeErr error
	didClose bool
}

type tenant struct {
	name   string
	types  map[string]*typeRec
	twins  map[string]*Twin
	byType map[string]map[string]struct{}
	in     map[string]map[string]struct{} // target id -> ids of twins pointing at it
	tree   rtree.RTreeG[string]

	// sorted holds each type's twin ids in order, made by the first query
	// by type after its members changed (queries hold r.mu.RLock, so they
	// share it under sortMu; apply drops a type's entry under r.mu.Lock).
	sortMu sync.Mutex
	sorted map[string][]string
}

// typeIDs returns the ids of the type's twins ("": of all twins) in
// ascending order. The slice is shared: callers must not change it.
func (t *tenant) typeIDs(typ string) []string {
	t.sortMu.Lock()
	defer t.sortMu.Unlock()
	ids, ok := t.sorted[typ]
	if !ok {
		if typ == "" {
			ids = slices.Collect(maps.Keys(t.twins))
		} else {
			ids = slices.Collect(maps.Keys(t.byType[typ]))
		}
		if len(ids) == 0 {
			return nil // not kept: a query names any type it likes
		}
		slices.Sort(ids)
		t.sorted[typ] = ids
	}
	return ids
}

// unsort forgets a type's sorted ids after its members changed.
func (t *tenant) unsort(typ string) {
	t.sortMu.Lock()
	delete(t.sorted, typ)
	t.sortMu.Unlock()
}

type typeRec struct {
	t        Type
	channels map[string]ChannelInfo
}

func newTypeRec(t Type) *typeRec {
	tr := &typeRec{t: t, channels: make(map[string]ChannelInfo, len(t.Channels))}
	for name, c := range t.Channels {
		tr.channels[name] = c.info(t.Name)
	}
	return tr
}

func newTenant(name string) *tenant {
	return &tenant{
		name:   name,
		types:  map[string]*typeRec{},
		twins:  map[string]*Twin{},
		byType: map[string]map[string]struct{}{},
		in:     map[string]map[string]struct{}{},
		sorted: map[string][]string{},
	}
}

var (
	bucketTenants = []byte("tenants")
	bucketMeta    = []byte("meta")
	bucketTypes   = []byte("types")
	bucketTwins   = []byte("twins")
	keyFormat     = []byte("format")
)

const formatVersion = "1"

// Open opens (creating if needed) the registry file and loads every tenant
// into memory. A file with no tenants gets the built-in types in the
// default tenant; any other tenant gets them on its first write (reads of
// an unused tenant see them already). The caller must Close the registry.
func Open(cfg Config) (*Registry, error) {
	if cfg.Path == "" {
		return nil, errors.New("twin: open: Config.Path is empty")
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	builtins, err := BuiltinTypes()
	if err != nil {
		return nil, err
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	timeout := cfg.LockTimeout
	if timeout <= 0 {
		timeout = time.Second
	}
	db, err := bolt.Open(cfg.Path, 0o600, &bolt.Options{Timeout: timeout})
	if err != nil {
		return nil, fmt.Errorf("twin: open %s: %w", cfg.Path, err)
	}
	r := &Registry{
		db:       db,
		log:      logger.With("component", "twin"),
		onChange: cfg.OnChange,
		now:      func() time.Time { return now().UTC().Round(0) },
		builtins: builtins,
		tenants:  map[string]*tenant{},
	}
	r.idle = sync.NewCond(&r.qmu)
	r.template = newTenant("")
	for _, t := range builtins {
		t.Version = 1
		r.template.types[t.Name] = newTypeRec(t)
	}
	if err := r.load(); err != nil {
		db.Close()
		return nil, fmt.Errorf("twin: load %s: %w", cfg.Path, err)
	}
	if len(r.tenants) == 0 {
		// Seed the default tenant: a write that only creates the tenant.
		if err := r.do(context.Background(), DefaultTenant, func(ts *tenantStage) error { ts.dirty = true; return nil }); err != nil {
			db.Close()
			return nil, fmt.Errorf("twin: seed %s: %w", cfg.Path, err)
		}
	}
	r.log.Info("registry open", "path", cfg.Path, "tenants", len(r.tenants))
	return r, nil
}

func (r *Registry) load() error {
	return r.db.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		if v := meta.Get(keyFormat); v == nil {
			if err := meta.Put(keyFormat, []byte(formatVersion)); err != nil {
				return err
			}
		} else if string(v) != formatVersion {
			return fmt.Errorf("file format %q, this build reads %q", v, formatVersion)
		}
		tb, err := tx.CreateBucketIfNotExists(bucketTenants)
		if err != nil {
			return err
		}
		return tb.ForEachBucket(func(name []byte) error {
			b := tb.Bucket(name)
			t := newTenant(string(name))
			if types := b.Bucket(bucketTypes); types != nil {
				if err := types.ForEach(func(k, v []byte) error {
					var ty Type
					if err := json.Unmarshal(v, &ty); err != nil {
						return fmt.Errorf("tenant %s type %s: %w", name, k, err)
					}
					t.types[ty.Name] = newTypeRec(ty)
					return nil
				}); err != nil {
					return err
				}
			}
			if twins := b.Bucket(bucketTwins); twins != nil {
				if err := twins.ForEach(func(k, v []byte) error {
					dec := json.NewDecoder(bytes.NewReader(v))
					dec.UseNumber()
					var tw Twin
					if err := dec.Decode(&tw); err != nil {
						return fmt.Errorf("tenant %s twin %s: %w", name, k, err)
					}
					tr := t.types[tw.Type]
					if tr == nil {
						return fmt.Errorf("tenant %s twin %s: unknown type %s", name, k, tw.Type)
					}
					props, err := tw.normalize(&tr.t)
					if err != nil {
						return fmt.Errorf("tenant %s twin %s: %w", name, k, err)
					}
					tw.Properties = props
					t.insert(&tw)
					return nil
				}); err != nil {
					return err
				}
			}
			r.tenants[t.name] = t
			return nil
		})
	})
}

// Close waits for writes in progress and closes the file. Idempotent;
// later calls return the first call's result.
func (r *Registry) Close() error {
	r.closeMu.Lock()
	defer r.closeMu.Unlock()
	if r.didClose {
		return r.closeErr
	}
	r.didClose = true
	r.qmu.Lock()
	r.qclosed = true
	for r.leading || len(r.queue) > 0 {
		r.idle.Wait()
	}
	r.qmu.Unlock()
	r.mu.Lock()
	r.closed = true
	r.gen.Add(1)
	r.mu.Unlock()
	r.closeErr = r.db.Close()
	return r.closeErr
}

// ---- in-memory indexes ----

func edges(tw *Twin, f func(target string)) {
	for _, targets := range tw.Relationships {
		for _, id := range targets {
			f(id)
		}
	}
}

func (t *tenant) insert(tw *Twin) {
	// The canonical copy of the id (unique) as the key: the telemetry
	// decoders hand out the same one, so TwinChannels' lookups compare
	// pointers rather than reading both strings.
	t.twins[unique.Make(tw.ID).Value()] = tw
	set := t.byType[tw.Type]
	if set == nil {
		set = map[string]struct{}{}
		t.byType[tw.Type] = set
	}
	set[tw.ID] = struct{}{}
	edges(tw, func(target string) {
		s := t.in[target]
		if s == nil {
			s = map[string]struct{}{}
			t.in[target] = s
		}
		s[tw.ID] = struct{}{}
	})
	if tw.Geometry != nil {
		b := tw.Geometry.Bounds()
		t.tree.Insert(b.Min, b.Max, tw.ID)
	}
}

func (t *tenant) remove(tw *Twin) {
	delete(t.twins, tw.ID)
	if set := t.byType[tw.Type]; set != nil {
		delete(set, tw.ID)
		if len(set) == 0 {
			delete(t.byType, tw.Type)
		}
	}
	edges(tw, func(target string) {
		if s := t.in[target]; s != nil {
			delete(s, tw.ID)
			if len(s) == 0 {
				delete(t.in, target)
			}
		}
	})
	if tw.Geometry != nil {
		b := tw.Geometry.Bounds()
		t.tree.Delete(b.Min, b.Max, tw.ID)
	}
}

// ---- group commit ----

// op is one write request. fn validates against the stage and stages its
// changes only when valid (an op's changes are all or nothing).
type op struct {
	tenant    string
	fn        func(ts *tenantStage) error
	err       error     // from fn
	commitErr error     // the bbolt commit failed
	wake      chan bool // true: become leader; false: done
}

// do runs fn in the next commit batch and waits until that batch is
// committed (fsync) and applied. Writers that arrive while a batch commits
// queue up and share the next transaction (group commit); the first of
// them is woken to lead it. The context is checked before queueing only:
// a queued write completes.
func (r *Registry) do(ctx context.Context, tenantName string, fn func(*tenantStage) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := ValidID(tenantName); err != nil {
		return invalid("tenant", "%v", err)
	}
	o := &op{tenant: tenantName, fn: fn, wake: make(chan bool, 1)}
	r.qmu.Lock()
	if r.qclosed {
		r.qmu.Unlock()
		return ErrClosed
	}
	r.queue = append(r.queue, o)
	if r.leading {
		r.qmu.Unlock()
		if lead := <-o.wake; !lead {
			return o.result()
		}
	} else {
		r.leading = true
		r.qmu.Unlock()
	}
	// Leader: commit everything queued so far (o included).
	r.qmu.Lock()
	batch := r.queue
	r.queue = nil
	r.qmu.Unlock()
	// The handoff is deferred so that a panicking OnChange cannot leave
	// the queue without a leader.
	defer r.handoff(batch, o)
	r.commit(batch)
	return o.result()
}

// handoff wakes the batch's other writers and makes the first queued
// writer the next leader (or marks the registry idle).
func (r *Registry) handoff(batch []*op, leader *op) {
	for _, b := range batch {
		if b != leader {
			b.wake <- false
		}
	}
	r.qmu.Lock()
	if len(r.queue) > 0 {
		r.queue[0].wake <- true
	} else {
		r.leading = false
		r.idle.Broadcast()
	}
	r.qmu.Unlock()
}

// runOp runs one op's validation and staging; a panic (a bug) is reported
// as an error rather than leaving a half-staged batch.
func (r *Registry) runOp(s *stage, o *op) (panicked bool) {
	defer func() {
		if p := recover(); p != nil {
			o.err = fmt.Errorf("twin: internal error: %v", p)
			r.log.Error("write panicked", "err", o.err, "stack", string(debug.Stack()))
			panicked = true
		}
	}()
	o.err = o.fn(s.tenant(o.tenant))
	return false
}

func (o *op) result() error {
	if o.commitErr != nil {
		return o.commitErr
	}
	return o.err
}

// commit validates and stages every op of the batch, writes the staged
// changes in one bbolt transaction (fsync on commit), then applies them to
// memory and publishes events.
func (r *Registry) commit(batch []*op) {
	s := &stage{r: r, tenants: map[string]*tenantStage{}, now: r.now()}
	for _, o := range batch {
		if r.runOp(s, o) {
			// The op may have staged part of its changes: drop the batch.
			for _, b := range batch {
				b.commitErr = o.err
			}
			return
		}
	}
	if s.empty() {
		return
	}
	r.commits.Add(1)
	r.ops.Add(uint64(len(batch)))
	if err := r.db.Update(s.write); err != nil {
		err = fmt.Errorf("twin: commit: %w", err)
		r.log.Error("commit failed", "err", err, "ops", len(batch))
		for _, o := range batch {
			o.commitErr = err
		}
		return
	}
	r.mu.Lock()
	s.apply()
	r.gen.Add(1)
	r.mu.Unlock()
	if r.onChange != nil {
		for _, e := range s.events {
			r.onChange(e)
		}
	}
}

// stage collects the changes of one batch over the committed state.
type stage struct {
	r       *Registry
	tenants map[string]*tenantStage
	order   []string
	now     time.Time
	events  []Event
}

type tenantStage struct {
	s      *stage
	name   string
	base   *tenant             // committed state; nil for a new tenant
	seed   bool                // new tenant: write the built-in types
	dirty  bool                // something was staged (a rejected write leaves it false)
	types  map[string]*typeRec // nil value: deleted
	twins  map[string]*Twin    // nil value: deleted
	in     map[string]map[string]bool
	torder []string // staged twin ids in first-staged order
}

func (s *stage) tenant(name string) *tenantStage {
	if ts := s.tenants[name]; ts != nil {
		return ts
	}
	ts := &tenantStage{s: s, name: name, base: s.r.tenants[name], types: map[string]*typeRec{}, twins: map[string]*Twin{}, in: map[string]map[string]bool{}}
	if ts.base == nil {
		ts.seed = true
		for _, t := range s.r.builtins {
			t.Version = 1
			t.Created, t.Updated = s.now, s.now
			ts.types[t.Name] = newTypeRec(t)
		}
	}
	s.tenants[name] = ts
	s.order = append(s.order, name)
	return ts
}

func (s *stage) empty() bool {
	for _, ts := range s.tenants {
		if ts.dirty {
			return false
		}
	}
	return true
}

func (ts *tenantStage) getType(name string) *typeRec {
	if tr, ok := ts.types[name]; ok {
		return tr
	}
	if ts.base != nil {
		return ts.base.types[name]
	}
	return nil
}

func (ts *tenantStage) getTwin(id string) *Twin {
	if tw, ok := ts.twins[id]; ok {
		return tw
	}
	if ts.base != nil {
		return ts.base.twins[id]
	}
	return nil
}

// referrers returns the sorted ids of the twins pointing at id.
func (ts *tenantStage) referrers(id string) []string {
	set := map[string]bool{}
	if ts.base != nil {
		for src := range ts.base.in[id] {
			set[src] = true
		}
	}
	for src, present := range ts.in[id] {
		set[src] = present
	}
	var out []string
	for src, present := range set {
		if present {
			out = append(out, src)
		}
	}
	slices.Sort(out)
	return out
}

// twinsOfType returns the sorted ids of the twins of the named type.
func (ts *tenantStage) twinsOfType(name string) []string {
	var out []string
	if ts.base != nil {
		for id := range ts.base.byType[name] {
			if _, staged := ts.twins[id]; !staged {
				out = append(out, id)
			}
		}
	}
	for id, tw := range ts.twins {
		if tw != nil && tw.Type == name {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

func (ts *tenantStage) typeNames() []string {
	set := map[string]bool{}
	if ts.base != nil {
		for n := range ts.base.types {
			set[n] = true
		}
	}
	for n, tr := range ts.types {
		set[n] = tr != nil
	}
	var out []string
	for n, ok := range set {
		if ok {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// stageTwin records the new state of twin id (nil: deleted).
func (ts *tenantStage) stageTwin(id string, tw *Twin, ev EventKind) {
	old := ts.getTwin(id)
	if old != nil {
		edges(old, func(target string) { ts.setEdge(target, id, false) })
	}
	if tw != nil {
		edges(tw, func(target string) { ts.setEdge(target, id, true) })
	}
	if _, ok := ts.twins[id]; !ok {
		ts.torder = append(ts.torder, id)
	}
	ts.twins[id] = tw
	ts.dirty = true
	if ev == "" || ts.s.r.onChange == nil {
		return
	}
	e := Event{Kind: ev, Tenant: ts.name, ID: id}
	if tw != nil {
		c := tw.clone()
		e.Twin = &c
		e.Revision = tw.Revision
	} else if old != nil {
		e.Revision = old.Revision
	}
	ts.s.events = append(ts.s.events, e)
}

func (ts *tenantStage) setEdge(target, src string, present bool) {
	m := ts.in[target]
	if m == nil {
		m = map[string]bool{}
		ts.in[target] = m
	}
	m[src] = present
}

func (ts *tenantStage) stageType(name string, tr *typeRec) {
	ts.types[name] = tr
	ts.dirty = true
	if ts.s.r.onChange == nil {
		return
	}
	e := Event{Kind: TypeDeleted, Tenant: ts.name, ID: name}
	if tr != nil {
		c := tr.t.clone()
		e.Kind, e.Type, e.Revision = TypePut, &c, tr.t.Version
	}
	ts.s.events = append(ts.s.events, e)
}

// write stores the staged changes in tx.
func (s *stage) write(tx *bolt.Tx) error {
	root := tx.Bucket(bucketTenants)
	for _, name := range s.order {
		ts := s.tenants[name]
		if !ts.dirty {
			continue
		}
		tb, err := root.CreateBucketIfNotExists([]byte(name))
		if err != nil {
			return fmt.Errorf("tenant %s: %w", name, err)
		}
		types, err := tb.CreateBucketIfNotExists(bucketTypes)
		if err != nil {
			return err
		}
		twins, err := tb.CreateBucketIfNotExists(bucketTwins)
		if err != nil {
			return err
		}
		for _, n := range slices.Sorted(maps.Keys(ts.types)) {
			tr := ts.types[n]
			if tr == nil {
				if err := types.Delete([]byte(n)); err != nil {
					return err
				}
				continue
			}
			data, err := json.Marshal(&tr.t)
			if err != nil {
				return fmt.Errorf("encode type %s: %w", n, err)
			}
			if err := types.Put([]byte(n), data); err != nil {
				return err
			}
		}
		for _, id := range ts.torder {
			tw := ts.twins[id]
			if tw == nil {
				if err := twins.Delete([]byte(id)); err != nil {
					return err
				}
				continue
			}
			data, err := json.Marshal(tw)
			if err != nil {
				return fmt.Errorf("encode twin %s: %w", id, err)
			}
			if err := twins.Put([]byte(id), data); err != nil {
				return err
			}
		}
	}
	return nil
}

// apply installs the committed changes in memory; r.mu is held.
func (s *stage) apply() {
	for _, name := range s.order {
		ts := s.tenants[name]
		if !ts.dirty {
			continue
		}
		t := s.r.tenants[name]
		if t == nil {
			t = newTenant(name)
			s.r.tenants[name] = t
		}
		for n, tr := range ts.types {
			if tr == nil {
				delete(t.types, n)
			} else {
				t.types[n] = tr
			}
		}
		for _, id := range ts.torder {
			old, tw := t.twins[id], ts.twins[id]
			if old != nil {
				t.remove(old)
			}
			if tw != nil {
				t.insert(tw)
			}
			// A type's sorted ids change only when a twin joins or leaves
			// it, not when one is updated in place.
			if old == nil || tw == nil {
				t.unsort("")
			}
			if old == nil || tw == nil || old.Type != tw.Type {
				if old != nil {
					t.unsort(old.Type)
				}
				if tw != nil {
					t.unsort(tw.Type)
				}
			}
		}
	}
}

// ---- write operations ----

// PutType creates or replaces a type. The stored version is 1 on create
// and +1 on each change; a PUT of an identical definition changes nothing
// and returns the stored type. Relationship targets must be existing types
// (or the type itself). A change that would make existing twins invalid is
// refused with *IncompatibleTypeError listing them.
func (r *Registry) PutType(ctx context.Context, tenantName string, t Type) (Type, error) {
	if err := t.Validate(); err != nil {
		return Type{}, err
	}
	t = t.clone()
	var out Type
	err := r.do(ctx, tenantName, func(ts *tenantStage) error {
		for _, name := range slices.Sorted(maps.Keys(t.Relationships)) {
			target := t.Relationships[name].Target
			if target != t.Name && ts.getType(target) == nil {
				return invalid("relationships."+name+".target", "no type %q in tenant %s", target, tenantName)
			}
		}
		old := ts.getType(t.Name)
		if old != nil && sameDefinition(&old.t, &t) {
			out = old.t.clone()
			return nil
		}
		nt := t
		nt.Version, nt.Created, nt.Updated = 1, ts.s.now, ts.s.now
		if old != nil {
			nt.Version, nt.Created = old.t.Version+1, old.t.Created
		}
		// Every twin of the type must stay valid; renormalised properties
		// (e.g. number -> integer) are rewritten without a revision bump.
		incompat := &IncompatibleTypeError{Type: t.Name}
		var rewrite []*Twin
		for _, id := range ts.twinsOfType(t.Name) {
			tw := ts.getTwin(id)
			props, err := tw.normalize(&nt)
			if err == nil {
				err = ts.checkTargets(tw, &nt)
			}
			if err != nil {
				incompat.Twins = append(incompat.Twins, id)
				incompat.Reasons = append(incompat.Reasons, err.Error())
				continue
			}
			if !reflect.DeepEqual(props, tw.Properties) {
				c := *tw
				c.Properties = props
				rewrite = append(rewrite, &c)
			}
		}
		if len(incompat.Twins) > 0 {
			return incompat
		}
		ts.stageType(t.Name, newTypeRec(nt))
		for _, tw := range rewrite {
			ts.stageTwin(tw.ID, tw, "")
		}
		out = nt.clone()
		return nil
	})
	if err != nil {
		return Type{}, fmt.Errorf("put type %s: %w", t.Name, err)
	}
	return out, nil
}

// DeleteType deletes a type. It is refused with *ReferencedError while
// twins use it or other types' relationships target it.
func (r *Registry) DeleteType(ctx context.Context, tenantName, name string) error {
	err := r.do(ctx, tenantName, func(ts *tenantStage) error {
		if ts.getType(name) == nil {
			return ErrNotFound
		}
		refErr := &ReferencedError{By: ts.twinsOfType(name)}
		for _, other := range ts.typeNames() {
			if other == name {
				continue
			}
			for _, rel := range ts.getType(other).t.Relationships {
				if rel.Target == name {
					refErr.Types = append(refErr.Types, other)
					break
				}
			}
		}
		if len(refErr.By) > 0 || len(refErr.Types) > 0 {
			return refErr
		}
		ts.stageType(name, nil)
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete type %s: %w", name, err)
	}
	return nil
}

// checkTargets checks tw's relationships against type t: every target
// exists in the tenant and has the relationship's target type.
func (ts *tenantStage) checkTargets(tw *Twin, t *Type) error {
	for _, name := range slices.Sorted(maps.Keys(tw.Relationships)) {
		rel, ok := t.Relationships[name]
		if !ok {
			return invalid("relationships."+name, "type %s has no such relationship", t.Name)
		}
		for i, id := range tw.Relationships[name] {
			target := ts.getTwin(id)
			f := fmt.Sprintf("relationships.%s[%d]", name, i)
			if target == nil {
				return invalid(f, "no twin %q in tenant %s", id, ts.name)
			}
			if target.Type != rel.Target {
				return invalid(f, "twin %q is a %s, relationship %s wants a %s", id, target.Type, name, rel.Target)
			}
		}
	}
	return nil
}

const (
	modeCreate = iota
	modePut
)

// putTwin validates tw against the staged state and stages it.
func (ts *tenantStage) putTwin(tw *Twin, ifMatch uint64, mode int) (*Twin, bool, error) {
	tr := ts.getType(tw.Type)
	if tr == nil {
		if err := tw.validateShape(); err != nil {
			return nil, false, err
		}
		return nil, false, invalid("type", "no type %q in tenant %s", tw.Type, ts.name)
	}
	props, err := tw.normalize(&tr.t)
	if err != nil {
		return nil, false, err
	}
	if err := ts.checkTargets(tw, &tr.t); err != nil {
		return nil, false, err
	}
	old := ts.getTwin(tw.ID)
	if old != nil && mode == modeCreate {
		return nil, false, fmt.Errorf("twin %s: %w", tw.ID, ErrExists)
	}
	if ifMatch != 0 {
		if old == nil {
			return nil, false, fmt.Errorf("twin %s does not exist, If-Match %d: %w", tw.ID, ifMatch, ErrConflict)
		}
		if old.Revision != ifMatch {
			return nil, false, fmt.Errorf("twin %s is at revision %d, If-Match %d: %w", tw.ID, old.Revision, ifMatch, ErrConflict)
		}
	}
	if old != nil && old.Type != tw.Type {
		// Twins pointing at this one expect its old type.
		for _, src := range ts.referrers(tw.ID) {
			s := ts.getTwin(src)
			for name, targets := range s.Relationships {
				if slices.Contains(targets, tw.ID) {
					if want := ts.getType(s.Type).t.Relationships[name].Target; want != tw.Type {
						return nil, false, invalid("type", "twin %s points at %s through %s, which needs a %s", src, tw.ID, name, want)
					}
				}
			}
		}
	}
	now := ts.s.now
	nt := &Twin{
		ID: tw.ID, Type: tw.Type, Name: tw.Name, Properties: props,
		Geometry: tw.Geometry.clone(), Created: now, Updated: now, Revision: 1,
	}
	for name, targets := range tw.Relationships {
		if len(targets) == 0 {
			continue
		}
		if nt.Relationships == nil {
			nt.Relationships = map[string][]string{}
		}
		nt.Relationships[name] = slices.Clone(targets)
	}
	if len(tw.Labels) > 0 {
		nt.Labels = maps.Clone(tw.Labels)
	}
	ev := TwinCreated
	if old != nil {
		nt.Created, nt.Revision, ev = old.Created, old.Revision+1, TwinUpdated
	}
	ts.stageTwin(nt.ID, nt, ev)
	return nt, old == nil, nil
}

// Create stores a new twin; ErrExists if the id is taken.
func (r *Registry) Create(ctx context.Context, tenantName string, tw Twin) (Twin, error) {
	var out Twin
	err := r.do(ctx, tenantName, func(ts *tenantStage) error {
		nt, _, err := ts.putTwin(&tw, 0, modeCreate)
		if err == nil {
			out = nt.clone()
		}
		return err
	})
	if err != nil {
		return Twin{}, fmt.Errorf("create twin %s: %w", tw.ID, err)
	}
	return out, nil
}

// Put creates or replaces a twin. ifMatch 0 is unconditional; otherwise
// the stored revision must equal it (ErrConflict, also when the twin does
// not exist). created reports a new twin.
func (r *Registry) Put(ctx context.Context, tenantName string, tw Twin, ifMatch uint64) (Twin, bool, error) {
	var out Twin
	var created bool
	err := r.do(ctx, tenantName, func(ts *tenantStage) error {
		nt, c, err := ts.putTwin(&tw, ifMatch, modePut)
		if err == nil {
			out, created = nt.clone(), c
		}
		return err
	})
	if err != nil {
		return Twin{}, false, fmt.Errorf("put twin %s: %w", tw.ID, err)
	}
	return out, created, nil
}

// MaxBulk bounds the twins of one BulkUpsert call.
const MaxBulk = 10000

// BulkUpsert creates or replaces many twins in one transaction (one fsync).
// Each twin is validated and applied on its own, in order (a twin may point
// at one created earlier in the same call); errs[i] is nil when tws[i] was
// stored. If the commit itself fails, every stored item reports that error.
func (r *Registry) BulkUpsert(ctx context.Context, tenantName string, tws []Twin) []error {
	errs := make([]error, len(tws))
	if len(tws) > MaxBulk {
		for i := range errs {
			errs[i] = invalid("", "more than %d twins in one call", MaxBulk)
		}
		return errs
	}
	err := r.do(ctx, tenantName, func(ts *tenantStage) error {
		for i := range tws {
			if _, _, err := ts.putTwin(&tws[i], 0, modePut); err != nil {
				errs[i] = fmt.Errorf("twin %s: %w", tws[i].ID, err)
			}
		}
		return nil
	})
	if err != nil {
		for i := range errs {
			if errs[i] == nil {
				errs[i] = err
			}
		}
	}
	return errs
}

// Patch applies an RFC 7396 JSON merge patch to the twin's document
// (id, created, updated and revision cannot be changed) and stores the
// result like Put.
func (r *Registry) Patch(ctx context.Context, tenantName, id string, mergePatch []byte, ifMatch uint64) (Twin, error) {
	if len(mergePatch) > MaxTwinBytes {
		return Twin{}, fmt.Errorf("patch twin %s: %w", id, invalid("patch", "larger than %d bytes", MaxTwinBytes))
	}
	var patch any
	dec := json.NewDecoder(bytes.NewReader(mergePatch))
	dec.UseNumber()
	if err := dec.Decode(&patch); err != nil {
		return Twin{}, fmt.Errorf("patch twin %s: %w", id, invalid("patch", "%v", err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return Twin{}, fmt.Errorf("patch twin %s: %w", id, invalid("patch", "trailing data after the JSON document"))
	}
	if _, ok := patch.(map[string]any); !ok {
		return Twin{}, fmt.Errorf("patch twin %s: %w", id, invalid("patch", "a twin merge patch must be a JSON object"))
	}
	var out Twin
	err := r.do(ctx, tenantName, func(ts *tenantStage) error {
		old := ts.getTwin(id)
		if old == nil {
			return ErrNotFound
		}
		doc, err := json.Marshal(old)
		if err != nil {
			return err
		}
		var cur any
		d := json.NewDecoder(bytes.NewReader(doc))
		d.UseNumber()
		if err := d.Decode(&cur); err != nil {
			return err
		}
		merged := mergePatchApply(cur, patch)
		m, _ := merged.(map[string]any)
		if m["id"] != id {
			return invalid("id", "cannot be changed by a patch")
		}
		delete(m, "created")
		delete(m, "updated")
		delete(m, "revision")
		data, err := json.Marshal(m)
		if err != nil {
			return invalid("patch", "%v", err)
		}
		tw, err := DecodeTwin(bytes.NewReader(data))
		if err != nil {
			return err
		}
		nt, _, err := ts.putTwin(&tw, ifMatch, modePut)
		if err == nil {
			out = nt.clone()
		}
		return err
	})
	if err != nil {
		return Twin{}, fmt.Errorf("patch twin %s: %w", id, err)
	}
	return out, nil
}

// mergePatchApply implements RFC 7396 section 2.
func mergePatchApply(target, patch any) any {
	p, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	t, ok := target.(map[string]any)
	if !ok {
		t = map[string]any{}
	}
	for k, v := range p {
		if v == nil {
			delete(t, k)
			continue
		}
		t[k] = mergePatchApply(t[k], v)
	}
	return t
}

// Delete deletes a twin. While other twins point at it, it is refused with
// *ReferencedError, unless cascade: then the references are removed from
// the referring twins (each gets a new revision); the referring twins
// themselves are kept. All in one transaction.
func (r *Registry) Delete(ctx context.Context, tenantName, id string, cascade bool, ifMatch uint64) error {
	err := r.do(ctx, tenantName, func(ts *tenantStage) error {
		old := ts.getTwin(id)
		if old == nil {
			return ErrNotFound
		}
		if ifMatch != 0 && old.Revision != ifMatch {
			return fmt.Errorf("twin %s is at revision %d, If-Match %d: %w", id, old.Revision, ifMatch, ErrConflict)
		}
		refs := ts.referrers(id)
		if len(refs) > 0 && !cascade {
			return &ReferencedError{By: refs}
		}
		for _, src := range refs {
			s := ts.getTwin(src)
			c := s.clone()
			for name, targets := range c.Relationships {
				targets = slices.DeleteFunc(targets, func(t string) bool { return t == id })
				if len(targets) == 0 {
					delete(c.Relationships, name)
				} else {
					c.Relationships[name] = targets
				}
			}
			if len(c.Relationships) == 0 {
				c.Relationships = nil
			}
			c.Revision++
			c.Updated = ts.s.now
			ts.stageTwin(src, &c, TwinUpdated)
		}
		ts.stageTwin(id, nil, TwinDeleted)
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete twin %s: %w", id, err)
	}
	return nil
}

// Stats counts write transactions: Ops write calls were committed in
// Commits bbolt transactions (Ops/Commits > 1 means group commit shared
// fsyncs).
type Stats struct {
	Commits, Ops uint64
}

// Stats returns the write counters since Open.
func (r *Registry) Stats() Stats {
	return Stats{Commits: r.commits.Load(), Ops: r.ops.Load()}
}

// ---- reads ----

// view returns the tenant's committed state (the builtin template for an
// unused tenant); r.mu must be held.
func (r *Registry) view(tenantName string) (*tenant, error) {
	if r.closed {
		return nil, ErrClosed
	}
	if t := r.tenants[tenantName]; t != nil {
		return t, nil
	}
	return r.template, nil
}

// GetType returns a type; ErrNotFound if the tenant has none by that name.
func (r *Registry) GetType(ctx context.Context, tenantName, name string) (Type, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	t, err := r.view(tenantName)
	if err != nil {
		return Type{}, err
	}
	tr := t.types[name]
	if tr == nil {
		return Type{}, fmt.Errorf("type %s: %w", name, ErrNotFound)
	}
	return tr.t.clone(), nil
}

// ListTypes returns the tenant's types sorted by name.
func (r *Registry) ListTypes(ctx context.Context, tenantName string) []Type {
	r.mu.RLock()
	defer r.mu.RUnlock()
	t, err := r.view(tenantName)
	if err != nil {
		return nil
	}
	out := make([]Type, 0, len(t.types))
	for _, name := range slices.Sorted(maps.Keys(t.types)) {
		out = append(out, t.types[name].t.clone())
	}
	return out
}

// Get returns a twin; ErrNotFound if the tenant has none by that id.
func (r *Registry) Get(ctx context.Context, tenantName, id string) (Twin, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	t, err := r.view(tenantName)
	if err != nil {
		return Twin{}, err
	}
	tw := t.twins[id]
	if tw == nil {
		return Twin{}, fmt.Errorf("twin %s: %w", id, ErrNotFound)
	}
	return tw.clone(), nil
}

// Channel returns what telemetry validation needs about a channel of a
// twin: ErrNotFound if the tenant has no such twin, ErrUnknownChannel if
// its type has no such channel. It does not allocate (errors are the bare
// sentinels).
func (r *Registry) Channel(tenantName, twinID, channel string) (ChannelInfo, error) {
	chs, err := r.TwinChannels(tenantName, twinID)
	if err != nil {
		return ChannelInfo{}, err
	}
	ci, ok := chs[channel]
	if !ok {
		return ChannelInfo{}, ErrUnknownChannel
	}
	return ci, nil
}

// Generation counts the registry's changes: it grows with every committed
// change of a type or twin (and at Close), so that what a caller derived
// from the registry (a twin's channel table) is still true while it is the
// same.
func (r *Registry) Generation() uint64 { return r.gen.Load() }

// TwinChannels returns the channel table of the twin's type, so that a
// run of samples of one twin costs one lookup. The map is shared and
// never modified (a type change builds a new one): callers only read it.
func (r *Registry) TwinChannels(tenantName, twinID string) (map[string]ChannelInfo, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.closed {
		return nil, ErrClosed
	}
	t := r.tenants[tenantName]
	if t == nil {
		return nil, ErrNotFound
	}
	tw := t.twins[twinID]
	if tw == nil {
		return nil, ErrNotFound
	}
	return t.types[tw.Type].channels, nil
}

// Count returns the number of twins in the tenant.
func (r *Registry) Count(tenantName string) int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if t := r.tenants[tenantName]; t != nil && !r.closed {
		return len(t.twins)
	}
	return 0
}

// Tenants returns the names of the tenants that have been written to.
func (r *Registry) Tenants() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return slices.Sorted(maps.Keys(r.tenants))
}

// Backup adds the database under name to sink, as of one read transaction
// (writes go on meanwhile).
func (r *Registry) Backup(sink backup.Sink, name string) error { return backup.Bolt(sink, name, r.db) }
