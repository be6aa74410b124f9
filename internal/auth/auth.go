// Package auth keeps access tokens, roles and tenants, and the policy
// that says which role may call which API route and MQTT topic.
//
// A token is "tsm_" + its id + "_" + a random 32-byte secret (base64url);
// only its SHA-256 is stored (bbolt), so a stolen database gives no token.
// Authorize turns a presented token into a Principal; Permitted checks a
// principal's role against the policy table (policy.go). The HTTP
// middleware and the MQTT hook call both; handlers read the principal
// back with FromContext.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/tsingma/tsingma/internal/audit"
	"github.com/tsingma/tsingma/internal/backup"
)

// Role is what a principal may do.
type Role string

// The roles. Admin may do everything in its tenant.
const (
	Viewer     Role = "viewer"      // read twins, telemetry, alerts, the registry
	Operator   Role = "operator"    // + acknowledge alerts, run scenarios, send telemetry
	Engineer   Role = "engineer"    // + twins, types, rules, detector policy
	ModelOwner Role = "model-owner" // + register systems and versions, prepare assessments, backtests
	Reviewer   Role = "reviewer"    // + review assessments, read the audit log
	Approver   Role = "approver"    // + approve assessments, promote and roll back models
	Admin      Role = "admin"       // everything, including tokens
)

// Roles lists every role.
var Roles = []Role{Viewer, Operator, Engineer, ModelOwner, Reviewer, Approver, Admin}

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return slices.Contains(Roles, r) }

// Errors.
var (
	ErrUnauthenticated = errors.New("missing, unknown, expired or revoked token")
	ErrForbidden       = errors.New("the token's role does not allow this")
	ErrNotFound        = errors.New("no such token")
	ErrInvalid         = errors.New("invalid")
	ErrLocked          = errors.New("the token database is open in another process (stop the server or use the API)")
)

// Principal is who a request acts as.
type Principal struct {
	TokenID string `json:"token_id"`
	Name    string `json:"name"`
	Role    Role   `json:"role"`
	Tenant  string `json:"tenant"`
}

type ctxKey struct{}

// WithPrincipal returns ctx carrying p (the middleware calls it).
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// FromContext returns the principal the middleware stored, if any.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(ctxKey{}).(Principal)
	return p, ok
}

// Token is a stored token (never its secret).
type Token struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Role      Role      `json:"role"`
	Tenant    string    `json:"tenant"`
	Created   time.Time `json:"created"`
	CreatedBy string    `json:"created_by"`
	Expires   time.Time `json:"expires,omitzero"`
	Revoked   time.Time `json:"revoked,omitzero"`
	Hash      string    `json:"hash"` // hex SHA-256 of the whole token string
}

// Recorder is where token changes are logged (the audit log).
type Recorder interface {
	Append(ctx context.Context, ev audit.Event) (audit.Entry, error)
}

// Config configures Open.
type Config struct {
	Path   string   // bbolt file; required
	Audit  Recorder // nil: not logged
	Logger *slog.Logger
	Now    func() time.Time
}

// Store keeps tokens. Safe for concurrent use; Close it.
type Store struct {
	cfg    Config
	db     *bolt.DB
	mu     sync.RWMutex
	byHash map[string]*Token
	byID   map[string]*Token
}

var bucket = []byte("tokens")

// Open opens or creates the token database.
func Open(cfg Config) (*Store, error) {
	if cfg.Path == "" {
		return nil, errors.New("auth: Config.Path is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	db, err := bolt.Open(cfg.Path, 0o600, &bolt.Options{Timeout: time.Second})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("open %s: %w", cfg.Path, ErrLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("open token database %s: %w", cfg.Path, err)
	}
	s := &Store{cfg: cfg, db: db, byHash: map[string]*Token{}, byID: map[string]*Token{}}
	err = db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucket)
		if err != nil {
			return err
		}
		return b.ForEach(func(k, v []byte) error {
			var t Token
			if err := json.Unmarshal(v, &t); err != nil {
				return fmt.Errorf("token %s: %w", k, err)
			}
			s.byHash[t.Hash] = &t
			s.byID[t.ID] = &t
			return nil
		})
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

func hashToken(tok string) string {
	h := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(h[:])
}

var validName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$`)

// ValidTenant reports whether s can name a tenant.
func ValidTenant(s string) bool { return validName.MatchString(s) }

// NewToken is what Create needs.
type NewToken struct {
	Name   string        `json:"name"`   // who or what holds it (a person, a gateway)
	Role   Role          `json:"role"`   // one of Roles
	Tenant string        `json:"tenant"` // the tenant it acts in
	TTL    time.Duration `json:"-"`      // 0: no expiry
}

// Create makes a token and returns it with its secret string, which is
// shown once and never stored.
func (s *Store) Create(ctx context.Context, by string, n NewToken) (Token, string, error) {
	if !validName.MatchString(n.Name) {
		return Token{}, "", fmt.Errorf("%w: name must be 1-64 letters, digits, '.', '_', '@' or '-'", ErrInvalid)
	}
	if !n.Role.Valid() {
		return Token{}, "", fmt.Errorf("%w: role %q; want one of %v", ErrInvalid, n.Role, Roles)
	}
	if !ValidTenant(n.Tenant) {
		return Token{}, "", fmt.Errorf("%w: tenant %q", ErrInvalid, n.Tenant)
	}
	if n.TTL < 0 {
		return Token{}, "", fmt.Errorf("%w: negative ttl", ErrInvalid)
	}
	var id [8]byte
	var secret [32]byte
	if _, err := rand.Read(id[:]); err != nil {
		return Token{}, "", err
	}
	if _, err := rand.Read(secret[:]); err != nil {
		return Token{}, "", err
	}
	t := Token{ID: hex.EncodeToString(id[:]), Name: n.Name, Role: n.Role, Tenant: n.Tenant, Created: s.cfg.Now().UTC(), CreatedBy: by}
	if n.TTL > 0 {
		t.Expires = t.Created.Add(n.TTL)
	}
	str := "tsm_" + t.ID + "_" + base64.RawURLEncoding.EncodeToString(secret[:])
	t.Hash = hashToken(str)
	if err := s.put(&t); err != nil {
		return Token{}, "", err
	}
	s.record(ctx, "token.created", by, t)
	return t, str, nil
}

func (s *Store) put(t *Token) error {
	b, err := json.Marshal(t)
	if err != nil {
		return err
	}
	if err := s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucket).Put([]byte(t.ID), b) }); err != nil {
		return fmt.Errorf("store token %s: %w", t.ID, err)
	}
	s.mu.Lock()
	s.byHash[t.Hash] = t
	s.byID[t.ID] = t
	s.mu.Unlock()
	return nil
}

func (s *Store) record(ctx context.Context, kind, by string, t Token) {
	if s.cfg.Audit == nil {
		return
	}
	pub := t
	pub.Hash = ""
	data, _ := json.Marshal(pub)
	if _, err := s.cfg.Audit.Append(ctx, audit.Event{Tenant: t.Tenant, Kind: kind, Actor: by, Subject: "token/" + t.ID, Data: data}); err != nil {
		s.cfg.Logger.ErrorContext(ctx, "audit token change", "err", err, "token", t.ID)
	}
}

// Authorize returns the principal a token string acts as, or an error
// matching ErrUnauthenticated. It never says why (unknown, revoked or
// expired look the same to the caller).
func (s *Store) Authorize(token string) (Principal, error) {
	token = strings.TrimSpace(token)
	if !strings.HasPrefix(token, "tsm_") || len(token) > 128 {
		return Principal{}, ErrUnauthenticated
	}
	h := hashToken(token)
	s.mu.RLock()
	t := s.byHash[h]
	s.mu.RUnlock()
	if t == nil || !t.Revoked.IsZero() || (!t.Expires.IsZero() && !s.cfg.Now().Before(t.Expires)) {
		return Principal{}, ErrUnauthenticated
	}
	return Principal{TokenID: t.ID, Name: t.Name, Role: t.Role, Tenant: t.Tenant}, nil
}

// Current returns nil while the token with this id still grants access,
// and an error matching ErrUnauthenticated once it is revoked, expired or
// gone. Connections that outlive a request (MQTT sessions, live streams)
// ask it while they last.
func (s *Store) Current(id string) error {
	s.mu.RLock()
	t := s.byID[id]
	s.mu.RUnlock()
	if t == nil || !t.Revoked.IsZero() || (!t.Expires.IsZero() && !s.cfg.Now().Before(t.Expires)) {
		return ErrUnauthenticated
	}
	return nil
}

// List returns a tenant's tokens ("" lists every tenant's), oldest first.
func (s *Store) List(tenant string) []Token {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []Token
	for _, t := range s.byID {
		if tenant == "" || t.Tenant == tenant {
			c := *t
			c.Hash = ""
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b Token) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

// Revoke revokes a token of tenant ("" for any tenant). Revoking twice is
// not an error.
func (s *Store) Revoke(ctx context.Context, by, tenant, id string) (Token, error) {
	s.mu.RLock()
	t := s.byID[id]
	s.mu.RUnlock()
	if t == nil || (tenant != "" && t.Tenant != tenant) {
		return Token{}, fmt.Errorf("token %q: %w", id, ErrNotFound)
	}
	c := *t
	if c.Revoked.IsZero() {
		c.Revoked = s.cfg.Now().UTC()
		if err := s.put(&c); err != nil {
			return Token{}, err
		}
		s.record(ctx, "token.revoked", by, c)
	}
	c.Hash = ""
	return c, nil
}

// Backup adds the database under name to sink, as of one read transaction
// (writes go on meanwhile).
func (s *Store) Backup(sink backup.Sink, name string) error { return backup.Bolt(sink, name, s.db) }
