package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/tsingma/tsingma/internal/telemetry"
)

func openT(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(Config{Dir: dir})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return s
}

func gen(twin, ch string, from, n int) []telemetry.Sample {
	out := make([]telemetry.Sample, n)
	for i := range out {
		out[i] = telemetry.Sample{Tenant: "default", Twin: twin, Channel: ch, Type: "rain-gauge", TS: int64(from+i) * 1000, Value: float64(from + i)}
	}
	return out
}

func collect(t *testing.T, s *Store, twin, ch string) []Point {
	t.Helper()
	var pts []Point
	err := s.Range(t.Context(), telemetry.Key{Tenant: "default", Twin: twin, Channel: ch}, 0, 1<<62, func(ts int64, v float64) bool {
		pts = append(pts, Point{ts, v})
		return true
	})
	if err != nil {
		t.Fatalf("range: %v", err)
	}
	return pts
}

func checkSeq(t *testing.T, pts []Point, n int) {
	t.Helper()
	if len(pts) != n {
		t.Fatalf("got %d points, want %d", len(pts), n)
	}
	for i, p := range pts {
		if p.TS != int64(i)*1000 || p.Value != float64(i) {
			t.Fatalf("point %d = %+v, want ts=%d value=%d", i, p, i*1000, i)
		}
	}
}

func TestAppendStatusesAndReopen(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir)
	ctx := t.Context()
	st, err := s.Append(ctx, gen("g1", "rain", 0, 500))
	if err != nil {
		t.Fatal(err)
	}
	for i, x := range st {
		if x != Accepted {
			t.Fatalf("sample %d: got %v, want accepted", i, x)
		}
	}
	// A retry of the same samples is stored once; an older sample is refused.
	st, err = s.Append(ctx, append(gen("g1", "rain", 499, 1), telemetry.Sample{Tenant: "default", Twin: "g1", Channel: "rain", TS: 10, Value: 3}))
	if err != nil {
		t.Fatal(err)
	}
	if st[0] != Duplicate || st[1] != OutOfOrder {
		t.Fatalf("got %v, want [duplicate out_of_order]", st)
	}
	// The newest timestamp again with another value: a conflict, said so
	// (it was called out of order), and the stored value stays.
	last := gen("g1", "rain", 499, 1)
	last[0].Value++
	if st, err = s.Append(ctx, last); err != nil || st[0] != Conflict {
		t.Fatalf("got %v %v, want [conflict]", st, err)
	}
	checkSeq(t, collect(t, s, "g1", "rain"), 500)
	if p, ok := s.Latest(telemetry.Key{Tenant: "default", Twin: "g1", Channel: "rain"}); !ok || p.TS != 499000 {
		t.Fatalf("latest = %+v %v", p, ok)
	}
	// Simulate a crash: do not Close, reopen from the WAL alone.
	s.cancel()
	s.wg.Wait()
	s.seg.close()
	s.closeBlocks()
	s2 := openT(t, dir)
	checkSeq(t, collect(t, s2, "g1", "rain"), 500)
	// Flush to a block, append more, close cleanly and reopen.
	if err := s2.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s2.Append(ctx, gen("g1", "rain", 500, 300)); err != nil {
		t.Fatal(err)
	}
	checkSeq(t, collect(t, s2, "g1", "rain"), 800)
	if err := s2.Close(); err != nil {
		t.Fatal(err)
	}
	segs, _ := listSegments(filepath.Join(dir, "wal"))
	if len(segs) != 1 {
		t.Errorf("after close got %d wal segments, want 1 (empty)", len(segs))
	}
	s3 := openT(t, dir)
	defer s3.Close()
	checkSeq(t, collect(t, s3, "g1", "rain"), 800)
	st, _ = s3.Append(ctx, gen("g1", "rain", 799, 1))
	if st[0] != Duplicate {
		t.Fatalf("after reopen the last sample again: got %v, want duplicate", st[0])
	}
}

func TestTornTailIsCut(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir)
	if _, err := s.Append(t.Context(), gen("g1", "rain", 0, 100)); err != nil {
		t.Fatal(err)
	}
	seq := s.seg.seq
	s.cancel()
	s.wg.Wait()
	s.seg.close()
	// Append garbage as if a write was torn by a crash.
	f, err := os.OpenFile(segmentName(filepath.Join(dir, "wal"), seq), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte{0x10, 0, 0, 0, 1, 2, 3})
	f.Close()
	s2 := openT(t, dir)
	defer s2.Close()
	checkSeq(t, collect(t, s2, "g1", "rain"), 100)
}

func TestPromQL(t *testing.T) {
	s := openT(t, t.TempDir())
	defer s.Close()
	ctx := t.Context()
	for _, tw := range []string{"a", "b", "c"} {
		if _, err := s.Append(ctx, gen(tw, "rain", 0, 600)); err != nil {
			t.Fatal(err)
		}
	}
	eng := promql.NewEngine(promql.EngineOpts{MaxSamples: 1e6, Timeout: time.Minute, LookbackDelta: 5 * time.Minute})
	q, err := eng.NewInstantQuery(ctx, s.Queryable("default"), nil, `count(count by (twin) ({type="rain-gauge"}))`, time.UnixMilli(599000))
	if err != nil {
		t.Fatal(err)
	}
	res := q.Exec(ctx)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	v, err := res.Vector()
	if err != nil || len(v) != 1 || v[0].F != 3 {
		t.Fatalf("got %v (%v), want one sample = 3", res.Value, err)
	}
	q2, err := eng.NewInstantQuery(ctx, s.Queryable("other"), nil, `count({type="rain-gauge"})`, time.UnixMilli(599000))
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := q2.Exec(ctx).Vector(); len(v) != 0 {
		t.Fatalf("another tenant sees %v, want nothing", v)
	}
	_ = parser.ValueTypeVector
}

// TestFullWALFlushesPromptly fills the WAL past FlushWALBytes with the
// maintenance tick an hour away: the flush must start then, not at the
// tick (the WAL, and so restart time, would grow unbounded meanwhile).
func TestFullWALFlushesPromptly(t *testing.T) {
	s, err := Open(Config{Dir: t.TempDir(), FlushWALBytes: 64 << 10, MaintainEvery: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := 0; i < 10; i++ {
		if _, err := s.Append(t.Context(), gen("g", "rain", i*1000, 1000)); err != nil {
			t.Fatal(err)
		}
	}
	for deadline := time.Now().Add(30 * time.Second); s.Stats().Blocks == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no flush 30 s after the WAL passed its limit: %+v", s.Stats())
		}
	}
	if got := len(collect(t, s, "g", "rain")); got != 10_000 {
		t.Fatalf("%d samples after the flush, want 10000", got)
	}
}

// TestPendingSamplesAcrossChunkCut: samples waiting to be encoded are
// read by queries, also when encoding them closes the open chunk, and by
// a flush.
func TestPendingSamplesAcrossChunkCut(t *testing.T) {
	s := openT(t, t.TempDir())
	defer s.Close()
	ctx := t.Context()
	n := 0
	add := func(k int) {
		t.Helper()
		if _, err := s.Append(ctx, gen("g1", "rain", n, k)); err != nil {
			t.Fatal(err)
		}
		n += k
	}
	// After 3 samples and a query, later encodings leave samplesPerChunk-5
	// in the open chunk and 7 pending: the next query's encoding closes
	// the chunk in the middle of the pending samples.
	add(3)
	checkSeq(t, collect(t, s, "g1", "rain"), n)
	add(samplesPerChunk - 1)
	checkSeq(t, collect(t, s, "g1", "rain"), n)
	for _, k := range []int{1, 2, 5, 7, 8, 9, pendN*3 + 1} {
		add(k)
		checkSeq(t, collect(t, s, "g1", "rain"), n)
	}
	add(5)
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	checkSeq(t, collect(t, s, "g1", "rain"), n)
}

// TestReadsSeeWhatWasAcknowledged: writers are woken when their batch is
// synced, before it is in the head; every read that starts after an
// Append returned must still see its samples. Batches big enough for the
// applier (and many writers, so that batches group) make the window real.
func TestReadsSeeWhatWasAcknowledged(t *testing.T) {
	s := openT(t, t.TempDir())
	defer s.Close()
	ctx := t.Context()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			twin := fmt.Sprintf("w%d", w)
			k := telemetry.Key{Tenant: "default", Twin: twin, Channel: "rain"}
			for i := 0; i < 60; i++ {
				batch := gen(twin, "rain", i*(inlineApply+1), inlineApply+1)
				if _, err := s.Append(ctx, batch); err != nil {
					errs <- err
					return
				}
				want := batch[len(batch)-1].TS
				if p, ok := s.Latest(k); !ok || p.TS != want {
					errs <- fmt.Errorf("%s: after an append ending at %d, Latest = %+v %v", twin, want, p, ok)
					return
				}
				n := 0
				if err := s.RangeBatch(ctx, k, want, want, func(ts []int64, _ []float64) bool { n += len(ts); return true }); err != nil || n != 1 {
					errs <- fmt.Errorf("%s: the range at %d has %d samples (%v), want 1", twin, want, n, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestProbeSync(t *testing.T) {
	p50, p99, err := ProbeSync(t.TempDir(), 20)
	if err != nil {
		t.Fatal(err)
	}
	if p50 <= 0 || p99 < p50 {
		t.Fatalf("p50 %v p99 %v: want 0 < p50 <= p99", p50, p99)
	}
}

// TestWALFailureStopsAppends: once a WAL write fails (here its file is
// closed under it, as when the disk goes away), the batch gets ErrFailed,
// so does every later one, nothing more is written, and Err reports it
// (/readyz). What was acknowledged before is there after a restart.
func TestWALFailureStopsAppends(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir)
	ctx := t.Context()
	if _, err := s.Append(ctx, gen("g", "rain", 0, 10)); err != nil {
		t.Fatal(err)
	}
	if err := s.Err(); err != nil {
		t.Fatalf("Err before any failure: %v", err)
	}
	s.seg.f.Close()
	for i := 1; i <= 3; i++ {
		if _, err := s.Append(ctx, gen("g", "rain", i*10, 10)); !errors.Is(err, ErrFailed) {
			t.Fatalf("append %d after the failure: %v, want ErrFailed", i, err)
		}
	}
	if err := s.Err(); !errors.Is(err, ErrFailed) {
		t.Fatalf("Err: %v, want ErrFailed", err)
	}
	s.Close() // its own errors are expected: the WAL's file is gone
	s2 := openT(t, dir)
	defer s2.Close()
	n := 0
	if err := s2.RangeBatch(ctx, telemetry.Key{Tenant: "default", Twin: "g", Channel: "rain"}, 0, 1<<40, func(ts []int64, _ []float64) bool { n += len(ts); return true }); err != nil {
		t.Fatal(err)
	}
	if n != 10 {
		t.Fatalf("after a restart the channel has %d samples, want the 10 acknowledged", n)
	}
	if err := s2.Err(); err != nil {
		t.Fatalf("Err after a restart: %v", err)
	}
}

// TestMaxPending: a batch is refused (ErrBusy, nothing written) while the
// samples waiting for their commit and it would pass MaxPending; one
// larger than MaxPending is taken when none wait, or its sender would be
// refused for ever.
func TestMaxPending(t *testing.T) {
	s, err := Open(Config{Dir: t.TempDir(), MaxPending: 10})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	appendT(t, s, gen("g1", "rain", 0, 50)) // larger than MaxPending, none waiting
	s.visible()                             // applied: none waiting any more
	s.pendN.Add(5)                          // five samples waiting
	if _, err := s.Append(t.Context(), gen("g1", "rain", 50, 6)); err != ErrBusy {
		t.Fatalf("a batch past MaxPending with samples waiting: %v, want ErrBusy", err)
	}
	appendT(t, s, gen("g1", "rain", 50, 5)) // within it
	s.pendN.Add(-5)
	checkSeq(t, collect(t, s, "g1", "rain"), 55)
}
