package sim

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tsingma/tsingma/internal/testenv"
)

func loadInputs(t *testing.T) *Inputs {
	t.Helper()
	dir := testenv.Dataset(t, "hk")
	in, err := LoadInputs(dir)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

var testStart = time.Date(2026, 6, 7, 0, 0, 0, 0, time.UTC)

func TestDeterministic(t *testing.T) {
	in := loadInputs(t)
	run := func(seed uint64) ([]Twin, []Sample) {
		w, err := Build(in, Config{Seed: seed, Start: testStart})
		if err != nil {
			t.Fatal(err)
		}
		e := NewEngine(w)
		var b Batch
		e.Advance(testStart.Add(30*time.Minute).UnixMilli(), &b)
		if err := e.Trigger(EventBlackRainstorm); err != nil {
			t.Fatal(err)
		}
		e.Advance(testStart.Add(time.Hour).UnixMilli(), &b)
		if len(b.Samples) < 5000 {
			t.Fatalf("got %d samples in an hour, want at least 5000", len(b.Samples))
		}
		return w.Twins(), b.Samples[:5000]
	}
	tw1, s1 := run(7)
	tw2, s2 := run(7)
	if d := cmp.Diff(tw1, tw2); d != "" {
		t.Errorf("same seed, different twins (-first +second):\n%s", d)
	}
	if d := cmp.Diff(s1, s2); d != "" {
		t.Errorf("same seed, different samples (-first +second):\n%s", d)
	}
	tw3, s3 := run(8)
	if cmp.Equal(tw1, tw3) && cmp.Equal(s1, s3) {
		t.Error("seeds 7 and 8 gave the same scenario")
	}
}
