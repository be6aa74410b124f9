// Package ingest measures tsingma's telemetry ingest against peers on the
// same machine in the same run: direct store appends, HTTP JSON and NDJSON
// batches (against VictoriaMetrics' import API), MQTT QoS 1 from many
// clients (against Mosquitto), plus memory per series, bytes per sample on
// disk, restart time, latest-values and aggregation query times.
package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tsingma/tsingma/internal/app"
	"github.com/tsingma/tsingma/internal/scoring"
	"github.com/tsingma/tsingma/internal/store"
	"github.com/tsingma/tsingma/internal/telemetry"
)

// Config configures a run. Zero values take the defaults.
type Config struct {
	Duration time.Duration // per phase and target; 6s
	Twins    int           // 1,000 twins × Channels series
	Channels int           // 10
	Batch    int           // samples per HTTP request; 1,000
	// HTTPClients is the number of concurrent HTTP clients, each with one
	// request in flight; 64. Throughput is compared where both servers
	// are at their peak: with 8, VictoriaMetrics' import was at 1.86 M
	// samples/s and its ack p50 3.4 ms, with 16-64 at 2.1-2.4 M; a
	// durable ack waits for an fsync, so tsingma needs more requests in
	// flight to keep its cores busy (docs/decisions.md, "Session 14").
	HTTPClients int
	MQTTClients int // concurrent MQTT clients; 64
	Window      int // QoS 1 messages in flight per MQTT client; 8
	// AnomalyShards is the in-process server's scoring workers (0: its
	// default for the current GOMAXPROCS).
	AnomalyShards int
	VM            string // VictoriaMetrics base URL, or "" (see StartPeers)
	Mosquitto     string // host:port of Mosquitto, or ""
	StartPeers    bool   // start victoria-metrics and mosquitto from PATH when not given
	Series        int    // series for the memory and restart phase; 100,000
	// URL targets a running tsingma (base URL) instead of starting one in
	// process; Token is its access token and MQTT its broker (host:port,
	// empty: no MQTT phases). The phases that need the store in process
	// (direct append, the unscored server, the flush to blocks, scoring
	// counts) are skipped; disk, memory and restart measure a store of
	// their own either way.
	URL, Token, MQTT string
	Out              io.Writer // one line per figure
	Logger           *slog.Logger
}

func (c *Config) defaults() {
	if c.Duration <= 0 {
		c.Duration = 6 * time.Second
	}
	if c.Twins <= 0 {
		c.Twins = 1000
	}
	if c.Channels <= 0 {
		c.Channels = 10
	}
	if c.Batch <= 0 {
		c.Batch = 1000
	}
	if c.HTTPClients <= 0 {
		c.HTTPClients = 64
	}
	if c.MQTTClients <= 0 {
		c.MQTTClients = 64
	}
	if c.Window <= 0 {
		c.Window = 8
	}
	// Clients split the twins by index, each twin sent for by one client
	// (its timestamps and walk are its own): at most one client a twin.
	c.HTTPClients = min(c.HTTPClients, c.Twins)
	c.MQTTClients = min(c.MQTTClients, c.Twins)
	if c.Series <= 0 {
		c.Series = 100_000
	}
	if c.Out == nil {
		c.Out = io.Discard
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Report holds the headline figures.
type Report struct {
	Direct, HTTPJSON, HTTPNDJSON, MQTT float64 // samples/s
	HTTPUnscored                       float64 // samples/s, HTTP JSON with anomaly scoring off
	ScoredFraction                     float64 // of the samples of the HTTP phases, the part scored
	// VMImport is VictoriaMetrics' JSON import (/api/v1/import, one JSON
	// line a sample: the format class tsingma's HTTP API takes), VMProm its
	// Prometheus text import (its fastest text path).
	VMImport, VMProm, MosquittoQoS1 float64 // samples/s of the peers (0 if not run)
	MQTTHalfP99                     time.Duration
	// HTTPWithStreams is HTTP JSON with live streams open (streamsPhase).
	HTTPWithStreams float64
}

type runner struct {
	client *http.Client // carries the token
	cfg    Config
	out    io.Writer
	a      *app.App // nil when the target is --url
	url    string
	token  string         // the target's access token
	mqtt   string         // the target's MQTT address, or ""
	seq    []atomic.Int64 // per twin: next timestamp index
	// vals holds each series' last value (twin i, channel c at
	// i*Channels+c): every series is a random walk of its own, whichever
	// phase or client sends its next sample. A twin is sent for by one
	// client at a time (clients split the twins by index), and the phases
	// run one after another. Until session 14 each client and MQTT
	// generator kept one walk per channel for all its twins, so a series'
	// values jumped between walks from sample to sample and phase to
	// phase: its detector saw steps no sensor makes, and raised up to
	// 1,900 anomaly alerts a second.
	vals []float64
	// unscored is a second server with anomaly scoring off, for the
	// ingest path's own rate.
	unscored struct{ url, token string }
	start    int64 // ms; timestamps are start + seq*1000
	rep      Report
	fails    *failures // shared by the copies of the runner
}

// newRunner returns a runner of cfg (defaults applied) whose timestamps
// start at start (ms).
func newRunner(cfg Config, start int64) *runner {
	return &runner{cfg: cfg, out: cfg.Out, seq: make([]atomic.Int64, cfg.Twins), vals: make([]float64, cfg.Twins*cfg.Channels),
		fails: &failures{}, start: start}
}

// step moves series (twin i, channel c) one step on its walk and returns
// its new value.
func (r *runner) step(rng *rand.Rand, i, c int) float64 {
	v := &r.vals[i*r.cfg.Channels+c]
	*v = value(rng, *v)
	return *v
}

// failures keeps the first phase that failed.
type failures struct {
	mu    sync.Mutex
	first error
}

// fail prints a phase's failure and keeps the first, which Run returns
// after the headline: a run whose figures are missing (a refused
// connection, a failed request) exits non-zero instead of printing zeros
// as if they were results.
func (r *runner) fail(err error) {
	r.printf("%v", err)
	if r.fails == nil {
		return
	}
	r.fails.mu.Lock()
	if r.fails.first == nil {
		r.fails.first = err
	}
	r.fails.mu.Unlock()
}

// failed returns the first failure, or nil.
func (r *runner) failed() error {
	if r.fails == nil {
		return nil
	}
	r.fails.mu.Lock()
	defer r.fails.mu.Unlock()
	return r.fails.first
}

// Run performs the benchmark and prints one line per figure, the headline
// last.
func Run(ctx context.Context, cfg Config) (Report, error) {
	cfg.defaults()
	dir, err := os.MkdirTemp("", "tsingma-bench-")
	if err != nil {
		return Report{}, err
	}
	defer os.RemoveAll(dir)
	r := newRunner(cfg, time.Now().Add(-90*24*time.Hour).UnixMilli())
	if cfg.URL == "" {
		a, err := app.New(app.Config{DataDir: filepath.Join(dir, "tsingma"), HTTPAddr: "127.0.0.1:0", MQTTAddr: "127.0.0.1:0",
			Logger: cfg.Logger, MaxPending: 4_000_000, MaxFuture: time.Hour, AnomalyShards: cfg.AnomalyShards})
		if err != nil {
			return Report{}, err
		}
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- a.Run(rctx) }()
		defer func() {
			cancel()
			<-done
		}()
		// The server runs as `tsingma serve` does, with access control on:
		// the load carries the bootstrap admin token (Bearer over HTTP, the
		// MQTT password), so token checks are part of what is measured.
		r.a, r.url, r.token, r.mqtt = a, "http://"+a.HTTPAddr(), a.BootstrapToken, a.MQTTAddr()
	} else {
		r.url, r.token, r.mqtt = strings.TrimRight(cfg.URL, "/"), cfg.Token, cfg.MQTT
	}
	r.client = &http.Client{Transport: bearer{base: http.DefaultTransport, token: r.token}, Timeout: 60 * time.Second}
	r.printf("machine cpus=%d gomaxprocs=%d go=%s target=%s", runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version(), r.url)
	if p50, p99, err := store.ProbeSync(dir, 400); err != nil {
		r.printf("disk_sync probe failed: %v", err)
	} else {
		r.printf("disk_sync p50_ms=%.2f p99_ms=%.2f (16 KiB write + fdatasync in the bench's directory, before any load: the floor of every durable ack)", ms(p50), ms(p99))
	}
	if err := r.setup(ctx); err != nil {
		return Report{}, err
	}
	var stops []func()
	defer func() {
		for _, s := range stops {
			s()
		}
	}()
	if cfg.StartPeers {
		if cfg.VM == "" {
			if url, stop, err := startVM(dir); err != nil {
				r.printf("peer victoriametrics not started: %v", err)
			} else {
				cfg.VM, stops = url, append(stops, stop)
			}
		}
		if cfg.Mosquitto == "" {
			if addr, stop, err := startMosquitto(dir); err != nil {
				r.printf("peer mosquitto not started: %v", err)
			} else {
				cfg.Mosquitto, stops = addr, append(stops, stop)
			}
		}
	}
	r.cfg = cfg

	if r.a != nil {
		r.rep.Direct = r.direct(ctx)
		r.settle(ctx, "flush_after_direct_s", "the direct phase's WAL to blocks")
		stopUnscored, err := r.startUnscored(ctx, dir)
		if err != nil {
			return Report{}, err
		}
		defer stopUnscored()
	} else {
		r.printf("direct_append skipped (--url: the store is in the other process)")
	}
	// Interleave tsingma and each peer, two rounds each, and sum.
	half := cfg.Duration / 2
	var tj, tn, tu, vm, vp float64
	sc0 := r.scoringStats()
	for i := 0; i < 2; i++ {
		tj += r.httpPhase(ctx, "tsingma", "json", half) / 2
		if cfg.VM != "" {
			vm += r.httpPhase(ctx, "victoriametrics", "vmjson", half) / 2
			vp += r.httpPhase(ctx, "victoriametrics", "prom", half) / 2
		}
		tn += r.httpPhase(ctx, "tsingma", "ndjson", half) / 2
		if r.a != nil {
			tu += r.httpPhase(ctx, "tsingma-unscored", "json", half) / 2
		}
	}
	sc1 := r.scoringStats()
	r.rep.HTTPJSON, r.rep.HTTPNDJSON, r.rep.HTTPUnscored, r.rep.VMImport, r.rep.VMProm = tj, tn, tu, vm, vp
	r.rep.HTTPWithStreams = r.streamsPhase(ctx, half)
	r.printf("http_json samples_per_s=%.0f", tj)
	if r.rep.HTTPWithStreams > 0 {
		r.printf("http_json_with_streams samples_per_s=%.0f ratio_to_http_json=%.2f (%d live streams open: %d filtered by a type no sample has, %d unfiltered and read)",
			r.rep.HTTPWithStreams, r.rep.HTTPWithStreams/max(tj, 1), filteredStreams+readStreams, filteredStreams, readStreams)
	}
	r.printf("http_ndjson samples_per_s=%.0f", tn)
	// Scoring runs beside ingest on bounded queues and sheds what it
	// cannot keep up with (counted in /metrics): say how much it scored.
	if r.a != nil {
		scored, dropped := sc1.Scored-sc0.Scored, sc1.Dropped-sc0.Dropped
		r.rep.ScoredFraction = float64(scored) / max(1, float64(scored+dropped))
		r.printf("anomaly_scoring_during_http scored=%d dropped=%d scored_fraction=%.2f", scored, dropped, r.rep.ScoredFraction)
		r.printf("http_json_unscored samples_per_s=%.0f (a second server with --anomaly=false: the ingest path alone)", tu)
	}
	if vm > 0 {
		// The headline compares like with like: JSON in, one object a
		// sample, the same samples per request. VictoriaMetrics' Prometheus
		// text import is faster than its JSON import; its ratio is printed
		// too.
		r.printf("victoriametrics_import_json samples_per_s=%.0f (/api/v1/import, no fsync per request)", vm)
		r.printf("victoriametrics_import_prometheus_text samples_per_s=%.0f (/api/v1/import/prometheus, no fsync per request)", vp)
		r.printf("ratio http_json/victoriametrics_json=%.2f http_ndjson/victoriametrics_json=%.2f", tj/vm, tn/vm)
		r.printf("ratio http_json/victoriametrics_prometheus_text=%.2f http_ndjson/victoriametrics_prometheus_text=%.2f", tj/vp, tn/vp)
		if tu > 0 {
			r.printf("ratio http_json_unscored/victoriametrics_json=%.2f http_json_unscored/victoriametrics_prometheus_text=%.2f", tu/vm, tu/vp)
		}
	}
	var tm, mm float64
	var tmLat []time.Duration
	if r.mqtt == "" {
		r.printf("mqtt phases skipped (--url without --mqtt)")
	} else {
		// The HTTP phases' WAL (about 16 bytes a sample) nears the size
		// that starts a flush: it would land in the MQTT slices.
		r.settle(ctx, "flush_before_mqtt_s", "the HTTP phases' WAL to blocks")
	}
	for i := 0; i < 2 && r.mqtt != ""; i++ {
		s, lat := r.mqttPhase(ctx, "tsingma", r.mqtt, half, 0)
		tm += s / 2
		tmLat = append(tmLat, lat...)
		if cfg.Mosquitto != "" {
			s, _ := r.mqttPhase(ctx, "mosquitto", cfg.Mosquitto, half, 0)
			mm += s / 2
		}
	}
	r.rep.MQTT, r.rep.MosquittoQoS1 = tm, mm
	p50, p99 := pct(tmLat, 0.5), pct(tmLat, 0.99)
	if r.mqtt != "" {
		r.printf("mqtt_qos1 samples_per_s=%.0f puback_p50_ms=%.2f puback_p99_ms=%.2f (at peak, %d clients, %d in flight each)", tm, ms(p50), ms(p99), cfg.MQTTClients, cfg.Window)
	}
	if mm > 0 {
		r.printf("mosquitto_qos1 samples_per_s=%.0f (no durability)", mm)
		r.printf("ratio mqtt_qos1/mosquitto=%.2f", tm/mm)
	}
	if r.mqtt != "" {
		// The latency at half load is the broker's own, not that of a
		// flush of the peak phases' data landing in it.
		r.settle(ctx, "flush_before_half_load_s", "the peak phases' WAL to blocks")
		// Three slices, their latencies pooled: the p99 of one slice
		// rests on its slowest 1% (2,300 PUBACKs), which a single stall of
		// the shared machine's disk or CPU can fill.
		var got float64
		var halfLat []time.Duration
		sc0 := r.scoringStats()
		for range halfSlices {
			s, lat := r.mqttPhase(ctx, "tsingma", r.mqtt, cfg.Duration, tm/2)
			got += s / halfSlices
			halfLat = append(halfLat, lat...)
		}
		sc1 := r.scoringStats()
		r.rep.MQTTHalfP99 = pct(halfLat, 0.99)
		r.printf("mqtt_qos1_half_load puback_p50_ms=%.2f puback_p99_ms=%.2f rate_samples_per_s=%.0f (asked %.0f: half the peak, sent on a schedule; %d slices of %s, pooled)", ms(pct(halfLat, 0.5)), ms(r.rep.MQTTHalfP99), got, tm/2, halfSlices, cfg.Duration)
		if r.a != nil && r.a.Scoring != nil {
			scored, dropped := sc1.Scored-sc0.Scored, sc1.Dropped-sc0.Dropped
			r.printf("anomaly_scoring_during_half_load scored=%d dropped=%d scored_fraction=%.2f", scored, dropped, float64(scored)/max(1, float64(scored+dropped)))
		}
	}
	r.queries(ctx)
	if err := r.disk(ctx, dir); err != nil {
		return r.rep, err
	}
	if err := r.memoryAndRestart(ctx, dir); err != nil {
		return r.rep, err
	}
	line := fmt.Sprintf("ingest direct=%.0f http_json=%.0f mqtt_qos1=%.0f", r.rep.Direct, r.rep.HTTPJSON, r.rep.MQTT)
	if r.a == nil {
		line = fmt.Sprintf("ingest url=%s http_json=%.0f mqtt_qos1=%.0f", r.url, r.rep.HTTPJSON, r.rep.MQTT)
	}
	if vm > 0 {
		line += fmt.Sprintf(" http_vs_victoriametrics=%.2f", tj/vm)
		if tu > 0 {
			line += fmt.Sprintf(" http_unscored_vs_victoriametrics=%.2f", tu/vm)
		}
		line += fmt.Sprintf(" http_vs_victoriametrics_prom_text=%.2f", tj/vp)
	}
	if mm > 0 {
		line += fmt.Sprintf(" mqtt_vs_mosquitto=%.2f", tm/mm)
	}
	line += fmt.Sprintf(" mqtt_half_load_p99_ms=%.1f", ms(r.rep.MQTTHalfP99))
	r.printf("%s", line)
	if err := r.failed(); err != nil {
		return r.rep, fmt.Errorf("a phase failed, so figures above are missing: %w", err)
	}
	return r.rep, nil
}

// settle flushes the in-process store's head to blocks, untimed, so that
// a flush the previous phase triggered (seconds on a core) does not run
// during the next one and charge it with the previous phase's data.
func (r *runner) settle(ctx context.Context, name, what string) {
	if r.a == nil {
		return
	}
	t0 := time.Now()
	if err := r.a.Store.Flush(ctx); err != nil {
		r.printf("settle %s: %v", name, err)
		return
	}
	r.printf("settle %s=%.2f (%s, untimed)", name, time.Since(t0).Seconds(), what)
}

// background marks the start of a slice of the in-process store's target
// and returns what to append to the slice's line at its end: the WAL's
// syncs during the slice (every acknowledgement waits for one, so on a
// disk whose fdatasync is slow they bound both rate and latency), and the
// number of flushes and block rewrites that ran during the slice, when
// there were any (they take CPU from the ingest they share the process
// with).
func (r *runner) background(target string) func() string {
	if r.a == nil || target != "tsingma" {
		return func() string { return "" }
	}
	st := r.a.Store.Stats()
	return func() string {
		end := r.a.Store.Stats()
		out := ""
		if n := end.Fsync.Count - st.Fsync.Count; n > 0 {
			out = fmt.Sprintf(" fsyncs=%d fsync_mean_ms=%.2f", n, 1e3*(end.Fsync.Sum-st.Fsync.Sum)/float64(n))
		}
		if n := int(end.BackgroundRuns-st.BackgroundRuns) + end.Background; n > 0 {
			out += fmt.Sprintf(" store_background=%d", n)
		}
		return out
	}
}

// The live streams of streamsPhase: filtered ones are the dashboards of
// other types (session 11 found each was woken for every batch: 120 of
// them cut ingest by half), read ones are consoles.
const (
	filteredStreams = 96
	readStreams     = 4
)

// streamsPhase drives one HTTP JSON slice of d with live streams open and
// returns its samples/s (0 when the streams could not be opened).
func (r *runner) streamsPhase(ctx context.Context, d time.Duration) float64 {
	sctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	tr := &http.Transport{MaxIdleConnsPerHost: filteredStreams + readStreams}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: bearer{base: tr, token: r.token}}
	for i := range filteredStreams + readStreams {
		q := "?type=bench-no-such-type"
		if i >= filteredStreams {
			q = "?kinds=samples"
		}
		req, err := http.NewRequestWithContext(sctx, "GET", r.url+"/api/v1/stream"+q, nil)
		if err != nil {
			r.printf("http_json_with_streams error: %v", err)
			return 0
		}
		resp, err := client.Do(req)
		if err != nil || resp.StatusCode != http.StatusOK {
			if err == nil {
				resp.Body.Close()
				err = fmt.Errorf("status %d", resp.StatusCode)
			}
			r.printf("http_json_with_streams skipped: stream %d: %v", i, err)
			return 0
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer resp.Body.Close()
			io.Copy(io.Discard, resp.Body) // until the phase ends
		}()
	}
	return r.httpPhase(ctx, "tsingma", "json", d)
}

// quiesce waits, untimed and printed, until the in-process audit log has
// recorded what the setup changed (it follows the bus and syncs each
// batch: 10,000 new twins are seconds of it), so that the timed queries
// after it do not carry the setup's bookkeeping.
func (r *runner) quiesce(name, what string) {
	if r.a == nil {
		return
	}
	r.quiesceApp(r.a, name, what)
}

// quiesceApp is quiesce for the server a.
func (r *runner) quiesceApp(a *app.App, name, what string) {
	if a.Audit == nil {
		return
	}
	t0 := time.Now()
	last, still := a.Audit.Stats().Entries, 0
	for still < 4 && time.Since(t0) < 30*time.Second {
		time.Sleep(50 * time.Millisecond)
		if e := a.Audit.Stats().Entries; e == last {
			still++
		} else {
			last, still = e, 0
		}
	}
	r.printf("settle %s=%.2f (%s, untimed)", name, time.Since(t0).Seconds(), what)
}

// store writes setup samples: straight into the in-process store, or over
// HTTP (NDJSON, 10,000 a request) to a --url target.
func (r *runner) store(ctx context.Context, samples []telemetry.Sample) error {
	if r.a != nil {
		_, err := r.a.Store.Append(ctx, samples)
		return err
	}
	var b strings.Builder
	for i, smp := range samples {
		fmt.Fprintf(&b, `{"twin":%q,"channel":%q,"ts":%d,"value":%s}`+"\n", smp.Twin, smp.Channel, smp.TS, strconv.FormatFloat(smp.Value, 'g', -1, 64))
		if (i+1)%10_000 == 0 || i == len(samples)-1 {
			if err := r.post(ctx, "/api/v1/telemetry", "application/x-ndjson", b.String()); err != nil {
				return err
			}
			b.Reset()
		}
	}
	return nil
}

// startUnscored starts a second server, with anomaly scoring off, and
// creates the bench's type and twins in it.
func (r *runner) startUnscored(ctx context.Context, dir string) (func(), error) {
	b, err := app.New(app.Config{DataDir: filepath.Join(dir, "unscored"), HTTPAddr: "127.0.0.1:0", Logger: r.cfg.Logger,
		MaxPending: 4_000_000, MaxFuture: time.Hour, NoAnomaly: true})
	if err != nil {
		return nil, fmt.Errorf("start the unscored server: %w", err)
	}
	bctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- b.Run(bctx) }()
	stop := func() {
		cancel()
		<-done
	}
	main := *r
	main.url = "http://" + b.HTTPAddr()
	main.client = &http.Client{Transport: bearer{base: http.DefaultTransport, token: b.BootstrapToken}, Timeout: 60 * time.Second}
	if err := main.setup(ctx); err != nil {
		stop()
		return nil, fmt.Errorf("set up the unscored server: %w", err)
	}
	r.unscored.url, r.unscored.token = main.url, b.BootstrapToken
	// Its audit log records the new twins, syncing as it goes: that must
	// not land in the first HTTP slices.
	r.quiesceApp(b, "audit_unscored_setup_s", "the unscored server's audit records of its twins")
	return stop, nil
}

// bearer adds the access token to every request it sends (VictoriaMetrics
// ignores the header).
type bearer struct {
	base  http.RoundTripper
	token string
}

func (b bearer) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Header.Set("Authorization", "Bearer "+b.token)
	return b.base.RoundTrip(req)
}

func (r *runner) printf(format string, args ...any) {
	fmt.Fprintf(r.out, format+"\n", args...)
}

// scoringStats returns the in-process server's scoring counters (zero
// without one).
func (r *runner) scoringStats() scoring.Stats {
	if r.a == nil || r.a.Scoring == nil {
		return scoring.Stats{}
	}
	return r.a.Scoring.Stats()
}

// halfSlices is how many slices of Duration the half-load latency is
// measured over.
const halfSlices = 3

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

func pct(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[int(math.Min(float64(len(s)-1), q*float64(len(s))))]
}

func (r *runner) twinID(i int) string { return "bench-" + strconv.Itoa(i) }

// setup creates a type with Channels channels and the twins.
func (r *runner) setup(ctx context.Context) error {
	var chs []string
	for c := 0; c < r.cfg.Channels; c++ {
		chs = append(chs, fmt.Sprintf(`"c%d":{"unit":"1","min":-1e9,"max":1e9}`, c))
	}
	// c0-long carries the aggregation phase's month of 1 Hz data.
	chs = append(chs, `"c0-long":{"unit":"1","min":-1e9,"max":1e9}`)
	typ := `{"name":"bench-node","description":"benchmark sensor","channels":{` + strings.Join(chs, ",") + `}}`
	if err := r.post(ctx, "/api/v1/types", "application/json", typ); err != nil {
		return fmt.Errorf("create bench type: %w", err)
	}
	var b strings.Builder
	for i := 0; i < r.cfg.Twins; i++ {
		fmt.Fprintf(&b, `{"id":%q,"type":"bench-node","geometry":{"type":"Point","coordinates":[%f,%f]}}`+"\n",
			r.twinID(i), 113.9+0.5*float64(i%100)/100, 22.2+0.3*float64(i/100%100)/100)
	}
	return r.post(ctx, "/api/v1/twins/_bulk", "application/x-ndjson", b.String())
}

func (r *runner) post(ctx context.Context, path, ct, body string) error {
	req, err := http.NewRequestWithContext(ctx, "POST", r.url+path, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", ct)
	resp, err := r.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 || bytes.Contains(b, []byte(`"failed":`)) && !bytes.Contains(b, []byte(`"failed":0`)) {
		return fmt.Errorf("POST %s: %d %s", path, resp.StatusCode, b[:min(len(b), 300)])
	}
	return nil
}

// value is a sensor-like random walk quantised to 0.01.
func value(rng *rand.Rand, prev float64) float64 {
	return math.Round((prev+rng.NormFloat64()*0.05)*100) / 100
}

// appendCents appends a value() (a multiple of 0.01) as
// strconv.AppendFloat(b, v, 'f', -1, 64) does, at a fraction of the cost:
// the generators share the machine, and in-process the CPU, with what
// they measure.
func appendCents(b []byte, v float64) []byte {
	c := int64(math.Round(v * 100))
	if c < 0 || (c == 0 && math.Signbit(v)) {
		b = append(b, '-')
		c = -c
	}
	b = strconv.AppendInt(b, c/100, 10)
	switch f := c % 100; {
	case f == 0:
	case f%10 == 0:
		b = append(b, '.', byte('0'+f/10))
	default:
		b = append(b, '.', byte('0'+f/10), byte('0'+f%10))
	}
	return b
}

// next reserves n consecutive timestamps of twin i.
func (r *runner) next(i, n int) int64 { return r.seq[i].Add(int64(n)) - int64(n) }

func (r *runner) direct(ctx context.Context) float64 {
	st := r.a.Store
	var total atomic.Int64
	deadline := time.Now().Add(r.cfg.Duration)
	var wg sync.WaitGroup
	workers := min(2*runtime.GOMAXPROCS(0), r.cfg.Twins)
	// Names are made once: the phase measures the store, not the
	// generator's string formatting.
	twins := make([]string, r.cfg.Twins)
	for i := range twins {
		twins[i] = r.twinID(i)
	}
	chans := make([]string, r.cfg.Channels)
	for c := range chans {
		chans[c] = "c" + strconv.Itoa(c)
	}
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			batch := make([]telemetry.Sample, 0, r.cfg.Batch)
			for time.Now().Before(deadline) && ctx.Err() == nil {
				batch = batch[:0]
				for len(batch) < r.cfg.Batch {
					i := (w + workers*rng.IntN(r.cfg.Twins/workers)) % r.cfg.Twins
					ts := r.start + r.next(i, 1)*1000
					for c := 0; c < r.cfg.Channels && len(batch) < r.cfg.Batch; c++ {
						batch = append(batch, telemetry.Sample{Tenant: telemetry.DefaultTenant, Twin: twins[i], Channel: chans[c], Type: "bench-node", TS: ts, Value: r.step(rng, i, c)})
					}
				}
				for {
					_, err := st.Append(ctx, batch)
					if errors.Is(err, store.ErrBusy) {
						time.Sleep(time.Millisecond)
						continue
					}
					if err != nil {
						return
					}
					break
				}
				total.Add(int64(len(batch)))
			}
		}(w)
	}
	wg.Wait()
	rate := float64(total.Load()) / r.cfg.Duration.Seconds()
	r.printf("direct_append samples_per_s=%.0f (%d writers, batches of %d, fsync per group commit)", rate, workers, r.cfg.Batch)
	return rate
}

// httpPhase drives target with HTTP batches for d and returns samples/s.
func (r *runner) httpPhase(ctx context.Context, target, format string, d time.Duration) float64 {
	bg := r.background(target)
	url := r.url + "/api/v1/telemetry"
	token := r.token
	if target == "tsingma-unscored" {
		url, token = r.unscored.url+"/api/v1/telemetry", r.unscored.token
	}
	ct := "application/json"
	switch format {
	case "ndjson":
		ct = "application/x-ndjson"
	case "prom":
		url = r.cfg.VM + "/api/v1/import/prometheus"
		ct = "text/plain"
	case "vmjson":
		url = r.cfg.VM + "/api/v1/import"
		ct = "application/json"
	}
	tr := &http.Transport{MaxIdleConnsPerHost: r.cfg.HTTPClients}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: bearer{base: tr, token: token}, Timeout: 30 * time.Second}
	var total atomic.Int64
	var lats []time.Duration
	var mu sync.Mutex
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for w := 0; w < r.cfg.HTTPClients; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 11))
			// The body is built with appends, not fmt: the generator shares
			// the two cores with the servers it measures, so it should cost
			// them as little as it can (the same for every target).
			var b []byte
			var my []time.Duration
			for time.Now().Before(deadline) && ctx.Err() == nil {
				b = b[:0]
				n := 0
				if format == "json" {
					b = append(b, `{"samples":[`...)
				}
				for n < r.cfg.Batch {
					i := (w + r.cfg.HTTPClients*rng.IntN(r.cfg.Twins/r.cfg.HTTPClients)) % r.cfg.Twins
					ts := r.start + r.next(i, 1)*1000
					for c := 0; c < r.cfg.Channels && n < r.cfg.Batch; c++ {
						v := r.step(rng, i, c)
						switch format {
						case "json", "ndjson":
							if format == "json" && n > 0 {
								b = append(b, ',')
							}
							b = append(b, `{"twin":"bench-`...)
							b = strconv.AppendInt(b, int64(i), 10)
							b = append(b, `","channel":"c`...)
							b = strconv.AppendInt(b, int64(c), 10)
							b = append(b, `","ts":`...)
							b = strconv.AppendInt(b, ts, 10)
							b = append(b, `,"value":`...)
							b = appendCents(b, v)
							b = append(b, '}')
							if format == "ndjson" {
								b = append(b, '\n')
							}
						case "vmjson":
							b = append(b, `{"metric":{"__name__":"c`...)
							b = strconv.AppendInt(b, int64(c), 10)
							b = append(b, `","twin":"bench-`...)
							b = strconv.AppendInt(b, int64(i), 10)
							b = append(b, `","type":"bench-node"},"values":[`...)
							b = appendCents(b, v)
							b = append(b, `],"timestamps":[`...)
							b = strconv.AppendInt(b, ts, 10)
							b = append(b, "]}\n"...)
						case "prom":
							b = append(b, 'c')
							b = strconv.AppendInt(b, int64(c), 10)
							b = append(b, `{twin="bench-`...)
							b = strconv.AppendInt(b, int64(i), 10)
							b = append(b, `",type="bench-node"} `...)
							b = appendCents(b, v)
							b = append(b, ' ')
							b = strconv.AppendInt(b, ts, 10)
							b = append(b, '\n')
						}
						n++
					}
				}
				if format == "json" {
					b = append(b, `]}`...)
				}
				t0 := time.Now()
				resp, err := client.Post(url, ct, bytes.NewReader(b))
				if err != nil {
					if ctx.Err() == nil {
						r.fail(fmt.Errorf("%s %s: %w", target, format, err))
					}
					return
				}
				body, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode/100 != 2 {
					if resp.StatusCode == 429 {
						continue
					}
					r.fail(fmt.Errorf("%s %s: status %d %s", target, format, resp.StatusCode, body))
					return
				}
				my = append(my, time.Since(t0))
				total.Add(int64(n))
			}
			mu.Lock()
			lats = append(lats, my...)
			mu.Unlock()
		}(w)
	}
	wg.Wait()
	rate := float64(total.Load()) / d.Seconds()
	r.printf("  %s %s slice: samples_per_s=%.0f ack_p50_ms=%.1f ack_p99_ms=%.1f%s", target, format, rate, ms(pct(lats, 0.5)), ms(pct(lats, 0.99)), bg())
	return rate
}

// queries times the latest values of all twins and a 30-day, 1-minute
// aggregation of one 1 Hz channel.
func (r *runner) queries(ctx context.Context) {
	get := func(path string) (time.Duration, int, error) {
		best := time.Duration(math.MaxInt64)
		var n int
		for i := 0; i < 5; i++ {
			t0 := time.Now()
			resp, err := r.client.Get(r.url + path)
			if err != nil {
				return 0, 0, err
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				return 0, 0, fmt.Errorf("GET %s: %d %s", path, resp.StatusCode, b[:min(300, len(b))])
			}
			best = min(best, time.Since(t0))
			n = len(b)
		}
		return best, n, nil
	}
	// The load phases leave up to a flush's worth of WAL behind, and a
	// flush it triggers would run (for seconds, on a core) during the
	// timed queries: flush first, so that they time the queries. The
	// month below stays in the head (it is less than a flush's worth).
	r.settle(ctx, "flush_before_queries_s", "the load phases' WAL to blocks")
	// 10,000 twins of their own type, each with a latest value.
	const many = 10_000
	if err := r.post(ctx, "/api/v1/types", "application/json", `{"name":"bench-latest","channels":{"v":{"unit":"1"}}}`); err != nil {
		r.printf("latest_values setup: %v", err)
	} else {
		var tw strings.Builder
		batch := make([]telemetry.Sample, 0, many)
		now := time.Now().Add(-time.Minute).UnixMilli()
		for i := 0; i < many; i++ {
			fmt.Fprintf(&tw, `{"id":"lv-%d","type":"bench-latest"}`+"\n", i)
			batch = append(batch, telemetry.Sample{Tenant: telemetry.DefaultTenant, Twin: fmt.Sprintf("lv-%d", i), Channel: "v", Type: "bench-latest", TS: now, Value: float64(i)})
		}
		err := r.post(ctx, "/api/v1/twins/_bulk", "application/x-ndjson", tw.String())
		if err == nil {
			err = r.store(ctx, batch)
		}
		if err != nil {
			r.printf("latest_values setup: %v", err)
		} else {
			r.quiesce("audit_after_twins_s", "the audit log's records of the 10,000 new twins")
			if d, n, err := get(fmt.Sprintf("/api/v1/latest?type=bench-latest&limit=%d", many)); err == nil {
				r.printf("latest_values twins=%d ms=%.1f bytes=%d (best of 5, over HTTP)", many, ms(d), n)
			} else {
				r.printf("latest_values error: %v", err)
			}
		}
	}
	// One channel with 30 days at 1 Hz.
	const days = 30
	n := days * 86400
	start := time.Now().Add(-200 * 24 * time.Hour).UnixMilli()
	batch := make([]telemetry.Sample, 0, 10000)
	rng := rand.New(rand.NewPCG(3, 3))
	v := 0.0
	for k := 0; k < n; k++ {
		v = value(rng, v)
		batch = append(batch, telemetry.Sample{Tenant: telemetry.DefaultTenant, Twin: "bench-0", Channel: "c0-long", Type: "bench-node", TS: start + int64(k)*1000, Value: v})
		if len(batch) == cap(batch) || k == n-1 {
			if err := r.store(ctx, batch); err != nil {
				r.printf("aggregation setup: %v", err)
				return
			}
			batch = batch[:0]
		}
	}
	path := fmt.Sprintf("/api/v1/twins/bench-0/telemetry/c0-long?from=%d&to=%d&step=1m&agg=mean", start, start+int64(n)*1000-1)
	r.quiesce("audit_before_aggregation_s", "anything the audit log still records")
	if d, size, err := get(path); err == nil {
		r.printf("aggregation_30d_1m samples=%d ms=%.1f bytes=%d (1-minute means over HTTP, head in memory, best of 5)", n, ms(d), size)
	} else {
		r.printf("aggregation error: %v", err)
	}
	if r.a == nil {
		return // no flush from here
	}
	if err := r.a.Store.Flush(ctx); err != nil {
		r.printf("flush: %v", err)
		return
	}
	if d, _, err := get(path); err == nil {
		r.printf("aggregation_30d_1m_from_blocks ms=%.1f (after flush to D1 blocks, best of 5)", ms(d))
	}
}

// disk reports bytes per sample in blocks: for 1 Hz sensor data alone
// (the figure: a store of its own with 500 series of two hours of
// a random walk quantised to 0.01, flushed), and for everything the run
// wrote into the platform (the bench's series plus the anomaly scores).
func (r *runner) disk(ctx context.Context, dir string) error {
	st, err := store.Open(store.Config{Dir: filepath.Join(dir, "disk"), MaxPending: 4_000_000})
	if err != nil {
		return err
	}
	defer st.Close()
	const series, perSeries = 500, 7200
	rng := rand.New(rand.NewPCG(5, 5))
	vals := make([]float64, series)
	for i := range vals {
		vals[i] = math.Round(rng.Float64()*10000) / 100
	}
	start := time.Now().Add(-3*time.Hour).UnixMilli() / 1000 * 1000
	batch := make([]telemetry.Sample, 0, 10_000)
	for k := 0; k < perSeries; k++ {
		for i := range vals {
			vals[i] = value(rng, vals[i])
			batch = append(batch, telemetry.Sample{Tenant: telemetry.DefaultTenant, Twin: "d-" + strconv.Itoa(i), Channel: "v", Type: "bench-node", TS: start + int64(k)*1000, Value: vals[i]})
			if len(batch) == cap(batch) {
				if _, err := st.Append(ctx, batch); err != nil {
					return err
				}
				batch = batch[:0]
			}
		}
	}
	if err := st.Flush(ctx); err != nil {
		return err
	}
	ss := st.Stats()
	r.printf("disk sensor bytes_per_sample=%.2f block_bytes=%d samples=%d (%d series, 2 h at 1 Hz, random walk quantised to 0.01, flushed to D1 blocks)",
		float64(ss.BlockBytes)/float64(ss.SamplesAdded), ss.BlockBytes, ss.SamplesAdded, series)
	if r.a == nil {
		return nil
	}
	if err := r.a.Store.Flush(ctx); err != nil {
		return err
	}
	if as := r.a.Store.Stats(); as.SamplesAdded > 0 {
		r.printf("disk platform bytes_per_sample=%.2f block_bytes=%d samples=%d (everything this run stored, anomaly score series included)", float64(as.BlockBytes)/float64(as.SamplesAdded), as.BlockBytes, as.SamplesAdded)
	}
	return nil
}

// memoryAndRestart fills a separate store with Series series, measures the
// heap per series, then reopens a copy of its directory with the WAL full
// (no flush) and times the restart.
func (r *runner) memoryAndRestart(ctx context.Context, dir string) error {
	sdir := filepath.Join(dir, "mem")
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	st, err := store.Open(store.Config{Dir: sdir, MaxPending: 4_000_000})
	if err != nil {
		return err
	}
	const perSeries = 60
	batch := make([]telemetry.Sample, 0, 10000)
	start := time.Now().Add(-2 * time.Hour).UnixMilli()
	total := 0
	for k := 0; k < perSeries; k++ {
		for s := 0; s < r.cfg.Series; s++ {
			batch = append(batch, telemetry.Sample{Tenant: telemetry.DefaultTenant, Twin: "m-" + strconv.Itoa(s/10), Channel: "c" + strconv.Itoa(s%10), Type: "bench-node", TS: start + int64(k)*1000, Value: float64(k)})
			if len(batch) == cap(batch) {
				if _, err := st.Append(ctx, batch); err != nil {
					return err
				}
				total += len(batch)
				batch = batch[:0]
			}
		}
	}
	if len(batch) > 0 {
		if _, err := st.Append(ctx, batch); err != nil {
			return err
		}
		total += len(batch)
	}
	runtime.GC()
	runtime.ReadMemStats(&m1)
	perSer := float64(m1.HeapInuse-min(m1.HeapInuse, m0.HeapInuse)) / float64(r.cfg.Series)
	r.printf("memory series=%d samples=%d heap_bytes_per_series=%.0f", r.cfg.Series, total, perSer)
	// Copy the directory while the store is idle: the WAL is complete.
	cdir := filepath.Join(dir, "mem-copy")
	if out, err := exec.Command("cp", "-r", sdir, cdir).CombinedOutput(); err != nil {
		return fmt.Errorf("copy store: %v %s", err, out)
	}
	if err := st.Close(); err != nil {
		return err
	}
	t0 := time.Now()
	st2, err := store.Open(store.Config{Dir: cdir})
	if err != nil {
		return err
	}
	restart := time.Since(t0)
	st2.Close()
	r.printf("restart series=%d wal_samples=%d seconds=%.2f", r.cfg.Series, total, restart.Seconds())
	return nil
}

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func waitTCP(addr string) error {
	for i := 0; i < 100; i++ {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("nothing listens on %s", addr)
}

func startVM(dir string) (string, func(), error) {
	bin, err := exec.LookPath("victoria-metrics")
	if err != nil {
		return "", nil, errors.New("victoria-metrics is not installed (apt-get install victoria-metrics)")
	}
	addr, err := freePort()
	if err != nil {
		return "", nil, err
	}
	cmd := exec.Command(bin, "-httpListenAddr="+addr, "-storageDataPath="+filepath.Join(dir, "vm"), "-loggerLevel=ERROR")
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stop := func() { cmd.Process.Kill(); cmd.Wait() }
	if err := waitTCP(addr); err != nil {
		stop()
		return "", nil, err
	}
	return "http://" + addr, stop, nil
}

func startMosquitto(dir string) (string, func(), error) {
	bin, err := exec.LookPath("mosquitto")
	if err != nil {
		bin = "/usr/sbin/mosquitto"
		if _, err := os.Stat(bin); err != nil {
			return "", nil, errors.New("mosquitto is not installed (apt-get install mosquitto)")
		}
	}
	addr, err := freePort()
	if err != nil {
		return "", nil, err
	}
	_, port, _ := net.SplitHostPort(addr)
	conf := filepath.Join(dir, "mosquitto.conf")
	if err := os.WriteFile(conf, []byte("listener "+port+" 127.0.0.1\nallow_anonymous true\npersistence false\nmax_inflight_messages 0\nmax_queued_messages 100000\n"), 0o644); err != nil {
		return "", nil, err
	}
	cmd := exec.Command(bin, "-c", conf)
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stop := func() { cmd.Process.Kill(); cmd.Wait() }
	if err := waitTCP(addr); err != nil {
		stop()
		return "", nil, err
	}
	return addr, stop, nil
}
