package api

import (
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/tsingma/tsingma/internal/store"
	"github.com/tsingma/tsingma/internal/telemetry"
)

type routeKey struct {
	pattern string
	code    int
}

type metrics struct {
	mu       sync.Mutex
	requests map[routeKey]uint64
	seconds  map[string]float64
}

func newMetrics() *metrics {
	return &metrics{requests: map[routeKey]uint64{}, seconds: map[string]float64{}}
}

func (m *metrics) observe(pattern string, code int, d time.Duration) {
	m.mu.Lock()
	m.requests[routeKey{pattern, code}]++
	m.seconds[pattern] += d.Seconds()
	m.mu.Unlock()
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) error {
	return writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) error {
	if err := s.cfg.Ready(); err != nil {
		// Unauthenticated: the reason, not its details (paths); the log
		// has those.
		why := "not ready"
		if errors.Is(err, store.ErrFailed) {
			why = "not ready: " + store.ErrFailed.Error()
		}
		return errorf("unavailable", "%s", why)
	}
	return writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// getMetrics writes Prometheus text exposition format 0.0.4.
func (s *Server) getMetrics(w http.ResponseWriter, _ *http.Request) error {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	st := s.cfg.Store.Stats()
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	p("# HELP tsingma_samples_accepted_total Samples accepted (durable) since start.\n# TYPE tsingma_samples_accepted_total counter\n")
	p("tsingma_samples_accepted_total %d\n", s.cfg.Ingester.Accepted())
	p("# HELP tsingma_samples_rejected_total Samples rejected, by reason.\n# TYPE tsingma_samples_rejected_total counter\n")
	rej := s.cfg.Ingester.Rejects()
	reasons := make([]telemetry.Reason, 0, len(rej))
	for r := range rej {
		reasons = append(reasons, r)
	}
	sort.Slice(reasons, func(i, j int) bool { return reasons[i] < reasons[j] })
	for _, r := range reasons {
		p("tsingma_samples_rejected_total{reason=%q} %d\n", string(r), rej[r])
	}
	p("# HELP tsingma_store_samples_appended_total Samples appended to the head (incl. WAL replay).\n# TYPE tsingma_store_samples_appended_total counter\n")
	p("tsingma_store_samples_appended_total %d\n", st.SamplesAdded)
	p("# HELP tsingma_ingest_queue_samples Samples waiting for group commit.\n# TYPE tsingma_ingest_queue_samples gauge\n")
	p("tsingma_ingest_queue_samples %d\n", st.Pending)
	p("# HELP tsingma_series Series in the store.\n# TYPE tsingma_series gauge\n")
	p("tsingma_series %d\n", st.Series)
	p("# HELP tsingma_wal_commits_total Group commits (one fsync each).\n# TYPE tsingma_wal_commits_total counter\n")
	p("tsingma_wal_commits_total %d\n", st.Commits)
	p("# HELP tsingma_wal_bytes WAL bytes not yet flushed to blocks.\n# TYPE tsingma_wal_bytes gauge\n")
	p("tsingma_wal_bytes %d\n", st.WALBytes)
	p("# HELP tsingma_blocks Block files.\n# TYPE tsingma_blocks gauge\ntsingma_blocks %d\n", st.Blocks)
	p("# HELP tsingma_block_bytes Bytes in block files.\n# TYPE tsingma_block_bytes gauge\ntsingma_block_bytes %d\n", st.BlockBytes)
	p("# HELP tsingma_wal_fsync_seconds WAL fsync latency.\n# TYPE tsingma_wal_fsync_seconds histogram\n")
	for i, b := range store.FsyncBuckets {
		p("tsingma_wal_fsync_seconds_bucket{le=%q} %d\n", strconv.FormatFloat(b, 'g', -1, 64), st.Fsync.Counts[i])
	}
	p("tsingma_wal_fsync_seconds_bucket{le=\"+Inf\"} %d\n", st.Fsync.Count)
	p("tsingma_wal_fsync_seconds_sum %g\ntsingma_wal_fsync_seconds_count %d\n", st.Fsync.Sum, st.Fsync.Count)
	p("# HELP tsingma_bus_subscribers Live subscribers (streams, models).\n# TYPE tsingma_bus_subscribers gauge\ntsingma_bus_subscribers %d\n", s.cfg.Bus.Len())
	p("# HELP tsingma_bus_backlog Events buffered for subscribers.\n# TYPE tsingma_bus_backlog gauge\ntsingma_bus_backlog %d\n", s.cfg.Bus.Backlog())
	p("# HELP go_goroutines Goroutines.\n# TYPE go_goroutines gauge\ngo_goroutines %d\n", runtime.NumGoroutine())
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	p("# HELP go_memstats_heap_inuse_bytes Heap in use.\n# TYPE go_memstats_heap_inuse_bytes gauge\ngo_memstats_heap_inuse_bytes %d\n", ms.HeapInuse)
	p("# HELP tsingma_http_requests_total HTTP requests by route and status.\n# TYPE tsingma_http_requests_total counter\n")
	s.metrics.mu.Lock()
	keys := make([]routeKey, 0, len(s.metrics.requests))
	for k := range s.metrics.requests {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].pattern != keys[j].pattern {
			return keys[i].pattern < keys[j].pattern
		}
		return keys[i].code < keys[j].code
	})
	for _, k := range keys {
		p("tsingma_http_requests_total{route=%q,code=\"%d\"} %d\n", k.pattern, k.code, s.metrics.requests[k])
	}
	s.metrics.mu.Unlock()
	for _, x := range s.cfg.Metrics {
		x(w)
	}
	return nil
}
