package audit

import (
	"fmt"
	"testing"
	"time"

	"github.com/tsingma/tsingma/internal/bus"
)

// TestFollowerBatches: events published faster than one fsync each are
// appended together, in the order published, none lost. Appended one at
// a time (one fsync each), 5,000 events took 5,000 fsyncs.
func TestFollowerBatches(t *testing.T) {
	l := openLog(t, t.TempDir())
	bs := bus.New()
	fol := Follow(bs, l)
	fol.Start()
	const n = 5000
	f0 := l.Stats().Fsyncs
	for i := range n {
		bs.Publish(bus.Event{Kind: "twin", Tenant: "default", Data: map[string]any{"i": i}})
	}
	deadline := time.Now().Add(30 * time.Second)
	for fol.Written()+fol.Dropped() < n && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	fol.Close()
	checkNumbered(t, fol, l, n)
	// The follower keeps up with the bus only by batching: the bound is
	// far above what batching takes (5-10 here) and far below one each.
	if f := l.Stats().Fsyncs - f0; f > n/10 {
		t.Errorf("%d fsyncs for %d events: the follower appended them one at a time", f, n)
	}
}

// TestFollowerLosesNothingBehindItsBuffer: a follower more than its buffer
// behind (here not started while 200 events come over a buffer of 4) gets
// every event in order once it reads on, and Close waits for the held
// ones.
func TestFollowerLosesNothingBehindItsBuffer(t *testing.T) {
	l := openLog(t, t.TempDir())
	bs := bus.New()
	fol := follow(bs, l, 4)
	const n = 200
	for i := range n {
		bs.Publish(bus.Event{Kind: "twin", Tenant: "default", Data: map[string]any{"i": i}})
	}
	fol.Start()
	fol.Close()
	checkNumbered(t, fol, l, n)
}

// TestAppendAll: the events go in in order, and a closed log refuses.
func TestAppendAll(t *testing.T) {
	l := openLog(t, t.TempDir())
	var evs []Event
	for i := range 3000 { // more than the writer's queue holds
		evs = append(evs, Event{Tenant: "t", Kind: "k", Subject: fmt.Sprint(i)})
	}
	if n, err := l.AppendAll(t.Context(), evs); n != len(evs) || err != nil {
		t.Fatalf("stored %d (%v), want %d", n, err, len(evs))
	}
	i := 0
	l.Entries(0, func(e Entry) bool {
		if e.Event.Subject != fmt.Sprint(i) {
			t.Errorf("entry %d is %q, want %d", e.Seq, e.Event.Subject, i)
			return false
		}
		i++
		return true
	})
	if _, err := l.AppendAll(t.Context(), []Event{{Kind: "k", Data: []byte("{")}}); err == nil {
		t.Error("data that is not JSON taken")
	}
	l.Close()
	if _, err := l.AppendAll(t.Context(), evs[:1]); err != ErrClosed {
		t.Errorf("closed log: %v, want ErrClosed", err)
	}
}

// checkNumbered checks that the follower wrote n events, dropped none,
// and that the log holds them in the order published ({"i":0} on).
func checkNumbered(t *testing.T, fol *Follower, l *Log, n int) {
	t.Helper()
	if fol.Written() != uint64(n) || fol.Dropped() != 0 {
		t.Fatalf("written %d, dropped %d; want %d and 0", fol.Written(), fol.Dropped(), n)
	}
	i := 0
	if err := l.Entries(0, func(e Entry) bool {
		if want := fmt.Sprintf(`{"i":%d}`, i); string(e.Event.Data) != want {
			t.Errorf("entry %d: %s, want %s", e.Seq, e.Event.Data, want)
			return false
		}
		i++
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if i != n {
		t.Fatalf("read %d entries, want %d", i, n)
	}
}
