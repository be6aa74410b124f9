// Package bus fans durable samples and other events out to subscribers
// (the live stream, rules, models) without ever blocking the publisher: a
// subscriber whose buffer is full loses the batch, which is counted, and a
// subscriber that asked to be cut off on overflow is closed instead. The
// events a subscriber must not lose (SubscribeOptions.Keep: a deletion
// for the anomaly scorer, a change for the audit log) wait for room
// beyond its buffer instead, in order.
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
	keep    func(Event) bool
	dropped atomic.Uint64
	closed  atomic.Bool
	over    atomic.Bool
	b       *Bus

	// While holding is set, the events to keep wait in held, in order,
	// and a goroutine (hand) hands them to c as the subscriber makes
	// room; the others are dropped meanwhile, since they would overtake
	// the held ones. mu guards held and the changes of holding.
	mu      sync.Mutex
	holding atomic.Bool
	held    []Event
	stop    chan struct{} // closed by remove: hand returns
	hands   sync.WaitGroup
}

// maxHeld bounds the events a subscription holds beyond its buffer; a
// kept event beyond it is dropped and counted like any other.
const maxHeld = 1 << 16

// Dropped returns how many events were lost to a full buffer (including,
// for a subscription with Keep, the others dropped while kept events wait
// for room).
func (s *Subscription) Dropped() uint64 { return s.dropped.Load() }

// Overflowed reports whether the bus closed the subscription because the
// consumer was too slow.
func (s *Subscription) Overflowed() bool { return s.over.Load() }

// Holding reports whether events wait for room beyond the buffer (Keep).
func (s *Subscription) Holding() bool { return s.holding.Load() }

// Close unsubscribes; C is closed, and the events held beyond the buffer
// are lost. Idempotent.
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
	// Keep, if set (and not CutOff), picks events that are not dropped
	// when the buffer is full: they wait, in publication order and at
	// most maxHeld of them, until the subscriber makes room, and the
	// events that Keep does not pick are dropped (counted) until the
	// held ones are all in the buffer, so none overtakes them. For events
	// whose loss would leave the subscriber wrong for good (a deletion,
	// an audited change), not for the stream of samples.
	Keep func(Event) bool
}

// Subscribe adds a subscriber.
func (b *Bus) Subscribe(o SubscribeOptions) *Subscription {
	if o.Buffer <= 0 {
		o.Buffer = 1024
	}
	c := make(chan Event, o.Buffer)
	s := &Subscription{C: c, c: c, cutOff: o.CutOff, filter: o.Filter, b: b, stop: make(chan struct{})}
	if !o.CutOff {
		s.keep = o.Keep
	}
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
			// No deliver runs (b.mu is held), and the hand returns
			// before c is closed, so nothing sends on a closed channel.
			close(s.stop)
			s.hands.Wait()
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
		if s.holding.Load() && s.hold(ev, false) {
			continue
		}
		select {
		case s.c <- ev:
			continue
		default:
		}
		if s.keep != nil && s.keep(ev) {
			s.hold(ev, true)
			continue
		}
		s.dropped.Add(1)
		if s.cutOff {
			over = append(over, s)
		}
	}
	b.mu.RUnlock()
	for _, s := range over {
		s.over.Store(true)
		b.remove(s)
	}
}

// hold puts ev behind the events that s holds, if it holds any: kept if
// Keep picks it, dropped otherwise. With none held, it starts holding with
// ev if full (ev is to keep and found the buffer full) and reports false
// otherwise (ev goes to the buffer as usual).
func (s *Subscription) hold(ev Event, full bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.holding.Load() {
		if !full {
			return false
		}
		s.held = append(s.held[:0], ev)
		s.holding.Store(true)
		s.hands.Add(1)
		go s.hand()
		return true
	}
	if len(s.held) < maxHeld && s.keep(ev) {
		s.held = append(s.held, ev)
	} else {
		s.dropped.Add(1)
	}
	return true
}

// hand moves the held events to the buffer, in order, as room appears,
// and ends when none is left (or the subscription is closed).
func (s *Subscription) hand() {
	defer s.hands.Done()
	for {
		s.mu.Lock()
		if len(s.held) == 0 {
			s.held = nil
			s.holding.Store(false)
			s.mu.Unlock()
			return
		}
		ev := s.held[0]
		s.held[0] = Event{}
		s.held = s.held[1:]
		s.mu.Unlock()
		select {
		case s.c <- ev:
		case <-s.stop:
			return
		}
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

// Backlog returns the events buffered across subscribers, and those held
// beyond their buffers (Keep).
func (b *Bus) Backlog() int {
	b.mu.RLock()
	defer b.mu.RUnlock()
	n := 0
	for s := range b.subs {
		n += len(s.c)
		if s.holding.Load() {
			s.mu.Lock()
			n += len(s.held)
			s.mu.Unlock()
		}
	}
	return n
}
