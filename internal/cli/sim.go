package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strings"
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
	from := time.Now().Add(-sf.history).Truncate(time.Hour)
	w, resumed, err := sf.resume(w, newestOverHTTP(ctx, *url, *token))
	if err != nil {
		return fail(e, prog, err)
	}
	if !resumed.IsZero() {
		from = resumed
		log.Info("scenario resumes after the data the server already holds", "at", resumed.UTC().Format(time.RFC3339))
	}
	rn, err := sim.NewRunner(sim.RunnerConfig{URL: *url, MQTTAddr: *mqttAddr, Speed: sf.speed, Event: sf.scenario, Duration: *duration, Token: *token, Logger: log}, w)
	if err != nil {
		fmt.Fprintf(e.stderr, "%s: %v\n", prog, err)
		return 2
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

// newestOverHTTP is resume's newest for a running server: the latest
// values of the scenario's twins, one /api/v1/latest request per type.
// A server that has none of them (a first run) gives math.MinInt64.
func newestOverHTTP(ctx context.Context, base, token string) func([]sim.Twin) (int64, error) {
	return func(twins []sim.Twin) (int64, error) {
		ids := map[string]bool{}
		var types []string
		for _, t := range twins {
			ids[t.ID] = true
			if !slices.Contains(types, t.Type) {
				types = append(types, t.Type)
			}
		}
		client := &http.Client{Timeout: 30 * time.Second}
		newest := int64(math.MinInt64)
		for _, typ := range types {
			req, err := http.NewRequestWithContext(ctx, "GET", strings.TrimRight(base, "/")+"/api/v1/latest?limit=10000&type="+url.QueryEscape(typ), nil)
			if err != nil {
				return 0, err
			}
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			resp, err := client.Do(req)
			if err != nil {
				return 0, err
			}
			var page struct {
				Items []struct {
					Twin     string `json:"twin"`
					Channels map[string]struct {
						TS int64 `json:"ts"`
					} `json:"channels"`
				} `json:"items"`
			}
			err = json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&page)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return 0, fmt.Errorf("GET /api/v1/latest?type=%s: %s", typ, resp.Status)
			}
			if err != nil {
				return 0, fmt.Errorf("GET /api/v1/latest?type=%s: %w", typ, err)
			}
			for _, it := range page.Items {
				if !ids[it.Twin] {
					continue
				}
				for _, p := range it.Channels {
					newest = max(newest, p.TS)
				}
			}
		}
		return newest, nil
	}
}
