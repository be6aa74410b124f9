package telemetry

import (
	"context"
	"math"
	"testing"
)

type oneChannel struct{}

func (oneChannel) Channel(_, twin, channel string) (ChannelInfo, error) {
	if twin != "t1" {
		return ChannelInfo{}, ErrUnknownTwin
	}
	if channel != "c" {
		return ChannelInfo{}, ErrUnknownChannel
	}
	return ChannelInfo{Type: "probe", Min: math.Inf(-1), Max: math.Inf(1)}, nil
}

// dupAppender stores everything, but calls a sample with value 0 a
// duplicate.
type dupAppender struct{}

func (dupAppender) AppendStatus(_ context.Context, samples []Sample, st []Status) error {
	for i, s := range samples {
		st[i] = Accepted
		if s.Value == 0 {
			st[i] = Duplicate
		}
	}
	return nil
}

type keepPublisher struct{ got [][]Sample }

func (p *keepPublisher) Publish(samples []Sample) { p.got = append(p.got, samples) }

// TestIngestPublishesOwnedSlices: the publisher gets the newly stored
// samples (not the duplicates or the rejected ones) in a slice of its own,
// which later ingests leave alone.
func TestIngestPublishesOwnedSlices(t *testing.T) {
	pub := &keepPublisher{}
	in, err := NewIngester(IngesterConfig{}, oneChannel{}, dupAppender{}, pub)
	if err != nil {
		t.Fatal(err)
	}
	batch := func(base float64) []Item {
		return []Item{
			{Sample: Sample{Twin: "t1", Channel: "c", TS: 1, Value: base + 1}},
			{Sample: Sample{Twin: "t1", Channel: "c", TS: 2, Value: 0}},
			{Sample: Sample{Twin: "t2", Channel: "c", TS: 3, Value: base + 3}},
			{Sample: Sample{Twin: "t1", Channel: "c", TS: 4, Value: base + 4}},
		}
	}
	for _, base := range []float64{10, 20} {
		res, err := in.Ingest(t.Context(), batch(base))
		if err != nil || res.Accepted != 3 || res.Duplicates != 1 || res.Rejected != 1 {
			t.Fatalf("Ingest = %+v, %v; want 3 accepted (1 duplicate), 1 rejected", res, err)
		}
	}
	// Batches where every sample is new: the publisher gets the
	// ingester's own slice, which the next batch must not reuse.
	for _, base := range []float64{30, 40} {
		res, err := in.Ingest(t.Context(), []Item{
			{Sample: Sample{Twin: "t1", Channel: "c", TS: 1, Value: base + 1}},
			{Sample: Sample{Twin: "t1", Channel: "c", TS: 4, Value: base + 4}},
		})
		if err != nil || res.Accepted != 2 || res.Duplicates != 0 {
			t.Fatalf("Ingest = %+v, %v; want 2 accepted", res, err)
		}
	}
	if len(pub.got) != 4 {
		t.Fatalf("published %d times, want 4", len(pub.got))
	}
	for i, base := range []float64{10, 20, 30, 40} {
		got := pub.got[i]
		if len(got) != 2 || got[0].Value != base+1 || got[1].Value != base+4 || got[0].Tenant != DefaultTenant || got[0].Type != "probe" {
			t.Errorf("publish %d: %+v; want the values %g and %g of the default tenant's probe", i, got, base+1, base+4)
		}
	}
}
