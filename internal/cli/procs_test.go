package cli

import (
	"runtime"
	"testing"
)

// TestSetProcs: automatic adds to the runtime's default one P and one per
// scoring worker unless the GOMAXPROCS variable is set, an explicit value
// is taken, the workers are half the Ps the process had (at least one),
// and undo puts back what was there.
func TestSetProcs(t *testing.T) {
	base := runtime.GOMAXPROCS(0)
	shards := max(1, base/2)
	for _, c := range []struct {
		n       int
		anomaly bool
		envVal  string
		want    int
		comment string
	}{
		{0, true, "", base + 1 + shards, "automatic: one more than the CPUs, and one a scoring worker"},
		{0, false, "", base + 1, "automatic, no scoring: one more than the CPUs"},
		{0, true, "3", base, "the GOMAXPROCS variable is the operator's"},
		{0, true, "x", base + 1 + shards, "a variable the runtime ignored is ignored"},
		{5, true, "", 5, "explicit"},
		{5, true, "3", 5, "explicit over the variable"},
	} {
		e := &env{getenv: func(k string) string {
			if k == "GOMAXPROCS" {
				return c.envVal
			}
			return ""
		}}
		gotShards, undo, err := setProcs(e, c.n, c.anomaly)
		if err != nil {
			t.Fatal(err)
		}
		if want := map[bool]int{true: shards}[c.anomaly]; gotShards != want {
			t.Errorf("%s: %d scoring workers, want %d", c.comment, gotShards, want)
		}
		if got := runtime.GOMAXPROCS(0); got != c.want {
			t.Errorf("%s: GOMAXPROCS %d, want %d", c.comment, got, c.want)
		}
		undo()
		if got := runtime.GOMAXPROCS(0); got != base {
			t.Fatalf("%s: undo left GOMAXPROCS %d, want %d", c.comment, got, base)
		}
	}
	if _, _, err := setProcs(&env{getenv: func(string) string { return "" }}, -1, true); err == nil {
		t.Error("--procs -1 taken")
	}
}
