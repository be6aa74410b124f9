package trigrs

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tsingma/tsingma/internal/testenv"
)

// TestAgainstTRIGRS runs every staged case and holds the model to the
// tolerances of the task: 1e-5 m in pressure head and 1e-5 in FS at every
// node (saturated and, as measured, unsaturated too).
func TestAgainstTRIGRS(t *testing.T) {
	dir := testenv.Dataset(t, "trigrs")
	rep, err := Run(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Cases) < 12 {
		t.Errorf("got %d cases, want at least the 8 developer cases and 4 upstream examples", len(rep.Cases))
	}
	for _, c := range rep.Cases {
		if c.Nodes == 0 {
			t.Errorf("%s: no nodes compared", c.Name)
		}
		if c.MaxPsi > 1e-5 || c.MaxFSErr > 1e-5 {
			t.Errorf("%s: max psi err %.3g m, max FS err %.3g, want ≤ 1e-5 (worst psi %s; worst FS %s)",
				c.Name, c.MaxPsi, c.MaxFSErr, c.WorstPsi, c.WorstFS)
		}
		for _, e := range c.Excluded { // the documented defect has no visible effect
			if e.MaxPsi > 1e-5 || e.MaxFSErr > 1e-5 {
				t.Errorf("%s: %d nodes (%s): psi err %.3g, FS err %.3g", c.Name, e.Nodes, e.Reason, e.MaxPsi, e.MaxFSErr)
			}
		}
		if c.CellsCompared > 0 && (c.MaxFSMinErr > 1e-5 || c.MaxPMinErr > 1e-5 || c.MaxZMinErr > 1e-6) {
			t.Errorf("%s: cells.csv fs_min err %.3g, p err %.3g, z err %.3g", c.Name, c.MaxFSMinErr, c.MaxPMinErr, c.MaxZMinErr)
		}
	}
	var buf bytes.Buffer
	rep.Write(&buf)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "trigrs cases=") {
		t.Errorf("last line %q, want the trigrs summary", last)
	}
}

func TestParseConfigUpstream(t *testing.T) {
	dir := testenv.Dataset(t, "trigrs")
	b, err := os.ReadFile(filepath.Join(dir, "upstream_examples", "usgs_minorcreek", "tr_in.txt"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := ParseConfig(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	// output times are on two lines (list-directed continuation)
	if len(c.TOut) != 2 || c.TOut[1] != 7257600 {
		t.Errorf("TOut = %v, want [0 7257600]", c.TOut)
	}
	if c.MMax != -20 || c.ZMin != 0.001 || c.Zones[0].Alpha != -0.5 || c.FlowDir != "gener" {
		t.Errorf("got mmax %d zmin %g alpha %g flow %q", c.MMax, c.ZMin, c.Zones[0].Alpha, c.FlowDir)
	}
}

func TestParseConfigErrors(t *testing.T) {
	for name, in := range map[string]string{
		"empty":     "",
		"truncated": "title\nx\ntx\n1, 2, 3, 1\n",
		"bad int":   "t\nx\ntx\n1, a, 3, 1\n",
		"no zones":  "t\nx\ntx\n1, 2, 3, 0\nn\n10,0,9810,1,10\n",
	} {
		if _, err := ParseConfig(strings.NewReader(in)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestReadGrid(t *testing.T) {
	g, err := ReadGrid(strings.NewReader("ncols 2\nnrows 2\nxllcorner 0\nyllcorner 0\ncellsize 10\nNODATA_value -1\n1 2\n3 -1\n"))
	if err != nil {
		t.Fatal(err)
	}
	if g.NCols != 2 || g.NRows != 2 || g.NoData != -1 || len(g.Values) != 4 || g.Values[2] != 3 {
		t.Errorf("got %+v", g)
	}
	for name, in := range map[string]string{
		"short":    "ncols 2\nnrows 2\nxllcorner 0\nyllcorner 0\ncellsize 10\n1 2 3\n",
		"bad key":  "ncolz 2\n",
		"bad num":  "ncols 1\nnrows 1\nxllcorner 0\nyllcorner 0\ncellsize 1\nx\n",
		"too big":  "ncols 100000000\nnrows 100000000\n",
		"negative": "ncols -1\nnrows 1\n",
	} {
		if _, err := ReadGrid(strings.NewReader(in)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestUnsatTimeGrid(t *testing.T) {
	// 2 periods of 24 h, tx 12, outputs every 12 h: 24 steps of 2 h.
	c := &Config{NPer: 2, T: 172800, TX: 12, Capt: []float64{0, 86400, 172800}, TOut: []float64{0, 43200, 86400, 129600, 172800}}
	g := unsatTimeGrid(c)
	if g.Steps != 24 || math.Abs(g.Step-7200) > 1e-9 {
		t.Errorf("got %+v, want 24 steps of 7200 s", g)
	}
	// outputs closer than a step force smaller steps
	c.TX, c.TOut = 1, []float64{0, 3600}
	g = unsatTimeGrid(c)
	if g.Step > 3600 {
		t.Errorf("step %g s longer than the 3600 s output gap", g.Step)
	}
}
