package landslide

import (
	"bytes"
	"strings"
	"testing"
)

// A small territory runs every scenario and prints the summary line last.
func TestRunSmall(t *testing.T) {
	var buf bytes.Buffer
	cfg := Config{Rows: 4, Cols: 6, Hours: 3, Nodes: 10, Workers: 2}
	if err := Run(t.Context(), cfg, &buf); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 8 || !strings.HasPrefix(lines[len(lines)-1], "bench landslide slopes=24 ") {
		t.Errorf("got %d lines, last %q", len(lines), lines[len(lines)-1])
	}
}

func TestTerritoryIsValid(t *testing.T) {
	for _, unsat := range []bool{false, true} {
		for _, p := range Territory(Config{Rows: 30, Cols: 30}, unsat, true) {
			if err := p.Validate(); err != nil {
				t.Fatal(err)
			}
			if p.Soil.Unsaturated() != unsat {
				t.Fatalf("unsat %v: got soil %+v", unsat, p.Soil)
			}
		}
	}
}
