package audit

import (
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tsingma/tsingma/internal/alert"
	"github.com/tsingma/tsingma/internal/bus"
)

// Follower appends state changes published on the bus (twin, rule and
// alert changes) to the log. Start it, Close it before the log.
//
// The bus never blocks its publishers. A follower that falls more than its
// buffer behind loses no event: the bus holds them for it, in order (up
// to its bound of held events, bus.SubscribeOptions.Keep), and Close waits
// for the held ones (at most closeWait). What is lost beyond that, or
// fails to append, Dropped counts (exported as a metric). Alert "updated"
// changes (a model re-raising an open alert) are not recorded: raised,
// acknowledged, resolved and cleared are.
type Follower struct {
	log     *Log
	sub     *bus.Subscription
	wg      sync.WaitGroup
	once    sync.Once
	failed  atomic.Uint64
	written atomic.Uint64
}

// Follow subscribes to b. Call Start to begin appending.
func Follow(b *bus.Bus, l *Log) *Follower { return follow(b, l, 1<<16) }

func follow(b *bus.Bus, l *Log, buffer int) *Follower {
	all := func(bus.Event) bool { return true }
	sub := b.Subscribe(bus.SubscribeOptions{Buffer: buffer, Keep: all, Filter: func(ev bus.Event) bool {
		switch ev.Kind {
		case "twin", "rule":
			return true
		case "alert":
			c, ok := ev.Data.(alert.Change)
			return !ok || c.Action != "updated"
		}
		return false
	}})
	return &Follower{log: l, sub: sub}
}

// closeWait bounds how long Close waits for the events the bus holds for
// the follower beyond its buffer.
const closeWait = 10 * time.Second

// Start starts the goroutine that appends.
func (f *Follower) Start() {
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		// The events waiting go in together (Log.AppendAll): one fsync
		// for the lot. One Append, and one fsync, an event fell behind a
		// detector raising and clearing hundreds of alerts a second, and
		// its fsyncs queued the telemetry WAL's behind them on the disk.
		batch := make([]Event, 0, maxFollowBatch)
		for ev := range f.sub.C {
			batch = f.add(batch[:0], ev)
		more:
			for len(batch) < maxFollowBatch {
				select {
				case ev, ok := <-f.sub.C:
					if !ok {
						break more
					}
					batch = f.add(batch, ev)
				default:
					break more
				}
			}
			n, _ := f.log.AppendAll(context.Background(), batch)
			f.written.Add(uint64(n))
			f.failed.Add(uint64(len(batch) - n))
		}
	}()
}

// maxFollowBatch bounds the events a follower appends at once.
const maxFollowBatch = 1024

// add appends ev to batch as an audit event (counted as failed if it
// cannot be).
func (f *Follower) add(batch []Event, ev bus.Event) []Event {
	data, err := json.Marshal(ev.Data)
	if err != nil {
		f.failed.Add(1)
		return batch
	}
	e := Event{Tenant: ev.Tenant, Kind: ev.Kind, Data: data}
	if r, ok := ev.Data.(interface{ TwinRef() (string, string) }); ok {
		e.Subject, _ = r.TwinRef()
	}
	if c, ok := ev.Data.(alert.Change); ok {
		e.Kind = ev.Kind + "." + c.Action
		if c.Alert != nil {
			e.Subject = c.Alert.ID
			if c.Alert.Ack != nil && c.Action == "acknowledged" {
				e.Actor = c.Alert.Ack.By
			}
		}
	}
	return append(batch, e)
}

// Dropped is the number of events lost to a full buffer or a failed append.
func (f *Follower) Dropped() uint64 { return f.sub.Dropped() + f.failed.Load() }

// Written is the number of events appended.
func (f *Follower) Written() uint64 { return f.written.Load() }

// Close unsubscribes and waits for the events already received to be
// appended. Idempotent.
func (f *Follower) Close() {
	f.once.Do(func() {
		for deadline := time.Now().Add(closeWait); f.sub.Holding() && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
		f.sub.Close()
		f.wg.Wait()
	})
}
