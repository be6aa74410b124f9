package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tsingma/tsingma/internal/app"
	"github.com/tsingma/tsingma/internal/auth"
	"github.com/tsingma/tsingma/internal/scoring"
)

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

type apiCall struct {
	t *testing.T
	a *app.App
}

func (c apiCall) do(p auth.Principal, method, path, body string) (int, map[string]any) {
	c.t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req = req.WithContext(auth.WithPrincipal(req.Context(), p))
	rec := httptest.NewRecorder()
	c.a.API.ServeHTTP(rec, req)
	var v map[string]any
	json.Unmarshal(rec.Body.Bytes(), &v)
	if rec.Code >= 400 && rec.Header().Get("Content-Type") != "application/problem+json" {
		c.t.Errorf("%s %s: %d without problem+json", method, path, rec.Code)
	}
	return rec.Code, v
}

// TestGovernanceEndToEnd drives the governance API of a real app, then the
// offline commands on its data directory.
func TestGovernanceEndToEnd(t *testing.T) {
	data := t.TempDir()
	a, err := app.New(app.Config{DataDir: data, HTTPAddr: "127.0.0.1:0", NoAuth: true})
	if err != nil {
		t.Fatal(err)
	}
	c := apiCall{t, a}
	owner := auth.Principal{Name: "alice", Role: auth.ModelOwner, Tenant: "default"}
	approver := auth.Principal{Name: "carol", Role: auth.Approver, Tenant: "default"}

	// The built-in anomaly model is registered and live.
	code, sys := c.do(owner, "GET", "/api/v1/governance/systems/"+scoring.ModelName, "")
	if code != 200 || sys["aliases"].(map[string]any)["champion"] != scoring.ModelVersion {
		t.Fatalf("built-in model: %d %v", code, sys)
	}
	// A challenger configuration of the same family.
	code, v := c.do(owner, "POST", "/api/v1/governance/systems/anomaly/versions",
		`{"version":"tsingma-anomaly/1.0+t0.35","family":"anomaly","config":{"threshold":0.35,"learning_samples":300},"artefact_hash":"`+strings.Repeat("0", 64)+`"}`)
	if code != 201 || v["config_hash"] == "" {
		t.Fatalf("register version: %d %v", code, v)
	}
	now := time.Now().UTC()
	code, v = c.do(owner, "POST", "/api/v1/governance/backtests",
		`{"system":"anomaly","version":"tsingma-anomaly/1.0+t0.35","from":"`+now.Add(-time.Hour).Format(time.RFC3339)+`","to":"`+now.Format(time.RFC3339)+`","seed":1}`)
	if code != 201 {
		t.Fatalf("backtest: %d %v", code, v)
	}
	// The gate refuses: problem+json, 409, with reasons; nothing changes.
	code, v = c.do(approver, "POST", "/api/v1/governance/systems/anomaly/promote", `{"version":"tsingma-anomaly/1.0+t0.35","reason":"fewer false alarms"}`)
	if code != 409 || v["type"] != "urn:tsingma:problem:promotion-refused" || len(v["errors"].([]any)) == 0 {
		t.Fatalf("promotion without assessment: %d %v", code, v)
	}
	// A reviewer cannot prepare; an anonymous caller cannot either.
	code, _ = c.do(auth.Principal{Name: "bob", Role: auth.Reviewer, Tenant: "default"}, "POST", "/api/v1/governance/assessments", `{"system":"anomaly","version":"tsingma-anomaly/1.0+t0.35","questionnaire":{"safety_critical":true}}`)
	if code != 403 {
		t.Fatalf("reviewer preparing: %d", code)
	}
	code, v = c.do(owner, "POST", "/api/v1/governance/assessments", `{"system":"anomaly","version":"tsingma-anomaly/1.0+t0.35","questionnaire":{"safety_critical":true}}`)
	if code != 201 {
		t.Fatalf("assessment: %d %v", code, v)
	}
	aid := v["id"].(string)
	code, v = c.do(owner, "PUT", "/api/v1/governance/assessments/"+aid+"/answers/reliability.measured", `{"text":"typed claim","evidence":[{"kind":"document","ref":"`+strings.Repeat("1", 64)+`"}]}`)
	if code != 422 {
		t.Fatalf("unregistered document as evidence: %d %v", code, v)
	}
	code, v = c.do(owner, "GET", "/api/v1/governance/check", "")
	if code != 200 || v["ok"] != false {
		t.Fatalf("check: %d %v", code, v)
	}
	// Tenants do not see each other's registry.
	code, _ = c.do(auth.Principal{Name: "eve", Role: auth.ModelOwner, Tenant: "other"}, "GET", "/api/v1/governance/assessments/"+aid, "")
	if code != 404 {
		t.Fatalf("cross-tenant assessment: %d", code)
	}
	code, v = c.do(approver, "GET", "/api/v1/audit/checkpoint", "")
	if code != 200 || v["public_key"] == "" {
		t.Fatalf("checkpoint: %d %v", code, v)
	}
	code, v = c.do(approver, "POST", "/api/v1/audit/verify", "")
	if code != 200 || v["ok"] != true {
		t.Fatalf("verify: %d %v", code, v)
	}
	// Every route is decided by the policy table (no route silently
	// admin-only except tokens), and the table holds its shape on every
	// route of the app: without a valid token only /healthz and /readyz
	// pass, a viewer only reads, an admin passes everything.
	tokens := a.Tokens
	_, viewer, err := tokens.Create(t.Context(), "test", auth.NewToken{Name: "v", Role: auth.Viewer, Tenant: "default"})
	if err != nil {
		t.Fatal(err)
	}
	_, admin, err := tokens.Create(t.Context(), "test", auth.NewToken{Name: "root", Role: auth.Admin, Tenant: "default"})
	if err != nil {
		t.Fatal(err)
	}
	reads := map[string]bool{"POST /api/v1/query": true, "POST /api/v1/query_range": true, "POST /api/v1/series": true, "POST /api/v1/labels": true, "POST /api/v1/governance/gate": true}
	for _, r := range a.API.Routes() {
		if !auth.Covered(r.Method, r.Pattern) && !auth.Public(r.Method, r.Pattern) {
			t.Errorf("route %s %s is not in the auth policy table", r.Method, r.Pattern)
		}
		pattern := r.Method + " " + r.Pattern
		public := r.Pattern == "/healthz" || r.Pattern == "/readyz"
		promRead := r.Method == "POST" && strings.HasPrefix(r.Pattern, "/prometheus/api/v1/") // the Prometheus API only reads
		for _, tc := range []struct {
			who, header string
			want        bool
		}{
			{"no token", "", public},
			{"garbage", "Bearer tsm_x_y", public},
			{"viewer", "Bearer " + viewer, r.Method == "GET" && !strings.HasPrefix(r.Pattern, "/api/v1/tokens") && !strings.HasPrefix(r.Pattern, "/api/v1/audit/") && !strings.HasPrefix(r.Pattern, "/api/v1/admin/") || reads[pattern] || promRead || public},
			{"admin", "Bearer " + admin, true},
		} {
			req := httptest.NewRequest(r.Method, "/", nil)
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			_, err := tokens.Request(req, pattern)
			if got := err == nil; got != tc.want {
				t.Errorf("%s on %s: allowed=%v (%v), want %v", tc.who, pattern, got, err, tc.want)
			}
		}
	}
	// Twin changes reach the audit log through the bus.
	eng := auth.Principal{Name: "erin", Role: auth.Engineer, Tenant: "default"}
	if code, v = c.do(eng, "PUT", "/api/v1/types/probe", `{"name":"probe","channels":{"tilt":{"unit":"deg"}}}`); code >= 300 {
		t.Fatalf("put type: %d %v", code, v)
	}
	if code, v = c.do(eng, "POST", "/api/v1/twins", `{"id":"p1","type":"probe"}`); code != 201 {
		t.Fatalf("create twin: %d %v", code, v)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, v = c.do(approver, "GET", "/api/v1/audit/entries?limit=1000", "")
		found := false
		for _, it := range v["items"].([]any) {
			e := it.(map[string]any)
			found = found || (e["kind"] == "twin" && e["subject"] == "p1")
		}
		if found {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("twin p1's creation is not in the audit log: %v", v)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// governance check against the running server.
	srv := httptest.NewServer(a.API)
	code, out, _ := runCLI(t, "governance", "check", "--url", srv.URL)
	srv.Close()
	if code != 1 || !strings.Contains(out, scoring.ModelVersion) {
		t.Fatalf("governance check --url: exit %d, %q", code, out)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}

	// governance check: the built-in model is live without an assessment.
	code, out, _ = runCLI(t, "governance", "check", "--data", data)
	if code != 1 || !strings.Contains(out, scoring.ModelVersion) {
		t.Fatalf("governance check: exit %d, %q", code, out)
	}
	// Tokens.
	code, secret, stderr := runCLI(t, "token", "create", "--data", data, "--name", "ops", "--role", "operator")
	if code != 0 || !strings.HasPrefix(secret, "tsm_") {
		t.Fatalf("token create: %d %q %q", code, secret, stderr)
	}
	if code, _, _ := runCLI(t, "token", "create", "--data", data, "--name", "x", "--role", "root"); code != 1 {
		t.Fatalf("bad role: exit %d", code)
	}
	code, out, _ = runCLI(t, "token", "list", "--data", data)
	if code != 0 || !strings.Contains(out, "ops") || strings.Contains(out, strings.TrimSpace(secret)) {
		t.Fatalf("token list: %d %q", code, out)
	}
	// Audit: verify with the pinned key, prove and check an entry, export
	// and check the evidence pack.
	pub := filepath.Join(data, "audit", "signing.pub")
	if code, out, _ = runCLI(t, "audit", "verify", "--data", data, "--key", pub); code != 0 {
		t.Fatalf("audit verify: %d %s", code, out)
	}
	proof := filepath.Join(t.TempDir(), "proof.json")
	if code, _, stderr = runCLI(t, "audit", "prove", "--data", data, "-o", proof, "1"); code != 0 {
		t.Fatalf("audit prove: %d %s", code, stderr)
	}
	if code, out, stderr = runCLI(t, "audit", "check-proof", "--key", pub, proof); code != 0 || !strings.HasPrefix(out, "ok: entry 1") {
		t.Fatalf("check-proof: %d %q %q", code, out, stderr)
	}
	b, _ := os.ReadFile(proof)
	os.WriteFile(proof, bytes.Replace(b, []byte(`"seq": 1`), []byte(`"seq": 2`), 1), 0o644)
	if code, _, _ = runCLI(t, "audit", "check-proof", "--key", pub, proof); code != 1 {
		t.Fatalf("an edited proof: exit %d, want 1", code)
	}
	pack := filepath.Join(t.TempDir(), "pack.json")
	if code, _, stderr = runCLI(t, "audit", "export", "--data", data, "--assessment", aid, "-o", pack); code != 0 {
		t.Fatalf("export: %d %s", code, stderr)
	}
	if code, out, stderr = runCLI(t, "audit", "check-proof", "--key", pub, pack); code != 0 || !strings.Contains(out, aid) {
		t.Fatalf("check-proof pack: %d %q %q", code, out, stderr)
	}
	if code, _, _ = runCLI(t, "audit", "prove", "--data", data); code != 2 {
		t.Fatalf("prove without SEQ: exit %d, want 2", code)
	}
	// Tamper with the stored log: verify fails.
	lp := filepath.Join(data, "audit", "log")
	lb, _ := os.ReadFile(lp)
	lb[20] ^= 1
	os.WriteFile(lp, lb, 0o644)
	if code, out, _ = runCLI(t, "audit", "verify", "--data", data, "--key", pub); code != 1 || !strings.Contains(out, "PROBLEM") {
		t.Fatalf("tampered log: exit %d %q", code, out)
	}
}
