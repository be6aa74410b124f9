package cli

import (
	"runtime"
	"testing"
)

// TestSetProcs: automatic adds one P to the runtime's default unless the
// GOMAXPROCS variable is set, an explicit value is taken, and undo puts
// back what was there.
func TestSetProcs(t *testing.T) {
	base := runtime.GOMAXPROCS(0)
	for _, c := range []struct {
		n       int
		envVal  string
		want    int
		comment string
	}{
		{0, "", base + 1, "automatic: one more than the CPUs"},
		{0, "3", base, "the GOMAXPROCS variable is the operator's"},
		{0, "x", base + 1, "a variable the runtime ignored is ignored"},
		{5, "", 5, "explicit"},
		{5, "3", 5, "explicit over the variable"},
	} {
		e := &env{getenv: func(k string) string {
			if k == "GOMAXPROCS" {
				return c.envVal
			}
			return ""
		}}
		undo, err := setProcs(e, c.n)
		if err != nil {
			t.Fatal(err)
		}
		if got := runtime.GOMAXPROCS(0); got != c.want {
			t.Errorf("%s: GOMAXPROCS %d, want %d", c.comment, got, c.want)
		}
		undo()
		if got := runtime.GOMAXPROCS(0); got != base {
			t.Fatalf("%s: undo left GOMAXPROCS %d, want %d", c.comment, got, base)
		}
	}
	if _, err := setProcs(&env{getenv: func(string) string { return "" }}, -1); err == nil {
		t.Error("--procs -1 taken")
	}
}
