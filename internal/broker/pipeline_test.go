package broker

import (
	"context"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/tsingma/tsingma/internal/telemetry"
)

// gatedStore is a store whose batches become durable only when the test
// releases them, one by one.
type gatedStore struct {
	mu    sync.Mutex
	gates []chan error
}

func (g *gatedStore) AppendStatus(ctx context.Context, samples []telemetry.Sample, st []telemetry.Status) error {
	wait, err := g.AppendAsync(samples, st)
	if err != nil {
		return err
	}
	return wait(ctx)
}

func (g *gatedStore) AppendAsync(samples []telemetry.Sample, st []telemetry.Status) (func(context.Context) error, error) {
	for i := range samples {
		st[i] = telemetry.Accepted
	}
	gate := make(chan error, 1)
	g.mu.Lock()
	g.gates = append(g.gates, gate)
	g.mu.Unlock()
	return func(ctx context.Context) error {
		select {
		case err := <-gate:
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	}, nil
}

// waitGates waits until n batches were handed to the store.
func (g *gatedStore) waitGates(t *testing.T, n int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		g.mu.Lock()
		got := len(g.gates)
		g.mu.Unlock()
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d batches reached the store, want %d", got, n)
		}
	}
}

func (g *gatedStore) release(i int, err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.gates[i] <- err
}

type anyChannel struct{}

func (anyChannel) Channel(_, _, _ string) (telemetry.ChannelInfo, error) {
	return telemetry.ChannelInfo{Type: "gauge", Unit: "mm", Min: math.Inf(-1), Max: math.Inf(1)}, nil
}

// TestPipelinedAcknowledgement: a worker stores the next message while
// the one before it commits, but acknowledges each only once it is
// durable, in order; a batch the store fails is never acknowledged.
func TestPipelinedAcknowledgement(t *testing.T) {
	gs := &gatedStore{}
	in, err := telemetry.NewIngester(telemetry.IngesterConfig{}, anyChannel{}, gs, nil)
	if err != nil {
		t.Fatal(err)
	}
	addr := startBrokerWith(t, in)
	c := connect3(t, addr, "pipelined")
	const topic = "tsingma/v1/twins/g1/telemetry"
	a := c.Publish(topic, 1, false, `{"ts":1,"values":{"rain":1}}`)
	gs.waitGates(t, 1)
	b := c.Publish(topic, 1, false, `{"ts":2,"values":{"rain":2}}`)
	gs.waitGates(t, 2) // stored while the first still commits
	x := c.Publish(topic, 1, false, `{"ts":3,"values":{"rain":3}}`)
	gs.waitGates(t, 3)
	if a.WaitTimeout(50*time.Millisecond) || b.WaitTimeout(time.Millisecond) {
		t.Fatal("a PUBACK before its message was durable")
	}
	gs.release(1, nil) // the second commits first: still no PUBACK
	if a.WaitTimeout(50*time.Millisecond) || b.WaitTimeout(time.Millisecond) {
		t.Fatal("a PUBACK went out ahead of an earlier message's")
	}
	gs.release(0, nil)
	if !a.WaitTimeout(5*time.Second) || !b.WaitTimeout(5*time.Second) {
		t.Fatal("no PUBACKs once both were durable")
	}
	gs.release(2, context.DeadlineExceeded) // the store failed this one
	if x.WaitTimeout(100 * time.Millisecond) {
		t.Fatal("a PUBACK for a message the store failed to make durable")
	}
}
