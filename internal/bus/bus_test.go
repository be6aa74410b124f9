package bus

import (
	"fmt"
	"testing"
	"time"

	"github.com/tsingma/tsingma/internal/telemetry"
)

func samplesEvent(n int) Event {
	return Event{Kind: "samples", Samples: []telemetry.Sample{{Twin: fmt.Sprint("t", n), Channel: "c", TS: int64(n)}}}
}

func deletion(n int) Event { return Event{Kind: "deleted", Data: n} }

func isDeletion(ev Event) bool { return ev.Kind == "deleted" }

// next reads the subscription's next event, failing after a while (the
// hand goroutine may not have moved it yet).
func next(t *testing.T, s *Subscription) Event {
	t.Helper()
	select {
	case ev, ok := <-s.C:
		if !ok {
			t.Fatal("subscription closed")
		}
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no event")
	}
	return Event{}
}

func TestFullBufferDropsAndCounts(t *testing.T) {
	b := New()
	s := b.Subscribe(SubscribeOptions{Buffer: 2})
	defer s.Close()
	for i := range 5 {
		b.Publish(samplesEvent(i))
	}
	if s.Dropped() != 3 {
		t.Fatalf("dropped %d, want 3", s.Dropped())
	}
	b.Publish(deletion(0)) // no Keep: lost like the rest
	if got := next(t, s).Samples[0].TS; got != 0 {
		t.Fatalf("first event %d", got)
	}
	if got := next(t, s).Samples[0].TS; got != 1 {
		t.Fatalf("second event %d", got)
	}
	if s.Dropped() != 4 || len(s.C) != 0 {
		t.Fatalf("dropped %d, buffered %d", s.Dropped(), len(s.C))
	}
}

// TestKeptEventsWaitInOrder: a kept event that finds the buffer full waits
// for room; the others published meanwhile are dropped (they would overtake
// it), kept ones queue behind it, and once all are handed over the
// subscription takes every kind again.
func TestKeptEventsWaitInOrder(t *testing.T) {
	b := New()
	s := b.Subscribe(SubscribeOptions{Buffer: 2, Keep: isDeletion})
	defer s.Close()
	b.Publish(samplesEvent(0))
	b.Publish(samplesEvent(1))
	b.Publish(deletion(1)) // full: held
	b.Publish(samplesEvent(2))
	b.Publish(deletion(2))
	b.Publish(samplesEvent(3))
	if s.Dropped() != 2 {
		t.Fatalf("dropped %d, want the 2 sample events after the held deletion", s.Dropped())
	}
	if n := b.Backlog(); n < 3 || n > 4 {
		t.Fatalf("backlog %d, want the 2 buffered and the 1-2 held", n)
	}
	want := []string{"samples 0", "samples 1", "deleted 1", "deleted 2"}
	for _, w := range want {
		ev := next(t, s)
		got := fmt.Sprint(ev.Kind, " ", ev.Data)
		if ev.Kind == "samples" {
			got = fmt.Sprint(ev.Kind, " ", ev.Samples[0].TS)
		}
		if got != w {
			t.Fatalf("got %q, want %q", got, w)
		}
	}
	// Everything handed over: the hand ends and samples flow again.
	deadline := time.Now().Add(10 * time.Second)
	for s.holding.Load() {
		if time.Now().After(deadline) {
			t.Fatal("still holding")
		}
		time.Sleep(time.Millisecond)
	}
	b.Publish(samplesEvent(4))
	if got := next(t, s); got.Kind != "samples" || got.Samples[0].TS != 4 {
		t.Fatalf("after the held events: %+v", got)
	}
}

func TestHeldEventsAreBounded(t *testing.T) {
	b := New()
	s := b.Subscribe(SubscribeOptions{Buffer: 1, Keep: isDeletion})
	defer s.Close()
	for i := range maxHeld + 11 {
		b.Publish(deletion(i))
	}
	// One in the buffer, at most one taken by the hand, maxHeld held.
	if d := s.Dropped(); d < 9 || d > 10 {
		t.Fatalf("dropped %d, want 9-10", d)
	}
	for i := range maxHeld + 1 {
		if got := next(t, s).Data; got != i {
			t.Fatalf("event %d is deletion %v", i, got)
		}
	}
}

// TestCloseWhileHolding: closing ends the hand goroutine and closes C,
// with no send on the closed channel.
func TestCloseWhileHolding(t *testing.T) {
	b := New()
	s := b.Subscribe(SubscribeOptions{Buffer: 1, Keep: isDeletion})
	for i := range 10 {
		b.Publish(deletion(i))
	}
	if !s.holding.Load() {
		t.Fatal("not holding")
	}
	s.Close()
	s.Close()
	n := 0
	for range s.C {
		n++
	}
	if n > 2 {
		t.Fatalf("%d events after close", n)
	}
	b.Publish(deletion(11)) // no subscriber: nothing happens
}

// TestCutOffIgnoresKeep: a cut-off subscription is closed on overflow,
// whatever Keep says.
func TestCutOffIgnoresKeep(t *testing.T) {
	b := New()
	s := b.Subscribe(SubscribeOptions{Buffer: 1, CutOff: true, Keep: isDeletion})
	b.Publish(samplesEvent(0))
	b.Publish(deletion(0))
	if !s.Overflowed() {
		t.Fatal("not cut off")
	}
	if b.Len() != 0 {
		t.Fatal("still subscribed")
	}
}

// TestConcurrentKeptEvents: publishers racing a slow reader and the hand
// lose no kept event, and keep one publisher's kept events in its order.
func TestConcurrentKeptEvents(t *testing.T) {
	b := New()
	s := b.Subscribe(SubscribeOptions{Buffer: 4, Keep: isDeletion})
	defer s.Close()
	const pubs, each = 4, 2000
	done := make(chan struct{})
	for p := range pubs {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range each {
				b.Publish(samplesEvent(i))
				b.Publish(Event{Kind: "deleted", Data: [2]int{p, i}})
			}
		}()
	}
	last := make([]int, pubs)
	for i := range last {
		last[i] = -1
	}
	got, finished := 0, 0
	for got < pubs*each {
		select {
		case <-done:
			finished++
			continue
		case ev := <-s.C:
			if ev.Kind != "deleted" {
				continue
			}
			d := ev.Data.([2]int)
			if d[1] != last[d[0]]+1 {
				t.Fatalf("publisher %d: deletion %d after %d", d[0], d[1], last[d[0]])
			}
			last[d[0]] = d[1]
			got++
		case <-time.After(10 * time.Second):
			t.Fatalf("%d of %d deletions", got, pubs*each)
		}
	}
	for finished < pubs {
		<-done
		finished++
	}
}
