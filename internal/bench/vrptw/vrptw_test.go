package vrptw

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tsingma/tsingma/internal/testenv"
)

func TestRunShort(t *testing.T) {
	dir := testenv.Dataset(t, "solomon")
	var out bytes.Buffer
	err := Run(context.Background(), Config{Instances: filepath.Join(dir, "instances"), Names: []string{"C101"}, Time: 300 * time.Millisecond, Seed: 1}, &out)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "bench vrptw instances=1 iters_per_s=") {
		t.Errorf("last line %q", last)
	}
}
