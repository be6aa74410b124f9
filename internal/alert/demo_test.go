package alert

import (
	"flag"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tsingma/tsingma/internal/sim"
	"github.com/tsingma/tsingma/internal/telemetry"
	"github.com/tsingma/tsingma/internal/testenv"
)

// demoRun drives the demo scenario's engine (the same one `tsingma demo`
// plays) through the default rules, sample by sample in simulated time,
// and returns the raised alerts as "rule twin" → first simulated time.
type demoRun struct {
	t     *testing.T
	h     *harness
	e     *sim.Engine
	types map[string]string
	n     int
}

func newDemoRun(t *testing.T, seed uint64, start time.Time) *demoRun {
	t.Helper()
	in, err := sim.LoadInputs(testenv.Dataset(t, "hk"))
	if err != nil {
		t.Fatal(err)
	}
	w, err := sim.Build(in, sim.Config{Seed: seed, Start: start})
	if err != nil {
		t.Fatal(err)
	}
	d := &demoRun{t: t, h: newHarness(t, Config{Defaults: DefaultRules()}), e: sim.NewEngine(w), types: map[string]string{}}
	for _, tw := range w.Twins() {
		d.types[tw.ID] = tw.Type
		d.h.cat.add(tw.ID, tw.Type)
	}
	d.h.take()
	return d
}

// advance runs the scenario to `to`, a minute at a time, and returns the
// alerts raised on the way.
func (d *demoRun) advance(to time.Time) map[string]time.Time {
	raised := map[string]time.Time{}
	for d.e.Now() < to.UnixMilli() {
		var b sim.Batch
		d.e.Advance(min(d.e.Now()+time.Minute.Milliseconds(), to.UnixMilli()), &b)
		ss := make([]telemetry.Sample, len(b.Samples))
		for i, s := range b.Samples {
			ss[i] = telemetry.Sample{Tenant: telemetry.DefaultTenant, Twin: s.Twin, Channel: s.Channel, Type: d.types[s.Twin], TS: s.TS, Value: s.Value}
		}
		d.n += len(ss)
		d.h.e.Process(ss)
		for _, c := range d.h.take() {
			if c.Alert != nil && c.Action == "raised" {
				k := c.Alert.Rule + " " + c.Alert.Twin
				if _, ok := raised[k]; !ok {
					raised[k] = c.Alert.RaisedAt
				}
			}
		}
	}
	return raised
}

var demoSeed = flag.Uint64("alert.seed", 1, "the demo scenario's seed")

var quietFor = flag.Duration("alert.quiet", 12*time.Hour, "simulated time of normal operation before the demo's events (from 08:00 Hong Kong time)")

// TestDemoEventsRaiseDefaultAlerts: each of the demo's four events raises
// its default rule's alert on the twin the event affects, with no set-up.
// The quiet day before them is reported (not asserted: the showers are
// random).
func TestDemoEventsRaiseDefaultAlerts(t *testing.T) {
	if testing.Short() {
		t.Skip("simulates 17 hours of the demo")
	}
	start := time.Date(2026, 6, 7, 0, 0, 0, 0, time.UTC)
	d := newDemoRun(t, *demoSeed, start)
	quiet := d.advance(start.Add(*quietFor))
	t.Logf("quiet day: %d samples, %d alerts: %v", d.n, len(quiet), slices.Sorted(maps.Keys(quiet)))

	t0 := start.Add(*quietFor)
	for _, ev := range sim.EventNames {
		if err := d.e.Trigger(ev); err != nil {
			t.Fatal(err)
		}
	}
	var broken string
	var susceptible []string
	for _, info := range d.e.Events() {
		switch info.Name {
		case sim.EventBreakdown:
			broken = info.Twins[0]
		case sim.EventBlackRainstorm:
			susceptible = info.Twins
		}
	}
	raised := d.advance(t0.Add(5 * time.Hour))
	byRule := map[string][]string{}
	for k, at := range raised {
		rule, tw, _ := strings.Cut(k, " ")
		byRule[rule] = append(byRule[rule], fmt.Sprintf("%s@+%s", tw, at.Sub(t0).Round(time.Minute)))
	}
	for _, r := range slices.Sorted(maps.Keys(byRule)) {
		slices.Sort(byRule[r])
		t.Logf("%s: %d twins: %s", r, len(byRule[r]), strings.Join(byRule[r], " "))
	}
	want := func(rule string, match func(tw string) bool, what string) {
		t.Helper()
		for k := range raised {
			if r, tw, _ := strings.Cut(k, " "); r == rule && match(tw) {
				return
			}
		}
		t.Errorf("rule %s raised no alert on %s", rule, what)
	}
	any := func(string) bool { return true }
	onSusceptible := func(tw string) bool {
		for _, s := range susceptible {
			if strings.TrimPrefix(tw, tw[:3]) == strings.TrimPrefix(s, "slope-") {
				return true
			}
		}
		return false
	}
	elsewhere := 0
	for k := range raised {
		if r, tw, _ := strings.Cut(k, " "); strings.HasSuffix(r, "-accelerating") && !onSusceptible(tw) {
			elsewhere++
		}
	}
	t.Logf("displacement-rate alerts on slopes the scenario does not accelerate: %d", elsewhere)
	want("rain-black", any, "any rain gauge")
	want("pore-pressure-high", any, "any piezometer")
	want("extensometer-accelerating", onSusceptible, "an extensometer on a susceptible slope")
	want("inclinometer-accelerating", onSusceptible, "an inclinometer on a susceptible slope")
	want("bridge-displacement-band", func(tw string) bool { return tw == "tm-brg-tsingyi-n" }, "the seizing bearing")
	want("cooling-supply-hot", func(tw string) bool { return tw == "crah-3" }, "the failed CRAH-3")
	want("rack-inlet-hot", func(tw string) bool { return strings.HasPrefix(tw, "rack-b") || strings.HasPrefix(tw, "rack-c") }, "a rack in rows B or C")
	want("vehicle-engine-hot", func(tw string) bool { return tw == broken }, "the broken-down vehicle "+broken)
}
