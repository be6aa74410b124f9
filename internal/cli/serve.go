package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/tsingma/tsingma/internal/api"
	"github.com/tsingma/tsingma/internal/app"
	"github.com/tsingma/tsingma/internal/console"
	"github.com/tsingma/tsingma/internal/store"
)

// serveFlags are shared by serve and demo. Precedence: flag, then
// TSINGMA_<NAME> environment variable, then the --config file, then the
// default.
type serveFlags struct {
	fs           *flag.FlagSet
	config       string
	data         string
	http         string
	mqtt         string
	maxFuture    time.Duration
	retention    time.Duration
	downsample   downsampleFlag
	flushEvery   time.Duration
	maxPending   int
	walSegment   int64
	maxBody      int64
	maxStreams   int
	mqttClients  int
	mqttPerToken int
	procs        int
	cors         string
	corsOrigins  []string // cors, parsed by check
	anomaly      bool
	driftPSI     float64
	driftWin     time.Duration
	noAuth       bool
	tlsCert      string
	tlsKey       string
	alertmanager string
	logLevel     string
	logFormat    string
}

func newServeFlags(name string) *serveFlags {
	f := &serveFlags{fs: flag.NewFlagSet(name, flag.ContinueOnError)}
	fs := f.fs
	fs.StringVar(&f.config, "config", "", "JSON config file with any of the flags below as keys (e.g. {\"http\": \":8080\"})")
	fs.StringVar(&f.data, "data", "./data", "data directory (twins, telemetry); created if missing")
	httpDef, mqttDef := ":8080", ":1883"
	if name == "demo" { // a laptop demo listens on loopback only
		httpDef, mqttDef = "127.0.0.1:8080", "127.0.0.1:1883"
	}
	fs.StringVar(&f.http, "http", httpDef, "HTTP listen address host:port (port 0 picks a free port)")
	fs.StringVar(&f.mqtt, "mqtt", mqttDef, "MQTT listen address host:port; empty disables MQTT")
	fs.DurationVar(&f.maxFuture, "max-future", 10*time.Minute, "reject samples timestamped further than this in the future")
	fs.DurationVar(&f.retention, "retention", 0, "delete telemetry older than this (e.g. 8760h); 0 keeps everything")
	fs.Var(&f.downsample, "downsample", "keep the last sample per INTERVAL of telemetry older than AGE, as AGE:INTERVAL[,AGE:INTERVAL] (e.g. 720h:5m,8760h:1h)")
	fs.DurationVar(&f.flushEvery, "flush-interval", 2*time.Hour, "write the in-memory head to a block at least this often")
	fs.IntVar(&f.maxPending, "max-pending", 1_000_000, "samples waiting for fsync before HTTP answers 429 and MQTT withholds PUBACK")
	fs.Int64Var(&f.walSegment, "wal-segment-size", 64<<20, "telemetry WAL segment size, bytes; a busy store writes into segments zero-filled ahead of use")
	fs.Int64Var(&f.maxBody, "max-body", 32<<20, "largest accepted HTTP request body, bytes")
	fs.IntVar(&f.maxStreams, "max-streams", 128, "live streams (/api/v1/stream) open at once; one more is a 503")
	fs.IntVar(&f.mqttClients, "mqtt-max-clients", 10_000, "MQTT clients connected at once (TCP and WebSocket); one more is refused as server unavailable")
	fs.IntVar(&f.mqttPerToken, "mqtt-max-clients-per-token", 1_000, "MQTT clients connected at once with one token; one more is refused")
	fs.IntVar(&f.procs, "procs", 0, "threads running Go code at once (GOMAXPROCS); 0: the GOMAXPROCS environment variable if set, else the usable CPUs plus one, since the WAL's fdatasync holds a thread (more HTTP ingest; the CPUs alone gave lower MQTT latency), plus one per anomaly scoring worker (half the CPUs), whose thread of lowered priority holds its own")
	fs.StringVar(&f.cors, "cors-origins", "", "origins whose web applications may call the API from a browser (CORS), comma-separated: scheme://host[:port] each, or *; default none (same origin only)")
	fs.StringVar(&f.tlsCert, "tls-cert", "", "TLS certificate (PEM, with its chain): HTTP serves HTTPS and MQTT serves MQTT over TLS, on the same addresses; a renewed file is picked up without a restart (needs --tls-key)")
	fs.StringVar(&f.tlsKey, "tls-key", "", "TLS private key (PEM) of --tls-cert")
	fs.StringVar(&f.alertmanager, "alertmanager", "", "base URL of a Prometheus Alertmanager (e.g. http://127.0.0.1:9093) that open and cleared alerts are sent to, for its e-mail, chat and paging")
	fs.BoolVar(&f.noAuth, "no-auth", false, "development only: serve without tokens, every request as an admin; refuses non-loopback addresses")
	fs.BoolVar(&f.anomaly, "anomaly", true, "score every sample for anomalies (stores <channel>.anomaly series, raises alerts)")
	fs.Float64Var(&f.driftPSI, "drift-threshold", 0.25, "population stability index of a live model's scores against its approval baseline above which a drift incident is recorded (the assessment becomes due)")
	fs.DurationVar(&f.driftWin, "drift-window", 6*time.Hour, "window of recent scores (data time) the drift monitor compares with the baseline")
	fs.StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	fs.StringVar(&f.logFormat, "log-format", "text", "log format: text or json")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: tsingma %s [flags]\n\nEvery flag can also be set as an environment variable TSINGMA_<FLAG> (dashes as\nunderscores, e.g. TSINGMA_HTTP=127.0.0.1:9090) or as a key in the --config JSON file.\nPrecedence: flag, environment, config file, default.\n\nflags:\n", name)
		fs.PrintDefaults()
	}
	return f
}

// parse applies config file and environment under the explicit flags.
func (f *serveFlags) parse(e *env, args []string) (int, bool) {
	if code, ok := parseFlags(f.fs, e, args); !ok {
		return code, false
	}
	set := map[string]bool{}
	f.fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	apply := func(name, val, source string) error {
		if set[name] {
			return nil
		}
		if err := f.fs.Set(name, val); err != nil {
			return fmt.Errorf("%s: %s=%q: %v", source, name, val, err)
		}
		set[name] = true
		return nil
	}
	var errs []error
	f.fs.VisitAll(func(fl *flag.Flag) {
		env := "TSINGMA_" + strings.ToUpper(strings.ReplaceAll(fl.Name, "-", "_"))
		if v, ok := lookupEnv(e, env); ok {
			if err := apply(fl.Name, v, "environment"); err != nil {
				errs = append(errs, err)
			}
		}
	})
	if f.config != "" {
		b, err := os.ReadFile(f.config)
		if err != nil {
			errs = append(errs, fmt.Errorf("read config: %w", err))
		} else {
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				errs = append(errs, fmt.Errorf("config %s: %w", f.config, err))
			}
			for k, v := range m {
				if f.fs.Lookup(k) == nil || k == "config" {
					errs = append(errs, fmt.Errorf("config %s: unknown key %q", f.config, k))
					continue
				}
				if err := apply(k, fmt.Sprint(v), "config "+f.config); err != nil {
					errs = append(errs, err)
				}
			}
		}
	}
	errs = append(errs, f.check()...)
	if len(errs) > 0 {
		fmt.Fprintf(e.stderr, "tsingma %s: %v\n", f.fs.Name(), errors.Join(errs...))
		return 2, false
	}
	return 0, true
}

// check refuses values the platform cannot use. Below them the components
// took their defaults (or, for --retention, kept everything) without a
// word, whatever the operator had asked for.
func (f *serveFlags) check() []error {
	var errs []error
	positive := func(name string, ok bool, v any) {
		if !ok {
			errs = append(errs, fmt.Errorf("--%s must be positive, got %v", name, v))
		}
	}
	positive("max-future", f.maxFuture > 0, f.maxFuture)
	positive("flush-interval", f.flushEvery > 0, f.flushEvery)
	positive("max-pending", f.maxPending > 0, f.maxPending)
	positive("wal-segment-size", f.walSegment > 0, f.walSegment)
	positive("max-body", f.maxBody > 0, f.maxBody)
	positive("max-streams", f.maxStreams > 0, f.maxStreams)
	positive("mqtt-max-clients", f.mqttClients > 0, f.mqttClients)
	positive("mqtt-max-clients-per-token", f.mqttPerToken > 0, f.mqttPerToken)
	if f.procs < 0 {
		errs = append(errs, fmt.Errorf("--procs must be 0 (automatic) or positive, got %d", f.procs))
	}
	var err error
	if f.corsOrigins, err = app.ParseCORS(f.cors); err != nil {
		errs = append(errs, fmt.Errorf("--cors-origins: %w", err))
	}
	positive("drift-window", f.driftWin > 0, f.driftWin)
	positive("drift-threshold", f.driftPSI > 0, f.driftPSI)
	if f.retention < 0 {
		errs = append(errs, fmt.Errorf("--retention must be 0 (keep everything) or positive, got %v", f.retention))
	}
	if f.alertmanager != "" {
		if u, err := url.Parse(f.alertmanager); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("--alertmanager must be an http(s)://host:port URL, got %q", f.alertmanager))
		}
	}
	if (f.tlsCert == "") != (f.tlsKey == "") {
		errs = append(errs, errors.New("--tls-cert and --tls-key go together"))
	}
	return errs
}

func lookupEnv(e *env, name string) (string, bool) {
	v := e.getenv(name)
	return v, v != ""
}

func (f *serveFlags) logger(w io.Writer) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(f.logLevel)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch f.logFormat {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format must be text or json")
}

func (f *serveFlags) appConfig(log *slog.Logger) app.Config {
	return app.Config{
		DataDir:                f.data,
		HTTPAddr:               f.http,
		MQTTAddr:               f.mqtt,
		MaxFuture:              f.maxFuture,
		Retention:              f.retention,
		Downsample:             f.downsample,
		NoAnomaly:              !f.anomaly,
		NoAuth:                 f.noAuth,
		FlushInterval:          f.flushEvery,
		MaxPending:             f.maxPending,
		WALSegment:             f.walSegment,
		MaxBody:                f.maxBody,
		MaxStreams:             f.maxStreams,
		MQTTMaxClients:         f.mqttClients,
		MQTTMaxClientsPerToken: f.mqttPerToken,
		CORS:                   f.corsOrigins,
		TLSCert:                f.tlsCert,
		TLSKey:                 f.tlsKey,
		Alertmanager:           f.alertmanager,
		Logger:                 log,

		DriftThreshold: f.driftPSI,
		DriftWindow:    f.driftWin,
	}
}

func runServe(ctx context.Context, e *env, args []string) int {
	f := newServeFlags("serve")
	if code, ok := f.parse(e, args); !ok {
		return code
	}
	log, err := f.logger(e.stderr)
	if err != nil {
		return fail(e, "tsingma serve", err)
	}
	shards, undo, err := setProcs(e, f.procs, f.anomaly)
	if err != nil {
		return fail(e, "tsingma serve", err)
	}
	defer undo()
	con, err := console.New(console.Config{})
	if err != nil {
		return fail(e, "tsingma serve", err)
	}
	cfg := f.appConfig(log)
	cfg.AnomalyShards = shards
	cfg.ExtraRoutes = func(*app.App) []api.Route { return con.Routes() }
	a, err := app.New(cfg)
	if err != nil {
		return fail(e, "tsingma serve", err)
	}
	scheme := "http"
	if f.tlsCert != "" {
		scheme = "https"
	}
	fmt.Fprintf(e.stdout, "tsingma listening http=%s://%s mqtt=%s data=%s\n", scheme, a.HTTPAddr(), a.MQTTAddr(), f.data)
	fmt.Fprintf(e.stdout, "console: %s://%s/\n", scheme, a.HTTPAddr())
	if a.BootstrapToken != "" {
		fmt.Fprintf(e.stdout, "first start: an admin token was created; it is shown only now:\n  %s\nuse it as \"Authorization: Bearer <token>\" (HTTP) or as the MQTT password; create others with POST /api/v1/tokens\n", a.BootstrapToken)
	}
	if f.noAuth {
		fmt.Fprintln(e.stderr, "WARNING: --no-auth: authentication is OFF; every request acts as an admin (loopback only, development only)")
	}
	return runApp(ctx, e, a)
}

// runApp runs a until ctx is done; a second interrupt exits at once.
func runApp(ctx context.Context, e *env, a *app.App) int {
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-ctx.Done():
		case <-done:
			return
		}
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
		defer signal.Stop(ch)
		select {
		case <-ch:
			fmt.Fprintln(e.stderr, "tsingma: second signal, exiting without a clean shutdown")
			os.Exit(1)
		case <-done:
		}
	}()
	if err := a.Run(ctx); err != nil {
		return fail(e, "tsingma", err)
	}
	return 0
}

// downsampleFlag parses AGE:INTERVAL[,AGE:INTERVAL...].
type downsampleFlag []store.DownsampleRule

func (d *downsampleFlag) String() string {
	var parts []string
	for _, r := range *d {
		parts = append(parts, r.After.String()+":"+r.Interval.String())
	}
	return strings.Join(parts, ",")
}

func (d *downsampleFlag) Set(v string) error {
	*d = nil
	for _, part := range strings.Split(v, ",") {
		if part == "" {
			continue
		}
		a, i, ok := strings.Cut(part, ":")
		after, err1 := time.ParseDuration(a)
		every, err2 := time.ParseDuration(i)
		if !ok || err1 != nil || err2 != nil || after <= 0 || every <= 0 {
			return fmt.Errorf("want AGE:INTERVAL with positive Go durations (e.g. 720h:5m), got %q", part)
		}
		*d = append(*d, store.DownsampleRule{After: after, Interval: every})
	}
	return nil
}
