package anomalybench

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/tsingma/tsingma/internal/testenv"
)

func TestRun(t *testing.T) {
	var out strings.Builder
	rs, err := Run(t.Context(), Config{Data: testenv.Dataset(t, "nab"), Channels: 3, Duration: 50 * time.Millisecond, Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "bench anomaly samples_per_cpu_s=") {
		t.Errorf("last line %q", last)
	}
	if len(rs) != 2 || rs[0].Samples == 0 || rs[0].CheckpointSize > 32<<10 {
		t.Errorf("results %+v", rs)
	}
	if _, err := Run(t.Context(), Config{Data: t.TempDir(), Channels: 1, Duration: time.Millisecond, Out: io.Discard}); err == nil {
		t.Error("ran on an empty data folder")
	}
}
