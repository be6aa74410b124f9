package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// TestBadFlagsAreRefused: a value a command cannot use is refused at once,
// with a message and exit code 2, not replaced by a default (bench ingest
// ran its whole 5-minute default run for --twins -5) or ignored.
func TestBadFlagsAreRefused(t *testing.T) {
	for _, args := range [][]string{
		{"bench", "ingest", "--twins", "-5"},
		{"bench", "ingest", "--channels", "0"},
		{"bench", "ingest", "--http-clients", "-1"},
		{"bench", "ingest", "--duration", "-1s"},
		{"bench", "ingest", "--duration", "0s"},
		{"serve", "--retention", "-5h"},
		{"serve", "--max-body", "0"},
		{"serve", "--mqtt-max-clients", "0"},
		{"serve", "--cors-origins", "gis.example.hk"},
		{"serve", "--cors-origins", "https://a.example/path"},
		{"serve", "--mqtt-max-clients-per-token", "-1"},
		{"serve", "--max-future", "-1h"},
		{"serve", "--procs", "-1"},
		{"bench", "ingest", "--procs", "-2", "--duration", "1ms"},
		{"serve", "--max-pending", "0"},
		{"serve", "--flush-interval", "0s"},
		{"serve", "--drift-window", "-1h"},
		{"demo", "--max-body", "-1"},
		{"serve", "--tls-cert", "cert.pem"},
		{"serve", "--alertmanager", "localhost:9093"},
		{"serve", "--tls-key", "key.pem"},
		{"demo", "--tls-cert", "cert.pem", "--tls-key", "key.pem"},
		{"backup", "--out", "x.tar"},
		{"backup", "--url", "http://127.0.0.1:1"},
		{"backup", "--url", "http://127.0.0.1:1", "--out", "x.tar", "extra"},
		{"restore", "x.tar"},
		{"restore", "--data", "d"},
		{"version", "--bogus"},
		{"version", "extra"},
	} {
		if args[0] == "serve" || args[0] == "demo" {
			// Were the check missing, the server must not start anywhere.
			args = append(args, "--data", t.TempDir(), "--http", "127.0.0.1:0", "--mqtt", "")
		}
		var out, errb bytes.Buffer
		// Were a check missing, the command would start and run until
		// this deadline: a failure, not a hang.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		code := Main(ctx, args, &out, &errb)
		cancel()
		if code != 2 || errb.Len() == 0 {
			t.Errorf("tsingma %s: exit %d, stderr %q; want 2 and a message", strings.Join(args, " "), code, errb.String())
		}
	}
}
