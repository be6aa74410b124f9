// Package govern is tsingma's AI governance: a registry of AI systems and
// their model versions with aliases (champion, challenger, shadow) that
// move only through recorded transitions; the Ethical AI Framework's
// principles as a versioned catalogue; risk gating; AI Application Impact
// Assessments with evidence drawn from the platform's own measurements
// and a preparer/reviewer/approver sign-off; the promotion gate and
// rollback; shadow trials on the live stream; deterministic, point-in-time
// replay backtests; and champion-challenger reports with paired bootstrap
// confidence intervals. Every change is appended to the audit log.
package govern

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/tsingma/tsingma/internal/alert"
	"github.com/tsingma/tsingma/internal/audit"
	"github.com/tsingma/tsingma/internal/auth"
	"github.com/tsingma/tsingma/internal/backup"
	"github.com/tsingma/tsingma/internal/telemetry"
)

// Errors. Handlers map them to problems; RefusedError carries reasons.
var (
	ErrNotFound = errors.New("not found")
	ErrExists   = errors.New("already exists")
	ErrInvalid  = errors.New("invalid")
	// ErrState: the object's state does not allow this (answers after
	// the preparer signed, a sign-off out of order).
	ErrState = errors.New("not allowed in the current state")
	// ErrForbidden: the principal may not take this step (wrong role, or
	// the preparer approving their own assessment).
	ErrForbidden = errors.New("not allowed for this principal")
	// ErrRefused: the promotion gate refused (see RefusedError).
	ErrRefused = errors.New("promotion refused")
	// ErrLookAhead: a model read samples later than the one it scored.
	ErrLookAhead = errors.New("model read the future")
	ErrLocked    = errors.New("the governance database is open in another process (stop the server or use the API)")
)

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// RefusedError is a promotion refusal with every reason that applied.
type RefusedError struct {
	System, Version string
	Reasons         []string
	AuditSeq        uint64
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("promotion of %s %s refused: %s", e.System, e.Version, strings.Join(e.Reasons, "; "))
}

// Is makes a RefusedError match ErrRefused.
func (e *RefusedError) Is(target error) bool { return target == ErrRefused }

// Oversight modes.
const (
	InTheLoop    = "human-in-the-loop"
	OnTheLoop    = "human-on-the-loop"
	OutOfTheLoop = "human-out-of-the-loop"
)

// Aliases.
const (
	Champion   = "champion"
	Challenger = "challenger"
	ShadowAl   = "shadow"
)

// System is a registered AI system.
type System struct {
	ID            string            `json:"id"`
	Name          string            `json:"name"`
	Purpose       string            `json:"purpose"`
	Owner         string            `json:"owner"`
	Oversight     string            `json:"oversight"`
	Stage         string            `json:"stage"`
	Vendor        string            `json:"vendor,omitempty"`
	PersonalData  bool              `json:"personal_data"`
	Questionnaire Questionnaire     `json:"questionnaire"`
	Gate          Gate              `json:"gate"`
	Versions      []ModelVersion    `json:"versions"`
	Aliases       map[string]string `json:"aliases"`
	Transitions   []Transition      `json:"transitions"`
	Incidents     []Incident        `json:"incidents,omitempty"`
	Created       time.Time         `json:"created"`
	CreatedBy     string            `json:"created_by"`
}

// Channel is a model input.
type Channel struct {
	Name string `json:"name"`
	Unit string `json:"unit,omitempty"`
}

// ModelVersion is one version of a system's model.
type ModelVersion struct {
	Version string `json:"version"`
	// Family names how tsingma can run it ("anomaly" for the built-in
	// detector family, configured by Config); "" for a model tsingma only
	// records and cannot replay.
	Family       string             `json:"family,omitempty"`
	Config       json.RawMessage    `json:"config,omitempty"`
	ConfigHash   string             `json:"config_hash"`   // SHA-256 of Config, computed here
	ArtefactHash string             `json:"artefact_hash"` // SHA-256 of the artefact, given
	Lineage      string             `json:"lineage,omitempty"`
	Inputs       []Channel          `json:"inputs,omitempty"`
	Outputs      []string           `json:"outputs,omitempty"`
	Metrics      map[string]float64 `json:"metrics,omitempty"`
	CreatedBy    string             `json:"created_by"`
	Created      time.Time          `json:"created"`
	AuditSeq     uint64             `json:"audit_seq"`
}

// Transition is one recorded alias move.
type Transition struct {
	Alias    string    `json:"alias"`
	From     string    `json:"from,omitempty"`
	To       string    `json:"to,omitempty"`
	By       string    `json:"by"`
	Reason   string    `json:"reason"`
	At       time.Time `json:"at"`
	AuditSeq uint64    `json:"audit_seq"`
}

// Incident is a material change that sends assessments back.
type Incident struct {
	Kind     string    `json:"kind"` // incident, drift, change
	Detail   string    `json:"detail"`
	By       string    `json:"by"`
	At       time.Time `json:"at"`
	AuditSeq uint64    `json:"audit_seq"`
}

// AuditLog is what the registry needs of the audit log.
type AuditLog interface {
	Append(ctx context.Context, ev audit.Event) (audit.Entry, error)
	Prove(seq uint64) (audit.Proof, error)
}

// Config configures Open.
type Config struct {
	Path  string   // bbolt file; required
	Audit AuditLog // required unless ReadOnly
	// ReadOnly opens the database for reading only (tsingma governance
	// check while the server is stopped); every change fails.
	ReadOnly  bool
	Catalogue *Catalogue
	// StrictAdmit refuses alerts from model versions that are not
	// registered at all (registered non-champions are always refused).
	StrictAdmit bool
	// Families adds model families tsingma can replay and shadow (the
	// built-in "anomaly" family is always there).
	Families map[string]Factory
	Logger   *slog.Logger
	Now      func() time.Time
}

// Registry is the governance store. Safe for concurrent use; Close it.
type Registry struct {
	cfg Config
	cat *Catalogue
	log *slog.Logger
	db  *bolt.DB
	mu  sync.Mutex // serialises read-modify-write of documents

	families map[string]Factory
	// admitCache: tenant\x00system → *admitEntry, cleared after every
	// write. Fills and clears hold cacheMu, so a fill that read the old
	// state is always cleared by the write that changed it.
	admitCache sync.Map
	cacheMu    sync.Mutex

	admitted, refused, unregistered atomic.Uint64
}

var (
	bSystems     = []byte("systems")
	bAssessments = []byte("assessments")
	bEvaluations = []byte("evaluations")
	bDocuments   = []byte("documents")
)

// Open opens or creates the registry.
func Open(cfg Config) (*Registry, error) {
	if cfg.Path == "" || (cfg.Audit == nil && !cfg.ReadOnly) {
		return nil, errors.New("govern: Config needs Path and Audit")
	}
	if cfg.Catalogue == nil {
		cfg.Catalogue = DefaultCatalogue()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ReadOnly {
		if _, err := os.Stat(cfg.Path); err != nil {
			return nil, fmt.Errorf("open governance database: %w", err)
		}
	}
	db, err := bolt.Open(cfg.Path, 0o600, &bolt.Options{Timeout: time.Second, ReadOnly: cfg.ReadOnly})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("open %s: %w", cfg.Path, ErrLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("open governance database %s: %w", cfg.Path, err)
	}
	init := db.Update
	if cfg.ReadOnly {
		init = func(func(*bolt.Tx) error) error { return nil }
	}
	err = init(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bSystems, bAssessments, bEvaluations, bDocuments} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	fams := map[string]Factory{FamilyAnomaly: newAnomalyModel}
	for k, f := range cfg.Families {
		fams[k] = f
	}
	return &Registry{cfg: cfg, cat: cfg.Catalogue, log: cfg.Logger.With("component", "govern"), db: db, families: fams}, nil
}

// Close closes the database.
func (r *Registry) Close() error { return r.db.Close() }

// Catalogue returns the principles catalogue in use.
func (r *Registry) Catalogue() *Catalogue { return r.cat }

func (r *Registry) now() time.Time { return r.cfg.Now().UTC().Round(0) }

func key(tenant, id string) []byte { return []byte(tenant + "\x00" + id) }

func get[T any](tx *bolt.Tx, bucket []byte, tenant, id string) (*T, error) {
	v := tx.Bucket(bucket).Get(key(tenant, id))
	if v == nil {
		return nil, ErrNotFound
	}
	var x T
	if err := json.Unmarshal(v, &x); err != nil {
		return nil, fmt.Errorf("decode %s %s: %w", bucket, id, err)
	}
	return &x, nil
}

func put(tx *bolt.Tx, bucket []byte, tenant, id string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return tx.Bucket(bucket).Put(key(tenant, id), b)
}

func list[T any](tx *bolt.Tx, bucket []byte, tenant string) ([]T, error) {
	var out []T
	c := tx.Bucket(bucket).Cursor()
	prefix := []byte(tenant + "\x00")
	for k, v := c.Seek(prefix); k != nil && strings.HasPrefix(string(k), string(prefix)); k, v = c.Next() {
		var x T
		if err := json.Unmarshal(v, &x); err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, nil
}

// update runs fn in a write transaction; fn appends its audit event
// before the transaction commits, so a committed change is always logged.
func (r *Registry) update(fn func(tx *bolt.Tx) error) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	defer func() {
		r.cacheMu.Lock()
		r.admitCache.Clear()
		r.cacheMu.Unlock()
	}()
	return r.db.Update(fn)
}

// admitEntry is what Admit needs of a system, cached between writes.
type admitEntry struct {
	found    bool
	champion string
	versions map[string]bool
}

func (r *Registry) record(ctx context.Context, tenant, kind string, p auth.Principal, subject string, data any) (uint64, error) {
	if r.cfg.Audit == nil {
		return 0, errors.New("govern: the registry is open read-only")
	}
	b, err := json.Marshal(data)
	if err != nil {
		return 0, err
	}
	e, err := r.cfg.Audit.Append(ctx, audit.Event{Tenant: tenant, Kind: kind, Actor: actorName(p), Subject: subject, Data: b})
	if err != nil {
		return 0, fmt.Errorf("audit %s: %w", kind, err)
	}
	return e.Seq, nil
}

func actorName(p auth.Principal) string {
	if p.Name == "" {
		return "anonymous"
	}
	return p.Name
}

var validID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:/+-]{0,127}$`)
var validHash = regexp.MustCompile(`^[0-9a-f]{64}$`)

func checkText(field, s string, max int, required bool) error {
	if required && strings.TrimSpace(s) == "" {
		return invalid("%s is required", field)
	}
	if len(s) > max {
		return invalid("%s is longer than %d bytes", field, max)
	}
	return nil
}

// NewSystem is what RegisterSystem needs.
type NewSystem struct {
	ID            string        `json:"id"`
	Name          string        `json:"name"`
	Purpose       string        `json:"purpose"`
	Owner         string        `json:"owner"`
	Oversight     string        `json:"oversight"`
	Stage         string        `json:"stage"`
	Vendor        string        `json:"vendor,omitempty"`
	PersonalData  bool          `json:"personal_data"`
	Questionnaire Questionnaire `json:"questionnaire"`
}

func (r *Registry) validateSystem(n *NewSystem) error {
	if !validID.MatchString(n.ID) {
		return invalid("id must be 1-128 letters, digits or ._:/+-")
	}
	if err := checkText("name", n.Name, 200, true); err != nil {
		return err
	}
	if err := checkText("purpose", n.Purpose, 4000, true); err != nil {
		return err
	}
	if err := checkText("owner", n.Owner, 200, true); err != nil {
		return err
	}
	if err := checkText("vendor", n.Vendor, 200, false); err != nil {
		return err
	}
	if !slices.Contains([]string{InTheLoop, OnTheLoop, OutOfTheLoop}, n.Oversight) {
		return invalid("oversight must be %s, %s or %s", InTheLoop, OnTheLoop, OutOfTheLoop)
	}
	if !r.cat.ValidStage(n.Stage) {
		return invalid("stage %q is not a lifecycle stage of the catalogue", n.Stage)
	}
	if n.PersonalData && !n.Questionnaire.PersonalData {
		return invalid("personal_data is set but the questionnaire says no personal data")
	}
	if (n.Vendor != "") != n.Questionnaire.ThirdPartyModel {
		return invalid("vendor and the questionnaire's third_party_model must agree")
	}
	return nil
}

// RegisterSystem registers an AI system; its questionnaire sets the tier.
func (r *Registry) RegisterSystem(ctx context.Context, p auth.Principal, tenant string, n NewSystem) (System, error) {
	if err := r.validateSystem(&n); err != nil {
		return System{}, err
	}
	s := System{ID: n.ID, Name: n.Name, Purpose: n.Purpose, Owner: n.Owner, Oversight: n.Oversight, Stage: n.Stage,
		Vendor: n.Vendor, PersonalData: n.PersonalData, Questionnaire: n.Questionnaire, Gate: n.Questionnaire.Assess(),
		Aliases: map[string]string{}, Created: r.now(), CreatedBy: actorName(p)}
	err := r.update(func(tx *bolt.Tx) error {
		if _, err := get[System](tx, bSystems, tenant, n.ID); err == nil {
			return fmt.Errorf("system %q: %w", n.ID, ErrExists)
		}
		if _, err := r.record(ctx, tenant, "system.registered", p, n.ID, s); err != nil {
			return err
		}
		return put(tx, bSystems, tenant, s.ID, &s)
	})
	return s, err
}

// GetSystem returns a system.
func (r *Registry) GetSystem(tenant, id string) (System, error) {
	var s *System
	err := r.db.View(func(tx *bolt.Tx) error {
		var err error
		s, err = get[System](tx, bSystems, tenant, id)
		return err
	})
	if err != nil {
		return System{}, fmt.Errorf("system %q: %w", id, err)
	}
	return *s, nil
}

// Systems lists a tenant's systems by id.
func (r *Registry) Systems(tenant string) ([]System, error) {
	var out []System
	err := r.db.View(func(tx *bolt.Tx) error {
		var err error
		out, err = list[System](tx, bSystems, tenant)
		return err
	})
	return out, err
}

// Version returns a registered version of s.
func (s *System) Version(v string) (*ModelVersion, bool) {
	for i := range s.Versions {
		if s.Versions[i].Version == v {
			return &s.Versions[i], true
		}
	}
	return nil, false
}

// NewVersion is what RegisterVersion needs.
type NewVersion struct {
	Version      string             `json:"version"`
	Family       string             `json:"family,omitempty"`
	Config       json.RawMessage    `json:"config,omitempty"`
	ArtefactHash string             `json:"artefact_hash"`
	Lineage      string             `json:"lineage,omitempty"`
	Inputs       []Channel          `json:"inputs,omitempty"`
	Outputs      []string           `json:"outputs,omitempty"`
	Metrics      map[string]float64 `json:"metrics,omitempty"`
}

// ConfigHash is the SHA-256 of a configuration's compact JSON.
func ConfigHash(cfg json.RawMessage) (string, error) {
	if len(cfg) == 0 {
		cfg = json.RawMessage("null")
	}
	var v any
	if err := json.Unmarshal(cfg, &v); err != nil {
		return "", invalid("config is not JSON: %v", err)
	}
	b, err := json.Marshal(v) // maps come out with sorted keys: canonical enough
	if err != nil {
		return "", err
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:]), nil
}

// RegisterVersion adds a model version to a system. The version has no
// alias until one is set through a transition.
func (r *Registry) RegisterVersion(ctx context.Context, p auth.Principal, tenant, system string, n NewVersion) (ModelVersion, error) {
	if !validID.MatchString(n.Version) {
		return ModelVersion{}, invalid("version must be 1-128 letters, digits or ._:/+-")
	}
	if !validHash.MatchString(n.ArtefactHash) {
		return ModelVersion{}, invalid("artefact_hash must be a lowercase hex SHA-256")
	}
	if n.Family != "" {
		if _, err := r.newModel(n.Family, n.Config, 0); err != nil {
			return ModelVersion{}, err
		}
	}
	ch, err := ConfigHash(n.Config)
	if err != nil {
		return ModelVersion{}, err
	}
	if err := checkText("lineage", n.Lineage, 4000, false); err != nil {
		return ModelVersion{}, err
	}
	if len(n.Inputs) > 1000 || len(n.Outputs) > 100 || len(n.Metrics) > 100 {
		return ModelVersion{}, invalid("too many inputs, outputs or metrics")
	}
	mv := ModelVersion{Version: n.Version, Family: n.Family, Config: n.Config, ConfigHash: ch, ArtefactHash: n.ArtefactHash,
		Lineage: n.Lineage, Inputs: n.Inputs, Outputs: n.Outputs, Metrics: n.Metrics, CreatedBy: actorName(p), Created: r.now()}
	err = r.update(func(tx *bolt.Tx) error {
		s, err := get[System](tx, bSystems, tenant, system)
		if err != nil {
			return fmt.Errorf("system %q: %w", system, err)
		}
		if _, ok := s.Version(n.Version); ok {
			return fmt.Errorf("version %q of %s: %w", n.Version, system, ErrExists)
		}
		if mv.AuditSeq, err = r.record(ctx, tenant, "model.registered", p, system+"/"+n.Version, mv); err != nil {
			return err
		}
		s.Versions = append(s.Versions, mv)
		return put(tx, bSystems, tenant, system, s)
	})
	return mv, err
}

// SetAlias moves the challenger or shadow alias to a version ("" removes
// it). Champion moves only through Promote and Rollback.
func (r *Registry) SetAlias(ctx context.Context, p auth.Principal, tenant, system, alias, version, reason string) (Transition, error) {
	if alias != Challenger && alias != ShadowAl {
		return Transition{}, invalid("alias must be %s or %s; %s moves only by promotion or rollback", Challenger, ShadowAl, Champion)
	}
	if err := checkText("reason", reason, 2000, true); err != nil {
		return Transition{}, err
	}
	var t Transition
	err := r.update(func(tx *bolt.Tx) error {
		s, err := get[System](tx, bSystems, tenant, system)
		if err != nil {
			return fmt.Errorf("system %q: %w", system, err)
		}
		if version != "" {
			if _, ok := s.Version(version); !ok {
				return fmt.Errorf("version %q of %s: %w", version, system, ErrNotFound)
			}
			if s.Aliases[Champion] == version {
				return fmt.Errorf("%w: %s is the champion", ErrState, version)
			}
		}
		t, err = r.move(ctx, tx, p, tenant, s, alias, version, reason)
		return err
	})
	return t, err
}

// move records a transition and saves s.
func (r *Registry) move(ctx context.Context, tx *bolt.Tx, p auth.Principal, tenant string, s *System, alias, to, reason string) (Transition, error) {
	t := Transition{Alias: alias, From: s.Aliases[alias], To: to, By: actorName(p), Reason: reason, At: r.now()}
	seq, err := r.record(ctx, tenant, "model.alias", p, s.ID+"/"+alias, t)
	if err != nil {
		return Transition{}, err
	}
	t.AuditSeq = seq
	if s.Aliases == nil {
		s.Aliases = map[string]string{}
	}
	if to == "" {
		delete(s.Aliases, alias)
	} else {
		s.Aliases[alias] = to
	}
	// A version holds one alias at a time.
	for a, v := range s.Aliases {
		if a != alias && v == to && to != "" {
			delete(s.Aliases, a)
		}
	}
	s.Transitions = append(s.Transitions, t)
	return t, put(tx, bSystems, tenant, s.ID, s)
}

// Builtin describes a model tsingma ships and runs itself.
type Builtin struct {
	System  NewSystem
	Version NewVersion
}

// RegisterBuiltin registers a built-in model at startup: the system and
// the version if missing, and, since the code that runs is the version
// shipped, makes it champion with a recorded transition when it is not
// (first start, or an upgrade). Idempotent.
func (r *Registry) RegisterBuiltin(ctx context.Context, tenant string, b Builtin) error {
	sys := auth.Principal{Name: "system", Role: auth.Admin, Tenant: tenant}
	if _, err := r.GetSystem(tenant, b.System.ID); errors.Is(err, ErrNotFound) {
		if _, err := r.RegisterSystem(ctx, sys, tenant, b.System); err != nil && !errors.Is(err, ErrExists) {
			return err
		}
	} else if err != nil {
		return err
	}
	if _, err := r.RegisterVersion(ctx, sys, tenant, b.System.ID, b.Version); err != nil && !errors.Is(err, ErrExists) {
		return err
	}
	return r.update(func(tx *bolt.Tx) error {
		s, err := get[System](tx, bSystems, tenant, b.System.ID)
		if err != nil {
			return err
		}
		if s.Aliases[Champion] == b.Version.Version {
			return nil
		}
		_, err = r.move(ctx, tx, sys, tenant, s, Champion, b.Version.Version, "built-in model: the version this build runs")
		return err
	})
}

// ReportIncident records a material change (an incident, drift beyond
// its threshold, a change of data or use) and sends every approved
// assessment of the system back to "re-assessment due".
func (r *Registry) ReportIncident(ctx context.Context, p auth.Principal, tenant, system string, in Incident) (Incident, error) {
	if !slices.Contains([]string{"incident", "drift", "change"}, in.Kind) {
		return Incident{}, invalid("kind must be incident, drift or change")
	}
	if err := checkText("detail", in.Detail, 4000, true); err != nil {
		return Incident{}, err
	}
	in.By, in.At = actorName(p), r.now()
	err := r.update(func(tx *bolt.Tx) error {
		s, err := get[System](tx, bSystems, tenant, system)
		if err != nil {
			return fmt.Errorf("system %q: %w", system, err)
		}
		if in.AuditSeq, err = r.record(ctx, tenant, "system.incident", p, system, in); err != nil {
			return err
		}
		s.Incidents = append(s.Incidents, in)
		as, err := list[Assessment](tx, bAssessments, tenant)
		if err != nil {
			return err
		}
		for i := range as {
			a := &as[i]
			if a.System == system && a.State == StateApproved {
				a.State = StateReassess
				a.Invalidated = fmt.Sprintf("%s: %s", in.Kind, in.Detail)
				if err := put(tx, bAssessments, tenant, a.ID, a); err != nil {
					return err
				}
			}
		}
		return put(tx, bSystems, tenant, system, s)
	})
	return in, err
}

// Admit is the alerts engine's admission hook: a signal from a model
// version registered under a system but not its champion (a challenger or
// shadow) is refused, so no trial can raise an alert. Unregistered
// versions are admitted unless Config.StrictAdmit, and counted.
func (r *Registry) Admit(_ context.Context, s alert.Signal) error {
	name, ok := strings.CutPrefix(s.Source, "model:")
	if !ok {
		return nil
	}
	tenant := s.Tenant
	if tenant == "" {
		tenant = telemetry.DefaultTenant
	}
	ck := tenant + "\x00" + name
	var ae *admitEntry
	if v, ok := r.admitCache.Load(ck); ok {
		ae = v.(*admitEntry)
	} else {
		r.cacheMu.Lock()
		ae = &admitEntry{}
		if sys, err := r.GetSystem(tenant, name); err == nil {
			ae.found, ae.champion, ae.versions = true, sys.Aliases[Champion], map[string]bool{}
			for _, v := range sys.Versions {
				ae.versions[v.Version] = true
			}
		}
		r.admitCache.Store(ck, ae)
		r.cacheMu.Unlock()
	}
	if !ae.found {
		r.unregistered.Add(1)
		if r.cfg.StrictAdmit {
			return fmt.Errorf("model %s is not registered", name)
		}
		return nil
	}
	if ae.champion == s.ModelVersion {
		r.admitted.Add(1)
		return nil
	}
	if !ae.versions[s.ModelVersion] && !r.cfg.StrictAdmit {
		r.unregistered.Add(1)
		return nil
	}
	r.refused.Add(1)
	return fmt.Errorf("model %s version %s is not the champion (%s)", name, s.ModelVersion, ae.champion)
}

// AdmitStats counts Admit's decisions.
func (r *Registry) AdmitStats() (admitted, refused, unregistered uint64) {
	return r.admitted.Load(), r.refused.Load(), r.unregistered.Load()
}

// Backup adds the database under name to sink, as of one read transaction
// (writes go on meanwhile).
func (r *Registry) Backup(sink backup.Sink, name string) error { return backup.Bolt(sink, name, r.db) }
