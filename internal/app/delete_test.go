package app

import (
	"strings"
	"testing"
)

// Deleting telemetry is for engineers, stays in the caller's tenant, and
// is in the audit log with who did it.
func TestTelemetryDeletion(t *testing.T) {
	r := start(t)
	gauge := `{"type":"rain-gauge","geometry":{"type":"Point","coordinates":[114.17,22.3]}}`
	for _, tok := range []string{"a-engineer", "b-engineer"} {
		if code, body, _ := r.do(t, r.toks[tok], "PUT", "/api/v1/twins/g1", gauge); code != 201 {
			t.Fatalf("%s put g1: %d %s", tok, code, body)
		}
		if code, body, _ := r.do(t, r.toks[tok], "POST", "/api/v1/telemetry", `{"twin":"g1","values":{"rainfall":1}}`); code != 200 {
			t.Fatalf("%s post: %d %s", tok, code, body)
		}
	}
	has := func(tok string) bool {
		t.Helper()
		_, body, _ := r.do(t, r.toks[tok], "GET", "/api/v1/twins/g1/latest", "")
		return strings.Contains(body, "rainfall")
	}
	// No wait for scoring: a deletion's answer comes once the scorer has
	// reached it, so no score of a deleted sample shows after it, though
	// the scorer (on threads of lowered priority) may still be behind.
	for _, tok := range []string{"a-viewer", "a-operator"} {
		if code, body, _ := r.do(t, r.toks[tok], "DELETE", "/api/v1/twins/g1/telemetry/rainfall", ""); code != 403 {
			t.Fatalf("%s deleting telemetry: %d %s", tok, code, body)
		}
	}
	code, body, _ := r.do(t, r.toks["b-engineer"], "DELETE", "/api/v1/twins/g1/telemetry", "")
	if code != 200 {
		t.Fatalf("tenant B deleting its g1's telemetry: %d %s", code, body)
	}
	if has("b-engineer") || !has("a-engineer") {
		t.Fatalf("after tenant B's deletion: B has data %v, A has %v (want false, true)", has("b-engineer"), has("a-engineer"))
	}
	if code, body, _ := r.do(t, r.toks["a-engineer"], "DELETE", "/api/v1/twins/g1/telemetry/rainfall", ""); code != 200 {
		t.Fatalf("a-engineer deleting: %d %s", code, body)
	}
	if has("a-engineer") {
		t.Fatal("tenant A's g1 still has rainfall")
	}
	_, body, _ = r.do(t, r.toks["admin"], "GET", "/api/v1/audit/entries?limit=1000", "")
	if !strings.Contains(body, `"kind":"telemetry.deleted"`) || !strings.Contains(body, `"actor":"a-engineer"`) {
		t.Fatalf("the deletion is not in tenant A's audit log with its actor: %s", body)
	}
}
