// Package api serves tsingma's HTTP API under /api/v1: twins and types,
// telemetry in and out, the Prometheus-compatible query API, the live
// stream (SSE), health and metrics, and the OpenAPI document. Every error
// is an RFC 9457 problem+json document built in one place (problem.go).
package api

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/prometheus/promql"

	"github.com/tsingma/tsingma/internal/auth"
	"github.com/tsingma/tsingma/internal/backup"
	"github.com/tsingma/tsingma/internal/bus"
	"github.com/tsingma/tsingma/internal/store"
	"github.com/tsingma/tsingma/internal/telemetry"
	"github.com/tsingma/tsingma/internal/twin"
)

// Twins is the twin registry as the API uses it.
type Twins interface {
	PutType(ctx context.Context, tenant string, t twin.Type) (twin.Type, error)
	GetType(ctx context.Context, tenant, name string) (twin.Type, error)
	ListTypes(ctx context.Context, tenant string) []twin.Type
	DeleteType(ctx context.Context, tenant, name string) error
	Create(ctx context.Context, tenant string, tw twin.Twin) (twin.Twin, error)
	Put(ctx context.Context, tenant string, tw twin.Twin, ifMatch uint64) (twin.Twin, bool, error)
	Patch(ctx context.Context, tenant, id string, patch []byte, ifMatch uint64) (twin.Twin, error)
	Delete(ctx context.Context, tenant, id string, cascade bool, ifMatch uint64) error
	Get(ctx context.Context, tenant, id string) (twin.Twin, error)
	BulkUpsert(ctx context.Context, tenant string, tws []twin.Twin) []error
	Query(ctx context.Context, tenant string, q twin.Query) (twin.Page, error)
	Refs(ctx context.Context, tenant string, q twin.Query, max int) ([]twin.Ref, error)
}

// Telemetry is the store as the read side of the API uses it.
type Telemetry interface {
	Range(ctx context.Context, k telemetry.Key, mint, maxt int64, fn func(ts int64, v float64) bool) error
	RangeBatch(ctx context.Context, k telemetry.Key, mint, maxt int64, fn func(ts []int64, vs []float64) bool) error
	Latest(k telemetry.Key) (store.Point, bool)
	LatestOfTwin(tenant, twin string) map[string]store.Point
	AppendLatestOfTwin(dst []store.ChannelPoint, tenant, twin string) []store.ChannelPoint
	Channels(tenant, twin string) []string
	Stats() store.Stats
	DeleteSeries(ctx context.Context, tenant, twin, channel string) (int, error)
	DeleteRange(ctx context.Context, tenant, twin, channel string, from, to int64) (int, error)
}

// Config is everything the API needs. Logger nil means discard.
type Config struct {
	Twins     Twins
	Ingester  *telemetry.Ingester
	Store     Telemetry
	Queryable func(tenant string) promqlQueryable
	Engine    *promql.Engine
	Bus       *bus.Bus
	Logger    *slog.Logger
	MaxBody   int64 // bytes; default 32 MiB
	// MaxStreams bounds the live streams (/api/v1/stream) open at once;
	// default 128.
	MaxStreams int
	Now        func() time.Time
	Ready      func() error // nil when ready; otherwise why not (/readyz)
	// Extra lets other components (console, alerts) add routes; they are
	// documented by their own owners.
	Extra []Route
	// Auth authenticates and authorizes every request; nil means
	// development mode (--no-auth): every request acts as DevPrincipal.
	Auth Authenticator
	// DevPrincipal is used when Auth is nil.
	DevPrincipal auth.Principal
	// Metrics lets other components append to /metrics.
	Metrics []func(io.Writer)
	// Anomaly serves /api/v1/anomaly/...; nil leaves them out.
	Anomaly Anomaly
	// Alerts serves /api/v1/rules and /api/v1/alerts; nil leaves them out.
	Alerts Alerts
	// Govern serves /api/v1/governance/..., /api/v1/audit/..., tokens and
	// whoami; nil leaves them out.
	Govern Govern
	// Landslide serves /api/v1/landslide/...; nil answers them with 503.
	Landslide Landslide
	// Dispatch serves /api/v1/routing/... and /api/v1/inventory/...; nil
	// answers them with 503.
	Dispatch Dispatch
	// Backup writes the whole platform's state to sink
	// (/api/v1/admin/backup); nil answers with 503.
	Backup func(ctx context.Context, sink backup.Sink) error
}

// Route is one documented endpoint.
type Route struct {
	Method, Pattern, Summary string
	Handler                  http.Handler
}

// Server is the HTTP API. Create it with New; it is an http.Handler.
type Server struct {
	cfg      Config
	log      *slog.Logger
	mux      *http.ServeMux
	routes   []Route
	metrics  *metrics
	inflight atomic.Int64
	streams  atomic.Int64 // live streams open
	scratch  sync.Pool
}

// New validates cfg and builds the router.
func New(cfg Config) (*Server, error) {
	if cfg.Twins == nil || cfg.Ingester == nil || cfg.Store == nil || cfg.Bus == nil || cfg.Engine == nil || cfg.Queryable == nil {
		return nil, errors.New("api: Config needs Twins, Ingester, Store, Bus, Engine and Queryable")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxStreams <= 0 {
		cfg.MaxStreams = 128
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 32 << 20
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Ready == nil {
		cfg.Ready = func() error { return nil }
	}
	s := &Server{cfg: cfg, log: cfg.Logger.With("component", "api"), mux: http.NewServeMux(), metrics: newMetrics()}
	s.routes = s.apiRoutes()
	s.routes = append(s.routes, s.promRoutes()...)
	s.routes = append(s.routes, s.alertRoutes()...)
	s.routes = append(s.routes, s.anomalyRoutes()...)
	s.routes = append(s.routes, s.governRoutes()...)
	s.routes = append(s.routes, s.landslideRoutes()...)
	s.routes = append(s.routes, s.routingRoutes()...)
	s.routes = append(s.routes, cfg.Extra...)
	for _, rt := range s.routes {
		s.mux.Handle(rt.Method+" "+rt.Pattern, rt.Handler)
	}
	return s, nil
}

// Routes lists every registered route (for the OpenAPI check).
func (s *Server) Routes() []Route { return s.routes }

// handler adapts an error-returning handler.
type handler func(w http.ResponseWriter, r *http.Request) error

func (s *Server) h(f handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := f(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

// ServeHTTP applies the common middleware: panic recovery, body limits,
// unknown routes as problems, request metrics.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	s.inflight.Add(1)
	defer s.inflight.Add(-1)
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.Error("handler panic", "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
			writeProblem(w, problemFor(fmt.Errorf("panic: %v", v)))
		}
	}()
	if r.Body != nil {
		r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBody)
		if err := undoEncoding(w, r, s.cfg.MaxBody); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	h, pattern := s.mux.Handler(r)
	if pattern == "" {
		// Distinguish 404 from 405 the way ServeMux does, as problems.
		rec := &statusOnly{header: http.Header{}}
		h.ServeHTTP(rec, r)
		code := "not-found"
		if rec.status == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", rec.header.Get("Allow"))
			code = "method-not-allowed"
		}
		s.writeError(w, r, errorf(code, "%s %s is not an API route", r.Method, r.URL.Path))
		return
	}
	if s.cfg.Auth != nil {
		// EventSource cannot send headers: the live stream also takes the
		// token as ?access_token= (never logged).
		if pattern == "GET /api/v1/stream" && r.Header.Get("Authorization") == "" {
			if tok := r.URL.Query().Get("access_token"); tok != "" {
				r.Header.Set("Authorization", "Bearer "+tok)
			}
		}
		ar, err := s.cfg.Auth.Request(r, pattern)
		if err != nil {
			s.writeError(w, r, err)
			s.metrics.observe(pattern, problemFor(err).Status, time.Since(start))
			return
		}
		r = ar
	} else if _, ok := auth.FromContext(r.Context()); !ok {
		// Development mode; in-process callers may bring their own principal.
		r = r.WithContext(auth.WithPrincipal(r.Context(), s.cfg.DevPrincipal))
	}
	sw := &statusWriter{ResponseWriter: w, status: 200}
	s.mux.ServeHTTP(sw, r)
	s.metrics.observe(pattern, sw.status, time.Since(start))
}

type statusOnly struct {
	header http.Header
	status int
}

func (s *statusOnly) Header() http.Header         { return s.header }
func (s *statusOnly) Write(b []byte) (int, error) { return len(b), nil }
func (s *statusOnly) WriteHeader(c int)           { s.status = c }

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(c int) { w.status = c; w.ResponseWriter.WriteHeader(c) }
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	return enc.Encode(v)
}

// tenantOf returns the tenant of the request's principal (set by the auth
// middleware); requests without one act in the default tenant.
func tenantOf(r *http.Request) string {
	if p, ok := auth.FromContext(r.Context()); ok && p.Tenant != "" {
		return p.Tenant
	}
	return telemetry.DefaultTenant
}

// Authenticator checks a request's token against the route's policy
// (auth.Store implements it).
type Authenticator interface {
	Request(r *http.Request, muxPattern string) (*http.Request, error)
	// Current reports whether a token still grants access (nil) or was
	// revoked or has expired since: a live stream opened with it ends.
	Current(tokenID string) error
}

// parseTimeParam reads a time as RFC 3339, or integer milliseconds since
// the epoch. Empty gives def.
func parseTimeParam(v, name string, def time.Time) (time.Time, error) {
	if v == "" {
		return def, nil
	}
	if ms, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.UnixMilli(ms), nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, errorf("bad-request", "%s: want RFC 3339 or milliseconds since 1970, got %q", name, clip(v))
	}
	return t, nil
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return strings.ToValidUTF8(s, "?")
}

// undoEncoding undoes a request body's Content-Encoding: gzip is read
// decompressed, with the size limit on the decompressed bytes (a small
// compressed body must not become a large one in memory); identity is as
// it is; anything else is refused.
func undoEncoding(w http.ResponseWriter, r *http.Request, limit int64) error {
	switch ce := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); ce {
	case "", "identity":
		return nil
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			var mb *http.MaxBytesError
			if errors.As(err, &mb) {
				return errorf("too-large", "the request body is over %d bytes", limit)
			}
			return errorf("malformed-body", "Content-Encoding is gzip, but the body is not: %v", err)
		}
		r.Body = http.MaxBytesReader(w, zr, limit)
		r.Header.Del("Content-Encoding")
		r.ContentLength = -1
		return nil
	default:
		return errorf("unsupported-media", "Content-Encoding %q is not supported (gzip is)", clip(ce))
	}
}

// ifMatch parses an If-Match header holding a twin ETag ("<revision>").
// "*" (anything current) is no condition here: for PUT, which may create,
// see putPrecondition.
func ifMatch(r *http.Request) (uint64, error) {
	v := r.Header.Get("If-Match")
	if v == "" || v == "*" {
		return 0, nil
	}
	v = strings.TrimPrefix(v, "W/")
	v = strings.Trim(v, `"`)
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil || n == 0 {
		return 0, errorf("bad-request", "If-Match must be an ETag returned by this API, like \"3\"")
	}
	return n, nil
}

// putPrecondition reads the preconditions of a PUT, which creates or
// replaces (RFC 9110 section 13.1): create is "If-None-Match: *" (the PUT
// may only create); "If-Match: *" (it may only replace) is turned into
// the object's current revision, found by current (ok false: there is
// none, 412), so that the write fails rather than create one. Other
// If-None-Match values are refused.
func putPrecondition(r *http.Request, current func() (rev uint64, ok bool)) (match uint64, create bool, err error) {
	switch v := r.Header.Get("If-None-Match"); v {
	case "":
	case "*":
		create = true
	default:
		return 0, false, errorf("bad-request", "If-None-Match on a PUT must be *")
	}
	if r.Header.Get("If-Match") == "*" {
		if create {
			return 0, false, errorf("precondition-failed", "If-Match: * and If-None-Match: * cannot both hold")
		}
		rev, ok := current()
		if !ok {
			return 0, false, errorf("precondition-failed", "If-Match: *, and there is nothing to replace")
		}
		return rev, false, nil
	}
	match, err = ifMatch(r)
	return match, create, err
}

func etag(rev uint64) string { return `"` + strconv.FormatUint(rev, 10) + `"` }
