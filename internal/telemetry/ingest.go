package telemetry

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tsingma/tsingma/internal/ucum"
)

// ErrUnknownTwin and ErrUnknownChannel are what a Catalog returns for a
// sample it cannot place.
var (
	ErrUnknownTwin    = errors.New("unknown twin")
	ErrUnknownChannel = errors.New("unknown channel")
)

// ChannelInfo is what validation needs to know of a twin's channel.
type ChannelInfo struct {
	Type     string // the twin's type
	Unit     string
	Min, Max float64 // valid range; ±Inf when open
}

// Catalog looks up the channel a sample is for. The twin registry
// implements it (through an adapter in app).
type Catalog interface {
	Channel(tenant, twin, channel string) (ChannelInfo, error)
}

// TwinCatalog is a Catalog that can also hand out the channel table of one
// twin, so that a run of samples of that twin costs one registry lookup
// instead of one a sample.
type TwinCatalog interface {
	Catalog
	// TwinChannels fails with ErrUnknownTwin like Channel.
	TwinChannels(tenant, twin string) (ChannelTable, error)
}

// ChannelTable is the channels of one twin's type.
type ChannelTable interface {
	Lookup(channel string) (ChannelInfo, bool)
}

// Generations is a Catalog that counts its changes: a twin's channel table
// found at one generation is still the twin's while the generation is the
// same, so that Ingest can keep it in a Route.
type Generations interface {
	Generation() uint64
}

// A Route keeps one twin's channel table between Ingest calls, for a caller
// that sends the same twin's samples again and again (an MQTT session,
// whose topic names the twin): while the catalog's generation has not
// moved, the twin is not looked up again (on two cores a registry lookup
// for each message cost about 5% of MQTT ingest). Ingest fills it; the
// caller only keeps it and sets Item.Route. A Route must not be used by
// two Ingest calls at once. The zero Route is empty.
type Route struct {
	tenant, twin string
	table        ChannelTable // nil: empty
	gen          uint64
}

// Appender stores validated samples durably and says what it did with
// each; it returns an error (such as a full queue) when nothing was stored.
type Appender interface {
	AppendStatus(ctx context.Context, samples []Sample, st []Status) error
}

// AsyncAppender is an Appender that can store in two steps (the store's
// AppendAsync): reserve the samples' place and say what it does with each,
// then wait for them to be durable.
type AsyncAppender interface {
	AppendAsync(samples []Sample, st []Status) (wait func(context.Context) error, err error)
}

// Publisher receives samples once they are durable. It must not block. It
// takes the slice: the caller does not touch it afterwards.
type Publisher interface {
	Publish(samples []Sample)
}

// Rejection is one sample that was not stored, and why.
type Rejection struct {
	Index   int    `json:"index"`
	Twin    string `json:"twin,omitempty"`
	Channel string `json:"channel,omitempty"`
	Reason  Reason `json:"reason"`
	Detail  string `json:"detail,omitempty"`
}

// Result is the outcome of one ingest call.
type Result struct {
	Accepted   int         `json:"accepted"`
	Duplicates int         `json:"duplicates,omitempty"`
	Rejected   int         `json:"rejected"`
	Errors     []Rejection `json:"errors,omitempty"`
	Truncated  bool        `json:"errors_truncated,omitempty"`
}

// MaxErrors bounds the rejections listed in one Result.
const MaxErrors = 1000

// IngesterConfig configures an Ingester.
type IngesterConfig struct {
	MaxFuture time.Duration // samples later than now+MaxFuture are refused; default 10m
	Now       func() time.Time
}

// Ingester validates decoded items against the catalog, stores the valid
// ones and hands them to the publisher once durable. Safe for concurrent use.
type Ingester struct {
	cfg     IngesterConfig
	catalog Catalog
	gens    Generations // the catalog, if it counts its changes
	store   Appender
	pub     Publisher
	pool    sync.Pool

	mu      sync.Mutex
	rejects map[Reason]*atomic.Uint64
	total   atomic.Uint64
}

// NewIngester returns an Ingester. pub may be nil.
func NewIngester(cfg IngesterConfig, c Catalog, a Appender, pub Publisher) (*Ingester, error) {
	if c == nil || a == nil {
		return nil, errors.New("telemetry: NewIngester needs a catalog and an appender")
	}
	if cfg.MaxFuture <= 0 {
		cfg.MaxFuture = 10 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	in := &Ingester{cfg: cfg, catalog: c, store: a, pub: pub, rejects: make(map[Reason]*atomic.Uint64)}
	in.gens, _ = c.(Generations)
	return in, nil
}

type scratch struct {
	samples []Sample
	idx     []int
	st      []Status
}

// Ingest validates and stores items. A non-nil error means nothing was
// stored (for example the store's queue is full: retry later).
func (in *Ingester) Ingest(ctx context.Context, items []Item) (Result, error) {
	p, err := in.IngestAsync(ctx, items)
	if err != nil {
		return Result{}, err
	}
	return p.Wait(ctx)
}

// Pending is a batch that IngestAsync validated and handed to the store;
// Wait gives its Result once it is durable.
type Pending struct {
	in    *Ingester
	sc    *scratch
	items []Item
	res   Result
	wait  func(context.Context) error // nil: nothing was stored
}

// IngestAsync validates items and hands the valid samples to the store,
// without waiting for them to be durable: a caller with more to store can
// go on (the MQTT workers validate the next messages while these commit).
// items must stay untouched until Wait returns. A non-nil error means
// nothing was stored. With an Appender that is not an AsyncAppender it
// waits here.
func (in *Ingester) IngestAsync(ctx context.Context, items []Item) (*Pending, error) {
	p := &Pending{in: in, items: items}
	res := &p.res
	sc, _ := in.pool.Get().(*scratch)
	if sc == nil {
		sc = &scratch{}
	}
	p.sc = sc
	if sc.samples == nil { // the last batch's samples went to the publisher
		sc.samples = make([]Sample, 0, len(items))
	}
	sc.samples, sc.idx = sc.samples[:0], sc.idx[:0]
	limit := in.cfg.Now().Add(in.cfg.MaxFuture).UnixMilli()
	reject := func(it *Item, r Reason, detail string) { in.reject(res, it, r, detail) }
	tc, byTwin := in.catalog.(TwinCatalog)
	// The generation is read before any lookup, so that a table kept in
	// a Route is never older than the generation kept with it (a change
	// between the two makes the next call look the twin up again).
	var gen uint64
	if in.gens != nil {
		gen = in.gens.Generation()
	}
	var conv lastConv // the last unit conversion, for the samples after it
	var (
		tab              ChannelTable
		tabErr           error
		tabTenant, tabID string
		haveTab          bool
	)
	for i := range items {
		it := &items[i]
		if it.Reason != "" {
			reject(it, it.Reason, it.Detail)
			continue
		}
		s := it.Sample
		if s.Tenant == "" {
			s.Tenant = DefaultTenant
		}
		var ci ChannelInfo
		var err error
		if byTwin {
			if !haveTab || s.Twin != tabID || s.Tenant != tabTenant {
				rt := it.Route
				if in.gens == nil {
					rt = nil // no generation to keep a table by
				}
				if rt != nil && rt.table != nil && rt.gen == gen && rt.twin == s.Twin && rt.tenant == s.Tenant {
					tab, tabErr = rt.table, nil
				} else {
					tab, tabErr = tc.TwinChannels(s.Tenant, s.Twin)
					if rt != nil && tabErr == nil {
						*rt = Route{tenant: s.Tenant, twin: s.Twin, table: tab, gen: gen}
					}
				}
				tabTenant, tabID, haveTab = s.Tenant, s.Twin, true
			}
			err = tabErr
			if err == nil {
				var ok bool
				if ci, ok = tab.Lookup(s.Channel); !ok {
					err = ErrUnknownChannel
				}
			}
		} else {
			ci, err = in.catalog.Channel(s.Tenant, s.Twin, s.Channel)
		}
		switch {
		case err == nil:
		case errors.Is(err, ErrUnknownTwin):
			reject(it, ReasonUnknownTwin, "no twin with this id")
			continue
		case errors.Is(err, ErrUnknownChannel):
			reject(it, ReasonUnknownChannel, "the twin's type has no such channel")
			continue
		case err != nil:
			in.pool.Put(sc)
			return nil, fmt.Errorf("look up channel %s/%s: %w", s.Twin, s.Channel, err)
		}
		if it.Unit != "" && it.Unit != ci.Unit {
			// The sample's own unit: converted to the channel's, or refused.
			if conv.from != it.Unit || conv.to != ci.Unit {
				c, err := ucum.Factor(it.Unit, ci.Unit)
				conv = lastConv{from: it.Unit, to: ci.Unit, c: c, err: err}
			}
			if conv.err != nil {
				reject(it, ReasonWrongUnit, fmt.Sprintf("the sample is in %s and the channel in %s, which it cannot be converted to (%v)", clipUnit(it.Unit), ci.Unit, conv.err))
				continue
			}
			if s.Value = conv.c.Apply(s.Value); math.IsInf(s.Value, 0) || math.IsNaN(s.Value) {
				reject(it, ReasonWrongUnit, fmt.Sprintf("the value in %s is beyond float64", ci.Unit))
				continue
			}
		}
		if s.Value < ci.Min || s.Value > ci.Max {
			reject(it, ReasonOutOfRange, fmt.Sprintf("%g is outside the channel's valid range [%g, %g] %s", s.Value, ci.Min, ci.Max, ci.Unit))
			continue
		}
		if s.TS > limit {
			reject(it, ReasonFutureTimestamp, fmt.Sprintf("timestamp is more than %s in the future", in.cfg.MaxFuture))
			continue
		}
		s.Type = ci.Type
		sc.samples = append(sc.samples, s)
		sc.idx = append(sc.idx, i)
	}
	if len(sc.samples) > 0 {
		if cap(sc.st) < len(sc.samples) {
			sc.st = make([]Status, len(sc.samples))
		}
		st := sc.st[:len(sc.samples)]
		var err error
		if aa, ok := in.store.(AsyncAppender); ok {
			p.wait, err = aa.AppendAsync(sc.samples, st)
		} else {
			err = in.store.AppendStatus(ctx, sc.samples, st)
			p.wait = func(context.Context) error { return nil }
		}
		if err != nil {
			in.pool.Put(sc)
			return nil, err
		}
	}
	return p, nil
}

// Wait waits until the batch is durable and returns its Result; the
// samples stored are then published. An error means that none of them
// may be acknowledged (they may still become durable).
func (p *Pending) Wait(ctx context.Context) (Result, error) {
	in, sc, res := p.in, p.sc, &p.res
	if sc == nil {
		return Result{}, errors.New("telemetry: Pending waited for twice")
	}
	p.sc = nil
	defer in.pool.Put(sc)
	if p.wait != nil {
		if err := p.wait(ctx); err != nil {
			return Result{}, err
		}
		st := sc.st[:len(sc.samples)]
		fresh := 0
		for j, x := range st {
			switch x {
			case Accepted:
				res.Accepted++
				fresh++
			case Duplicate:
				res.Accepted++
				res.Duplicates++
			case Conflict:
				in.reject(res, &p.items[sc.idx[j]], ReasonConflict, "another value is stored for this channel at this timestamp")
			default:
				in.reject(res, &p.items[sc.idx[j]], ReasonOutOfOrder, "older than the newest stored sample of this channel")
			}
		}
		if in.pub != nil && fresh > 0 {
			// The publisher keeps the slice: the new samples, moved to its
			// front, and the next batch gets a new one.
			out := sc.samples
			if fresh < len(out) {
				out = out[:0]
				for j, x := range st {
					if x == Accepted {
						out = append(out, sc.samples[j])
					}
				}
			}
			in.pub.Publish(out)
			sc.samples = nil
		}
	}
	in.total.Add(uint64(res.Accepted))
	return *res, nil
}

// reject records a rejected item in res.
func (in *Ingester) reject(res *Result, it *Item, r Reason, detail string) {
	res.Rejected++
	in.countReject(r)
	if len(res.Errors) < MaxErrors {
		res.Errors = append(res.Errors, Rejection{Index: it.Index, Twin: it.Sample.Twin, Channel: it.Sample.Channel, Reason: r, Detail: detail})
	} else {
		res.Truncated = true
	}
}

// lastConv is a unit conversion and the units it is between.
type lastConv struct {
	from, to string
	c        ucum.Conversion
	err      error
}

func clipUnit(u string) string {
	if len(u) > 64 {
		u = u[:64]
	}
	return strconv.Quote(u)
}

func (in *Ingester) countReject(r Reason) {
	in.mu.Lock()
	c := in.rejects[r]
	if c == nil {
		c = new(atomic.Uint64)
		in.rejects[r] = c
	}
	in.mu.Unlock()
	c.Add(1)
}

// Rejects returns the count of rejected samples by reason.
func (in *Ingester) Rejects() map[Reason]uint64 {
	in.mu.Lock()
	defer in.mu.Unlock()
	out := make(map[Reason]uint64, len(in.rejects))
	for r, c := range in.rejects {
		out[r] = c.Load()
	}
	return out
}

// Accepted returns the number of samples accepted since start.
func (in *Ingester) Accepted() uint64 { return in.total.Load() }
