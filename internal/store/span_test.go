package store

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/tsingma/tsingma/internal/telemetry"
)

// wantLeft returns the timestamps (seconds) of 0..n-1 outside the deleted
// ranges (in seconds, both ends included).
func wantLeft(n int, ranges ...[2]int) []int64 {
	var out []int64
next:
	for i := range n {
		for _, r := range ranges {
			if i >= r[0] && i <= r[1] {
				continue next
			}
		}
		out = append(out, int64(i)*1000)
	}
	return out
}

func checkLeft(t *testing.T, s *Store, twin, ch string, want []int64) {
	t.Helper()
	pts := collect(t, s, twin, ch)
	got := make([]int64, len(pts))
	for i, p := range pts {
		got[i] = p.TS
		if p.Value != float64(p.TS/1000) {
			t.Fatalf("%s/%s: point %+v has another's value", twin, ch, p)
		}
	}
	if !slices.Equal(got, want) {
		i := 0
		for i < min(len(got), len(want)) && got[i] == want[i] {
			i++
		}
		t.Fatalf("%s/%s: %d points, want %d; from index %d: %v, want %v", twin, ch, len(got), len(want), i, got[i:min(len(got), i+5)], want[i:min(len(want), i+5)])
	}
	// PromQL's path (visit through snapshot) agrees.
	q, err := s.Queryable("default").Querier(0, 1<<62)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	ss := q.Select(t.Context(), false, nil, labels.MustNewMatcher(labels.MatchEqual, "twin", twin), labels.MustNewMatcher(labels.MatchEqual, "channel", ch))
	var viaProm []int64
	for ss.Next() {
		it := ss.At().Iterator(nil)
		for it.Next() != 0 {
			ts, _ := it.At()
			viaProm = append(viaProm, ts)
		}
	}
	if !slices.Equal(viaProm, want) {
		t.Fatalf("%s/%s through the querier: %d points, want %d", twin, ch, len(viaProm), len(want))
	}
}

func latestTS(t *testing.T, s *Store, twin, ch string) int64 {
	t.Helper()
	p, ok := s.Latest(telemetry.Key{Tenant: "default", Twin: twin, Channel: ch})
	if !ok {
		return -1
	}
	if p.Value != float64(p.TS/1000) {
		t.Fatalf("latest %+v has another sample's value", p)
	}
	return p.TS
}

// TestDeleteRange: a range is deleted from blocks and memory alike, counted
// exactly (twice over the same samples counts them once), stays deleted
// after a crash (WAL replay) and a clean reopen (the span in the span
// file), and is left out of what compaction writes, after which the span
// goes. A deleted tail moves Latest back, and appends go on after the
// newest sample left (a deleted tail can be sent again, a deleted stretch
// before it cannot).
func TestDeleteRange(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{Dir: dir, CompactBlocks: 2}
	s, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	appendT(t, s, gen("g1", "rain", 0, 600))
	appendT(t, s, gen("g1", "level", 0, 600))
	if err := s.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	appendT(t, s, gen("g1", "rain", 600, 400))
	appendT(t, s, gen("g1", "level", 600, 400))
	// 300..700 spans the block (0..599) and memory (600..999).
	n, err := s.DeleteRange(t.Context(), "default", "g1", "rain", 300_000, 700_000)
	if err != nil || n != 401 {
		t.Fatalf("delete: %d, %v; want 401", n, err)
	}
	left := wantLeft(1000, [2]int{300, 700})
	checkLeft(t, s, "g1", "rain", left)
	checkLeft(t, s, "g1", "level", wantLeft(1000))
	// Again, overlapping: only the samples not deleted yet count.
	if n, err := s.DeleteRange(t.Context(), "default", "g1", "rain", 250_000, 320_500); err != nil || n != 50 {
		t.Fatalf("overlapping delete: %d, %v; want 50", n, err)
	}
	checkLeft(t, s, "g1", "rain", wantLeft(1000, [2]int{250, 700}))
	// The tail of every channel of the twin (channel ""): Latest moves back.
	if n, err := s.DeleteRange(t.Context(), "default", "g1", "", 990_000, 5_000_000); err != nil || n != 20 {
		t.Fatalf("tail delete: %d, %v; want 20", n, err)
	}
	left = wantLeft(990, [2]int{250, 700})
	checkLeft(t, s, "g1", "rain", left)
	checkLeft(t, s, "g1", "level", wantLeft(990))
	if got := latestTS(t, s, "g1", "rain"); got != 989_000 {
		t.Fatalf("latest after the tail's deletion: %d", got)
	}
	// Appends go on after the newest sample left: the tail can be sent
	// again; a stretch before the newest sample cannot.
	appendT(t, s, gen("g1", "rain", 995, 10))
	if st, err := s.Append(t.Context(), gen("g1", "rain", 500, 1)); err != nil || st[0] == Accepted {
		t.Fatalf("an append into a deleted stretch: %v, %v", st, err)
	}
	for i := 995; i < 1005; i++ {
		left = append(left, int64(i)*1000)
	}
	checkLeft(t, s, "g1", "rain", left)
	if got := latestTS(t, s, "g1", "rain"); got != 1_004_000 {
		t.Fatalf("latest after new samples: %d", got)
	}
	if n, err := s.DeleteRange(t.Context(), "default", "nobody", "", 0, 1<<40); n != 0 || err != nil {
		t.Fatalf("delete of nothing: %d, %v", n, err)
	}
	if _, err := s.DeleteRange(t.Context(), "default", "g1", "rain", 10, 9); err == nil {
		t.Fatal("a range that ends before it starts was taken")
	}

	// A crash: the block holds 0..599 (spans keep 250..599 out), the WAL
	// the rest and the deletions.
	if err := s.seg.sync(); err != nil {
		t.Fatal(err)
	}
	crash := t.TempDir()
	copyDir(t, dir, crash)
	c, err := Open(Config{Dir: crash})
	if err != nil {
		t.Fatalf("open after a crash: %v", err)
	}
	checkLeft(t, c, "g1", "rain", left)
	checkLeft(t, c, "g1", "level", wantLeft(990))
	if got := latestTS(t, c, "g1", "level"); got != 989_000 {
		t.Fatalf("latest after the crash: %d", got)
	}
	c.Close()

	// Flushed (the deletions' WAL goes) and reopened: the spans in the
	// span file keep the block's deleted samples out; the tombstone file
	// (which a tsingma from before spans reads) has none.
	if err := s.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, tombstoneFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a tombstone file for ranged deletions: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, spanFile)); err != nil {
		t.Fatalf("span file: %v", err)
	}
	s, err = Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	checkLeft(t, s, "g1", "rain", left)
	checkLeft(t, s, "g1", "level", wantLeft(990))
	if got := latestTS(t, s, "g1", "level"); got != 989_000 {
		t.Fatalf("latest after a reopen: %d", got)
	}
	if st, err := s.Append(t.Context(), gen("g1", "level", 993, 1)); err != nil || st[0] != Accepted {
		t.Fatalf("an append into the deleted tail after a reopen: %v, %v", st, err)
	}
	checkLeft(t, s, "g1", "level", append(wantLeft(990), 993_000))
	// Compaction rewrites the blocks without the deleted samples; the
	// spans then go with the blocks they reached.
	for range 3 {
		if err := s.compactBlocks(); err != nil {
			t.Fatal(err)
		}
	}
	checkLeft(t, s, "g1", "rain", left)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, spanFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("span file after the old blocks were rewritten: %v", err)
	}
	s, err = Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	checkLeft(t, s, "g1", "rain", left)
	checkLeft(t, s, "g1", "level", append(wantLeft(990), 993_000))
}

// TestDeleteRangeMatchesAModel: random appends, flushes, compactions,
// ranged deletions and crashes against a plain model of what is left.
func TestDeleteRangeMatchesAModel(t *testing.T) {
	for seed := range uint64(12) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 7))
			dir := t.TempDir()
			cfg := Config{Dir: dir, CompactBlocks: 2}
			s, err := Open(cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { s.Close() }()
			chans := []string{"a", "b"}
			model := map[string]map[int64]bool{"a": {}, "b": {}}
			next := map[string]int{}
			// checkCrash opens a copy of the store as a crash left it and
			// checks it against the model.
			checkCrash := func(step int, crash, what string) {
				c, err := Open(Config{Dir: crash})
				if err != nil {
					t.Fatalf("step %d: open after %s: %v", step, what, err)
				}
				for _, ch := range chans {
					checkModel(t, c, ch, model[ch])
				}
				c.Close()
			}
			for step := range 60 {
				switch r := rng.IntN(11); {
				case r < 5:
					ch := chans[rng.IntN(2)]
					k := 1 + rng.IntN(300)
					// After the newest sample left: into a deleted tail.
					next[ch] = 0
					for ts := range model[ch] {
						next[ch] = max(next[ch], int(ts/1000)+1)
					}
					appendT(t, s, gen("g", ch, next[ch], k))
					t.Logf("step %d: append %s %d..%d", step, ch, next[ch], next[ch]+k-1)
					for i := next[ch]; i < next[ch]+k; i++ {
						model[ch][int64(i)*1000] = true
					}
					next[ch] += k
				case r < 7:
					ch := ""
					if rng.IntN(2) == 0 {
						ch = chans[rng.IntN(2)]
					}
					a := rng.Int64N(int64(max(next["a"], next["b"])+50)) * 1000
					b := a + rng.Int64N(200_000)
					want := 0
					for _, c := range chans {
						if ch != "" && c != ch {
							continue
						}
						for ts := range model[c] {
							if ts >= a && ts <= b {
								delete(model[c], ts)
								want++
							}
						}
					}
					t.Logf("step %d: delete %q %d..%d", step, ch, a/1000, b/1000)
					n, err := s.DeleteRange(t.Context(), "default", "g", ch, a, b)
					if err != nil || n != want {
						t.Fatalf("step %d: delete %q [%d, %d]: %d, %v; want %d", step, ch, a, b, n, err, want)
					}
				case r < 8:
					t.Logf("step %d: flush", step)
					if err := s.Flush(t.Context()); err != nil {
						t.Fatal(err)
					}
				case r < 9:
					t.Logf("step %d: compact", step)
					if err := s.compactBlocks(); err != nil {
						t.Fatal(err)
					}
				case r < 10:
					// A crash in a flush after its block and the tombstone
					// file were written, before the WAL it covers went:
					// the WAL as before the flush, the blocks as after.
					t.Logf("step %d: crash in a flush", step)
					if err := s.seg.sync(); err != nil {
						t.Fatal(err)
					}
					crash := t.TempDir()
					copyDir(t, dir, crash)
					if err := s.Flush(t.Context()); err != nil {
						t.Fatal(err)
					}
					os.RemoveAll(filepath.Join(crash, "blocks"))
					copyDir(t, filepath.Join(dir, "blocks"), filepath.Join(crash, "blocks"))
					for _, name := range []string{tombstoneFile, spanFile} {
						os.Remove(filepath.Join(crash, name))
						if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
							copyDir(t, filepath.Join(dir, name), filepath.Join(crash, name))
						}
					}
					checkCrash(step, crash, "a crash in a flush")
				default:
					t.Logf("step %d: crash", step)
					if err := s.seg.sync(); err != nil {
						t.Fatal(err)
					}
					crash := t.TempDir()
					copyDir(t, dir, crash)
					checkCrash(step, crash, "a crash")
				}
				for _, ch := range chans {
					checkModel(t, s, ch, model[ch])
				}
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			s, err = Open(cfg)
			if err != nil {
				t.Fatal(err)
			}
			for _, ch := range chans {
				checkModel(t, s, ch, model[ch])
			}
		})
	}
}

func checkModel(t *testing.T, s *Store, ch string, m map[int64]bool) {
	t.Helper()
	want := make([]int64, 0, len(m))
	for ts := range m {
		want = append(want, ts)
	}
	slices.Sort(want)
	if len(want) == 0 {
		pts := []Point(nil)
		err := s.Range(t.Context(), telemetry.Key{Tenant: "default", Twin: "g", Channel: ch}, 0, 1<<62, func(ts int64, v float64) bool {
			pts = append(pts, Point{ts, v})
			return true
		})
		if err != nil && !errors.Is(err, ErrNoSeries) || len(pts) > 0 {
			t.Fatalf("%s: %d points, %v; want none", ch, len(pts), err)
		}
		if got := latestTS(t, s, "g", ch); got != -1 {
			t.Fatalf("%s: latest %d of no samples", ch, got)
		}
		return
	}
	checkLeft(t, s, "g", ch, want)
	if got := latestTS(t, s, "g", ch); got != want[len(want)-1] {
		t.Fatalf("%s: latest %d, want %d", ch, got, want[len(want)-1])
	}
}

// TestCompactionKeepsChunksInOrder: blocks are merged in order of their
// oldest sample, which for one series need not be neighbours: a series
// that starts late with old timestamps gives a later block an early
// start. The merged chunks must not straddle the chunk of the block left
// between them.
func TestCompactionKeepsChunksInOrder(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Config{Dir: dir, CompactBlocks: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { s.Close() }()
	for i, part := range [][]telemetry.Sample{
		gen("g", "a", 0, 100),
		gen("g", "a", 100, 100),
		append(gen("g", "a", 200, 100), gen("g", "late", 0, 10)...),
	} {
		appendT(t, s, part)
		if err := s.Flush(t.Context()); err != nil {
			t.Fatalf("flush %d: %v", i, err)
		}
	}
	// By oldest sample the blocks run 1 (0), 3 (0), 2 (100): the first
	// two merged leave block 2's chunk of "a" between theirs.
	if err := s.compactBlocks(); err != nil {
		t.Fatal(err)
	}
	checkSeq(t, collect(t, s, "g", "a"), 300)
	checkSeq(t, collect(t, s, "g", "late"), 10)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(Config{Dir: dir, CompactBlocks: 2})
	if err != nil {
		t.Fatal(err)
	}
	checkSeq(t, collect(t, s, "g", "a"), 300)
}
