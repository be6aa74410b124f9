package audit

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/tsingma/tsingma/internal/bus"
	"github.com/tsingma/tsingma/internal/twin"
)

// BenchmarkTwinWriteCost measures, in one run and interleaved round by
// round, 16 concurrent twin creates on a registry without an audit log,
// on one whose changes the bus follower appends (as the server does), and
// on one where each writer also appends its event before returning (the
// strictest wiring). It reports ns per write of each and the ratios.
func BenchmarkTwinWriteCost(b *testing.B) {
	ctx := context.Background()
	open := func(b *testing.B, onChange func(twin.Event)) *twin.Registry {
		r, err := twin.Open(twin.Config{Path: filepath.Join(b.TempDir(), "twins.db"), OnChange: onChange})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { r.Close() })
		if _, err := r.PutType(ctx, "default", twin.Type{Name: "probe"}); err != nil {
			b.Fatal(err)
		}
		return r
	}
	l, err := Open(Config{Dir: b.TempDir(), CheckpointEvery: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	bs := bus.New()
	fol := Follow(bs, l)
	fol.Start()
	defer fol.Close()
	plain := open(b, nil)
	followed := open(b, func(ev twin.Event) {
		bs.Publish(bus.Event{Kind: "twin", Tenant: ev.Tenant, Data: map[string]any{"kind": ev.Kind, "id": ev.ID, "revision": ev.Revision}})
	})
	inline := open(b, nil)
	const writers = 16
	var tPlain, tFollowed, tInline time.Duration
	n := 0
	round := func(r *twin.Registry, appendToo bool) time.Duration {
		start := time.Now()
		var wg sync.WaitGroup
		for w := range writers {
			id := fmt.Sprintf("t%d-%d", n, w)
			wg.Go(func() {
				tw, err := r.Create(ctx, "default", twin.Twin{ID: id, Type: "probe"})
				if err != nil {
					b.Error(err)
					return
				}
				if appendToo {
					if _, err := l.Append(ctx, Event{Tenant: "default", Kind: "twin", Subject: tw.ID, Data: []byte(`{"kind":"created"}`)}); err != nil {
						b.Error(err)
					}
				}
			})
		}
		wg.Wait()
		return time.Since(start)
	}
	for b.Loop() {
		tPlain += round(plain, false)
		before := fol.Written()
		tFollowed += round(followed, false)
		for fol.Written() < before+writers && fol.Dropped() == 0 { // count the follower's work too
			time.Sleep(50 * time.Microsecond)
		}
		tInline += round(inline, true)
		n++
	}
	w := float64(n * writers)
	b.ReportMetric(float64(tPlain.Nanoseconds())/w, "ns/write-plain")
	b.ReportMetric(float64(tFollowed.Nanoseconds())/w, "ns/write-followed")
	b.ReportMetric(float64(tInline.Nanoseconds())/w, "ns/write-inline")
	b.ReportMetric(float64(tFollowed)/float64(tPlain), "ratio-followed")
	b.ReportMetric(float64(tInline)/float64(tPlain), "ratio-inline")
}
