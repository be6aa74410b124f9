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

// changingCatalog is a TwinCatalog with a generation: twin "t1" has the
// channels of chans, and lookups are counted.
type changingCatalog struct {
	chans   map[string]bool
	gen     uint64
	lookups int
}

type setTable map[string]bool

func (t setTable) Lookup(ch string) (ChannelInfo, bool) {
	return ChannelInfo{Type: "probe", Min: math.Inf(-1), Max: math.Inf(1)}, t[ch]
}

func (c *changingCatalog) Channel(tenant, twin, channel string) (ChannelInfo, error) {
	tab, err := c.TwinChannels(tenant, twin)
	if err != nil {
		return ChannelInfo{}, err
	}
	ci, ok := tab.Lookup(channel)
	if !ok {
		return ChannelInfo{}, ErrUnknownChannel
	}
	return ci, nil
}

func (c *changingCatalog) TwinChannels(_, twin string) (ChannelTable, error) {
	c.lookups++
	if twin != "t1" {
		return nil, ErrUnknownTwin
	}
	return setTable(c.chans), nil
}

func (c *changingCatalog) Generation() uint64 { return c.gen }

// TestRouteKeepsTableUntilCatalogChanges: items with a Route look their
// twin up once; a change of the catalog (its generation) makes the next
// batch look it up again and validate against the new table; a route
// kept for one twin is not used for another.
func TestRouteKeepsTableUntilCatalogChanges(t *testing.T) {
	cat := &changingCatalog{chans: map[string]bool{"a": true, "b": true}}
	in, err := NewIngester(IngesterConfig{}, cat, dupAppender{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var rt Route
	batch := func(twin string, ts int64) []Item {
		return []Item{
			{Sample: Sample{Twin: twin, Channel: "a", TS: ts, Value: 1}, Route: &rt},
			{Sample: Sample{Twin: twin, Channel: "b", TS: ts, Value: 1}, Route: &rt},
		}
	}
	for ts := int64(1); ts <= 3; ts++ {
		if res, err := in.Ingest(t.Context(), batch("t1", ts)); err != nil || res.Accepted != 2 {
			t.Fatalf("batch %d: %+v, %v; want 2 accepted", ts, res, err)
		}
	}
	if cat.lookups != 1 {
		t.Fatalf("%d catalog lookups for three batches of one twin with a route, want 1", cat.lookups)
	}
	// The type loses channel b.
	cat.chans = map[string]bool{"a": true}
	cat.gen++
	res, err := in.Ingest(t.Context(), batch("t1", 4))
	if err != nil || res.Accepted != 1 || res.Rejected != 1 || res.Errors[0].Reason != ReasonUnknownChannel {
		t.Fatalf("after the change: %+v, %v; want b rejected as an unknown channel", res, err)
	}
	if cat.lookups != 2 {
		t.Fatalf("%d catalog lookups after a change, want 2", cat.lookups)
	}
	// The same route with another twin: looked up, not taken from t1's.
	res, err = in.Ingest(t.Context(), batch("t2", 5))
	if err != nil || res.Rejected != 2 || res.Errors[0].Reason != ReasonUnknownTwin {
		t.Fatalf("another twin: %+v, %v; want both rejected as an unknown twin", res, err)
	}
	// Without a route every batch looks the twin up.
	before := cat.lookups
	for ts := int64(6); ts <= 7; ts++ {
		if _, err := in.Ingest(t.Context(), []Item{{Sample: Sample{Twin: "t1", Channel: "a", TS: ts, Value: 1}}}); err != nil {
			t.Fatal(err)
		}
	}
	if cat.lookups-before != 2 {
		t.Fatalf("%d lookups for two batches without a route, want 2", cat.lookups-before)
	}
}
