package cli

import (
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tsingma/tsingma/internal/testenv"
)

// TestDemoRerunResumes runs the demo twice on one data directory: the
// second run must go on after the telemetry the first one stored, not
// replay its hours (which the store refuses as out of order).
func TestDemoRerunResumes(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo twice (about 20 s)")
	}
	hk := testenv.Dataset(t, "hk")
	dir := filepath.Join(t.TempDir(), "data")
	run := func(wait time.Duration) string {
		s, out := launch(t, []string{"demo", "--no-auth", "--data", dir, "--http", "127.0.0.1:0", "--mqtt", "127.0.0.1:0",
			"--datasets", hk, "--history", "1h", "--speed", "600", "--log-level", "info"})
		go io.Copy(io.Discard, out)
		client := &http.Client{Timeout: 5 * time.Second}
		deadline := time.Now().Add(wait)
		for time.Now().Before(deadline) {
			time.Sleep(500 * time.Millisecond)
			if resp, err := client.Get("http://" + s.http + "/api/v1/scenario"); err == nil {
				resp.Body.Close()
			}
		}
		s.terminate(t, 30*time.Second)
		return s.stderr.String()
	}
	first := run(8 * time.Second)
	if strings.Contains(first, "out_of_order") {
		t.Fatalf("first run refused its own telemetry:\n%s", first)
	}
	second := run(8 * time.Second)
	if !strings.Contains(second, "scenario resumes after the data already stored") {
		t.Errorf("second run did not resume; stderr:\n%s", second)
	}
	if strings.Contains(second, "out_of_order") {
		t.Errorf("second run replayed stored hours (out_of_order rejections):\n%s", second)
	}
}

// TestSimRerunResumes runs `tsingma sim --url` twice against one server:
// the second run starts after the data the first one stored, so nothing
// it sends is refused as out of order.
func TestSimRerunResumes(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the scenario twice against a server (about 15 s)")
	}
	hk := testenv.Dataset(t, "hk")
	s := startServer(t, t.TempDir())
	defer s.kill(t)
	args := []string{"sim", "--url", "http://" + s.http, "--datasets", hk, "--history", "1h", "--speed", "600", "--duration", "4s"}
	code, out, errs := runCLI(t, args...)
	if code != 0 || !strings.Contains(out, " 0 rejected") {
		t.Fatalf("first run: exit %d\n%s\n%s", code, out, errs)
	}
	code, out, errs = runCLI(t, args...)
	if code != 0 {
		t.Fatalf("second run: exit %d\n%s\n%s", code, out, errs)
	}
	if !strings.Contains(errs, "scenario resumes after the data the server already holds") {
		t.Errorf("second run did not resume:\n%s\n%s", out, errs)
	}
	if !strings.Contains(out, " 0 rejected") {
		t.Errorf("second run had rejections (replayed stored hours?):\n%s\n%s", out, errs)
	}
}
