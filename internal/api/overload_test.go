package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql"

	"github.com/tsingma/tsingma/internal/bus"
	"github.com/tsingma/tsingma/internal/store"
	"github.com/tsingma/tsingma/internal/telemetry"
	"github.com/tsingma/tsingma/internal/twin"
)

// fullQueue is a store whose commit queue is full (from the next batch
// on, while full is set).
type fullQueue struct {
	*store.Store
	full bool
}

func (f *fullQueue) AppendStatus(ctx context.Context, samples []telemetry.Sample, st []telemetry.Status) error {
	if f.full {
		return store.ErrBusy
	}
	return f.Store.AppendStatus(ctx, samples, st)
}

func (f *fullQueue) AppendAsync(samples []telemetry.Sample, st []telemetry.Status) (func(context.Context) error, error) {
	if f.full {
		return nil, store.ErrBusy
	}
	return f.Store.AppendAsync(samples, st)
}

// TestOverloadIs429: with the commit queue full the answer is 429 with
// Retry-After, and nothing of the refused batch is stored. (That a full
// queue refuses, and an empty one takes even a batch larger than it, is
// the store's TestMaxPending.)
func TestOverloadIs429(t *testing.T) {
	dir := t.TempDir()
	reg, err := twin.Open(twin.Config{Path: filepath.Join(dir, "twins.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	st, err := store.Open(store.Config{Dir: filepath.Join(dir, "tsdb")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	b := bus.New()
	fq := &fullQueue{Store: st}
	in, _ := telemetry.NewIngester(telemetry.IngesterConfig{}, catalog{reg}, fq, nil)
	s, err := New(Config{Twins: reg, Ingester: in, Store: st, Queryable: st.Queryable, Bus: b,
		Engine: promql.NewEngine(promql.EngineOpts{MaxSamples: 1000, Timeout: time.Minute})})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	defer srv.Close()
	req, _ := http.NewRequest("PUT", srv.URL+"/api/v1/twins/g1", strings.NewReader(gauge))
	if resp, err := srv.Client().Do(req); err != nil || resp.StatusCode != 201 {
		t.Fatalf("create twin: %v", err)
	}
	resp, err := srv.Client().Post(srv.URL+"/api/v1/telemetry", "application/json",
		strings.NewReader(`{"twin":"g1","ts":1000,"values":{"rainfall":1}}`+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("one sample: status %d", resp.StatusCode)
	}
	fq.full = true
	body := `{"samples":[{"twin":"g1","channel":"rainfall","ts":2000,"value":1},{"twin":"g1","channel":"rainfall","ts":3000,"value":1},{"twin":"g1","channel":"rainfall","ts":4000,"value":1}]}`
	resp, err = srv.Client().Post(srv.URL+"/api/v1/telemetry", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" || resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("got %d Retry-After=%q %q, want 429 with Retry-After, problem+json", resp.StatusCode, resp.Header.Get("Retry-After"), resp.Header.Get("Content-Type"))
	}
	if p, _ := st.Latest(telemetry.Key{Tenant: "default", Twin: "g1", Channel: "rainfall"}); p.TS != 1000 {
		t.Fatalf("latest is %+v after a refused batch, want the sample at 1000", p)
	}
}
