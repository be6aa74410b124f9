package landslip

import (
	"bytes"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tsingma/tsingma/internal/testenv"
)

func TestReadHKODaily(t *testing.T) {
	b, err := os.ReadFile("testdata/hko_small.csv")
	if err != nil {
		t.Fatal(err)
	}
	r, err := ReadHKODaily(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if len(r) != 4 || !r[1].Trace || r[1].MM != 0 || r[2].MM != 12.5 || !r[3].Missing {
		t.Errorf("got %+v", r)
	}
	for name, in := range map[string]string{
		"bad value":    "2000,1,1,abc,C\n",
		"bad date":     "2000,2,30,1.0,C\n",
		"out of order": "2000,1,2,1,C\n2000,1,1,1,C\n",
		"negative":     "2000,1,1,-3,C\n",
		"empty":        "Year,Month\n",
	} {
		if _, err := ReadHKODaily(strings.NewReader(in)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestReadIncidents(t *testing.T) {
	b, err := os.ReadFile("testdata/incidents_small.csv")
	if err != nil {
		t.Fatal(err)
	}
	in, err := ReadIncidents(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	want := time.Date(1999, 3, 1, 0, 0, 0, 0, time.UTC)
	if len(in) != 3 || !in[0].Date.Equal(want) || in[0].FromCall || !in[1].FromCall || !in[2].Undated {
		t.Errorf("got %+v", in)
	}
	if _, err := ReadIncidents(strings.NewReader("A,B\n1,2\n")); err == nil {
		t.Error("missing columns accepted")
	}
}

func TestSpearman(t *testing.T) {
	if s := Spearman([]float64{1, 2, 3, 4}, []float64{10, 20, 30, 40}); math.Abs(s-1) > 1e-12 {
		t.Errorf("perfect order: %g", s)
	}
	if s := Spearman([]float64{1, 2, 3, 4}, []float64{4, 3, 2, 1}); math.Abs(s+1) > 1e-12 {
		t.Errorf("reversed: %g", s)
	}
	// ties get average ranks: x = [1,1,2], y = [1,2,3] → ranks [1.5,1.5,3] vs [1,2,3]
	if s := Spearman([]float64{1, 1, 2}, []float64{1, 2, 3}); math.Abs(s-math.Sqrt(3)/2) > 1e-12 {
		t.Errorf("ties: %g, want %g", s, math.Sqrt(3)/2)
	}
}

func TestBestThreshold(t *testing.T) {
	days := []DayResult{{Expected: 1, Reported: 0}, {Expected: 5, Reported: 12}, {Expected: 4, Reported: 0}, {Expected: 9, Reported: 30}}
	thr, csi := bestThreshold(days, 10)
	if thr != 5 || csi != 1 {
		t.Errorf("got threshold %g CSI %g, want 5 and 1", thr, csi)
	}
}

// The full evaluation on the staged data; the figures are documented in
// docs/decisions/landslide.md. The test checks the protocol and that the
// warning has skill, not the exact numbers.
func TestEvaluateHK(t *testing.T) {
	dir := testenv.Dataset(t, "hk")
	rep, err := Run(t.Context(), dir, DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if rep.TrainDays != 8036 || rep.TestDays != 5479 {
		t.Errorf("train %d, test %d days, want 8036 and 5479", rep.TrainDays, rep.TestDays)
	}
	if rep.Spearman < 0.2 {
		t.Errorf("Spearman %g: no skill", rep.Spearman)
	}
	for _, s := range rep.Scores {
		if s.Hits == 0 {
			t.Errorf("event ≥%d: no hits", s.Event)
		}
	}
	var buf bytes.Buffer
	rep.Write(&buf)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if !strings.HasPrefix(lines[len(lines)-1], "landslip pod10=") {
		t.Errorf("last line %q", lines[len(lines)-1])
	}
}
