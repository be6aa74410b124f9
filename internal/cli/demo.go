package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/tsingma/tsingma/internal/api"
	"github.com/tsingma/tsingma/internal/app"
	"github.com/tsingma/tsingma/internal/auth"
	"github.com/tsingma/tsingma/internal/console"
	"github.com/tsingma/tsingma/internal/sim"
	"github.com/tsingma/tsingma/internal/store"
	"github.com/tsingma/tsingma/internal/telemetry"
)

// scenarioFlags are shared by demo and sim.
type scenarioFlags struct {
	datasets string
	seed     uint64
	speed    float64
	scenario string
	history  time.Duration
	slopes   int
	in       *sim.Inputs // loaded by world, kept for resume
}

func (s *scenarioFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&s.datasets, "datasets", "../shared/datasets/hk", "the staged Hong Kong dataset directory (basemap, slopes, stations, post offices, landmarks)")
	fs.Uint64Var(&s.seed, "seed", 1, "random seed: the same seed gives the same twins and telemetry")
	fs.Float64Var(&s.speed, "speed", 60, fmt.Sprintf("simulated seconds per wall-clock second (1-%d); timestamps are simulated time", sim.MaxSpeed))
	fs.StringVar(&s.scenario, "scenario", "", "event to start with: "+strings.Join(sim.EventNames, ", "))
	fs.DurationVar(&s.history, "history", 24*time.Hour, "simulated time starts this long before now and runs at --speed until it reaches the present (the platform refuses future timestamps)")
	fs.IntVar(&s.slopes, "slopes", 400, "number of slopes (at least 200)")
}

func (s *scenarioFlags) check() error {
	if s.speed < 1 || s.speed > sim.MaxSpeed {
		return fmt.Errorf("--speed must be between 1 and %d, got %g", sim.MaxSpeed, s.speed)
	}
	if s.scenario != "" {
		ok := false
		for _, n := range sim.EventNames {
			ok = ok || n == s.scenario
		}
		if !ok {
			return fmt.Errorf("--scenario %q: want one of %s", s.scenario, strings.Join(sim.EventNames, ", "))
		}
	}
	if s.history < 0 || s.history > 30*24*time.Hour {
		return fmt.Errorf("--history must be between 0 and 720h, got %s", s.history)
	}
	if s.slopes < 200 {
		return fmt.Errorf("--slopes must be at least 200, got %d", s.slopes)
	}
	return nil
}

// world loads the inputs and builds the scenario, starting --history ago
// on the hour.
func (s *scenarioFlags) world() (*sim.World, error) {
	in, err := sim.LoadInputs(s.datasets)
	if err != nil {
		return nil, err
	}
	s.in = in
	start := time.Now().Add(-s.history).Truncate(time.Hour)
	return sim.Build(in, sim.Config{Seed: s.seed, Start: start, Slopes: s.slopes})
}

// resume restarts the scenario after the newest sample the platform
// already holds for its twins (newest says which, in Unix ms, or
// math.MinInt64 for none), when that is later than the scenario's start:
// a demo or sim run again against the same data goes on where the last
// one stopped, instead of replaying hours the store has (and refuses as
// out of order).
func (s *scenarioFlags) resume(w *sim.World, newest func([]sim.Twin) (int64, error)) (*sim.World, time.Time, error) {
	last, err := newest(w.Twins())
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("read the newest stored sample: %w", err)
	}
	start := w.Start()
	if last < start.UnixMilli() {
		return w, time.Time{}, nil
	}
	// The next whole second after it; the scenario ticks from there.
	at := time.UnixMilli(last).Truncate(time.Second).Add(time.Second)
	nw, err := sim.Build(s.in, sim.Config{Seed: s.seed, Start: at, Slopes: s.slopes})
	return nw, at, err
}

// newestInStore is resume's newest for the demo's own store.
func newestInStore(st *store.Store) func([]sim.Twin) (int64, error) {
	return func(twins []sim.Twin) (int64, error) {
		newest := int64(math.MinInt64)
		var buf []store.ChannelPoint
		for _, t := range twins {
			buf = st.AppendLatestOfTwin(buf[:0], telemetry.DefaultTenant, t.ID)
			for _, p := range buf {
				newest = max(newest, p.TS)
			}
		}
		return newest, nil
	}
}

func runDemo(ctx context.Context, e *env, args []string) int {
	const prog = "tsingma demo"
	f := newServeFlags("demo")
	var sf scenarioFlags
	sf.register(f.fs)
	if code, ok := f.parse(e, args); !ok {
		return code
	}
	if err := sf.check(); err != nil {
		fmt.Fprintf(e.stderr, "%s: %v\n", prog, err)
		return 2
	}
	if f.tlsCert != "" || f.tlsKey != "" {
		// The demo's own simulator talks to it over plain HTTP and MQTT.
		fmt.Fprintf(e.stderr, "%s: the demo runs on loopback without TLS; --tls-cert and --tls-key are for tsingma serve\n", prog)
		return 2
	}
	dataSet := false
	f.fs.Visit(func(fl *flag.Flag) { dataSet = dataSet || fl.Name == "data" })
	if !dataSet {
		dir, err := os.MkdirTemp("", "tsingma-demo-")
		if err != nil {
			return fail(e, prog, err)
		}
		defer os.RemoveAll(dir)
		f.data = dir
	}
	log, err := f.logger(e.stderr)
	if err != nil {
		return fail(e, prog, err)
	}
	shards, undo, err := setProcs(e, f.procs, f.anomaly)
	if err != nil {
		return fail(e, prog, err)
	}
	defer undo()
	w, err := sf.world()
	if err != nil {
		return fail(e, prog, err)
	}
	con, err := console.New(console.Config{BasemapDir: sf.datasets})
	if err != nil {
		return fail(e, prog, err)
	}
	// The control routes exist before the runner, which needs the bound
	// address; they answer 503 until it is there.
	var mu sync.Mutex
	var runner *sim.Runner
	ctl := func(h func(*sim.Runner) http.HandlerFunc) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			rn := runner
			mu.Unlock()
			if rn == nil {
				w.Header().Set("Content-Type", "application/problem+json")
				w.WriteHeader(http.StatusServiceUnavailable)
				w.Write([]byte(`{"type":"urn:tsingma:problem:unavailable","title":"The scenario is starting","status":503}` + "\n"))
				return
			}
			h(rn)(w, r)
		})
	}
	cfg := f.appConfig(log)
	cfg.AnomalyShards = shards
	cfg.ExtraRoutes = func(*app.App) []api.Route {
		rs := []api.Route{
			{Method: "GET", Pattern: "/api/v1/scenario", Summary: "Scenario state: simulated time, speed, events", Handler: ctl(func(r *sim.Runner) http.HandlerFunc { return r.HandleStatus })},
			{Method: "POST", Pattern: "/api/v1/scenario/events", Summary: "Trigger a scenario event", Handler: ctl(func(r *sim.Runner) http.HandlerFunc { return r.HandleEvent })},
			{Method: "POST", Pattern: "/api/v1/scenario/speed", Summary: "Change the scenario's speed", Handler: ctl(func(r *sim.Runner) http.HandlerFunc { return r.HandleSpeed })},
		}
		return append(rs, con.Routes()...)
	}
	a, err := app.New(cfg)
	if err != nil {
		return fail(e, prog, err)
	}
	w, resumed, err := sf.resume(w, newestInStore(a.Store))
	if err != nil {
		a.Close()
		return fail(e, prog, err)
	}
	if !resumed.IsZero() {
		log.Info("scenario resumes after the data already stored", "at", resumed.UTC().Format(time.RFC3339))
	}
	// With authentication on, the demo makes its own tokens: one for the
	// scenario (an engineer: creates twins, sends telemetry), one for the
	// console (an admin, handed over in the URL's fragment), and one per
	// other role for trying the access rules.
	var simTok, consoleTok string
	var roleToks []string
	if !f.noAuth {
		mk := func(name string, role auth.Role) (string, error) {
			_, secret, err := a.Tokens.Create(ctx, "tsingma demo", auth.NewToken{Name: name, Role: role, Tenant: telemetry.DefaultTenant})
			return secret, err
		}
		var err error
		if simTok, err = mk("demo-scenario", auth.Engineer); err == nil {
			consoleTok, err = mk("demo-console", auth.Admin)
		}
		for _, role := range []auth.Role{auth.Viewer, auth.Operator, auth.Reviewer, auth.Approver, auth.ModelOwner} {
			if err != nil {
				break
			}
			var t string
			t, err = mk("demo-"+string(role), role)
			roleToks = append(roleToks, fmt.Sprintf("  %-12s %s", role, t))
		}
		if err != nil {
			a.Close()
			return fail(e, prog, fmt.Errorf("create demo tokens: %w", err))
		}
	}
	rn, err := sim.NewRunner(sim.RunnerConfig{URL: "http://" + a.HTTPAddr(), MQTTAddr: a.MQTTAddr(), Speed: sf.speed, Event: sf.scenario,
		Token: simTok, Logger: log}, w)
	if err != nil {
		a.Close()
		return fail(e, prog, err)
	}
	mu.Lock()
	runner = rn
	mu.Unlock()
	fmt.Fprintf(e.stdout, "tsingma listening http=http://%s mqtt=%s data=%s\n", a.HTTPAddr(), a.MQTTAddr(), f.data)
	frag := ""
	if consoleTok != "" {
		frag = "#token=" + consoleTok
	}
	fmt.Fprintf(e.stdout, "console: http://%s/%s  (Hong Kong live scenario, seed %d, speed %gx; telemetry is synthetic)\n", a.HTTPAddr(), frag, sf.seed, sf.speed)
	if len(roleToks) > 0 {
		fmt.Fprintf(e.stdout, "tokens for the API (Authorization: Bearer ...) and MQTT (password), one per role:\n%s\n", strings.Join(roleToks, "\n"))
	}
	actx, cancel := context.WithCancel(ctx)
	defer cancel()
	var simErr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := rn.Run(actx); err != nil && !errors.Is(err, context.Canceled) {
			simErr = err
			cancel()
		}
	}()
	code := runApp(actx, e, a)
	cancel()
	wg.Wait()
	if simErr != nil {
		return fail(e, prog, fmt.Errorf("scenario: %w", simErr))
	}
	return code
}
