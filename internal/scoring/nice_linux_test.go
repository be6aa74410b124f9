package scoring

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/tsingma/tsingma/internal/bus"
	"github.com/tsingma/tsingma/internal/store"
	"github.com/tsingma/tsingma/internal/testenv"
)

// TestWorkersRunLowered: each shard worker runs on a thread workerNice
// levels below the process's priority.
func TestWorkersRunLowered(t *testing.T) {
	own, err := testenv.ThreadNice()
	if err != nil {
		t.Fatal(err)
	}
	base := t.TempDir()
	st, err := store.Open(store.Config{Dir: filepath.Join(base, "store")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const shards = 3
	s, err := Open(Config{Dir: filepath.Join(base, "anomaly"), Bus: bus.New(), Store: st, Shards: shards})
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	defer s.Close()
	<-s.Restored()
	want := min(own+workerNice, 19)
	var lowered int
	// The workers start as the restore ends; each lowers its thread first.
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		nices, err := testenv.ThreadNices()
		if err != nil {
			t.Fatal(err)
		}
		lowered = 0
		for _, n := range nices {
			if n == want {
				lowered++
			}
		}
		if lowered >= shards {
			return
		}
	}
	t.Fatalf("%d threads at nice %d, want one per shard (%d)", lowered, want, shards)
}
