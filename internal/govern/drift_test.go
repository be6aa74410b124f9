package govern

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/tsingma/tsingma/internal/audit"
	"github.com/tsingma/tsingma/internal/auth"
	"github.com/tsingma/tsingma/internal/bus"
	"github.com/tsingma/tsingma/internal/telemetry"
)

func TestPSIAndKS(t *testing.T) {
	hist := func(n int, seed uint64, gen func(u float64) float64) []uint64 {
		m := &DriftMonitor{cfg: DriftConfig{Min: 0, Max: 1}, binScale: driftBins}
		h := make([]uint64, driftBins)
		r := rand.New(rand.NewPCG(seed, 1))
		for range n {
			h[m.bin(gen(r.Float64()))]++
		}
		return h
	}
	cube := func(u float64) float64 { return u * u * u }
	shifted := func(u float64) float64 { return math.Sqrt(u) * 0.8 }
	cases := []struct {
		name         string
		base, recent []uint64
		lo, hi       float64 // PSI
		ksLo, ksHi   float64
	}{
		{"same sample", hist(5000, 1, cube), hist(5000, 1, cube), 0, 1e-12, 0, 1e-12},
		{"same distribution", hist(5000, 1, cube), hist(5000, 2, cube), 0, 0.02, 0, 0.05},
		{"shifted distribution", hist(5000, 1, cube), hist(5000, 2, shifted), 1, math.Inf(1), 0.4, 1},
		{"baseline in one bin, recent moved", hist(5000, 1, func(float64) float64 { return 0 }), hist(5000, 2, func(float64) float64 { return 0.5 }), 1, math.Inf(1), 0.99, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			psi, ks := PSI(c.base, c.recent), KS(c.base, c.recent)
			if psi < c.lo || psi > c.hi {
				t.Errorf("got PSI %.4f, want in [%g, %g]", psi, c.lo, c.hi)
			}
			if ks < c.ksLo || ks > c.ksHi {
				t.Errorf("got KS %.4f, want in [%g, %g]", ks, c.ksLo, c.ksHi)
			}
		})
	}
}

// approve takes a version of slope-watch through the whole chain.
func (f *fixture) approve(t *testing.T, version string) Assessment {
	t.Helper()
	a := f.assess(t, version)
	for _, s := range []struct {
		step string
		p    auth.Principal
	}{{StepPreparer, alice}, {StepReviewer, bob}, {StepApprover, carol}} {
		var err error
		if a, err = f.reg.SignOff(t.Context(), s.p, tenant, a.ID, s.step, ""); err != nil {
			t.Fatal(err)
		}
	}
	if a.State != StateApproved {
		t.Fatalf("assessment %s is %s, want approved", a.ID, a.State)
	}
	return a
}

// scoreStream publishes synthetic model scores on the bus: two series,
// one score a second each, from start for d, drawn by gen from a seeded
// generator. It returns the end time.
type scoreStream struct {
	b    *bus.Bus
	m    *DriftMonitor
	rng  *rand.Rand
	sent uint64
}

func (s *scoreStream) run(t *testing.T, start time.Time, d time.Duration, gen func(u float64) float64) time.Time {
	t.Helper()
	var batch []telemetry.Sample
	end := start.Add(d)
	for ts := start; ts.Before(end); ts = ts.Add(time.Second) {
		for _, tw := range []string{"s1", "s2"} {
			batch = append(batch, telemetry.Sample{Tenant: tenant, Twin: tw, Channel: "tilt.score", Type: "slope", TS: ts.UnixMilli(), Value: gen(s.rng.Float64())})
		}
		if len(batch) >= 200 {
			s.b.PublishSamples(batch)
			s.sent += uint64(len(batch))
			batch = nil
		}
	}
	s.b.PublishSamples(batch)
	s.sent += uint64(len(batch))
	// Other channels are not the model's scores: ignored.
	s.b.PublishSamples([]telemetry.Sample{{Tenant: tenant, Twin: "s1", Channel: "tilt", TS: end.UnixMilli(), Value: 99}})
	waitFor(t, func() bool { return s.m.Observed() >= s.sent })
	return end
}

func newDriftFixture(t *testing.T, dir string) (*fixture, *DriftMonitor, *scoreStream) {
	t.Helper()
	f := newFixture(t)
	f.setup(t, "critical")
	m, s := startDrift(t, f, dir)
	return f, m, s
}

func startDrift(t *testing.T, f *fixture, dir string) (*DriftMonitor, *scoreStream) {
	t.Helper()
	b := bus.New()
	m, err := NewDriftMonitor(DriftConfig{Registry: f.reg, Bus: b, Dir: dir, Sources: map[string]string{"slope-watch": ".score"},
		Window: time.Hour, Bucket: time.Minute, MinSamples: 2000, Every: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	m.Start()
	t.Cleanup(m.Close)
	return m, &scoreStream{b: b, m: m, rng: rand.New(rand.NewPCG(42, 7))}
}

func status(t *testing.T, m *DriftMonitor) DriftStatus {
	t.Helper()
	ss := m.Status(tenant)
	if len(ss) != 1 {
		t.Fatalf("got %d drift statuses, want 1: %+v", len(ss), ss)
	}
	return ss[0]
}

func cube(u float64) float64 { return u * u * u }

// A stationary stream of scores stays below the threshold for six hours
// of evaluations every ten minutes: no incident, the assessment stays
// approved.
func TestDriftStationaryStaysQuiet(t *testing.T) {
	f, m, s := newDriftFixture(t, t.TempDir())
	a := f.approve(t, "v1")
	ctx := t.Context()
	at := s.run(t, t0, time.Hour, cube)
	m.Evaluate(ctx)
	if st := status(t, m); st.State != DriftStable || st.Assessment != a.ID || st.Baseline == nil || st.Baseline.Count != 7200 {
		t.Fatalf("after the first window: %+v, want stable against a 7200-score baseline of %s", st, a.ID)
	}
	worst := 0.0
	for range 36 {
		at = s.run(t, at, 10*time.Minute, cube)
		m.Evaluate(ctx)
		st := status(t, m)
		if st.State != DriftStable || !st.Measured {
			t.Fatalf("stationary stream: got %+v, want stable", st)
		}
		worst = max(worst, st.PSI)
	}
	t.Logf("largest PSI over 36 evaluations of a stationary stream: %.4f (threshold 0.25)", worst)
	got, err := f.reg.GetAssessment(tenant, a.ID)
	if err != nil || got.State != StateApproved {
		t.Fatalf("assessment: %s %v, want approved", got.State, err)
	}
	if sys, _ := f.reg.GetSystem(tenant, "slope-watch"); len(sys.Incidents) != 0 {
		t.Fatalf("incidents recorded for a stationary stream: %+v", sys.Incidents)
	}
}

// A shift of the score distribution records one drift incident through
// the registry (the assessment becomes due, the incident is in the audit
// log), reported once, remembered across a restart, and a new approval
// takes a new baseline.
func TestDriftShiftRecordsIncident(t *testing.T) {
	dir := t.TempDir()
	f, m, s := newDriftFixture(t, dir)
	ctx := t.Context()
	// Before approval there is nothing to compare with.
	at := s.run(t, t0, time.Hour, cube)
	m.Evaluate(ctx)
	if st := status(t, m); st.State != DriftNoAssessment || st.Measured {
		t.Fatalf("before approval: %+v", st)
	}
	a := f.approve(t, "v1")
	m.Evaluate(ctx)
	if st := status(t, m); st.State != DriftStable || st.Baseline == nil {
		t.Fatalf("after approval: %+v, want a baseline", st)
	}
	// Half an hour of the shifted distribution: half the window shifted.
	shifted := func(u float64) float64 { return math.Sqrt(u) * 0.8 }
	at = s.run(t, at, 30*time.Minute, shifted)
	m.Evaluate(ctx)
	st := status(t, m)
	if st.State != DriftDrifted || st.PSI <= 0.25 || st.Incident == nil {
		t.Fatalf("after the shift: %+v, want drift with an incident", st)
	}
	t.Logf("PSI %.3f, KS %.3f after half a window of shifted scores (tail PSI %.3f, tail share %.3f → %.3f)", st.PSI, st.KS, st.TailPSI, st.TailRate[0], st.TailRate[1])
	if st.TailPSI <= 0 || !(st.TailRate[1] > st.TailRate[0]) {
		t.Fatalf("tail measures: PSI %.3f, share %v; want a tail PSI and a larger recent tail share", st.TailPSI, st.TailRate)
	}
	got, err := f.reg.GetAssessment(tenant, a.ID)
	if err != nil || got.State != StateReassess || !strings.HasPrefix(got.Invalidated, "drift: ") {
		t.Fatalf("assessment after drift: %s %q %v, want reassessment-due by drift", got.State, got.Invalidated, err)
	}
	sys, _ := f.reg.GetSystem(tenant, "slope-watch")
	if len(sys.Incidents) != 1 || sys.Incidents[0].Kind != "drift" || sys.Incidents[0].By != "drift-monitor" {
		t.Fatalf("incidents: %+v", sys.Incidents)
	}
	pr, err := f.log.Prove(sys.Incidents[0].AuditSeq)
	if err != nil || pr.Entry.Kind != "system.incident" || pr.Entry.Actor != "drift-monitor" {
		t.Fatalf("audit entry of the incident: %+v %v", pr.Entry, err)
	}
	if err := audit.CheckProof(&pr, nil); err != nil {
		t.Fatal(err)
	}
	// Evaluating again reports nothing new.
	at = s.run(t, at, 10*time.Minute, shifted)
	m.Evaluate(ctx)
	if st := status(t, m); st.State != DriftDrifted || st.Incident == nil {
		t.Fatalf("after the incident: %+v", st)
	}
	if sys, _ := f.reg.GetSystem(tenant, "slope-watch"); len(sys.Incidents) != 1 {
		t.Fatalf("got %d incidents, want 1", len(sys.Incidents))
	}
	// A restarted monitor remembers the baseline and the report.
	m.Close()
	m2, s2 := startDrift(t, f, dir)
	s2.rng = s.rng
	s2.run(t, at, time.Hour, shifted)
	m2.Evaluate(ctx)
	if st := status(t, m2); st.State != DriftDrifted || st.Assessment != a.ID {
		t.Fatalf("after a restart: %+v", st)
	}
	if sys, _ := f.reg.GetSystem(tenant, "slope-watch"); len(sys.Incidents) != 1 {
		t.Fatalf("a restart reported again: %d incidents", len(sys.Incidents))
	}
	// A new approval takes the shifted distribution as its baseline.
	b := f.approve(t, "v1")
	m2.Evaluate(ctx)
	if st := status(t, m2); st.State != DriftStable || st.Assessment != b.ID {
		t.Fatalf("after re-approval: %+v, want stable against %s", st, b.ID)
	}
}

func TestDriftConfigRefusesNonsense(t *testing.T) {
	f := newFixture(t)
	for _, c := range []DriftConfig{
		{Bus: bus.New()},
		{Registry: f.reg, Bus: bus.New(), Min: 1, Max: 0},
		{Registry: f.reg, Bus: bus.New(), Threshold: math.NaN()},
		{Registry: f.reg, Bus: bus.New(), Window: time.Hour, Bucket: 2 * time.Hour},
	} {
		if _, err := NewDriftMonitor(c); err == nil {
			t.Errorf("NewDriftMonitor(%+v): no error", c)
		}
	}
}
