package govern

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tsingma/tsingma/internal/alert"
	"github.com/tsingma/tsingma/internal/audit"
	"github.com/tsingma/tsingma/internal/auth"
	"github.com/tsingma/tsingma/internal/bus"
	"github.com/tsingma/tsingma/internal/telemetry"
	"github.com/tsingma/tsingma/internal/testenv"
	"github.com/tsingma/tsingma/internal/twin"
)

func TestMain(m *testing.M) { testenv.MainWithLeakCheck(m) }

const tenant = "default"

var (
	alice = auth.Principal{Name: "alice", Role: auth.ModelOwner, Tenant: tenant}
	bob   = auth.Principal{Name: "bob", Role: auth.Reviewer, Tenant: tenant}
	carol = auth.Principal{Name: "carol", Role: auth.Approver, Tenant: tenant}
	// alice again, holding an approver token: still the preparer.
	aliceApprover = auth.Principal{Name: "alice", Role: auth.Approver, Tenant: tenant}
)

// memSource is recorded telemetry in memory: three slopes, one sample a
// minute for three days, with a step change on s2 on day 2 (labelled).
type memSource struct {
	data map[telemetry.Key][]point
}

var t0 = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

func newMemSource() *memSource {
	m := &memSource{data: map[telemetry.Key][]point{}}
	for _, tw := range []string{"s1", "s2", "s3"} {
		k := telemetry.Key{Tenant: tenant, Twin: tw, Channel: "tilt"}
		for i := range 3 * 24 * 60 {
			ts := t0.Add(time.Duration(i) * time.Minute).UnixMilli()
			v := 1 + 0.01*math.Sin(float64(i)/30) + 0.002*math.Sin(float64(i)*1.7+float64(len(tw)))
			if tw == "s2" && i >= 36*60 {
				v += 5 // a slope starts moving
			}
			if tw != "s2" && i%(7*60+13) == 0 && i > 0 {
				v += 2 // single-sample glitches
			}
			m.data[k] = append(m.data[k], point{ts, v})
		}
	}
	return m
}

var stepLabel = []Label{{Twin: "s2", Channel: "tilt", From: t0.Add(36 * time.Hour), To: t0.Add(37 * time.Hour)}}

func (m *memSource) Series(_ context.Context, tn string) ([]telemetry.Key, error) {
	var out []telemetry.Key
	for k := range m.data {
		if k.Tenant == tn {
			out = append(out, k)
		}
	}
	return out, nil
}

func (m *memSource) Range(_ context.Context, k telemetry.Key, mint, maxt int64, fn func(int64, float64) bool) error {
	for _, p := range m.data[k] {
		if p.ts >= mint && p.ts <= maxt && !fn(p.ts, p.v) {
			return nil
		}
	}
	return nil
}

// peekModel reads the next minute of its own series: the future.
type peekModel struct{}

func (peekModel) Score(s telemetry.Sample, h History) (Output, error) {
	var next float64
	err := h.Range(s.Key(), s.TS, s.TS+60_000, func(_ int64, v float64) bool { next = v; return true })
	return Output{Score: next}, err
}

// pastModel reads the last hour (allowed) and alerts when the last ten
// minutes all sit more than 1 above the value an hour ago (a persistent
// move, not a one-sample glitch).
type pastModel struct{}

func (pastModel) Score(s telemetry.Sample, h History) (Output, error) {
	var vals []float64
	if err := h.Range(s.Key(), s.TS-3_600_000, s.TS, func(_ int64, v float64) bool {
		vals = append(vals, v)
		return true
	}); err != nil {
		return Output{}, err
	}
	if len(vals) < 20 {
		return Output{}, nil
	}
	low := math.Inf(1)
	for _, v := range vals[len(vals)-10:] {
		low = min(low, v)
	}
	d := low - vals[0]
	return Output{Score: d, Alert: d > 1}, nil
}

// alwaysCritical alerts on every sample, as loudly as it can.
type alwaysCritical struct{}

func (alwaysCritical) Score(telemetry.Sample, History) (Output, error) {
	return Output{Score: 1, Alert: true, Severity: "critical"}, nil
}

func families() map[string]Factory {
	return map[string]Factory{
		"peek":     func(json.RawMessage, uint64) (Model, error) { return peekModel{}, nil },
		"past":     func(json.RawMessage, uint64) (Model, error) { return pastModel{}, nil },
		"critical": func(json.RawMessage, uint64) (Model, error) { return alwaysCritical{}, nil },
	}
}

type fixture struct {
	reg   *Registry
	log   *audit.Log
	src   *memSource
	clock *clock
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	l, err := audit.Open(audit.Config{Dir: filepath.Join(dir, "audit"), CheckpointEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	c := &clock{t: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)}
	r, err := Open(Config{Path: filepath.Join(dir, "govern.db"), Audit: l, Families: families(), Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return &fixture{reg: r, log: l, src: newMemSource(), clock: c}
}

var hash0 = strings.Repeat("ab", 32)

func slopeSystem() NewSystem {
	return NewSystem{ID: "slope-watch", Name: "Slope movement watch", Purpose: "flag slopes that start moving", Owner: "geotech team",
		Oversight: InTheLoop, Stage: "operation", Questionnaire: Questionnaire{SafetyCritical: true}}
}

// setup registers the system with v1 as built-in champion and v2 as a
// candidate.
func (f *fixture) setup(t *testing.T, v2family string) {
	t.Helper()
	ctx := t.Context()
	if err := f.reg.RegisterBuiltin(ctx, tenant, Builtin{System: slopeSystem(), Version: NewVersion{Version: "v1", Family: FamilyAnomaly, ArtefactHash: hash0}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.reg.RegisterVersion(ctx, alice, tenant, "slope-watch", NewVersion{Version: "v2", Family: v2family, ArtefactHash: hash0}); err != nil {
		t.Fatal(err)
	}
}

// assess prepares an assessment of version with every criterion answered;
// evidence-needing ones cite a registered document.
func (f *fixture) assess(t *testing.T, version string) Assessment {
	t.Helper()
	ctx := t.Context()
	doc, err := f.reg.RegisterDocument(ctx, alice, tenant, "hazard-log.pdf", []byte("hazard log v3"))
	if err != nil {
		t.Fatal(err)
	}
	a, err := f.reg.NewAssessment(ctx, alice, tenant, "slope-watch", version, Questionnaire{SafetyCritical: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range f.reg.Catalogue().Principles {
		for _, k := range p.Criteria {
			if _, err := f.reg.Answer(ctx, alice, tenant, a.ID, k.ID, "answered for "+k.ID, []Evidence{{Kind: EvidenceDocument, Ref: doc.SHA256}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	return a
}

func (f *fixture) champion(t *testing.T) (string, int) {
	t.Helper()
	s, err := f.reg.GetSystem(tenant, "slope-watch")
	if err != nil {
		t.Fatal(err)
	}
	return s.Aliases[Champion], len(s.Transitions)
}

func (f *fixture) refusedEntries(t *testing.T) int {
	t.Helper()
	n := 0
	f.log.Entries(0, func(e audit.Entry) bool {
		if e.Kind == "model.promotion-refused" {
			n++
		}
		return true
	})
	return n
}

func (f *fixture) replay(t *testing.T) ReplayRequest {
	return ReplayRequest{System: "slope-watch", From: t0, To: t0.Add(72 * time.Hour), Seed: 7, Labels: stepLabel}
}

// wantRefused promotes v2 and checks the refusal, that nothing changed,
// and that the refusal was logged.
func (f *fixture) wantRefused(t *testing.T, because string) {
	t.Helper()
	champ, n := f.champion(t)
	before := f.refusedEntries(t)
	_, err := f.reg.Promote(t.Context(), carol, tenant, "slope-watch", "v2", "better recall")
	var re *RefusedError
	if !errors.As(err, &re) || !errors.Is(err, ErrRefused) {
		t.Fatalf("promote: got %v, want a refusal", err)
	}
	if !strings.Contains(strings.Join(re.Reasons, "; "), because) {
		t.Fatalf("refusal reasons %q do not mention %q", re.Reasons, because)
	}
	if c, m := f.champion(t); c != champ || m != n {
		t.Fatalf("a refusal changed the registry: champion %s→%s, transitions %d→%d", champ, c, n, m)
	}
	if got := f.refusedEntries(t); got != before+1 {
		t.Fatalf("refusal not logged: %d refusal entries, want %d", got, before+1)
	}
}

func TestPromotionGate(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	f.setup(t, "past")
	if c, _ := f.champion(t); c != "v1" {
		t.Fatalf("built-in champion %q, want v1", c)
	}

	// 1. No assessment.
	f.wantRefused(t, "no assessment")

	// 2. Missing sign-offs.
	a := f.assess(t, "v2")
	var err error
	if _, err := f.reg.SignOff(ctx, alice, tenant, a.ID, StepPreparer, "prepared"); err != nil {
		t.Fatal(err)
	}
	f.wantRefused(t, "missing sign-off: [reviewer approver]")

	// 3. The preparer cannot approve (even holding an approver token), and
	// a reviewer cannot take the approver step.
	if _, err := f.reg.SignOff(ctx, bob, tenant, a.ID, StepReviewer, "reviewed"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.reg.SignOff(ctx, aliceApprover, tenant, a.ID, StepApprover, "self-approval"); !errors.Is(err, ErrForbidden) {
		t.Fatalf("preparer approving: got %v, want ErrForbidden", err)
	}
	if _, err := f.reg.SignOff(ctx, auth.Principal{Name: "dave", Role: auth.Reviewer}, tenant, a.ID, StepApprover, ""); !errors.Is(err, ErrForbidden) {
		t.Fatalf("reviewer approving: got %v, want ErrForbidden", err)
	}
	f.wantRefused(t, "missing sign-off: [approver]")
	if a, err = f.reg.SignOff(ctx, carol, tenant, a.ID, StepApprover, "approved"); err != nil || a.State != StateApproved {
		t.Fatalf("approve: %v, state %s", err, a.State)
	}

	// 4. No backtest, then a failing backtest.
	f.wantRefused(t, "no backtest")
	q := f.replay(t)
	q.MinPrecision = 1.1 // impossible: the request is invalid
	if _, _, err := f.reg.Backtest(ctx, alice, tenant, f.src, "v2", q); !errors.Is(err, ErrInvalid) {
		t.Fatalf("min_precision 1.1: %v", err)
	}
	q = f.replay(t)
	q.Labels = []Label{{Twin: "s1", Channel: "tilt", From: t0.Add(10 * time.Hour), To: t0.Add(11 * time.Hour)}} // an event v2 cannot see
	ev, rep, err := f.reg.Backtest(ctx, alice, tenant, f.src, "v2", q)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Pass || rep.Pass || *rep.Metrics.Recall != 0 {
		t.Fatalf("backtest on a missed event passed: %+v", rep.Metrics)
	}
	f.wantRefused(t, "failed")

	// 5. Passing backtest; still missing the comparison and shadow trial
	// a high-tier system requires.
	ev, rep, err = f.reg.Backtest(ctx, alice, tenant, f.src, "v2", f.replay(t))
	if err != nil || !ev.Pass {
		t.Fatalf("backtest: %v %+v", err, rep)
	}
	f.wantRefused(t, "no comparison")
	if ev, _, err = f.reg.Compare(ctx, alice, tenant, f.src, "", "v2", f.replay(t)); err != nil || !ev.Pass {
		t.Fatalf("comparison: %v %+v", err, ev)
	}
	f.wantRefused(t, "no shadow")
	f.shadowTrial(t, "v2")

	// Everything in place: promoted, and governance check is clean.
	tr, err := f.reg.Promote(ctx, carol, tenant, "slope-watch", "v2", "better recall")
	if err != nil || tr.From != "v1" || tr.To != "v2" {
		t.Fatalf("promote: %+v %v", tr, err)
	}
	if fs, _ := f.reg.Check(tenant); len(fs) != 0 {
		t.Fatalf("check after promotion: %+v", fs)
	}

	// Rollback in one call; v1 has no assessment, so check complains.
	if tr, err = f.reg.Rollback(ctx, carol, tenant, "slope-watch", "false alarms"); err != nil || tr.To != "v1" {
		t.Fatalf("rollback: %+v %v", tr, err)
	}
	if fs, _ := f.reg.Check(tenant); len(fs) != 1 || fs[0].Version != "v1" {
		t.Fatalf("check after rollback: %+v", fs)
	}
	if _, err = f.reg.Promote(ctx, carol, tenant, "slope-watch", "v2", "again"); err != nil {
		t.Fatal(err)
	}

	// An incident sends the assessment back; so does the review date.
	if _, err := f.reg.ReportIncident(ctx, bob, tenant, "slope-watch", Incident{Kind: "drift", Detail: "tilt drift beyond 0.5 deg"}); err != nil {
		t.Fatal(err)
	}
	if fs, _ := f.reg.Check(tenant); len(fs) != 1 || !strings.Contains(fs[0].Problem, "reassessment-due") {
		t.Fatalf("check after an incident: %+v", fs)
	}
	a2 := f.assess(t, "v2")
	for _, s := range []struct {
		p    auth.Principal
		step string
	}{{alice, StepPreparer}, {bob, StepReviewer}, {carol, StepApprover}} {
		if _, err := f.reg.SignOff(ctx, s.p, tenant, a2.ID, s.step, ""); err != nil {
			t.Fatal(err)
		}
	}
	if fs, _ := f.reg.Check(tenant); len(fs) != 0 {
		t.Fatalf("check after re-assessment: %+v", fs)
	}
	f.clock.add(181 * 24 * time.Hour)
	if fs, _ := f.reg.Check(tenant); len(fs) != 1 || !strings.Contains(fs[0].Problem, "review date passed") {
		t.Fatalf("check after the review date: %+v", fs)
	}

	// The evidence pack verifies offline; an edited one does not.
	pk, err := f.reg.EvidencePack(tenant, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckPack(&pk, f.log.PublicKey()); err != nil {
		t.Fatalf("pack: %v", err)
	}
	b, _ := json.Marshal(pk)
	var edited Pack
	json.Unmarshal(b, &edited)
	edited.Assessment.SignOffs[2].By = "mallory"
	if err := CheckPack(&edited, f.log.PublicKey()); err == nil {
		t.Fatal("an edited sign-off passed the pack check")
	}
	json.Unmarshal(b, &edited)
	ans := edited.Assessment.Answers["safety.trial"]
	ans.Text = "we tried it properly, honest"
	edited.Assessment.Answers["safety.trial"] = ans
	if err := CheckPack(&edited, f.log.PublicKey()); err == nil {
		t.Fatal("an edited answer passed the pack check")
	}
	json.Unmarshal(b, &edited)
	edited.Assessment.Questionnaire.SafetyCritical = false
	if err := CheckPack(&edited, f.log.PublicKey()); err == nil {
		t.Fatal("an edited questionnaire passed the pack check")
	}
	// And the whole log verifies.
	f.log.Close()
}

func (f *fixture) shadowTrial(t *testing.T, version string) {
	t.Helper()
	b := bus.New()
	sh := NewShadows(f.reg, b, f.src, nil)
	defer sh.Close()
	if _, err := sh.Start(t.Context(), alice, tenant, "slope-watch", version, 1); err != nil {
		t.Fatal(err)
	}
	publish(b, 1200)
	waitFor(t, func() bool { return sh.List(tenant)[0].Scored >= 1200 })
	ev, err := sh.Record(t.Context(), alice, tenant, "slope-watch")
	if err != nil || !ev.Pass {
		t.Fatalf("shadow evaluation: %+v %v", ev, err)
	}
}

// publish sends n samples in batches of 100 (the bus's buffers count
// batches).
func publish(b *bus.Bus, n int) {
	var batch []telemetry.Sample
	for i := range n {
		batch = append(batch, telemetry.Sample{Tenant: tenant, Twin: "s1", Channel: "tilt", Type: "slope", TS: t0.Add(time.Duration(i) * time.Minute).UnixMilli(), Value: 1})
		if len(batch) == 100 || i == n-1 {
			b.PublishSamples(batch)
			batch = nil
		}
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached within 30s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

type catalog struct{}

func (catalog) GetType(context.Context, string, string) (twin.Type, error) {
	return twin.Type{Name: "slope"}, nil
}
func (catalog) Get(context.Context, string, string) (twin.Twin, error) {
	return twin.Twin{ID: "s1", Type: "slope"}, nil
}

// TestShadowIsolation: a shadow that says "critical" on every sample
// causes no alert, even with the champion scoring the same stream, and
// the admission hook refuses a signal that claims its version.
func TestShadowIsolation(t *testing.T) {
	f := newFixture(t)
	f.setup(t, "critical")
	b := bus.New()
	eng, err := alert.Open(alert.Config{Path: filepath.Join(t.TempDir(), "alerts.db"), Catalog: catalog{}, Bus: b, Admit: f.reg.Admit})
	if err != nil {
		t.Fatal(err)
	}
	eng.Start()
	defer eng.Close()
	sh := NewShadows(f.reg, b, nil, nil)
	defer sh.Close()
	if _, err := sh.Start(t.Context(), alice, tenant, "slope-watch", "v2", 1); err != nil {
		t.Fatal(err)
	}
	publish(b, 2000)
	waitFor(t, func() bool { st := sh.List(tenant)[0]; return st.Scored+st.Dropped >= 2000 })
	st := sh.List(tenant)[0]
	if st.Alerts == 0 || st.Alerts != st.Scored {
		t.Fatalf("the shadow did not say critical on every sample: %+v", st)
	}
	page, err := eng.ListAlerts(t.Context(), tenant, alert.Query{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 0 {
		t.Fatalf("a shadow caused %d alerts", len(page.Items))
	}
	// Even a shadow that tried (with a stolen alerter) would be refused.
	_, err = eng.Raise(t.Context(), alert.Signal{Source: "model:slope-watch", ModelVersion: "v2", Twin: "s1", Channel: "tilt", Severity: alert.Critical, Reason: "shadow"})
	if !errors.Is(err, alert.ErrRefused) {
		t.Fatalf("a shadow version's signal: got %v, want ErrRefused", err)
	}
	if _, err := eng.Raise(t.Context(), alert.Signal{Source: "model:slope-watch", ModelVersion: "v1", Twin: "s1", Channel: "tilt", Severity: alert.Warning, Reason: "champion"}); err != nil {
		t.Fatalf("the champion's signal: %v", err)
	}
}

// slowModel blocks until released; the stream never waits for it.
type slowModel struct{ release chan struct{} }

func (m slowModel) Score(telemetry.Sample, History) (Output, error) {
	<-m.release
	return Output{}, nil
}

type panicModel struct{}

func (panicModel) Score(telemetry.Sample, History) (Output, error) { panic("boom") }

func TestShadowSlowOrPanickingDropsAndCounts(t *testing.T) {
	b := bus.New()
	rel := make(chan struct{})
	slow, err := StartShadow(ShadowConfig{Bus: b, Tenant: tenant, System: "x", Version: "slow", Model: slowModel{rel}, Queue: 10})
	if err != nil {
		t.Fatal(err)
	}
	pan, err := StartShadow(ShadowConfig{Bus: b, Tenant: tenant, System: "x", Version: "panic", Model: panicModel{}, Fraction: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	publish(b, 500) // returns: the publisher never waits
	waitFor(t, func() bool { st := slow.Stats(); return st.Seen+st.Dropped >= 500 && st.Dropped > 0 })
	waitFor(t, func() bool {
		st := pan.Stats()
		return st.Panics+st.Dropped == st.Sampled && st.Seen+pan.sub.Dropped() >= 500
	})
	if st := pan.Stats(); st.Sampled == 0 || st.Sampled == st.Seen {
		t.Fatalf("fraction 0.5 sampled %d of %d", st.Sampled, st.Seen)
	}
	close(rel)
	if err := slow.Close(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	if err := pan.Close(10 * time.Second); err != nil {
		t.Fatal(err)
	}
}

func TestReplayDeterministicAndPointInTime(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	f.setup(t, "past")
	if _, err := f.reg.RegisterVersion(ctx, alice, tenant, "slope-watch", NewVersion{Version: "peek", Family: "peek", ArtefactHash: hash0}); err != nil {
		t.Fatal(err)
	}
	run := func(seed uint64) ([]byte, []byte, []byte) {
		q := f.replay(t)
		q.Seed = seed
		_, bt, err := f.reg.Backtest(ctx, alice, tenant, f.src, "v2", q)
		if err != nil {
			t.Fatal(err)
		}
		_, cr, err := f.reg.Compare(ctx, alice, tenant, f.src, "v1", "v2", q)
		if err != nil {
			t.Fatal(err)
		}
		b1, _ := json.Marshal(bt)
		b2, _ := json.Marshal(cr)
		h, err := cr.HTML()
		if err != nil {
			t.Fatal(err)
		}
		return b1, b2, h
	}
	a1, a2, a3 := run(42)
	b1, b2, b3 := run(42)
	if !bytes.Equal(a1, b1) || !bytes.Equal(a2, b2) || !bytes.Equal(a3, b3) {
		t.Fatal("the same range and seed gave different reports")
	}
	_, c2, _ := run(43)
	var cr, cr43 ComparisonReport
	json.Unmarshal(a2, &cr)
	json.Unmarshal(c2, &cr43)
	if cr.Intervals[0] == cr43.Intervals[0] {
		t.Fatalf("the seed does not reach the bootstrap: %+v", cr.Intervals[0])
	}
	if cr.Metrics[1].Detected != 1 || cr.Blocks == 0 || len(cr.Intervals) != 4 {
		t.Fatalf("comparison: %+v", cr)
	}
	for _, iv := range cr.Intervals {
		t.Logf("%s: champion %.4f challenger %.4f diff %.4f [%.4f, %.4f]", iv.Metric, iv.Champion, iv.Challenger, iv.Diff, iv.Low, iv.High)
		if iv.Low > iv.Diff+1e-12 || iv.High < iv.Diff-1e-12 {
			t.Errorf("%s: interval [%g, %g] does not hold the difference %g", iv.Metric, iv.Low, iv.High, iv.Diff)
		}
	}
	// A model that reads one minute ahead is rejected and fails.
	ev, rep, err := f.reg.Backtest(ctx, alice, tenant, f.src, "peek", f.replay(t))
	if err != nil {
		t.Fatal(err)
	}
	if ev.Pass || !strings.Contains(rep.Rejected, "point-in-time") || rep.Metrics.Samples != 0 {
		t.Fatalf("look-ahead model: pass=%v rejected=%q samples=%d", ev.Pass, rep.Rejected, rep.Metrics.Samples)
	}
	// The past-reading model scored everything.
	var bt BacktestReport
	json.Unmarshal(a1, &bt)
	if bt.Rejected != "" || bt.Metrics.Samples != 3*3*24*60 {
		t.Fatalf("past model: %+v", bt)
	}
}

func TestCatalogueAndGate(t *testing.T) {
	c := DefaultCatalogue()
	if len(c.Principles) != 12 || len(c.Stages) != 6 {
		t.Fatalf("%d principles, %d stages; want 12 and 6", len(c.Principles), len(c.Stages))
	}
	n := 0
	for _, p := range c.Principles {
		n += len(p.Criteria)
	}
	if n < 12 {
		t.Fatalf("%d criteria", n)
	}
	if _, err := LoadCatalogue([]byte(`{"version":"1","principles":[{"id":"a","criteria":[{"id":"a"}]}]}`)); err == nil {
		t.Fatal("duplicate ids accepted")
	}
	for _, tc := range []struct {
		q     Questionnaire
		tier  string
		chain int
	}{
		{Questionnaire{}, TierLow, 2},
		{Questionnaire{ThirdPartyModel: true}, TierMedium, 3},
		{Questionnaire{PersonalData: true}, TierMedium, 3},
		{Questionnaire{SafetyCritical: true}, TierHigh, 3},
		{Questionnaire{AutomatedDecision: true, AffectsPeople: true}, TierHigh, 3},
		{Questionnaire{CustomerFacingGenAI: true}, TierHigh, 3},
	} {
		g := tc.q.Assess()
		if g.Tier != tc.tier || len(g.SignOffs) != tc.chain || !slices.Contains(g.Evaluations, EvalBacktest) {
			t.Errorf("%+v: got %+v, want tier %s with %d sign-offs", tc.q, g, tc.tier, tc.chain)
		}
	}
}

func TestEvidenceMustBeAMeasurement(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	f.setup(t, "past")
	a, err := f.reg.NewAssessment(ctx, alice, tenant, "slope-watch", "v2", Questionnaire{SafetyCritical: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range []Evidence{
		{Kind: "claim", Ref: "trust me"},
		{Kind: EvidenceDocument, Ref: hash0},
		{Kind: EvidenceEvaluation, Ref: "bt-0000000000000000"},
		{Kind: EvidenceAuditProof, Ref: "999999"},
		{Kind: EvidenceAuditProof, Ref: "x"},
	} {
		if _, err := f.reg.Answer(ctx, alice, tenant, a.ID, "reliability.measured", "see evidence", []Evidence{ev}); !errors.Is(err, ErrInvalid) {
			t.Errorf("evidence %+v: got %v, want ErrInvalid", ev, err)
		}
	}
	if _, err := f.reg.Answer(ctx, alice, tenant, a.ID, "reliability.measured", "no evidence", nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("an evidence criterion without evidence: %v", err)
	}
	ev, _, err := f.reg.Backtest(ctx, alice, tenant, f.src, "v2", f.replay(t))
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.reg.Answer(ctx, alice, tenant, a.ID, "reliability.measured", "backtest", []Evidence{{Kind: EvidenceEvaluation, Ref: ev.ID}, {Kind: EvidenceAuditProof, Ref: fmt.Sprint(ev.AuditSeq)}})
	if err != nil {
		t.Fatal(err)
	}
	if d := got.Answers["reliability.measured"].Evidence[0].Detail; !strings.Contains(d, "pass=true") {
		t.Errorf("evidence detail %q", d)
	}
	if _, err := f.reg.Answer(ctx, bob, tenant, a.ID, "safety.hazards", "not mine", nil); !errors.Is(err, ErrForbidden) {
		t.Errorf("someone else answering: %v", err)
	}
	if _, err := f.reg.NewAssessment(ctx, bob, tenant, "slope-watch", "v2", Questionnaire{}); !errors.Is(err, ErrForbidden) {
		t.Errorf("a reviewer preparing: %v", err)
	}
	if _, err := f.reg.NewAssessment(ctx, alice, tenant, "slope-watch", "v2", Questionnaire{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("a questionnaire below the system's tier: %v", err)
	}
	// Another tenant sees nothing.
	if _, err := f.reg.GetAssessment("other", a.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("cross-tenant read: %v", err)
	}
}
