package scoring

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tsingma/tsingma/internal/alert"
	"github.com/tsingma/tsingma/internal/anomaly"
	"github.com/tsingma/tsingma/internal/bus"
	"github.com/tsingma/tsingma/internal/store"
	"github.com/tsingma/tsingma/internal/telemetry"
	"github.com/tsingma/tsingma/internal/testenv"
)

func TestMain(m *testing.M) { testenv.MainWithLeakCheck(m) }

type fakeAlerts struct {
	mu     sync.Mutex
	raised []alert.Signal
}

func (f *fakeAlerts) Apply(_ context.Context, ops []alert.SignalOp) []error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, op := range ops {
		if !op.Clear {
			f.raised = append(f.raised, op.Signal)
		}
	}
	return make([]error, len(ops))
}

func (f *fakeAlerts) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.raised)
}

func signal(i int) float64 {
	v := 20 + 2*math.Sin(float64(i)/50) + 0.1*math.Sin(float64(i)*1.7)
	if i == 1500 {
		v += 15 // a spike
	}
	return v
}

// feed appends samples [from, to) and publishes them as ingest would.
func feed(t *testing.T, st *store.Store, b *bus.Bus, from, to int) {
	t.Helper()
	for i := from; i < to; i += 100 {
		var batch []telemetry.Sample
		for j := i; j < min(i+100, to); j++ {
			batch = append(batch, telemetry.Sample{Tenant: "default", Twin: "s1", Channel: "temp", Type: "sensor", TS: int64(j+1) * 60_000, Value: signal(j)})
		}
		if _, err := st.Append(t.Context(), batch); err != nil {
			t.Fatal(err)
		}
		b.PublishSamples(batch)
	}
}

func scores(t *testing.T, st *store.Store, n int) []float64 {
	t.Helper()
	var out []float64
	deadline := time.Now().Add(20 * time.Second)
	for {
		out = out[:0]
		st.Range(t.Context(), telemetry.Key{Tenant: "default", Twin: "s1", Channel: "temp" + Suffix}, 0, math.MaxInt64, func(_ int64, v float64) bool {
			out = append(out, v)
			return true
		})
		if len(out) >= n || time.Now().After(deadline) {
			return out
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func open(t *testing.T, dir string, st *store.Store, b *bus.Bus, al Alerter) *Service {
	t.Helper()
	s, err := Open(Config{Dir: dir, Bus: b, Store: st, Alerts: al, QueueBatches: 1 << 12})
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	<-s.Restored()
	return s
}

func TestScoresStoredAlertRaisedAndRestartResumes(t *testing.T) {
	base := t.TempDir()
	// Uninterrupted reference run.
	st1, _ := store.Open(store.Config{Dir: filepath.Join(base, "ref")})
	b1 := bus.New()
	al := &fakeAlerts{}
	s1 := open(t, filepath.Join(base, "ref-anomaly"), st1, b1, al)
	feed(t, st1, b1, 0, 2000)
	ref := scores(t, st1, 2000)
	s1.Close()
	st1.Close()
	if len(ref) != 2000 {
		t.Fatalf("got %d scores, want 2000", len(ref))
	}
	if al.count() == 0 {
		t.Fatal("the spike raised no alert")
	}
	sig := al.raised[0]
	if sig.Source != "model:anomaly" || sig.ModelVersion != ModelVersion || sig.Channel != "temp" || sig.Reason == "" {
		t.Fatalf("alert signal %+v lacks its source, version, channel or reason", sig)
	}
	// Interrupted run: stop after 1,000 samples (checkpoint on close), store
	// 300 more while scoring is down, restart and continue.
	st2, _ := store.Open(store.Config{Dir: filepath.Join(base, "run")})
	defer st2.Close()
	b2 := bus.New()
	adir := filepath.Join(base, "run-anomaly")
	s2 := open(t, adir, st2, b2, nil)
	feed(t, st2, b2, 0, 1000)
	scores(t, st2, 1000)
	if err := s2.Close(); err != nil {
		t.Fatal(err)
	}
	feed(t, st2, b2, 1000, 1300) // nobody scores these now
	s3 := open(t, adir, st2, b2, nil)
	defer s3.Close()
	feed(t, st2, b2, 1300, 2000)
	got := scores(t, st2, 1700)
	// Scores of samples 1300.. must equal the uninterrupted run's.
	if len(got) != 1700 {
		t.Fatalf("got %d scores, want 1700 (1,000 before, none while down, 700 after)", len(got))
	}
	for i := 1000; i < 1700; i++ {
		if got[i] != ref[i+300] {
			t.Fatalf("score of sample %d after restart = %g, uninterrupted run %g", i+300, got[i], ref[i+300])
		}
	}
}

func TestPolicyValidation(t *testing.T) {
	bad := 2.0
	p := DefaultPolicy()
	p.Types = map[string]Settings{"slope": {Threshold: &bad}}
	if err := p.Validate(); err == nil {
		t.Fatal("threshold 2 accepted")
	}
	off := false
	p = DefaultPolicy()
	p.Twins = map[string]Settings{"x": {Enabled: &off}}
	if e := p.resolve("slope", "x"); e.enabled {
		t.Fatal("twin override ignored")
	}
	if e := p.resolve("slope", "y"); !e.enabled || e.threshold != 0.261 {
		t.Fatalf("defaults not applied: %+v", e)
	}
}

// TestShardHashIsFNV: the allocation-free shard hash is FNV-1a of
// tenant NUL twin (all channels of a twin share a shard).
func TestShardHashIsFNV(t *testing.T) {
	for _, k := range []telemetry.Key{{}, {Tenant: "default", Twin: "slope-1", Channel: "pore_pressure"}, {Tenant: "t2", Twin: "ü/𝄞", Channel: "x.anomaly"}} {
		h := fnv.New32a()
		io.WriteString(h, k.Tenant+"\x00"+k.Twin)
		if got, want := shardHash(k), h.Sum32(); got != want {
			t.Errorf("shardHash(%+v) = %d, want %d", k, got, want)
		}
	}
}

// routerOnly opens a scoring service and runs its router alone, as Start
// runs it, with no worker taking the shards' batches.
func routerOnly(t *testing.T, shards, queueBatches int) (*Service, *bus.Bus) {
	t.Helper()
	st := tempStore(t)
	b := bus.New()
	s, err := Open(Config{Dir: t.TempDir(), Bus: b, Store: st, Shards: shards, QueueBatches: queueBatches})
	if err != nil {
		t.Fatal(err)
	}
	s.sub = b.Subscribe(bus.SubscribeOptions{Buffer: 16, Filter: func(ev bus.Event) bool { return ev.Kind == "samples" }})
	s.wgWork.Add(1)
	go s.route()
	return s, b
}

// TestRouterShedsWhenEveryQueueIsFull: with every shard queue full, a
// batch is dropped whole and counted without its score samples.
func TestRouterShedsWhenEveryQueueIsFull(t *testing.T) {
	s, b := routerOnly(t, 2, 1)
	batch := []telemetry.Sample{
		{Tenant: "default", Twin: "a", Channel: "rainfall", Type: "rain-gauge", TS: 1, Value: 1},
		{Tenant: "default", Twin: "a", Channel: "rainfall" + Suffix, Type: "rain-gauge", TS: 1, Value: 0},
		{Tenant: "default", Twin: "b", Channel: "rainfall", Type: "rain-gauge", TS: 1, Value: 2},
	}
	for _, sh := range s.shards {
		sh.in <- work{} // every queue full
	}
	b.PublishSamples(batch)
	s.sub.Close() // route drains the subscription, then closes the queues
	s.wgWork.Wait()
	if got := s.Stats().Dropped; got != 2 {
		t.Fatalf("dropped %d samples with every queue full, want 2 (the score sample is not one)", got)
	}
	for i, sh := range s.shards {
		if n := len(sh.in); n != 1 {
			t.Errorf("shard %d holds %d batches, want only the filler", i, n)
		}
	}
}

// TestRouterPassesOneShardBatchWhole: a batch whose twins are all of one
// shard, with no score samples, reaches that shard as it is; any other is
// split, without its score samples.
func TestRouterPassesOneShardBatchWhole(t *testing.T) {
	s, b := routerOnly(t, 3, 8)
	smp := func(twin, ch string) telemetry.Sample {
		return telemetry.Sample{Tenant: "default", Twin: twin, Channel: ch, Type: "rain-gauge", TS: 1, Value: 1}
	}
	// Two twins of one shard and one of another.
	twins := map[int][]string{}
	for i := 0; len(twins) < 2 || len(twins[s.shardIndex(telemetry.Key{Tenant: "default", Twin: "t0"})]) < 2; i++ {
		tw := fmt.Sprintf("t%d", i)
		j := s.shardIndex(telemetry.Key{Tenant: "default", Twin: tw})
		twins[j] = append(twins[j], tw)
	}
	same := s.shardIndex(telemetry.Key{Tenant: "default", Twin: "t0"})
	other := -1
	for j := range twins {
		if j != same {
			other = j
		}
	}
	for _, tc := range []struct {
		name  string
		batch []telemetry.Sample
		whole bool
	}{
		{"one twin", []telemetry.Sample{smp("t0", "rainfall"), smp("t0", "level")}, true},
		{"two twins of one shard", []telemetry.Sample{smp(twins[same][0], "rainfall"), smp(twins[same][1], "rainfall")}, true},
		{"with a score", []telemetry.Sample{smp("t0", "rainfall"), smp("t0", "rainfall"+Suffix)}, false},
		{"two shards", []telemetry.Sample{smp("t0", "rainfall"), smp(twins[other][0], "rainfall")}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, ok := s.oneShard(tc.batch); ok != tc.whole {
				t.Fatalf("oneShard = %v, want %v", ok, tc.whole)
			}
		})
	}
	// Through the router.
	whole := []telemetry.Sample{smp("t0", "rainfall"), smp("t0", "level")}
	bus.Samples{Bus: b}.Publish(whole) // the bus takes the slice, as from the ingester
	b.PublishSamples([]telemetry.Sample{smp("t0", "rainfall"), smp(twins[other][0], "rainfall"), smp("t0", "x"+Suffix)})
	s.sub.Close()
	s.wgWork.Wait()
	got := (<-s.shards[same].in).samples
	if len(got) != 2 || &got[0] != &whole[0] {
		t.Fatalf("one-shard batch reached its shard as %v, want the published slice itself", got)
	}
	if p := (<-s.shards[same].in).samples; len(p) != 1 || p[0].Twin != "t0" {
		t.Fatalf("split batch gave shard %d %v, want t0's sample", same, p)
	}
	if p := (<-s.shards[other].in).samples; len(p) != 1 || p[0].Twin != twins[other][0] {
		t.Fatalf("split batch gave shard %d %v, want %s's sample", other, p, twins[other][0])
	}
}

// TestQueuedBatchesStoreScoresOnce: the scores of batches that wait for a
// shard's worker are stored in one append (one commit), not one a batch.
func TestQueuedBatchesStoreScoresOnce(t *testing.T) {
	s, st, _ := oneShard(t, 16)
	s.ctx, s.cancel = context.WithCancel(t.Context())
	defer s.cancel()
	sh := s.shards[0]
	for i := 0; i < 500; i += 100 {
		var batch []telemetry.Sample
		for j := i; j < i+100; j++ {
			batch = append(batch, telemetry.Sample{Tenant: "default", Twin: "s1", Channel: "temp", Type: "sensor", TS: int64(j+1) * 60_000, Value: signal(j)})
		}
		sh.in <- work{samples: batch}
	}
	close(sh.in)
	before := st.Stats().Commits
	s.wgWork.Add(1)
	s.work(sh) // takes the five queued batches, then stops
	if n := len(scores(t, st, 500)); n != 500 {
		t.Fatalf("%d scores stored, want 500", n)
	}
	if c := st.Stats().Commits - before; c != 1 {
		t.Fatalf("the scores of five queued batches took %d commits, want 1", c)
	}
}

// TestWorkerGivesWayBetweenOneSampleBatches: at half the MQTT peak the
// scorer's batches are single messages of a few samples. The worker must
// still look at the pacer (every paceEvery samples across batches) and
// pause while other goroutines wait for the CPU; a count that starts
// again with each batch never reaches paceEvery.
func TestWorkerGivesWayBetweenOneSampleBatches(t *testing.T) {
	const n = 2000
	s, st, _ := oneShard(t, n)
	s.ctx, s.cancel = context.WithCancel(t.Context())
	defer s.cancel()
	sh := s.shards[0]
	for j := range n {
		sh.in <- work{samples: []telemetry.Sample{{Tenant: "default", Twin: "s1", Channel: "temp", Type: "sensor", TS: int64(j+1) * 60_000, Value: signal(j)}}}
	}
	close(sh.in)
	stop := testenv.BusyCPU() // goroutines that always want the CPU
	s.wgWork.Add(1)
	s.work(sh)
	stop()
	if got := s.Stats().Pauses; got == 0 {
		t.Fatalf("the worker scored %d one-sample batches beside busy goroutines without a pause", n)
	}
	if n := len(scores(t, st, n)); n != 2000 {
		t.Fatalf("%d scores stored, want 2000", n)
	}
}

// BenchmarkCheckpointShard marshals a shard of 10,000 series in chunks
// (the periodic and the final checkpoint): bytes allocated a checkpoint
// against the checkpoint's size.
func BenchmarkCheckpointShard(b *testing.B) {
	s := &Service{}
	sh := &shard{series: map[telemetry.Key]*seriesState{}}
	for i := range 10_000 {
		d, err := anomaly.New(anomaly.DefaultConfig())
		if err != nil {
			b.Fatal(err)
		}
		k := telemetry.Key{Tenant: "default", Twin: fmt.Sprintf("slope-%05d", i), Channel: "pore_pressure"}
		sh.series[k] = &seriesState{det: d, typ: "piezometer"}
	}
	b.ReportAllocs()
	var size int
	for b.Loop() {
		size = 0
		for job := (&ckptJob{}); !job.done; {
			size += len(s.marshalChunk(sh, job))
		}
	}
	b.ReportMetric(float64(size), "checkpoint_bytes")
}

// TestDamagedCheckpointStartsTheRestAfresh: a checkpoint cut inside an
// entry restores the series before the cut, and scoring starts.
func TestDamagedCheckpointStartsTheRestAfresh(t *testing.T) {
	s, st, dir := oneShard(t, 0)
	putSeries(t, s.shards[0], 3, 200)
	path, whole := writeShardCheckpoint(t, s, dir)
	for _, c := range []struct {
		cut  int // bytes removed from the end
		want int
	}{{0, 3}, {1, 2}, {anomaly.StateSize() + 20, 2}, {len(whole) - 20, 0}} {
		if err := os.WriteFile(path, whole[:len(whole)-c.cut], 0o644); err != nil {
			t.Fatal(err)
		}
		r, err := Open(Config{Dir: dir, Bus: bus.New(), Store: st, Shards: 1})
		if err != nil {
			t.Fatalf("cut %d bytes: %v", c.cut, err)
		}
		r.Start()
		<-r.Restored()
		if got := r.Stats().Series; got != c.want {
			t.Fatalf("cut %d bytes: %d series restored, want %d", c.cut, got, c.want)
		}
		r.Close()
	}
}

// FuzzReadEntry: the checkpoint's entry reader never panics, always ends,
// and reads back what marshalShard wrote.
func FuzzReadEntry(f *testing.F) {
	d, err := anomaly.New(anomaly.DefaultConfig())
	if err != nil {
		f.Fatal(err)
	}
	sh := &shard{series: map[telemetry.Key]*seriesState{}, twins: map[telemetry.Key][]*seriesState{}}
	sh.put(telemetry.Key{Tenant: "default", Twin: "s1", Channel: "temp"}, &seriesState{det: d, typ: "sensor", lastTS: 42, n: 7, mean: 1.5, vari: 0.25})
	good := (&Service{}).marshalShard(sh)
	f.Add(good)
	f.Add(good[:len(good)-1])
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bufio.NewReader(bytes.NewReader(b))
		var buf []byte
		for range len(b) + 1 { // each entry takes at least a byte
			e, err := readEntry(r, buf)
			if err != nil {
				return
			}
			buf = e.state
		}
		t.Fatal("readEntry read more entries than there are bytes")
	})
}

func TestReadEntryReadsMarshalShard(t *testing.T) {
	d, err := anomaly.New(anomaly.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	for j := range 300 {
		d.Update(int64(j)*60_000, signal(j))
	}
	k := telemetry.Key{Tenant: "t1", Twin: "slope-1", Channel: "pore_pressure"}
	sh := &shard{series: map[telemetry.Key]*seriesState{}, twins: map[telemetry.Key][]*seriesState{}}
	sh.put(k, &seriesState{det: d, typ: "piezometer", lastTS: 299 * 60_000, n: 300, mean: 1.5, vari: 0.25})
	r := bufio.NewReader(bytes.NewReader((&Service{}).marshalShard(sh)))
	e, err := readEntry(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := d.MarshalBinary()
	if e.key != k || e.typ != "piezometer" || e.lastTS != 299*60_000 || e.n != 300 || e.mean != 1.5 || e.vari != 0.25 || !bytes.Equal(e.state, want) {
		t.Fatalf("read back %+v", e)
	}
	if _, err := readEntry(r, nil); err != io.EOF {
		t.Fatalf("after the last entry: %v, want io.EOF", err)
	}
}

// gatedStore holds every Range (a restore's catch-up) until its context
// ends.
type gatedStore struct{ Store }

func (g gatedStore) Range(ctx context.Context, _ telemetry.Key, _, _ int64, _ func(int64, float64) bool) error {
	<-ctx.Done()
	return ctx.Err()
}

// TestRestoreRunsBesideIngestAndAShutdownKeepsTheFile: Start returns
// while the checkpoint is being restored, samples published meanwhile
// queue for the workers, and a Close before the restore ends leaves the
// checkpoint file as it was (the detectors hold only part of it).
func TestRestoreRunsBesideIngestAndAShutdownKeepsTheFile(t *testing.T) {
	s, st, dir := oneShard(t, 0)
	putSeries(t, s.shards[0], 3, 1)
	path, before := writeShardCheckpoint(t, s, dir)

	b := bus.New()
	r, err := Open(Config{Dir: dir, Bus: b, Store: gatedStore{st}, Shards: 1})
	if err != nil {
		t.Fatal(err)
	}
	r.Start() // returns although the restore is held
	b.PublishSamples([]telemetry.Sample{{Tenant: "default", Twin: "s9", Channel: "temp", Type: "sensor", TS: 120_000, Value: 1}})
	var m strings.Builder
	r.WriteMetrics(&m)
	if !strings.Contains(m.String(), "tsingma_anomaly_restoring 1\n") {
		t.Fatalf("metrics while restoring:\n%s", m.String())
	}
	select {
	case <-r.Restored():
		t.Fatal("the restore ended while its catch-up was held")
	default:
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(after, before) {
		t.Fatal("a shutdown during the restore rewrote the checkpoint")
	}

	// Restored in full, the same file gives the three series back.
	s2 := open(t, dir, st, bus.New(), nil)
	defer s2.Close()
	if got := s2.Stats().Series; got != 3 {
		t.Fatalf("%d series restored, want 3", got)
	}
}

// TestCheckpointInChunks: a checkpoint taken while the worker runs comes
// in chunks of about ckptChunk bytes, and restores every series.
func TestCheckpointInChunks(t *testing.T) {
	s, st, dir := oneShard(t, 0)
	s.ctx, s.cancel = context.WithCancel(t.Context())
	defer s.cancel()
	sh := s.shards[0]
	const n = 1200 // 8.7 KB each: three chunks
	putSeries(t, sh, n, 1)
	s.wgWork.Add(1)
	go s.work(sh)
	var chunks int
	err := s.writeCheckpoint(func(w io.Writer) error {
		for job := (&ckptJob{}); !job.done; chunks++ {
			reply := make(chan []byte, 1)
			sh.ckpt <- ckptRequest{job: job, reply: reply}
			if _, err := w.Write(<-reply); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := n*anomaly.StateSize()/ckptChunk + 1; chunks != want {
		t.Fatalf("%d chunks, want %d", chunks, want)
	}
	if err := s.Checkpoint(); err != nil { // the same, through Checkpoint
		t.Fatal(err)
	}
	close(sh.in)
	s.wgWork.Wait()
	r := open(t, dir, st, bus.New(), nil)
	defer r.Close()
	if got := r.Stats().Series; got != n {
		t.Fatalf("%d series restored, want %d", got, n)
	}
}

// putSeries gives sh n series (twins s0, s1, ..., channel temp) whose
// detectors have seen samples 0 to seen-1 of signal, a minute apart.
func putSeries(t *testing.T, sh *shard, n, seen int) {
	t.Helper()
	for i := range n {
		d, err := anomaly.New(anomaly.DefaultConfig())
		if err != nil {
			t.Fatal(err)
		}
		for j := range seen {
			d.Update(int64(j)*60_000, signal(j))
		}
		k := telemetry.Key{Tenant: "default", Twin: fmt.Sprintf("s%d", i), Channel: "temp"}
		sh.put(k, &seriesState{det: d, typ: "sensor", lastTS: int64(seen-1) * 60_000, n: seen})
	}
}

// writeShardCheckpoint writes the checkpoint of s's first shard (no
// worker may run) in dir, and returns the file's path and bytes.
func writeShardCheckpoint(t *testing.T, s *Service, dir string) (string, []byte) {
	t.Helper()
	err := s.writeCheckpoint(func(w io.Writer) error {
		_, err := w.Write(s.marshalShard(s.shards[0]))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "checkpoint")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, b
}

// tempStore opens a store in a temporary directory, closed when the test
// ends.
func tempStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(store.Config{Dir: filepath.Join(t.TempDir(), "st")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// oneShard opens a store and a scoring service of one shard (queue
// batches deep; 0: the default) in temporary directories; it does not
// start it. The store is closed when the test ends.
func oneShard(t *testing.T, queue int) (*Service, *store.Store, string) {
	t.Helper()
	st := tempStore(t)
	dir := t.TempDir()
	s, err := Open(Config{Dir: dir, Bus: bus.New(), Store: st, Shards: 1, QueueBatches: queue})
	if err != nil {
		t.Fatal(err)
	}
	return s, st, dir
}

// s1Batch is work of n samples of s1/temp, one a minute from sample from.
func s1Batch(from, n int) work {
	var b []telemetry.Sample
	for j := from; j < from+n; j++ {
		b = append(b, telemetry.Sample{Tenant: "default", Twin: "s1", Channel: "temp", Type: "sensor", TS: int64(j+1) * 60_000, Value: signal(j)})
	}
	return work{samples: b}
}

// s1Scores returns the times of the stored scores of s1/temp.
func s1Scores(t *testing.T, st *store.Store) []int64 {
	t.Helper()
	var ts []int64
	err := st.Range(t.Context(), telemetry.Key{Tenant: "default", Twin: "s1", Channel: "temp" + Suffix}, 0, math.MaxInt64, func(t int64, _ float64) bool {
		ts = append(ts, t)
		return true
	})
	if err != nil && !errors.Is(err, store.ErrNoSeries) {
		t.Fatal(err)
	}
	return ts
}

// TestDeletionStartsTheSeriesAfresh: after its telemetry is deleted, a
// series' state is forgotten in order with the batches around it, so
// samples older than the deleted ones are scored again.
func TestDeletionStartsTheSeriesAfresh(t *testing.T) {
	s, st, _ := oneShard(t, 16)
	s.ctx, s.cancel = context.WithCancel(t.Context())
	defer s.cancel()
	sh := s.shards[0]
	forgotten := make(chan struct{})
	sh.in <- s1Batch(100, 50)
	sh.in <- work{forget: &telemetry.Key{Tenant: "default", Twin: "s1", Channel: "temp"}, forgotten: forgotten}
	sh.in <- s1Batch(0, 50) // older than the forgotten ones
	close(sh.in)
	s.wgWork.Add(1)
	s.work(sh)
	select {
	case <-forgotten: // the deleter waiting for it goes on
	default:
		t.Fatal("the deletion's Forgotten channel is still open")
	}
	if got := sh.count.Load(); got != 1 {
		t.Fatalf("%d series in the shard, want 1", got)
	}
	// Only the scores of the samples after the deletion: the first
	// batch's, held back when the deletion came, are gone with it.
	ts := s1Scores(t, st)
	if len(ts) != 50 || ts[0] != 60_000 || ts[49] != 50*60_000 {
		t.Fatalf("%d scores from %v, want the 50 of the samples after the deletion", len(ts), ts[:min(len(ts), 3)])
	}
}

// TestRoutingKeepsDeletionsWhileAShardIsFull: a deletion that meets a
// full shard queue waits in the router, which goes on reading the bus
// (shedding that shard's batches meanwhile), so a later deletion is not
// lost with the events the bus could not hand over; both reach the shard
// in order, after the batches queued before them.
func TestRoutingKeepsDeletionsWhileAShardIsFull(t *testing.T) {
	const queue = 2
	s, _, _ := oneShard(t, queue)
	b := s.cfg.Bus
	s.subscribe()
	s.wgWork.Add(1)
	go s.route() // no worker: the test reads the shard's queue
	sh := s.shards[0]
	smp := func(twin string, i int) []telemetry.Sample {
		return []telemetry.Sample{{Tenant: "default", Twin: twin, Channel: "temp", Type: "sensor", TS: int64(i+1) * 60_000, Value: 1}}
	}
	for i := range queue {
		b.PublishSamples(smp("s1", i))
	}
	for deadline := time.Now().Add(10 * time.Second); len(sh.in) < queue; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the router queued %d of %d batches", len(sh.in), queue)
		}
	}
	// The queue is full: the first deletion waits. Then more batches than
	// the subscription holds, then a second deletion.
	forgotten := make(chan struct{})
	b.Publish(bus.Event{Kind: telemetry.DeletedKind, Tenant: "default", Data: telemetry.Deleted{Twin: "s1", Channel: "temp", Forgotten: forgotten}})
	for i := range 3 * 4096 {
		b.PublishSamples(smp("s2", i))
	}
	// A router that reads on has taken them all (one that waits for the
	// queue has not, and the bus drops the deletion below).
	for deadline := time.Now().Add(2 * time.Second); len(s.sub.C) > 0 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	b.Publish(bus.Event{Kind: telemetry.DeletedKind, Tenant: "default", Data: telemetry.Deleted{Twin: "s2"}})
	var got []string
	for deadline := time.Now().Add(10 * time.Second); ; {
		select {
		case w := <-sh.in:
			switch {
			case w.forget != nil:
				got = append(got, "forget "+w.forget.Twin+"/"+w.forget.Channel)
				if w.forget.Twin == "s1" && w.forgotten != forgotten {
					t.Error("the deletion's Forgotten channel did not reach the worker")
				}
			case len(got) < queue:
				got = append(got, "batch "+w.samples[0].Twin)
			}
		case <-time.After(10 * time.Millisecond):
		}
		if len(got) == queue+2 || time.Now().After(deadline) {
			break
		}
	}
	want := []string{"batch s1", "batch s1", "forget s1/temp", "forget s2/"}
	if !slices.Equal(got, want) {
		t.Fatalf("the shard got %q, want %q (then any later batches)", got, want)
	}
	s.sub.Close()
	go func() {
		for range sh.in { // the router queues the rest, then closes the queue
		}
	}()
	s.wgWork.Wait()
}

// TestDeletionOutlastsAFullSubscription: a deletion published while the
// router is more than its subscription's buffer behind is not lost with
// the batches the bus cannot hand over: it reaches the shard once the
// router reads on, and its Forgotten channel is closed.
func TestDeletionOutlastsAFullSubscription(t *testing.T) {
	s, _, _ := oneShard(t, 16)
	b := s.cfg.Bus
	s.subscribe() // no router yet: the buffer fills
	smp := []telemetry.Sample{{Tenant: "default", Twin: "s1", Channel: "temp", Type: "sensor", TS: 60_000, Value: 1}}
	for range cap(s.sub.C) + 10 {
		b.PublishSamples(smp)
	}
	forgotten := make(chan struct{})
	b.Publish(bus.Event{Kind: telemetry.DeletedKind, Tenant: "default", Data: telemetry.Deleted{Twin: "s1", Forgotten: forgotten}})
	b.PublishSamples(smp) // dropped: it would overtake the deletion
	if d := s.sub.Dropped(); d != 11 {
		t.Fatalf("the subscription dropped %d events, want the 11 batches", d)
	}
	s.wgWork.Add(1)
	go s.route()
	sh := s.shards[0]
	got := false
	go func() {
		for w := range sh.in {
			if w.forget != nil && w.forget.Twin == "s1" && w.forgotten == forgotten {
				got = true
				close(forgotten)
			}
		}
	}()
	select {
	case <-forgotten:
	case <-time.After(20 * time.Second):
		t.Fatal("the deletion did not reach the shard")
	}
	s.sub.Close()
	s.wgWork.Wait()
	if !got {
		t.Fatal("no deletion")
	}
}

// TestDeletionOfARangeKeepsTheState: a deleted time range takes the scores
// of its samples with it, those stored before the worker reached the
// deletion included, and leaves the series' state: the samples after it
// are scored on, by the detector that learnt the ones before.
func TestDeletionOfARangeKeepsTheState(t *testing.T) {
	s, st, _ := oneShard(t, 16)
	s.ctx, s.cancel = context.WithCancel(t.Context())
	defer s.cancel()
	sh := s.shards[0]
	stored := func() []int64 { return s1Scores(t, st) }
	s.wgWork.Add(1)
	done := make(chan struct{})
	go func() { defer close(done); s.work(sh) }()
	// The first batch's scores are stored before the deletion comes.
	sh.in <- s1Batch(0, 50)
	for deadline := time.Now().Add(10 * time.Second); len(stored()) < 40; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d scores stored", len(stored()))
		}
	}
	forgotten := make(chan struct{})
	// The twin's channels, as a deletion of all of a twin's sends it.
	sh.in <- work{forget: &telemetry.Key{Tenant: "default", Twin: "s1"}, span: &telemetry.Span{From: 11 * 60_000, To: 21 * 60_000}, forgotten: forgotten}
	sh.in <- s1Batch(50, 50)
	close(sh.in)
	<-done
	select {
	case <-forgotten:
	default:
		t.Fatal("the deletion's Forgotten channel is still open")
	}
	ser := sh.series[telemetry.Key{Tenant: "default", Twin: "s1", Channel: "temp"}]
	if ser == nil || ser.n != 100 {
		t.Fatalf("the series' state after the range's deletion: %+v", ser)
	}
	ts := stored()
	inRange := 0
	for _, x := range ts {
		if x >= 11*60_000 && x <= 21*60_000 {
			inRange++
		}
	}
	if inRange != 0 || len(ts) < 80 {
		t.Fatalf("%d scores, %d in the deleted range; want about 89 and none", len(ts), inRange)
	}
}
