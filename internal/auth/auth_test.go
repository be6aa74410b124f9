package auth

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tsingma/tsingma/internal/audit"
)

type recorder struct{ evs []audit.Event }

func (r *recorder) Append(_ context.Context, ev audit.Event) (audit.Entry, error) {
	r.evs = append(r.evs, ev)
	return audit.Entry{Seq: uint64(len(r.evs) - 1), Event: ev}, nil
}

func TestTokens(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	rec := &recorder{}
	path := filepath.Join(t.TempDir(), "auth.db")
	s, err := Open(Config{Path: path, Audit: rec, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	tok, secret, err := s.Create(t.Context(), "root", NewToken{Name: "alice", Role: Approver, Tenant: "hk"})
	if err != nil {
		t.Fatal(err)
	}
	short, shortSecret, err := s.Create(t.Context(), "root", NewToken{Name: "bob", Role: Viewer, Tenant: "hk", TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Authorize(secret)
	if err != nil || p.Name != "alice" || p.Role != Approver || p.Tenant != "hk" || p.TokenID != tok.ID {
		t.Fatalf("authorize: %+v %v", p, err)
	}
	for name, bad := range map[string]string{"empty": "", "garbage": "hello", "wrong secret": secret[:len(secret)-2] + "xx", "prefix only": "tsm_"} {
		if _, err := s.Authorize(bad); !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("%s: got %v, want ErrUnauthenticated", name, err)
		}
	}
	// The secret is not stored anywhere.
	for _, x := range s.List("") {
		if x.Hash != "" || strings.Contains(x.Hash, secret) {
			t.Errorf("List leaks the hash")
		}
	}
	if _, err := s.Revoke(t.Context(), "root", "other-tenant", tok.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("revoke across tenants: %v, want ErrNotFound", err)
	}
	if _, err := s.Revoke(t.Context(), "root", "hk", tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authorize(secret); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("revoked token: %v", err)
	}
	if _, err := s.Authorize(shortSecret); err != nil {
		t.Errorf("fresh token refused: %v", err)
	}
	now = now.Add(2 * time.Hour)
	if _, err := s.Authorize(shortSecret); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("expired token %s accepted", short.ID)
	}
	for _, n := range []NewToken{{Name: "", Role: Viewer, Tenant: "hk"}, {Name: "x", Role: "god", Tenant: "hk"}, {Name: "x", Role: Viewer, Tenant: "a/b"}} {
		if _, _, err := s.Create(t.Context(), "root", n); !errors.Is(err, ErrInvalid) {
			t.Errorf("create %+v: %v, want ErrInvalid", n, err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Persisted: the revocation survives a reopen.
	s2, err := Open(Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if _, err := s2.Authorize(secret); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("revocation lost on reopen")
	}
	if got := len(s2.List("hk")); got != 2 {
		t.Errorf("%d tokens after reopen, want 2", got)
	}
	if len(rec.evs) != 3 || rec.evs[0].Kind != "token.created" || rec.evs[2].Kind != "token.revoked" {
		t.Errorf("audit events: %+v", rec.evs)
	}
}

func TestPolicy(t *testing.T) {
	for _, tc := range []struct {
		role            Role
		method, pattern string
		want            bool
	}{
		{"", "GET", "/healthz", true},
		{"", "GET", "/api/v1/twins", false},
		{"", "GET", "/", true}, // console assets
		{"", "GET", "/metrics", false},
		{Viewer, "GET", "/api/v1/twins", true},
		{Viewer, "POST", "/api/v1/twins", false},
		{Viewer, "POST", "/api/v1/query", true},
		{Viewer, "POST", "/api/v1/alerts/{id}/ack", false},
		{Operator, "POST", "/api/v1/alerts/{id}/ack", true},
		{Operator, "POST", "/api/v1/telemetry", true},
		{Operator, "PUT", "/api/v1/twins/{id}", false},
		{Engineer, "PUT", "/api/v1/twins/{id}", true},
		{Engineer, "POST", "/api/v1/governance/systems", false},
		{ModelOwner, "POST", "/api/v1/governance/systems", true},
		{ModelOwner, "GET", "/api/v1/audit/checkpoint", false},
		{Reviewer, "GET", "/api/v1/audit/checkpoint", true},
		{Reviewer, "POST", "/api/v1/governance/systems/{id}/promote", false},
		{Approver, "POST", "/api/v1/governance/systems/{id}/promote", true},
		{Approver, "GET", "/api/v1/tokens", false},
		{Admin, "DELETE", "/api/v1/tokens/{id}", true},
		{Viewer, "POST", "/api/v1/some/new/route", false},
		{Admin, "POST", "/api/v1/some/new/route", true},
		{"root", "GET", "/api/v1/twins", false},
	} {
		if got := Permitted(tc.role, tc.method, tc.pattern); got != tc.want {
			t.Errorf("Permitted(%q, %s %s) = %v, want %v", tc.role, tc.method, tc.pattern, got, tc.want)
		}
	}
	for _, tc := range []struct {
		role          Role
		action, topic string
		want          bool
	}{
		{Operator, Publish, "tsingma/v1/twins/slope-1/telemetry", true},
		{Viewer, Publish, "tsingma/v1/twins/slope-1/telemetry", false},
		{Operator, Publish, "tsingma/v1/twins/+/telemetry", false},
		{Operator, Publish, "tsingma/v1/twins/a/b/telemetry", false},
		{Viewer, Subscribe, "tsingma/v1/twins/#", true},
		{Viewer, Subscribe, "$SYS/#", false},
		{"", Subscribe, "tsingma/v1/twins/#", false},
	} {
		if got := PermittedMQTT(tc.role, tc.action, tc.topic); got != tc.want {
			t.Errorf("PermittedMQTT(%q, %s, %s) = %v, want %v", tc.role, tc.action, tc.topic, got, tc.want)
		}
	}
}

func FuzzAuthorize(f *testing.F) {
	s, err := Open(Config{Path: filepath.Join(f.TempDir(), "auth.db")})
	if err != nil {
		f.Fatal(err)
	}
	defer s.Close()
	_, secret, err := s.Create(context.Background(), "root", NewToken{Name: "a", Role: Viewer, Tenant: "t"})
	if err != nil {
		f.Fatal(err)
	}
	f.Add("tsm_0011223344556677_abc")
	f.Add("")
	f.Fuzz(func(t *testing.T, tok string) {
		p, err := s.Authorize(tok)
		if err == nil && strings.TrimSpace(tok) != secret {
			t.Fatalf("%q authorized as %+v", tok, p)
		}
	})
}

func TestRequest(t *testing.T) {
	s, err := Open(Config{Path: filepath.Join(t.TempDir(), "auth.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, viewer, _ := s.Create(t.Context(), "root", NewToken{Name: "v", Role: Viewer, Tenant: "hk"})
	_, engineer, _ := s.Create(t.Context(), "root", NewToken{Name: "e", Role: Engineer, Tenant: "hk"})
	for _, tc := range []struct {
		name, header, pattern string
		want                  error
	}{
		{"public without token", "", "GET /healthz", nil},
		{"no token", "", "GET /api/v1/twins", ErrUnauthenticated},
		{"not bearer", "Basic " + viewer, "GET /api/v1/twins", ErrUnauthenticated},
		{"wrong token", "Bearer tsm_00_nope", "GET /api/v1/twins", ErrUnauthenticated},
		{"viewer reads", "Bearer " + viewer, "GET /api/v1/twins", nil},
		{"viewer writes", "Bearer " + viewer, "PUT /api/v1/twins/{id}", ErrForbidden},
		{"engineer writes", "Bearer " + engineer, "PUT /api/v1/twins/{id}", nil},
		{"engineer tokens", "Bearer " + engineer, "GET /api/v1/tokens", ErrForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", "/x", nil)
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			out, err := s.Request(req, tc.pattern)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if err == nil && tc.header != "" {
				if p, ok := FromContext(out.Context()); !ok || p.Tenant != "hk" {
					t.Fatalf("principal %+v %v", p, ok)
				}
			}
		})
	}
	if p, err := s.MQTT("anything", []byte(engineer)); err != nil || p.Role != Engineer {
		t.Fatalf("mqtt: %+v %v", p, err)
	}
	if _, err := s.MQTT("e", []byte("wrong")); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("mqtt wrong password: %v", err)
	}
}
