// Package app is tsingma's composition root: it builds every component
// from one Config, runs them, and stops them in reverse order. Only cli
// and tests import it.
package app

import (
	"compress/gzip"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/prometheus/promql"

	"github.com/klauspost/compress/gzhttp"
	"github.com/tsingma/tsingma/internal/alert"

	"github.com/tsingma/tsingma/internal/api"
	"github.com/tsingma/tsingma/internal/audit"
	"github.com/tsingma/tsingma/internal/auth"
	"github.com/tsingma/tsingma/internal/broker"
	"github.com/tsingma/tsingma/internal/bus"
	"github.com/tsingma/tsingma/internal/dispatch"
	"github.com/tsingma/tsingma/internal/govern"
	"github.com/tsingma/tsingma/internal/notify"
	"github.com/tsingma/tsingma/internal/scoring"
	"github.com/tsingma/tsingma/internal/slopewatch"
	"github.com/tsingma/tsingma/internal/store"
	"github.com/tsingma/tsingma/internal/telemetry"
	"github.com/tsingma/tsingma/internal/twin"
)

// Config is everything tsingma serve needs.
type Config struct {
	DataDir    string        // where twins and telemetry live
	HTTPAddr   string        // host:port; port 0 picks a free one
	MQTTAddr   string        // host:port; empty disables MQTT
	MaxFuture  time.Duration // how far in the future a sample may be
	Retention  time.Duration // telemetry retention; 0 keeps everything
	Downsample []store.DownsampleRule
	NoAnomaly  bool // do not score samples for anomalies
	// AnomalyShards is the number of scoring workers; 0: scoring's
	// default for the current GOMAXPROCS.
	AnomalyShards int
	// NoAuth serves without tokens: every request acts as an admin of the
	// default tenant. Only allowed when every listener is on loopback.
	NoAuth        bool
	NoLandslide   bool          // do not run the live landslide model
	FlushInterval time.Duration // head → block interval
	MaxPending    int           // samples queued for commit before 429
	WALSegment    int64         // telemetry WAL segment size, bytes; 0: the store's default
	MaxBody       int64         // HTTP body limit
	MaxStreams    int           // live streams open at once; 0: the API's default
	// MQTTMaxClients and MQTTMaxClientsPerToken bound the connected MQTT
	// clients, in all and of one token; 0: the broker's defaults (10,000
	// and 1,000).
	MQTTMaxClients, MQTTMaxClientsPerToken int
	// CORS lists the origins (scheme://host[:port], or *) whose web
	// applications may call the API from a browser; none: same origin
	// only.
	CORS []string
	// TLSCert and TLSKey (PEM files, both or neither) make HTTP serve
	// HTTPS and MQTT serve MQTT over TLS, on the same addresses; a renewed
	// pair is picked up without a restart.
	TLSCert, TLSKey string
	// Alertmanager is the base URL of a Prometheus Alertmanager that open
	// and cleared alerts are sent to (it notifies people); empty: none.
	Alertmanager string
	Logger       *slog.Logger
	// Extra routes (the console, the demo's controls).
	ExtraRoutes func(*App) []api.Route
	// DriftThreshold (PSI) and DriftWindow (data time) of the drift
	// monitor of live models' scores; zero takes the defaults (0.25, 6h).
	DriftThreshold float64
	DriftWindow    time.Duration
}

// App is a running (or ready to run) tsingma.
type App struct {
	cfg      Config
	log      *slog.Logger
	Twins    *twin.Registry
	Store    *store.Store
	Bus      *bus.Bus
	Ingester *telemetry.Ingester
	API      *api.Server
	Broker   *broker.Broker
	notifier *notify.Notifier // nil without an Alertmanager
	Alerts   *alert.Engine
	Scoring  *scoring.Service
	// Landslide is the live landslide early-warning model (nil when off).
	Landslide *slopewatch.Service
	// Routing runs routing jobs; Inventory watches stock items.
	Routing   *dispatch.Service
	Inventory *dispatch.Monitor
	// Governance: the audit log, access tokens, the model registry and
	// its shadow trials.
	Audit  *audit.Log
	Tokens *auth.Store
	// BootstrapToken is the secret of the admin token created on first
	// start (empty when tokens already existed).
	BootstrapToken string
	Govern         *govern.Registry
	Shadows        *govern.Shadows
	// Drift measures the anomaly model's score drift (nil without scoring).
	Drift    *govern.DriftMonitor
	auditBus *audit.Follower

	httpLn net.Listener
	mqttLn net.Listener
	srv    *http.Server

	closeOnce sync.Once
}

// New opens storage and builds every component; it listens on the
// configured addresses (so the bound ones are known) but serves nothing
// until Run.
func New(cfg Config) (*App, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("app: DataDir is required")
	}
	if cfg.HTTPAddr == "" {
		cfg.HTTPAddr = "127.0.0.1:8080"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.NoAuth {
		if err := CheckLoopback(cfg.HTTPAddr, cfg.MQTTAddr); err != nil {
			return nil, err
		}
		cfg.Logger.Warn("AUTHENTICATION IS OFF (--no-auth): every request acts as an admin; development only, loopback only")
	}
	a := &App{cfg: cfg, log: cfg.Logger}
	ok := false
	defer func() {
		if !ok {
			a.closeStorage()
		}
	}()
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("create data dir %s: %w", cfg.DataDir, err)
	}
	a.Bus = bus.New()
	var err error
	if err := a.openGovernance(); err != nil {
		return nil, err
	}
	a.Twins, err = twin.Open(twin.Config{
		Path:   filepath.Join(cfg.DataDir, "twins.db"),
		Logger: cfg.Logger,
		OnChange: func(ev twin.Event) {
			a.Bus.Publish(bus.Event{Kind: "twin", Tenant: ev.Tenant, Data: twinChange{ev}})
		},
	})
	if err != nil {
		return nil, fmt.Errorf("open twin registry: %w", err)
	}
	a.Store, err = store.Open(store.Config{
		Dir:           filepath.Join(cfg.DataDir, "telemetry"),
		Retention:     cfg.Retention,
		Downsample:    cfg.Downsample,
		FlushInterval: cfg.FlushInterval,
		MaxPending:    cfg.MaxPending,
		SegmentSize:   cfg.WALSegment,
		Logger:        cfg.Logger,
	})
	if err != nil {
		return nil, fmt.Errorf("open telemetry store: %w", err)
	}
	a.Alerts, err = alert.Open(alert.Config{
		Path:     filepath.Join(cfg.DataDir, "alerts.db"),
		Catalog:  a.Twins,
		Bus:      a.Bus,
		Defaults: alert.DefaultRules(),
		Admit:    a.Govern.Admit,
		Logger:   cfg.Logger,
	})
	if err != nil {
		return nil, fmt.Errorf("open alert engine: %w", err)
	}
	a.Alerts.Start()
	if cfg.Alertmanager != "" {
		a.notifier, err = notify.New(notify.Config{URL: cfg.Alertmanager, Bus: a.Bus, Open: a.Alerts.OpenAlerts, Logger: cfg.Logger})
		if err != nil {
			return nil, err
		}
	}
	if !cfg.NoAnomaly {
		a.Scoring, err = scoring.Open(scoring.Config{
			Shards: cfg.AnomalyShards,
			Dir:    filepath.Join(cfg.DataDir, "anomaly"),
			Bus:    a.Bus,
			Store:  a.Store,
			Alerts: a.Alerts,
			Logger: cfg.Logger,
		})
		if err != nil {
			return nil, fmt.Errorf("open anomaly scoring: %w", err)
		}
		a.Scoring.Start()
		if err := a.Govern.RegisterBuiltin(context.Background(), telemetry.DefaultTenant, govern.AnomalyBuiltin()); err != nil {
			return nil, fmt.Errorf("register the anomaly model: %w", err)
		}
	}
	if !cfg.NoLandslide {
		a.Landslide, err = slopewatch.New(slopewatch.Config{Twins: a.Twins, Bus: a.Bus, Store: a.Store, Alerts: a.Alerts, Logger: cfg.Logger})
		if err != nil {
			return nil, fmt.Errorf("open landslide model: %w", err)
		}
		a.Landslide.Start()
	}
	if err := a.openLogistics(); err != nil {
		return nil, err
	}
	a.Shadows = govern.NewShadows(a.Govern, a.Bus, govern.NewStoreSource(a.Twins, a.Store), cfg.Logger)
	if err := a.Shadows.Resume(context.Background()); err != nil {
		return nil, fmt.Errorf("resume shadow trials: %w", err)
	}
	if err := a.openDrift(); err != nil {
		return nil, err
	}
	a.Ingester, err = telemetry.NewIngester(telemetry.IngesterConfig{MaxFuture: cfg.MaxFuture},
		catalog{a.Twins}, a.Store, bus.Samples{Bus: a.Bus})
	if err != nil {
		return nil, err
	}
	opts := api.EngineOpts()
	opts.Logger = cfg.Logger.With("component", "promql")
	engine := promql.NewEngine(opts)
	var tlsCfg *tls.Config
	if cfg.TLSCert != "" || cfg.TLSKey != "" {
		if cfg.TLSCert == "" || cfg.TLSKey == "" {
			return nil, errors.New("tls: give both a certificate and a key")
		}
		cf, err := loadCertFiles(cfg.TLSCert, cfg.TLSKey, cfg.Logger)
		if err != nil {
			return nil, err
		}
		tlsCfg = cf.tlsConfig()
	}
	a.httpLn, err = net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return nil, fmt.Errorf("listen http %s: %w", cfg.HTTPAddr, err)
	}
	if cfg.MQTTAddr != "" {
		a.mqttLn, err = net.Listen("tcp", cfg.MQTTAddr)
		if err != nil {
			return nil, fmt.Errorf("listen mqtt %s: %w", cfg.MQTTAddr, err)
		}
		ln := a.mqttLn
		if tlsCfg != nil {
			ln = tls.NewListener(ln, tlsCfg)
		}
		bcfg := broker.Config{Listener: ln, Ingester: a.Ingester, Logger: cfg.Logger,
			MaxClients: cfg.MQTTMaxClients, MaxClientsPerToken: cfg.MQTTMaxClientsPerToken}
		if !cfg.NoAuth {
			bcfg.Auth = a.Tokens
		}
		a.Broker, err = broker.New(bcfg)
		if err != nil {
			return nil, err
		}
	}
	acfg := api.Config{
		Twins:        a.Twins,
		Ingester:     a.Ingester,
		Store:        a.Store,
		Queryable:    a.Store.Queryable,
		Engine:       engine,
		Bus:          a.Bus,
		Logger:       cfg.Logger,
		MaxBody:      cfg.MaxBody,
		MaxStreams:   cfg.MaxStreams,
		Metrics:      []func(io.Writer){a.brokerMetrics, a.Alerts.WriteMetrics, a.scoringMetrics, a.governMetrics, a.landslideMetrics, a.Routing.WriteMetrics, a.Inventory.WriteMetrics, a.driftMetrics, a.notifyMetrics},
		Alerts:       a.Alerts,
		Anomaly:      anomalyAPI(a.Scoring),
		Landslide:    landslideAPI(a.Landslide),
		Dispatch:     logistics{a.Routing, a.Inventory},
		Govern:       &govern.Platform{Registry: a.Govern, Shadows: a.Shadows, Source: govern.NewStoreSource(a.Twins, a.Store), Audit: a.Audit, Tokens: a.Tokens, Drift: a.Drift},
		DevPrincipal: auth.Principal{Name: "dev (--no-auth)", Role: auth.Admin, Tenant: telemetry.DefaultTenant},
		// Not ready once the telemetry store refuses writes: a WAL write
		// failed and only a restart recovers.
		Ready:  a.Store.Err,
		Backup: a.Backup,
	}
	if !cfg.NoAuth {
		acfg.Auth = a.Tokens
		if err := a.bootstrapToken(); err != nil {
			return nil, err
		}
	}
	if cfg.ExtraRoutes != nil {
		acfg.Extra = cfg.ExtraRoutes(a)
	}
	if a.Broker != nil {
		// MQTT over WebSocket for browser clients, on the HTTP port (and
		// its TLS); the client's token is its CONNECT's password.
		acfg.Extra = append(acfg.Extra, api.Route{Method: "GET", Pattern: "/mqtt", Summary: "MQTT over WebSocket (subprotocol mqtt)",
			Handler: http.HandlerFunc(a.Broker.ServeWebSocket)})
	}
	a.API, err = api.New(acfg)
	if err != nil {
		return nil, err
	}
	// Responses are compressed for clients that accept it (the console's
	// files are about 3 MB, lists of twins and latest values compress
	// about tenfold); small answers, and the live stream, whose events
	// must not wait in a compressor, go as they are.
	compress, err := gzhttp.NewWrapper(gzhttp.EnableZstd(false), gzhttp.CompressionLevel(gzip.BestSpeed),
		gzhttp.MinSize(gzhttp.DefaultMinSize), gzhttp.ExceptContentTypes([]string{"text/event-stream"}))
	if err != nil {
		return nil, fmt.Errorf("http compression: %w", err)
	}
	handler, err := newCORS(cfg.CORS, compress(a.API))
	if err != nil {
		return nil, err
	}
	a.srv = &http.Server{
		TLSConfig:         tlsCfg,
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    1 << 20,
		ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
	}
	ok = true
	return a, nil
}

// HTTPAddr is the bound HTTP address.
func (a *App) HTTPAddr() string { return a.httpLn.Addr().String() }

// MQTTAddr is the bound MQTT address, or "" when MQTT is off.
func (a *App) MQTTAddr() string {
	if a.mqttLn == nil {
		return ""
	}
	return a.mqttLn.Addr().String()
}

// Run serves until ctx is done, then shuts down: stop accepting, drain
// requests, disconnect MQTT, flush the store, close the registry.
func (a *App) Run(ctx context.Context) error {
	errc := make(chan error, 2)
	nctx, ncancel := context.WithCancel(ctx)
	defer ncancel()
	notified := make(chan struct{})
	if a.notifier != nil {
		go func() { a.notifier.Run(nctx); close(notified) }()
	} else {
		close(notified)
	}
	// Read before Serve: net/http sets TLSConfig itself (HTTP/2) once it runs.
	tlsOn := a.srv.TLSConfig != nil
	serve := a.srv.Serve
	if tlsOn {
		serve = func(ln net.Listener) error { return a.srv.ServeTLS(ln, "", "") }
	}
	go func() {
		if err := serve(a.httpLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("serve http: %w", err)
		}
	}()
	if a.Broker != nil {
		if err := a.Broker.Start(); err != nil {
			errc <- err
		}
	}
	scheme := "http://"
	if tlsOn {
		scheme = "https://"
	}
	a.log.Info("tsingma listening", "http", scheme+a.HTTPAddr(), "mqtt", a.MQTTAddr(), "tls", tlsOn, "data", a.cfg.DataDir)
	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	a.log.Info("shutting down")
	ncancel()
	<-notified
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := a.srv.Shutdown(sctx); err != nil {
		a.log.Warn("http shutdown", "err", err)
		a.srv.Close()
	}
	if err := a.Close(); err != nil && runErr == nil {
		runErr = err
	}
	return runErr
}

// Close stops the broker and closes storage. Run calls it; call it
// yourself only when Run was never called. Idempotent.
func (a *App) Close() error {
	var err error
	a.closeOnce.Do(func() {
		if a.Broker != nil {
			if e := a.Broker.Close(); e != nil {
				a.log.Warn("mqtt close", "err", e)
			}
		} else if a.mqttLn != nil {
			a.mqttLn.Close()
		}
		if a.httpLn != nil {
			a.httpLn.Close()
		}
		err = a.closeStorage()
	})
	return err
}

func (a *App) closeStorage() error {
	var errs []error
	if a.Drift != nil { // it reads the bus and records incidents in the registry
		a.Drift.Close()
	}
	if a.Shadows != nil { // shadow trials only read the bus
		if err := a.Shadows.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close shadow trials: %w", err))
		}
	}
	if a.Routing != nil { // jobs read twins and publish on the bus
		if err := a.Routing.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close routing jobs: %w", err))
		}
	}
	if a.Inventory != nil { // it writes series to the store and raises alerts
		if err := a.Inventory.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close inventory model: %w", err))
		}
	}
	if a.Landslide != nil { // it writes series to the store and raises alerts
		if err := a.Landslide.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close landslide model: %w", err))
		}
	}
	if a.Scoring != nil { // first: it writes scores to the store and raises alerts
		if err := a.Scoring.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close anomaly scoring: %w", err))
		}
	}
	if a.Alerts != nil { // then: it follows the bus the store feeds
		if err := a.Alerts.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close alerts: %w", err))
		}
	}
	if a.Store != nil {
		if err := a.Store.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close store: %w", err))
		}
	}
	if a.Twins != nil {
		if err := a.Twins.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close twins: %w", err))
		}
	}
	errs = append(errs, a.closeGovernance())
	return errors.Join(errs...)
}

func (a *App) notifyMetrics(w io.Writer) {
	if a.notifier == nil {
		return
	}
	st := a.notifier.Stats()
	fmt.Fprintf(w, "# HELP tsingma_alertmanager_alerts_sent_total Alerts Alertmanager took.\n# TYPE tsingma_alertmanager_alerts_sent_total counter\ntsingma_alertmanager_alerts_sent_total %d\n", st.Sent)
	fmt.Fprintf(w, "# HELP tsingma_alertmanager_posts_failed_total Posts to Alertmanager that failed (retried).\n# TYPE tsingma_alertmanager_posts_failed_total counter\ntsingma_alertmanager_posts_failed_total %d\n", st.Failed)
}

func (a *App) brokerMetrics(w io.Writer) {
	if a.Broker == nil {
		return
	}
	st := a.Broker.Stats()
	fmt.Fprintf(w, "# HELP tsingma_mqtt_clients Connected MQTT clients.\n# TYPE tsingma_mqtt_clients gauge\ntsingma_mqtt_clients %d\n", st.Clients)
	fmt.Fprintf(w, "# HELP tsingma_mqtt_telemetry_messages_total Telemetry publishes.\n# TYPE tsingma_mqtt_telemetry_messages_total counter\ntsingma_mqtt_telemetry_messages_total %d\n", st.Messages)
	fmt.Fprintf(w, "# HELP tsingma_mqtt_backpressure_waits_total Times a PUBACK was withheld for a full queue.\n# TYPE tsingma_mqtt_backpressure_waits_total counter\ntsingma_mqtt_backpressure_waits_total %d\n", st.Waits)
	fmt.Fprintf(w, "# HELP tsingma_mqtt_queue_dropped_total Messages dropped for a session that held %d already (its client away or slow).\n# TYPE tsingma_mqtt_queue_dropped_total counter\ntsingma_mqtt_queue_dropped_total %d\n", broker.MaxOfflineQueue, st.Dropped)
	fmt.Fprintf(w, "# HELP tsingma_mqtt_connections Open MQTT connections (TCP and WebSocket), connected or not yet.\n# TYPE tsingma_mqtt_connections gauge\ntsingma_mqtt_connections %d\n", st.Connections)
	fmt.Fprintf(w, "# HELP tsingma_mqtt_refused_total MQTT connections and clients refused by a limit.\n# TYPE tsingma_mqtt_refused_total counter\n")
	fmt.Fprintf(w, "tsingma_mqtt_refused_total{limit=\"connections\"} %d\ntsingma_mqtt_refused_total{limit=\"clients_per_token\"} %d\n", st.RefusedConnections, st.RefusedPerToken)
}

// catalog adapts the twin registry to telemetry.Catalog.
type catalog struct{ r *twin.Registry }

func (c catalog) Channel(tenant, id, ch string) (telemetry.ChannelInfo, error) {
	t, err := c.TwinChannels(tenant, id)
	if err != nil {
		return telemetry.ChannelInfo{}, err
	}
	ci, ok := t.Lookup(ch)
	if !ok {
		return telemetry.ChannelInfo{}, telemetry.ErrUnknownChannel
	}
	return ci, nil
}

// TwinChannels hands the ingester the channel table of one twin's type.
func (c catalog) TwinChannels(tenant, id string) (telemetry.ChannelTable, error) {
	m, err := c.r.TwinChannels(tenant, id)
	switch {
	case errors.Is(err, twin.ErrNotFound):
		return nil, telemetry.ErrUnknownTwin
	case err != nil:
		return nil, err
	}
	return channelTable(m), nil
}

// Generation is the registry's change count (telemetry.Generations).
func (c catalog) Generation() uint64 { return c.r.Generation() }

// channelTable is a type's channels as the ingester validates against.
type channelTable map[string]twin.ChannelInfo

func (t channelTable) Lookup(ch string) (telemetry.ChannelInfo, bool) {
	ci, ok := t[ch]
	return telemetry.ChannelInfo{Type: ci.Type, Unit: ci.Unit, Min: ci.Min, Max: ci.Max}, ok
}

// twinChange is a registry event as the live stream shows it.
type twinChange struct{ ev twin.Event }

func (c twinChange) TwinRef() (string, string) {
	typ := ""
	if c.ev.Twin != nil {
		typ = c.ev.Twin.Type
	}
	return c.ev.ID, typ
}

// TwinGeometry is the twin's geometry after the change (nil when deleted
// or without one; ok false for a change of a type): live streams
// filtered by a box follow it.
func (c twinChange) TwinGeometry() (geo *twin.Geometry, ok bool) {
	switch c.ev.Kind {
	case twin.TwinCreated, twin.TwinUpdated:
		if c.ev.Twin != nil {
			return c.ev.Twin.Geometry, true
		}
	case twin.TwinDeleted:
		return nil, true
	}
	return nil, false
}

func (c twinChange) MarshalJSON() ([]byte, error) {
	return jsonMarshal(map[string]any{"kind": c.ev.Kind, "id": c.ev.ID, "revision": c.ev.Revision, "twin": c.ev.Twin})
}

// anomalyAPI returns nil (a nil interface, not a typed nil) when off.
func anomalyAPI(s *scoring.Service) api.Anomaly {
	if s == nil {
		return nil
	}
	return s
}

// landslideAPI returns nil (a nil interface, not a typed nil) when off.
func landslideAPI(s *slopewatch.Service) api.Landslide {
	if s == nil {
		return nil
	}
	return s
}

func (a *App) landslideMetrics(w io.Writer) {
	if a.Landslide != nil {
		a.Landslide.WriteMetrics(w)
	}
}

func (a *App) scoringMetrics(w io.Writer) {
	if a.Scoring != nil {
		a.Scoring.WriteMetrics(w)
	}
}

// openGovernance opens the audit log (first: everything else logs to it),
// the token store and the model registry, and starts recording the bus's
// twin, rule and alert changes.
func (a *App) openGovernance() error {
	var err error
	a.Audit, err = audit.Open(audit.Config{Dir: filepath.Join(a.cfg.DataDir, "audit"), Logger: a.cfg.Logger})
	if err != nil {
		return fmt.Errorf("open audit log: %w", err)
	}
	a.Tokens, err = auth.Open(auth.Config{Path: filepath.Join(a.cfg.DataDir, "auth.db"), Audit: a.Audit, Logger: a.cfg.Logger})
	if err != nil {
		return fmt.Errorf("open tokens: %w", err)
	}
	a.Govern, err = govern.Open(govern.Config{Path: filepath.Join(a.cfg.DataDir, "govern.db"), Audit: a.Audit, Logger: a.cfg.Logger})
	if err != nil {
		return fmt.Errorf("open model registry: %w", err)
	}
	a.auditBus = audit.Follow(a.Bus, a.Audit)
	a.auditBus.Start()
	return nil
}

// closeGovernance runs after every publisher has stopped: the follower
// drains what the bus delivered, then the log signs its last checkpoint.
func (a *App) closeGovernance() error {
	var errs []error
	if a.auditBus != nil {
		a.auditBus.Close()
	}
	if a.Govern != nil {
		errs = append(errs, a.Govern.Close())
	}
	if a.Tokens != nil {
		errs = append(errs, a.Tokens.Close())
	}
	if a.Audit != nil {
		if err := a.Audit.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close audit log: %w", err))
		}
	}
	return errors.Join(errs...)
}

func (a *App) governMetrics(w io.Writer) {
	st := a.Audit.Stats()
	fmt.Fprintf(w, "# HELP tsingma_audit_entries Entries in the audit log.\n# TYPE tsingma_audit_entries gauge\ntsingma_audit_entries %d\n", st.Entries)
	fmt.Fprintf(w, "# HELP tsingma_audit_signed_entries Entries covered by the latest signed checkpoint.\n# TYPE tsingma_audit_signed_entries gauge\ntsingma_audit_signed_entries %d\n", st.CheckpointSize)
	fmt.Fprintf(w, "# HELP tsingma_audit_fsyncs_total Group commits of the audit log.\n# TYPE tsingma_audit_fsyncs_total counter\ntsingma_audit_fsyncs_total %d\n", st.Fsyncs)
	fmt.Fprintf(w, "# HELP tsingma_audit_dropped_total Bus events the audit log lost (slow follower or failed append).\n# TYPE tsingma_audit_dropped_total counter\ntsingma_audit_dropped_total %d\n", a.auditBus.Dropped())
	ad, rf, un := a.Govern.AdmitStats()
	fmt.Fprintf(w, "# HELP tsingma_model_signals_total Model alert signals by admission decision.\n# TYPE tsingma_model_signals_total counter\n")
	fmt.Fprintf(w, "tsingma_model_signals_total{decision=\"champion\"} %d\ntsingma_model_signals_total{decision=\"refused\"} %d\ntsingma_model_signals_total{decision=\"unregistered\"} %d\n", ad, rf, un)
}

// bootstrapToken creates an admin token for the default tenant when the
// token store has none, so that a fresh server can be used at all; the
// secret is in BootstrapToken, for the command line to print once.
func (a *App) bootstrapToken() error {
	if len(a.Tokens.List(telemetry.DefaultTenant)) > 0 {
		return nil
	}
	_, secret, err := a.Tokens.Create(context.Background(), "tsingma", auth.NewToken{Name: "bootstrap-admin", Role: auth.Admin, Tenant: telemetry.DefaultTenant})
	if err != nil {
		return fmt.Errorf("create bootstrap admin token: %w", err)
	}
	a.BootstrapToken = secret
	return nil
}

// CheckLoopback returns an error unless every address is a loopback one
// (as --no-auth requires).
func CheckLoopback(addrs ...string) error {
	for _, a := range addrs {
		if a == "" {
			continue
		}
		host, _, err := net.SplitHostPort(a)
		if err != nil {
			return fmt.Errorf("address %q: %w", a, err)
		}
		if host == "localhost" {
			continue
		}
		ip := net.ParseIP(host)
		if ip == nil || !ip.IsLoopback() {
			return fmt.Errorf("--no-auth serves without tokens, so it only binds to loopback; %q is not (use 127.0.0.1:PORT)", a)
		}
	}
	return nil
}

// openLogistics opens the routing-job service (jobs in routing.db) and
// starts the inventory monitor.
func (a *App) openLogistics() error {
	var err error
	a.Routing, err = dispatch.Open(dispatch.Config{Path: filepath.Join(a.cfg.DataDir, "routing.db"), Twins: a.Twins, Bus: a.Bus, Logger: a.cfg.Logger})
	if err != nil {
		return fmt.Errorf("open routing jobs: %w", err)
	}
	a.Inventory, err = dispatch.NewMonitor(dispatch.MonitorConfig{Twins: a.Twins, Tenants: a.Twins, Store: a.Store, Alerts: a.Alerts, Logger: a.cfg.Logger})
	if err != nil {
		return fmt.Errorf("open inventory model: %w", err)
	}
	a.Inventory.Start()
	for _, b := range []govern.Builtin{dispatch.RoutingBuiltin(), dispatch.InventoryBuiltin(), slopewatch.Builtin()} {
		if err := a.Govern.RegisterBuiltin(context.Background(), telemetry.DefaultTenant, b); err != nil {
			return fmt.Errorf("register the %s model: %w", b.System.ID, err)
		}
	}
	return nil
}

// logistics joins the routing service and the inventory monitor for the API.
type logistics struct {
	*dispatch.Service
	*dispatch.Monitor
}

// openDrift starts the drift monitor of the anomaly model's scores
// (baselines kept under drift/). Without scoring there is nothing to watch.
func (a *App) openDrift() error {
	if a.Scoring == nil {
		return nil
	}
	var err error
	a.Drift, err = govern.NewDriftMonitor(govern.DriftConfig{
		Registry:  a.Govern,
		Bus:       a.Bus,
		Dir:       filepath.Join(a.cfg.DataDir, "drift"),
		Sources:   map[string]string{scoring.ModelName: scoring.Suffix},
		Threshold: a.cfg.DriftThreshold,
		Window:    a.cfg.DriftWindow,
		Logger:    a.cfg.Logger,
	})
	if err != nil {
		return fmt.Errorf("open drift monitor: %w", err)
	}
	a.Drift.Start()
	return nil
}

func (a *App) driftMetrics(w io.Writer) {
	if a.Drift != nil {
		a.Drift.WriteMetrics(w)
	}
}
