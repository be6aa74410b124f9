// Package bus fans durable samples and other events out to subscribers
// (the live stream, rules, models) without ever blocking the publisher: a
// subscriber whose buffer is full loses the batch, which is counted, and a
// subscriber that asked to be cut off on overflow is closed instead.
//
// The in-process Bus is the default; a NATS JetStream implementation can
// replace it behind the same Publish/Subscribe shape.
package bus

import (
	"slices"
	"sync"
	"sync/atomic"

	"github.com/tsingma/tsingma/internal/telemetry"
)

// Event is what subscribers receive: a batch of durable samples, or a
// change of another kind (Kind names it, Data is its JSON-ready value).
type Event struct {
	Kind    string // "samples", "twin", "alert", ...
	Tenant  string
	Samples []telemetry.Sample
	// Types are the distinct twin types of Samples, set by the bus for a
	// samples event of at most maxTypes types (nil otherwise), so that a
	// filter by type costs a few comparisons at delivery instead of a
	// wake-up and a pass over the batch in every subscriber.
	Types []string
	Data  any
	// Shared is one per published event, the same in every subscriber's
	// copy, for work that every subscriber would do alike (the live
	// streams without a filter encode a batch once).
	Shared *Memo
}

// Memo holds the result of work done once for all the subscribers of an
// event.
type Memo struct {
	once sync.Once
	b    []byte
}

// Bytes returns what f made for the first caller; f runs once.
func (m *Memo) Bytes(f func() []byte) []byte {
	m.once.Do(func() { m.b = f() })
	return m.b
}

// maxTypes bounds Event.Types.
const maxTypes = 8

// typesOf returns the distinct types of samples, or nil when there are
// more than maxTypes.
func typesOf(samples []telemetry.Sample) []string {
	var out []string
next:
	for i := range samples {
		t := samples[i].Type
		for _, x := range out {
			if x == t {
				continue next
			}
		}
		if len(out) == maxTypes {
			return nil
		}
		out = append(out, t)
	}
	return out
}

// Subscription receives events on C until it is closed, by Close or, for
// a cut-off-on-overflow subscription, by the bus when the buffer fills.
type Subscription struct {
	C       <-chan Event
	c       chan Event
	cutOff  bool
	filter  func(Event) bool
	dropped atomic.Uint64
	closed  atomic.Bool
	over    atomic.Bool
	b       *Bus
}

// Dropped returns how many events were lost to a full buffer.
func (s *Subscription) Dropped() uint64 { return s.dropped.Load() }

// Overflowed reports whether the bus closed the subscription because the
// consumer was too slow.
func (s *Subscription) Overflowed() bool { return s.over.Load() }

// Close unsubscribes; C is closed. Idempotent.
func (s *Subscription) Close() { s.b.remove(s) }

// Bus is an in-process event fan-out. Safe for concurrent use.
type Bus struct {
	mu   sync.RWMutex
	subs map[*Subscription]struct{}
}

// New returns an empty Bus.
func New() *Bus { return &Bus{subs: make(map[*Subscription]struct{})} }

// SubscribeOptions configure a subscription.
type SubscribeOptions struct {
	Buffer int              // events buffered; default 1024
	CutOff bool             // close the subscription on overflow instead of dropping
	Filter func(Event) bool // nil: everything
}

// Subscribe adds a subscriber.
func (b *Bus) Subscribe(o SubscribeOptions) *Subscription {
	if o.Buffer <= 0 {
		o.Buffer = 1024
	}
	c := make(chan Event, o.Buffer)
	s := &Subscription{C: c, c: c, cutOff: o.CutOff, filter: o.Filter, b: b}
	b.mu.Lock()
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	return s
}

func (b *Bus) remove(s *Subscription) {
	b.mu.Lock()
	if _, ok := b.subs[s]; ok {
		delete(b.subs, s)
		if s.closed.CompareAndSwap(false, true) {
			close(s.c)
		}
	}
	b.mu.Unlock()
}

// Publish sends ev to every subscriber without blocking. Samples are
// copied, so the caller may reuse its slice.
func (b *Bus) Publish(ev Event) {
	if len(ev.Samples) > 0 {
		ev.Samples = append([]telemetry.Sample(nil), ev.Samples...)
	}
	b.deliver(ev)
}

// deliver sends ev, whose samples nobody else holds, to every subscriber
// without blocking.
func (b *Bus) deliver(ev Event) {
	var over []*Subscription
	b.mu.RLock()
	for s := range b.subs {
		if s.filter != nil && !s.filter(ev) {
			continue
		}
		select {
		case s.c <- ev:
		default:
			s.dropped.Add(1)
			if s.cutOff {
				over = append(over, s)
			}
		}
	}
	b.mu.RUnlock()
	for _, s := range over {
		s.over.Store(true)
		b.remove(s)
	}
}

// PublishSamples publishes durable samples, grouped by tenant so that
// subscribers can filter cheaply. The samples are copied, so the caller
// may reuse its slice.
func (b *Bus) PublishSamples(samples []telemetry.Sample) {
	if len(samples) > 0 {
		b.publishOwned(slices.Clone(samples))
	}
}

// publishOwned is PublishSamples for samples nobody else holds.
func (b *Bus) publishOwned(samples []telemetry.Sample) {
	if len(samples) == 0 {
		return
	}
	t := samples[0].Tenant
	for _, s := range samples {
		if s.Tenant != t {
			byT := map[string][]telemetry.Sample{}
			for _, x := range samples {
				byT[x.Tenant] = append(byT[x.Tenant], x)
			}
			for tn, xs := range byT {
				b.deliver(Event{Kind: "samples", Tenant: tn, Samples: xs, Types: typesOf(xs), Shared: new(Memo)})
			}
			return
		}
	}
	b.deliver(Event{Kind: "samples", Tenant: t, Samples: samples, Types: typesOf(samples), Shared: new(Memo)})
}

// Samples adapts the Bus to telemetry.Publisher.
type Samples struct{ *Bus }

// Publish implements telemetry.Publisher: it takes the slice, which the
// caller no longer touches (so the samples are not copied).
func (s Samples) Publish(samples []telemetry.Sample) { s.publishOwned(samples) }

// Len returns the number of subscribers.
func (b *Bus) Len() int {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return len(b.subs)
}

// Backlog returns the events buffered across subscribers.
func (b *Bus) Backlog() int {
	b.mu.RLock()
	defer b.mu.RUnlock()
	n := 0
	for s := range b.subs {
		n += len(s.c)
	}
	return n
}
