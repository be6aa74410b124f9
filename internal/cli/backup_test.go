package cli

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBackupAndRestoreCommands: tsingma backup against a running server,
// tsingma restore into an empty directory, and a server on it that has
// the twin, its telemetry and the old token.
func TestBackupAndRestoreCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two servers")
	}
	s, out := launch(t, []string{"serve", "--data", filepath.Join(t.TempDir(), "data"), "--http", "127.0.0.1:0", "--mqtt", "127.0.0.1:0", "--log-level", "warn"})
	defer s.kill(t)
	token := ""
	for token == "" {
		line, err := out.ReadString('\n')
		if err != nil {
			t.Fatalf("no bootstrap token printed: %v", err)
		}
		if f := strings.TrimSpace(line); strings.HasPrefix(f, "tsm_") {
			token = f
		}
	}
	go io.Copy(io.Discard, out)
	do := func(base, method, path, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, "http://"+base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := do(s.http, "PUT", "/api/v1/twins/g1", `{"type":"rain-gauge","geometry":{"type":"Point","coordinates":[114.17,22.3]}}`); code != 201 {
		t.Fatalf("put: %d %s", code, body)
	}
	if code, body := do(s.http, "POST", "/api/v1/telemetry", `{"twin":"g1","values":{"rainfall":12.5}}`); code != 200 {
		t.Fatalf("post: %d %s", code, body)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "b.tar")
	run := func(args ...string) (int, string) {
		var o, e bytes.Buffer
		code := Main(context.Background(), args, &o, &e)
		return code, o.String() + e.String()
	}
	if code, msg := run("backup", "--url", "http://"+s.http, "--token", "wrong", "--out", file); code != 1 || !strings.Contains(msg, "401") {
		t.Fatalf("backup with a wrong token: %d %s", code, msg)
	}
	if _, err := os.Stat(file); err == nil {
		t.Fatal("a refused backup left a file")
	}
	if code, msg := run("backup", "--url", "http://"+s.http, "--token", token, "--out", file); code != 0 {
		t.Fatalf("backup: %d %s", code, msg)
	}
	if code, msg := run("backup", "--url", "http://"+s.http, "--token", token, "--out", file); code != 1 || !strings.Contains(msg, "exists") {
		t.Fatalf("backup over an existing file: %d %s", code, msg)
	}
	data := filepath.Join(dir, "restored")
	if code, msg := run("restore", "--data", data, file); code != 0 {
		t.Fatalf("restore: %d %s", code, msg)
	}
	if code, msg := run("restore", "--data", data, file); code != 1 || !strings.Contains(msg, "not empty") {
		t.Fatalf("restore over a data directory: %d %s", code, msg)
	}
	s2, out2 := launch(t, []string{"serve", "--data", data, "--http", "127.0.0.1:0", "--mqtt", "127.0.0.1:0", "--log-level", "warn"})
	defer s2.kill(t)
	go io.Copy(io.Discard, out2)
	code, body := do(s2.http, "GET", "/api/v1/twins/g1/latest", "")
	if code != 200 || !strings.Contains(body, `"value":12.5`) {
		t.Fatalf("restored server, with the old token: %d %s", code, body)
	}
}
