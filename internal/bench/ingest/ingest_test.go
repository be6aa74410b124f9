package ingest

import (
	"context"
	"math"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tsingma/tsingma/internal/app"
)

// TestMQTTPhaseStoresWhatWasAcknowledged drives the MQTT phase's own
// publisher against an in-process server for a moment and checks that
// every acknowledged sample is in the store, that latencies were taken,
// and that a wrong password is refused at CONNECT.
func TestMQTTPhaseStoresWhatWasAcknowledged(t *testing.T) {
	a, err := app.New(app.Config{DataDir: filepath.Join(t.TempDir(), "t"), HTTPAddr: "127.0.0.1:0", MQTTAddr: "127.0.0.1:0",
		MaxFuture: time.Hour, NoAnomaly: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() { cancel(); <-done }()

	var out strings.Builder
	cfg := Config{Twins: 16, Channels: 3, MQTTClients: 4, Window: 4, Out: &out}
	cfg.defaults()
	r := newRunner(cfg, time.Now().Add(-24*time.Hour).UnixMilli())
	r.a, r.url, r.token, r.mqtt = a, "http://"+a.HTTPAddr(), a.BootstrapToken, a.MQTTAddr()
	r.client = &http.Client{Transport: bearer{base: http.DefaultTransport, token: r.token}, Timeout: 10 * time.Second}
	if err := r.setup(ctx); err != nil {
		t.Fatal(err)
	}
	// Peak (Window in flight per client), then paced (on a schedule).
	var acked int64
	for _, asked := range []float64{0, 3000} {
		rate, lats := r.mqttPhase(ctx, "tsingma", r.mqtt, 400*time.Millisecond, asked)
		if rate <= 0 || len(lats) == 0 {
			t.Fatalf("rate %g: no acknowledged publishes: got %g/s, %d latencies; output:\n%s", asked, rate, len(lats), out.String())
		}
		acked += int64(len(lats)) * int64(cfg.Channels)
		if got := int64(a.Store.Stats().SamplesAdded); got < acked {
			t.Fatalf("rate %g: store holds %d samples, %d were acknowledged", asked, got, acked)
		}
	}
	if err := r.failed(); err != nil {
		t.Fatalf("a phase failed: %v; output:\n%s", err, out.String())
	}
	// A phase that cannot reach its target is a failure that Run returns,
	// not a rate of 0.
	if rate, _ := r.mqttPhase(ctx, "tsingma", "127.0.0.1:1", 100*time.Millisecond, 0); rate != 0 || r.failed() == nil {
		t.Fatalf("a phase against a closed port gave rate %g and failure %v", rate, r.failed())
	}
	if _, err := dialMQTT(r.mqtt, "intruder", "bench", "not-the-token"); err == nil {
		t.Fatal("CONNECT with a wrong password was accepted")
	}
}

func TestAppendCents(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	vals := []float64{0, math.Copysign(0, -1), 0.01, -0.01, 0.1, -0.1, 1, -1, 1.5, 12.34, -12.3, 99.99, 100, 1234567.89}
	v := 0.0
	for range 100_000 {
		v = value(rng, v)
		vals = append(vals, v, v*1000)
	}
	for _, v := range vals {
		v = math.Round(v*100) / 100
		if got, want := string(appendCents(nil, v)), strconv.FormatFloat(v, 'f', -1, 64); got != want {
			t.Fatalf("appendCents(%v) = %q, want %q", v, got, want)
		}
	}
}
