package cli

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"time"

	"github.com/tsingma/tsingma/internal/sim"
)

// runSim drives a running tsingma with the Hong Kong scenario.
func runSim(ctx context.Context, e *env, args []string) int {
	const prog = "tsingma sim"
	fs := flag.NewFlagSet("sim", flag.ContinueOnError)
	var sf scenarioFlags
	sf.register(fs)
	url := fs.String("url", "", "base URL of the running platform, e.g. http://127.0.0.1:8080 (required)")
	mqttAddr := fs.String("mqtt", "", "host:port of its MQTT broker; empty sends all telemetry over HTTP")
	duration := fs.Duration("duration", 0, "wall-clock time to run; 0 runs until interrupted")
	token := fs.String("token", "", "API token (HTTP bearer and MQTT password) for servers with authentication; default $TSINGMA_TOKEN")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: tsingma sim --url URL [flags]\n\nCreates the Hong Kong scenario's twins on a running server and streams their\n(synthetic) telemetry through its public API: HTTP and, with --mqtt, MQTT.\n\nflags:\n")
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, e, args); !ok {
		return code
	}
	if *token == "" {
		*token = e.getenv("TSINGMA_TOKEN")
	}
	if *url == "" {
		fmt.Fprintf(e.stderr, "%s: --url is required\n", prog)
		return 2
	}
	if *duration < 0 {
		fmt.Fprintf(e.stderr, "%s: --duration must not be negative\n", prog)
		return 2
	}
	if err := sf.check(); err != nil {
		fmt.Fprintf(e.stderr, "%s: %v\n", prog, err)
		return 2
	}
	w, err := sf.world()
	if err != nil {
		return fail(e, prog, err)
	}
	log := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	rcfg := sim.RunnerConfig{URL: *url, MQTTAddr: *mqttAddr, Speed: sf.speed, Event: sf.scenario, Duration: *duration, Token: *token, Logger: log}
	rn, err := sim.NewRunner(rcfg, w)
	if err != nil {
		fmt.Fprintf(e.stderr, "%s: %v\n", prog, err)
		return 2
	}
	from := time.Now().Add(-sf.history).Truncate(time.Hour)
	nw, resumed, err := sf.resume(w, func(twins []sim.Twin) (int64, error) { return rn.Newest(ctx, twins) })
	if err != nil {
		return fail(e, prog, err)
	}
	if !resumed.IsZero() {
		from, w = resumed, nw
		log.Info("scenario resumes after the data the server already holds", "at", resumed.UTC().Format(time.RFC3339))
		if rn, err = sim.NewRunner(rcfg, w); err != nil {
			return fail(e, prog, err)
		}
	}
	fmt.Fprintf(e.stdout, "tsingma sim: %d twins, seed %d, speed %gx, from %s\n", len(w.Twins()), sf.seed, sf.speed, from.UTC().Format(time.RFC3339))
	if err := rn.Run(ctx); err != nil {
		return fail(e, prog, err)
	}
	st := rn.Status()
	fmt.Fprintf(e.stdout, "tsingma sim: done at %s: %d samples over HTTP, %d over MQTT, %d rejected, %d position updates\n",
		time.UnixMilli(st.SimTime).UTC().Format(time.RFC3339), st.SamplesHTTP, st.SamplesMQTT, st.Rejected, st.Positions)
	return 0
}
