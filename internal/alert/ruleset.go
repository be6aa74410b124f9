package alert

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tsingma/tsingma/internal/twin"
	"github.com/tsingma/tsingma/internal/ucum"
)

// checkChannel verifies that the rule's channel exists on its type (or on
// its twin's type) and records the channel's unit.
func (e *Engine) checkChannel(ctx context.Context, tenant string, ru *Rule) error {
	if e.cfg.Catalog == nil {
		return nil
	}
	typ := ru.Type
	if ru.Twin != "" {
		tw, err := e.cfg.Catalog.Get(ctx, tenant, ru.Twin)
		if errors.Is(err, twin.ErrNotFound) {
			return invalid("twin", "no twin %q", clip(ru.Twin))
		} else if err != nil {
			return fmt.Errorf("look up twin %s: %w", ru.Twin, err)
		}
		typ = tw.Type
	}
	t, err := e.cfg.Catalog.GetType(ctx, tenant, typ)
	if errors.Is(err, twin.ErrNotFound) {
		return invalid("type", "no type %q", clip(typ))
	} else if err != nil {
		return fmt.Errorf("look up type %s: %w", typ, err)
	}
	ch, ok := t.Channels[ru.Channel]
	if !ok {
		names := slices.Sorted(maps.Keys(t.Channels))
		return invalid("channel", "type %s has no channel %q (it has: %s)", typ, clip(ru.Channel), strings.Join(names, ", "))
	}
	want, target := ch.Unit, ch.Unit
	if ru.Rate != nil {
		per := time.Duration(ru.Rate.Per)
		if per <= 0 {
			per = time.Hour
		}
		want = ch.Unit + "/" + perLabel(ru.Rate.Per)
		target = ch.Unit + "/(" + strconv.FormatFloat(per.Seconds(), 'g', -1, 64) + ".s)"
	}
	if ru.Unit != "" && ru.Unit != want {
		// Thresholds given in another unit are converted to the
		// channel's. (The unit was overwritten and the numbers kept: a
		// rule of 2 [in_i] became one of 2 mm.)
		c, err := ucum.Factor(ru.Unit, target)
		if err != nil {
			return invalid("unit", "the thresholds are in %s, which the channel's %s cannot be converted from: %v", clip(ru.Unit), want, err)
		}
		conv := func(p *float64) *float64 {
			if p == nil {
				return nil
			}
			v := c.Apply(*p)
			return &v
		}
		ru.Value, ru.Low, ru.High = conv(ru.Value), conv(ru.Low), conv(ru.High)
		ru.Hysteresis *= c.Scale // a difference: no offset
		for _, p := range []*float64{ru.Value, ru.Low, ru.High, &ru.Hysteresis} {
			if p != nil && (math.IsInf(*p, 0) || math.IsNaN(*p)) {
				return invalid("unit", "a threshold in %s is beyond float64", want)
			}
		}
	}
	ru.Unit = want
	return nil
}

// ListRules returns the tenant's rules sorted by id.
func (e *Engine) ListRules(_ context.Context, tenant string) []Rule {
	e.mu.Lock()
	defer e.mu.Unlock()
	ts := e.tenants[tenant]
	out := []Rule{}
	if ts == nil {
		return out
	}
	for _, id := range slices.Sorted(maps.Keys(ts.rules)) {
		out = append(out, ts.rules[id].Rule)
	}
	return out
}

// GetRule returns one rule.
func (e *Engine) GetRule(_ context.Context, tenant, id string) (Rule, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if ts := e.tenants[tenant]; ts != nil && ts.rules[id] != nil {
		return ts.rules[id].Rule, nil
	}
	return Rule{}, fmt.Errorf("rule %s: %w", clip(id), ErrNotFound)
}

// CreateRule adds a rule; an empty ID is assigned ("rule-N"). An ID in
// use gives ErrExists.
func (e *Engine) CreateRule(ctx context.Context, tenant string, ru Rule) (Rule, error) {
	out, _, err := e.putRule(ctx, tenant, ru, 0, true)
	return out, err
}

// PutRule creates or replaces the rule ru.ID. ifMatch, when non-zero, must
// equal the stored version (ErrConflict otherwise; ErrNotFound if there is
// none). It reports whether the rule was created. Replacing a rule keeps
// its open alerts firing under the new thresholds, unless it was disabled
// or its twin, type or channel changed: then they are cleared.
func (e *Engine) PutRule(ctx context.Context, tenant string, ru Rule, ifMatch uint64) (Rule, bool, error) {
	if ru.ID == "" {
		return Rule{}, false, invalid("id", "required")
	}
	return e.putRule(ctx, tenant, ru, ifMatch, false)
}

func (e *Engine) putRule(ctx context.Context, tenant string, ru Rule, ifMatch uint64, create bool) (Rule, bool, error) {
	if err := ru.Validate(); err != nil {
		return Rule{}, false, err
	}
	ru.normalize()
	if err := e.checkChannel(ctx, tenant, &ru); err != nil {
		return Rule{}, false, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return Rule{}, false, ErrClosed
	}
	ts := e.tenant(tenant)
	if ru.ID == "" {
		for i := len(ts.rules) + 1; ; i++ {
			if id := "rule-" + strconv.Itoa(i); ts.rules[id] == nil {
				ru.ID = id
				break
			}
		}
	}
	old := ts.rules[ru.ID]
	switch {
	case old == nil && len(ts.rules) >= e.cfg.MaxRules:
		return Rule{}, false, invalid("id", "the tenant has %d rules, the most allowed; delete some first", e.cfg.MaxRules)
	case old != nil && create:
		return Rule{}, false, fmt.Errorf("rule %s: %w", ru.ID, ErrExists)
	case old == nil && ifMatch != 0:
		return Rule{}, false, fmt.Errorf("rule %s: %w", ru.ID, ErrNotFound)
	case old != nil && ifMatch != 0 && ifMatch != old.Version:
		return Rule{}, false, fmt.Errorf("rule %s is at version %d, not %d: %w", ru.ID, old.Version, ifMatch, ErrConflict)
	}
	now := e.now()
	ru.Version, ru.Created, ru.Updated = 1, now, now
	action := "created"
	if old != nil {
		ru.Version, ru.Created, action = old.Version+1, old.Created, "replaced"
	}
	if err := e.commit(write{tenant: tenant, rule: &ru}); err != nil {
		return Rule{}, false, fmt.Errorf("persist rule %s: %w", ru.ID, err)
	}
	k := compile(ru)
	ts.rules[ru.ID] = k
	ts.reindex()
	c := ru
	e.changes = append(e.changes, Change{Tenant: tenant, Action: action, Rule: &c})
	if old != nil {
		rescoped := old.Twin != ru.Twin || old.Type != ru.Type || old.Channel != ru.Channel
		e.resetRule(ts, ru.ID, rescoped || ru.Disabled, ByRuleChanged, !sameRate(old.Rate, ru.Rate))
	}
	e.flush()
	return ru, old == nil, nil
}

func sameRate(a, b *Rate) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// resetRule drops the rule's state machines except firing ones; with
// clearAll it also clears the rule's open alerts (cause by).
func (e *Engine) resetRule(ts *tenantState, id string, clearAll bool, by string, resetRate bool) {
	for sk, st := range ts.states {
		if sk.rule != id {
			continue
		}
		if (st.phase == firing || st.phase == clearing) && !clearAll {
			st.phase = firing
			if resetRate {
				st.rate = nil
			}
			continue
		}
		delete(ts.states, sk)
	}
	if clearAll {
		now := e.now()
		for _, key := range slices.Sorted(maps.Keys(ts.open)) {
			if a := ts.open[key]; a.Rule == id {
				e.clear(ts, a, by, now, nil)
			}
		}
	}
}

// DeleteRule deletes a rule and clears its open alerts.
func (e *Engine) DeleteRule(_ context.Context, tenant, id string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return ErrClosed
	}
	ts := e.tenants[tenant]
	if ts == nil || ts.rules[id] == nil {
		return fmt.Errorf("rule %s: %w", clip(id), ErrNotFound)
	}
	if err := e.commit(write{tenant: tenant, delRule: id}); err != nil {
		return fmt.Errorf("delete rule %s: %w", id, err)
	}
	old := ts.rules[id].Rule
	delete(ts.rules, id)
	ts.reindex()
	e.changes = append(e.changes, Change{Tenant: tenant, Action: "deleted", Rule: &old})
	e.resetRule(ts, id, true, ByRuleDeleted, true)
	e.flush()
	return nil
}

// TwinDeleted clears the open alerts of a deleted twin (ClearedBy
// ByTwinDeleted: their conditions can no longer clear them, and a notifier
// would resend them for ever) and forgets the rules' state for it, so that
// a twin made again with the same id starts afresh. It returns how many
// alerts it cleared.
func (e *Engine) TwinDeleted(_ context.Context, tenant, twin string) (int, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return 0, ErrClosed
	}
	ts := e.tenants[tenant]
	if ts == nil {
		return 0, nil
	}
	for sk := range ts.states {
		if sk.twin == twin {
			delete(ts.states, sk)
		}
	}
	n := 0
	now := e.now()
	for _, key := range slices.Sorted(maps.Keys(ts.open)) {
		if a := ts.open[key]; a.Twin == twin {
			e.clear(ts, a, ByTwinDeleted, now, nil)
			n++
		}
	}
	e.flush()
	return n, nil
}
