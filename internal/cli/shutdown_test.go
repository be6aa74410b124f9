package cli

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// terminate sends SIGTERM and fails the test unless the process exits 0
// within d.
func (s *server) terminate(t *testing.T, d time.Duration) {
	t.Helper()
	s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v; stderr:\n%s", err, s.stderr)
		}
	case <-time.After(d):
		s.cmd.Process.Kill()
		<-done
		t.Fatalf("no exit within %s of SIGTERM; stderr:\n%s", d, s.stderr)
	}
}

// TestSIGTERMShutsDownCleanly checks that SIGTERM drains and flushes: exit
// code 0, the WAL is left empty (everything is in a block), and the data is
// there after a restart.
func TestSIGTERMShutsDownCleanly(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	srv := startServer(t, dir)
	url := "http://" + srv.http
	client := &http.Client{Timeout: 5 * time.Second}
	if code, err := putTwin(client, url, "g1", `{"type":"rain-gauge"}`); err != nil || code != 201 {
		t.Fatalf("create twin: %d %v", code, err)
	}
	ts := time.Now().Add(-time.Minute).UnixMilli()
	resp, err := client.Post(url+"/api/v1/telemetry", "application/json", strings.NewReader(fmt.Sprintf(`{"twin":"g1","ts":%d,"values":{"rainfall":2.5}}`, ts)))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("post: %v", err)
	}
	resp.Body.Close()
	srv.terminate(t, 20*time.Second)
	segs, _ := os.ReadDir(filepath.Join(dir, "telemetry", "wal"))
	for _, s := range segs {
		if fi, _ := s.Info(); fi.Size() != 0 {
			t.Errorf("WAL segment %s has %d bytes after a clean shutdown, want 0", s.Name(), fi.Size())
		}
	}
	srv = startServer(t, dir)
	defer srv.kill(t)
	resp, err = client.Get("http://" + srv.http + "/api/v1/twins/g1/latest")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := fmt.Sprintf(`"rainfall":{"ts":%d,"value":2.5}`, ts); !strings.Contains(string(b), want) {
		t.Fatalf("after restart got %s, want %s", b, want)
	}
}
