package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
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
		{"version", "--bogus"},
		{"version", "extra"},
	} {
		var out, errb bytes.Buffer
		code := Main(context.Background(), args, &out, &errb)
		if code != 2 || errb.Len() == 0 {
			t.Errorf("tsingma %s: exit %d, stderr %q; want 2 and a message", strings.Join(args, " "), code, errb.String())
		}
	}
}
