package app

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tsingma/tsingma/internal/backup"
)

// TestBackupAndRestore takes a backup over HTTP while telemetry keeps
// coming, restores it into an empty directory and starts a platform on
// it: twins, rules, tokens, telemetry acknowledged before the backup (in
// blocks and in the WAL), a deletion, and an audit log that verifies.
func TestBackupAndRestore(t *testing.T) {
	r := start(t)
	eng := r.toks["a-engineer"]
	gauge := `{"type":"rain-gauge","geometry":{"type":"Point","coordinates":[114.17,22.3]}}`
	for _, id := range []string{"g1", "g2", "busy"} {
		if code, body, _ := r.do(t, eng, "PUT", "/api/v1/twins/"+id, gauge); code != 201 {
			t.Fatalf("put %s: %d %s", id, code, body)
		}
	}
	rule := `{"type":"rain-gauge","channel":"rainfall","op":">","value":50,"severity":"warning"}`
	if code, body, _ := r.do(t, eng, "PUT", "/api/v1/rules/wet", rule); code/100 != 2 {
		t.Fatalf("put rule: %d %s", code, body)
	}
	base := time.Now().Add(-2 * time.Hour).UnixMilli()
	post := func(twin string, from, n int) {
		t.Helper()
		var b strings.Builder
		b.WriteString(`{"samples":[`)
		for i := from; i < from+n; i++ {
			if i > from {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"twin":%q,"channel":"rainfall","ts":%d,"value":%d}`, twin, base+int64(i)*1000, i%40)
		}
		b.WriteString("]}")
		if code, body, _ := r.do(t, r.toks["a-operator"], "POST", "/api/v1/telemetry", b.String()); code != 200 {
			t.Fatalf("post %s: %d %s", twin, code, body)
		}
	}
	post("g1", 0, 500)
	post("g2", 0, 100)
	if err := r.a.Store.Flush(t.Context()); err != nil { // some in a block
		t.Fatal(err)
	}
	post("g1", 500, 300) // some in the WAL
	if code, body, _ := r.do(t, eng, "DELETE", "/api/v1/twins/g2/telemetry/rainfall", ""); code != 200 {
		t.Fatalf("delete: %d %s", code, body)
	}
	for _, tok := range []string{"a-engineer", "b-admin"} {
		if code, _, _ := r.do(t, r.toks[tok], "GET", "/api/v1/admin/backup", ""); code != 403 {
			t.Fatalf("%s took a backup: %d", tok, code)
		}
	}
	// Telemetry goes on during the backup.
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ctx.Err() == nil; i += 50 {
			req, _ := http.NewRequestWithContext(ctx, "POST", r.base+"/api/v1/telemetry", strings.NewReader(
				fmt.Sprintf(`{"twin":"busy","ts":%d,"values":{"rainfall":1}}`, base+int64(i)*1000)))
			req.Header.Set("Authorization", "Bearer "+r.toks["a-operator"])
			req.Header.Set("Content-Type", "application/json")
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
		}
	}()
	req, _ := http.NewRequest("GET", r.base+"/api/v1/admin/backup", nil)
	req.Header.Set("Authorization", "Bearer "+r.toks["admin"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	tarball, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	cancel()
	wg.Wait()
	if err != nil || resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/x-tar" {
		t.Fatalf("backup: %d %s %v", resp.StatusCode, resp.Header.Get("Content-Type"), err)
	}
	dir := filepath.Join(t.TempDir(), "restored")
	files, _, err := backup.Extract(bytes.NewReader(tarball), dir)
	if err != nil {
		t.Fatal(err)
	}
	_, body, _ := r.do(t, r.toks["admin"], "GET", "/api/v1/audit/entries?limit=1000", "")
	if !strings.Contains(body, `"kind":"backup.taken"`) {
		t.Fatalf("the backup is not in the audit log: %s", body)
	}

	// A platform on the restored directory.
	a, err := New(Config{DataDir: dir, HTTPAddr: "127.0.0.1:0", MQTTAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatalf("open the restored directory (%d files): %v", files, err)
	}
	rctx, rcancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(rctx) }()
	defer func() {
		rcancel()
		if err := <-done; err != nil {
			t.Errorf("run restored: %v", err)
		}
	}()
	if a.BootstrapToken != "" {
		t.Fatal("the restored platform made a new bootstrap token: its tokens were not restored")
	}
	rr := &running{a: a, base: "http://" + a.HTTPAddr(), toks: r.toks}
	for _, id := range []string{"g1", "g2", "busy"} {
		if code, body, _ := rr.do(t, r.toks["a-viewer"], "GET", "/api/v1/twins/"+id, ""); code != 200 {
			t.Fatalf("restored twin %s: %d %s", id, code, body)
		}
	}
	if code, body, _ := rr.do(t, r.toks["a-viewer"], "GET", "/api/v1/rules/wet", ""); code != 200 {
		t.Fatalf("restored rule: %d %s", code, body)
	}
	count := func(twin string) int {
		t.Helper()
		_, body, _ := rr.do(t, r.toks["a-viewer"], "GET", fmt.Sprintf("/api/v1/twins/%s/telemetry/rainfall?from=%d&to=%d&step=1h&agg=count", twin, base, base+int64(time.Hour/time.Millisecond)), "")
		var n int
		for _, part := range strings.Split(body, `"value":`)[1:] {
			var v int
			fmt.Sscanf(part, "%d", &v)
			n += v
		}
		return n
	}
	if n := count("g1"); n != 800 {
		t.Fatalf("restored g1 has %d samples, want 800", n)
	}
	if n := count("g2"); n != 0 {
		t.Fatalf("restored g2 has %d samples; they were deleted before the backup", n)
	}
	code, body, _ := rr.do(t, r.toks["admin"], "POST", "/api/v1/audit/verify", "")
	if code != 200 {
		t.Fatalf("the restored audit log does not verify: %d %s", code, body)
	}
}
