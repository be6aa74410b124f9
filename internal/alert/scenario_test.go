package alert

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tsingma/tsingma/internal/telemetry"
	"github.com/tsingma/tsingma/internal/twin"
)

// The scenario DSL (testdata/scenarios/*.txt), one command a line, "#"
// starts a comment:
//
//	twin ID TYPE                 declare a twin of a built-in type
//	rule {JSON}                  create a rule (CreateRule)
//	put {JSON}                   create or replace a rule (PutRule)
//	delete RULE                  delete a rule
//	at DUR TWIN CHANNEL VALUE    feed one sample at base+DUR (Go duration)
//	raise {Signal JSON}          a model raises (Raise); clear {...} clears
//	ack ID BY [COMMENT...]       acknowledge; resolve ID BY [COMMENT...]
//	reopen                       close the engine and open it from its file
//	expect ACTION SOURCE TWIN    the next change published (in order)
//	expect -                     no change is left unchecked
//	err SUBSTRING                the previous command failed with this
//	state RULE TWIN PHASE        the state machine's phase
//	alert ID KEY=VALUE...        fields of an alert: state, severity, peak,
//	                             value, evidence, count, clearedBy, ack,
//	                             modelVersion, source, first, last
//	open N                       the number of open alerts
//
// Every change must be expected before the next sample, and every failing
// command must be followed by err.

var scenarioBase = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

// fakeCatalog serves the built-in types and the declared twins.
type fakeCatalog struct {
	mu    sync.Mutex
	types map[string]twin.Type
	twins map[string]string // id → type
}

func newFakeCatalog(t testing.TB) *fakeCatalog {
	t.Helper()
	ts, err := twin.BuiltinTypes()
	if err != nil {
		t.Fatal(err)
	}
	c := &fakeCatalog{types: map[string]twin.Type{}, twins: map[string]string{}}
	for _, ty := range ts {
		c.types[ty.Name] = ty
	}
	return c
}

func (c *fakeCatalog) add(id, typ string) {
	c.mu.Lock()
	c.twins[id] = typ
	c.mu.Unlock()
}

func (c *fakeCatalog) GetType(_ context.Context, _, name string) (twin.Type, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ty, ok := c.types[name]
	if !ok {
		return twin.Type{}, twin.ErrNotFound
	}
	return ty, nil
}

func (c *fakeCatalog) Get(_ context.Context, _, id string) (twin.Twin, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	typ, ok := c.twins[id]
	if !ok {
		return twin.Twin{}, twin.ErrNotFound
	}
	return twin.Twin{ID: id, Type: typ}, nil
}

// testClock is a wall clock that advances one second per reading.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

type harness struct {
	t       testing.TB
	cat     *fakeCatalog
	cfg     Config
	e       *Engine
	mu      sync.Mutex
	changes []Change
}

func newHarness(t testing.TB, cfg Config) *harness {
	t.Helper()
	h := &harness{t: t, cat: newFakeCatalog(t)}
	if cfg.Path == "" {
		cfg.Path = filepath.Join(t.TempDir(), "alerts.db")
	}
	cfg.Catalog = h.cat
	if cfg.Now == nil {
		cfg.Now = (&testClock{t: scenarioBase}).Now
	}
	cfg.OnChange = func(c Change) {
		h.mu.Lock()
		h.changes = append(h.changes, c)
		h.mu.Unlock()
	}
	h.cfg = cfg
	h.open()
	t.Cleanup(func() {
		if err := h.e.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return h
}

func (h *harness) open() {
	h.t.Helper()
	e, err := Open(h.cfg)
	if err != nil {
		h.t.Fatalf("Open: %v", err)
	}
	h.e = e
}

func (h *harness) reopen() {
	h.t.Helper()
	if err := h.e.Close(); err != nil {
		h.t.Fatalf("Close: %v", err)
	}
	h.open()
}

func (h *harness) sample(twinID, ch string, at time.Duration, v float64) {
	h.cat.mu.Lock()
	typ := h.cat.twins[twinID]
	h.cat.mu.Unlock()
	h.e.Process([]telemetry.Sample{{Tenant: telemetry.DefaultTenant, Twin: twinID, Channel: ch, Type: typ, TS: scenarioBase.Add(at).UnixMilli(), Value: v}})
}

func (h *harness) take() []Change {
	h.mu.Lock()
	defer h.mu.Unlock()
	c := h.changes
	h.changes = nil
	return c
}

func describeChange(c Change) string {
	if c.Rule != nil {
		return c.Action + " rule " + c.Rule.ID
	}
	tw := c.Alert.Twin
	if tw == "" {
		tw = "-"
	}
	return c.Action + " " + c.Alert.Source + " " + tw
}

func TestScenarios(t *testing.T) {
	files, err := filepath.Glob("testdata/scenarios/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenarios: %v", err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txt"), func(t *testing.T) {
			runScenario(t, f)
		})
	}
}

func runScenario(t *testing.T, path string) {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := newHarness(t, Config{})
	ctx := t.Context()
	var queue []Change // changes not yet expected
	var lastErr error
	errChecked := true
	sc := bufio.NewScanner(f)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		where := fmt.Sprintf("%s:%d: %s", filepath.Base(path), line, text)
		cmd, rest, _ := strings.Cut(text, " ")
		args := strings.Fields(rest)
		queue = append(queue, h.take()...)
		if cmd != "err" && !errChecked {
			t.Fatalf("%s: the previous command failed unexpectedly: %v", where, lastErr)
		}
		if cmd == "at" && len(queue) > 0 {
			t.Fatalf("%s: unexpected change before the next sample: %s", where, describeChange(queue[0]))
		}
		var cmdErr error
		switch cmd {
		case "twin":
			h.cat.add(args[0], args[1])
		case "rule":
			var ru Rule
			if cmdErr = decodeArg(rest, &ru); cmdErr == nil {
				_, cmdErr = h.e.CreateRule(ctx, telemetry.DefaultTenant, ru)
			}
		case "put":
			var ru Rule
			if cmdErr = decodeArg(rest, &ru); cmdErr == nil {
				_, _, cmdErr = h.e.PutRule(ctx, telemetry.DefaultTenant, ru, 0)
			}
		case "delete":
			cmdErr = h.e.DeleteRule(ctx, telemetry.DefaultTenant, args[0])
		case "at":
			d, err := time.ParseDuration(args[0])
			if err != nil {
				t.Fatalf("%s: %v", where, err)
			}
			v, err := strconv.ParseFloat(args[3], 64)
			if err != nil {
				t.Fatalf("%s: %v", where, err)
			}
			h.sample(args[1], args[2], d, v)
		case "raise", "clear":
			var s Signal
			if err := json.Unmarshal([]byte(rest), &s); err != nil {
				t.Fatalf("%s: %v", where, err)
			}
			if cmd == "raise" {
				_, cmdErr = h.e.Raise(ctx, s)
			} else {
				_, _, cmdErr = h.e.Clear(ctx, s)
			}
		case "ack", "resolve":
			act := Action{By: args[1], Comment: strings.Join(args[2:], " ")}
			if cmd == "ack" {
				_, cmdErr = h.e.Ack(ctx, telemetry.DefaultTenant, args[0], act)
			} else {
				_, cmdErr = h.e.Resolve(ctx, telemetry.DefaultTenant, args[0], act)
			}
		case "reopen":
			h.reopen()
		case "expect":
			if rest == "-" {
				if len(queue) > 0 {
					t.Fatalf("%s: got change %q, want none", where, describeChange(queue[0]))
				}
				continue
			}
			if len(queue) == 0 {
				t.Fatalf("%s: got no change, want %q", where, rest)
			}
			if got := describeChange(queue[0]); got != rest {
				t.Fatalf("%s: got change %q, want %q", where, got, rest)
			}
			queue = queue[1:]
		case "err":
			if lastErr == nil {
				t.Fatalf("%s: the previous command succeeded, want an error containing %q", where, rest)
			}
			if !strings.Contains(lastErr.Error(), rest) {
				t.Fatalf("%s: got error %q, want one containing %q", where, lastErr, rest)
			}
			errChecked, lastErr = true, nil
			continue
		case "state":
			got := inactive.String()
			h.e.mu.Lock()
			if st := h.e.tenants[telemetry.DefaultTenant].states[stateKey{args[0], args[1]}]; st != nil {
				got = st.phase.String()
			}
			h.e.mu.Unlock()
			if got != args[2] {
				t.Fatalf("%s: got phase %s, want %s", where, got, args[2])
			}
		case "open":
			page, err := h.e.ListAlerts(ctx, telemetry.DefaultTenant, Query{State: "open"})
			if err != nil {
				t.Fatalf("%s: %v", where, err)
			}
			if got := strconv.Itoa(len(page.Items)); got != args[0] {
				t.Fatalf("%s: got %s open alerts, want %s", where, got, args[0])
			}
		case "alert":
			a, err := h.e.GetAlert(ctx, telemetry.DefaultTenant, args[0])
			if err != nil {
				t.Fatalf("%s: %v", where, err)
			}
			for _, kv := range args[1:] {
				k, want, _ := strings.Cut(kv, "=")
				if got := alertField(a, k); got != want && !approx(got, want) {
					t.Errorf("%s: alert %s %s: got %q, want %q", where, args[0], k, got, want)
				}
			}
		default:
			t.Fatalf("%s: unknown command %q", where, cmd)
		}
		if cmdErr != nil {
			lastErr, errChecked = cmdErr, false
		}
	}
	if !errChecked {
		t.Fatalf("%s: the last command failed unexpectedly: %v", filepath.Base(path), lastErr)
	}
	if queue = append(queue, h.take()...); len(queue) > 0 {
		t.Fatalf("%s: unexpected change at the end: %s", filepath.Base(path), describeChange(queue[0]))
	}
}

func decodeArg(s string, v any) error {
	// Through DecodeRule for rules, so scenarios exercise the decoder.
	if ru, ok := v.(*Rule); ok {
		r, err := DecodeRule(strings.NewReader(s))
		*ru = r
		return err
	}
	return json.Unmarshal([]byte(s), v)
}

func alertField(a Alert, k string) string {
	f := func(p *float64) string {
		if p == nil {
			return "nil"
		}
		return strconv.FormatFloat(*p, 'g', -1, 64)
	}
	switch k {
	case "state":
		return string(a.State)
	case "severity":
		return string(a.Severity)
	case "peak":
		return f(a.Peak)
	case "value":
		return f(a.Value)
	case "evidence":
		return strconv.Itoa(len(a.Evidence))
	case "first", "last":
		if len(a.Evidence) == 0 {
			return "none"
		}
		ev := a.Evidence[0]
		if k == "last" {
			ev = a.Evidence[len(a.Evidence)-1]
		}
		return time.UnixMilli(ev.TS).Sub(scenarioBase).String() + "/" + strconv.FormatFloat(ev.Value, 'g', -1, 64)
	case "count":
		return strconv.Itoa(a.Count)
	case "clearedBy":
		return a.ClearedBy
	case "ack":
		if a.Ack == nil {
			return "none"
		}
		return a.Ack.By
	case "modelVersion":
		return a.ModelVersion
	case "source":
		return a.Source
	case "startsAt", "raisedAt", "clearedAt":
		at := map[string]time.Time{"startsAt": a.StartsAt, "raisedAt": a.RaisedAt, "clearedAt": a.ClearedAt}[k]
		if at.IsZero() {
			return "none"
		}
		return at.Sub(scenarioBase).String()
	case "type":
		return a.Type
	}
	return "unknown field " + k
}

// approx compares numbers to the precision the scenario wrote.
func approx(got, want string) bool {
	g, err1 := strconv.ParseFloat(got, 64)
	w, err2 := strconv.ParseFloat(want, 64)
	if err1 != nil || err2 != nil {
		return false
	}
	dec := 0
	if _, frac, ok := strings.Cut(want, "."); ok {
		dec = len(frac)
	}
	return math.Abs(g-w) <= 0.5*math.Pow(10, -float64(dec))
}
