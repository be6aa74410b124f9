package bus

import (
	"fmt"
	"slices"
	"testing"

	"github.com/tsingma/tsingma/internal/telemetry"
)

// TestSamplesEventsCarryTheirTypes: a samples event names the distinct
// types of its samples (up to maxTypes), so that subscribers filtering by
// type can be passed over at delivery; with more types it names none and
// every subscriber looks at the samples itself.
func TestSamplesEventsCarryTheirTypes(t *testing.T) {
	b := New()
	sub := b.Subscribe(SubscribeOptions{Buffer: 4})
	defer sub.Close()
	mk := func(types ...string) []telemetry.Sample {
		var out []telemetry.Sample
		for i, ty := range types {
			out = append(out, telemetry.Sample{Tenant: "default", Twin: fmt.Sprint("t", i), Channel: "c", Type: ty})
		}
		return out
	}
	b.PublishSamples(mk("a", "b", "a", "c", "b"))
	if ev := <-sub.C; !slices.Equal(ev.Types, []string{"a", "b", "c"}) {
		t.Fatalf("types %v, want [a b c]", ev.Types)
	}
	var many []string
	for i := range maxTypes + 1 {
		many = append(many, fmt.Sprint("type", i))
	}
	b.PublishSamples(mk(many...))
	if ev := <-sub.C; ev.Types != nil || len(ev.Samples) != maxTypes+1 {
		t.Fatalf("with %d types: Types %v, %d samples", maxTypes+1, ev.Types, len(ev.Samples))
	}
}
