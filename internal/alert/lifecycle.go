package alert

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
)

// GetAlert returns one alert.
func (e *Engine) GetAlert(_ context.Context, tenant, id string) (Alert, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a, err := e.find(tenant, id)
	if err != nil {
		return Alert{}, err
	}
	return a.clone(), nil
}

// find returns the live open alert or a decoded stored one.
func (e *Engine) find(tenant, id string) (*Alert, error) {
	if e.closed {
		return nil, ErrClosed
	}
	n, ok := parseID(id)
	if !ok {
		return nil, fmt.Errorf("alert %s: %w", clip(id), ErrNotFound)
	}
	if ts := e.tenants[tenant]; ts != nil {
		if a := ts.byID[n]; a != nil {
			return a, nil
		}
	}
	return getAlert(e.db, tenant, n)
}

// Ack acknowledges an alert (open or cleared) once; a second
// acknowledgement gives ErrState.
func (e *Engine) Ack(_ context.Context, tenant, id string, act Action) (Alert, error) {
	if err := act.Validate(); err != nil {
		return Alert{}, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	a, err := e.find(tenant, id)
	if err != nil {
		return Alert{}, err
	}
	if a.Ack != nil {
		return Alert{}, fmt.Errorf("alert %s was acknowledged by %s at %s: %w", id, a.Ack.By, a.Ack.At.Format(time.RFC3339), ErrState)
	}
	next := a.clone()
	act.At = e.now()
	next.Ack, next.Updated = &act, act.At
	if next.State == Raised {
		next.State = Acknowledged
	}
	if err := e.commit(write{tenant: tenant, alert: &next}); err != nil {
		return Alert{}, fmt.Errorf("persist alert %s: %w", id, err)
	}
	*a = next.clone() // a is the live alert when open; a throwaway otherwise
	if ts := e.tenants[tenant]; ts != nil && next.State.Open() {
		n, _ := parseID(id)
		delete(ts.dirty, n)
		ts.written[n] = act.At
	}
	e.stats.acked.Add(1)
	out := next.clone()
	e.publish(Change{Tenant: tenant, Action: "acknowledged", Alert: &out})
	return next, nil
}

// Resolve closes an open alert by hand. A rule's state machine restarts:
// if its condition still holds the rule raises a new alert after its hold
// duration.
func (e *Engine) Resolve(_ context.Context, tenant, id string, act Action) (Alert, error) {
	if err := act.Validate(); err != nil {
		return Alert{}, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	a, err := e.find(tenant, id)
	if err != nil {
		return Alert{}, err
	}
	if !a.State.Open() {
		return Alert{}, fmt.Errorf("alert %s is already cleared: %w", id, ErrState)
	}
	ts := e.tenants[tenant]
	next := a.clone()
	act.At = e.now()
	next.Resolve = &act
	next.State, next.ClearedBy, next.ClearedAt, next.Updated = Cleared, ByHand, act.At, act.At
	if err := e.commit(write{tenant: tenant, alert: &next}); err != nil {
		return Alert{}, fmt.Errorf("persist alert %s: %w", id, err)
	}
	*a = next.clone()
	n, _ := parseID(id)
	delete(ts.open, a.Key)
	delete(ts.byID, n)
	delete(ts.dirty, n)
	delete(ts.written, n)
	if a.Rule != "" {
		delete(ts.states, stateKey{a.Rule, a.Twin})
	}
	if v, _ := e.stats.cleared.LoadOrStore(ByHand, new(atomic.Uint64)); v != nil {
		v.(*atomic.Uint64).Add(1)
	}
	out := next.clone()
	e.publish(Change{Tenant: tenant, Action: "cleared", Alert: &out})
	return next, nil
}

// ListAlerts returns a page of the tenant's alerts, newest first.
func (e *Engine) ListAlerts(_ context.Context, tenant string, q Query) (Page, error) {
	switch q.State {
	case "", "open", string(Raised), string(Acknowledged), string(Cleared):
	default:
		return Page{}, invalid("state", "%q: want raised, acknowledged, cleared or open", clip(q.State))
	}
	if q.Severity != "" && !q.Severity.valid() {
		return Page{}, invalid("severity", "%q: want info, warning or critical", clip(string(q.Severity)))
	}
	if q.Limit < 0 || q.Limit > 1000 {
		return Page{}, invalid("limit", "must be between 1 and 1000")
	}
	if q.Limit == 0 {
		q.Limit = 100
	}
	before := uint64(0) // exclusive upper bound; 0: none
	if q.Cursor != "" {
		n, ok := parseID(q.Cursor)
		if !ok {
			return Page{}, invalid("cursor", "not a cursor returned by this API")
		}
		before = n
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return Page{}, ErrClosed
	}
	ts := e.tenants[tenant]
	page := Page{Items: []Alert{}}
	if ts == nil {
		return page, nil
	}
	add := func(a *Alert) bool { // false when the page is full
		if !q.match(a) {
			return true
		}
		if len(page.Items) == q.Limit {
			page.Next = page.Items[len(page.Items)-1].ID
			return false
		}
		page.Items = append(page.Items, a.clone())
		return true
	}
	if q.State == "open" || q.State == string(Raised) || q.State == string(Acknowledged) {
		ids := slices.Collect(maps.Keys(ts.byID))
		sort.Slice(ids, func(i, j int) bool { return ids[i] > ids[j] })
		for _, id := range ids {
			if before != 0 && id >= before {
				continue
			}
			if !add(ts.byID[id]) {
				break
			}
		}
		return page, nil
	}
	err := e.db.View(func(tx *bolt.Tx) error {
		tb := tenantBucketRO(tx, tenant)
		if tb == nil {
			return nil
		}
		c := tb.Bucket(bucketAlerts).Cursor()
		var k, v []byte
		if before != 0 {
			k, _ = c.Seek(idKey(before))
			if k == nil {
				k, v = c.Last()
			} else {
				k, v = c.Prev()
			}
		} else {
			k, v = c.Last()
		}
		for ; k != nil; k, v = c.Prev() {
			id := uint64FromKey(k)
			if before != 0 && id >= before {
				continue
			}
			a := ts.byID[id] // the live one (its peak is newer)
			if a == nil {
				a = &Alert{}
				if err := json.Unmarshal(v, a); err != nil {
					return fmt.Errorf("decode alert %d: %w", id, err)
				}
				a.Tenant = tenant
			}
			if !add(a) {
				return nil
			}
		}
		return nil
	})
	return page, err
}

func uint64FromKey(k []byte) uint64 {
	var n uint64
	for _, b := range k {
		n = n<<8 | uint64(b)
	}
	return n
}

func (q *Query) match(a *Alert) bool {
	switch q.State {
	case "":
	case "open":
		if !a.State.Open() {
			return false
		}
	default:
		if string(a.State) != q.State {
			return false
		}
	}
	if q.Severity != "" && a.Severity != q.Severity {
		return false
	}
	if q.Twin != "" && a.Twin != q.Twin || q.Type != "" && a.Type != q.Type || q.Channel != "" && a.Channel != q.Channel {
		return false
	}
	if q.Rule != "" && a.Rule != q.Rule {
		return false
	}
	switch q.Source {
	case "":
	case "rule", "model":
		return strings.HasPrefix(a.Source, q.Source+":")
	default:
		return a.Source == q.Source
	}
	return true
}

// OpenAlerts returns every tenant's open alerts (raised or acknowledged),
// for a notifier starting up.
func (e *Engine) OpenAlerts() []Alert {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []Alert
	for _, ts := range e.tenants {
		for _, a := range ts.byID {
			out = append(out, *a)
		}
	}
	slices.SortFunc(out, func(a, b Alert) int { return cmp.Compare(a.ID, b.ID) })
	return out
}
