package cli

import (
	"context"
	"flag"
	"fmt"
	neturl "net/url"
	"os"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/tsingma/tsingma/internal/bench/ingest"
)

// peerFlags collects repeated --peer name=address flags.
type peerFlags map[string]string

func (p peerFlags) String() string { return fmt.Sprint(map[string]string(p)) }
func (p peerFlags) Set(v string) error {
	name, addr, ok := strings.Cut(v, "=")
	if !ok || addr == "" || (name != "victoriametrics" && name != "mosquitto") {
		return fmt.Errorf("want victoriametrics=URL or mosquitto=HOST:PORT, got %q", v)
	}
	p[name] = addr
	return nil
}

func runBenchIngest(ctx context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("bench ingest", flag.ContinueOnError)
	peers := peerFlags{}
	fs.Var(peers, "peer", "peer to load in the same run: victoriametrics=URL or mosquitto=HOST:PORT (repeatable)")
	startPeers := fs.Bool("start-peers", true, "start victoria-metrics and mosquitto from PATH for peers not given with --peer")
	dur := fs.Duration("duration", 6*time.Second, "time per phase and target")
	twins := fs.Int("twins", 1000, "twins (each with --channels series)")
	chans := fs.Int("channels", 10, "channels per twin")
	batch := fs.Int("batch", 1000, "samples per HTTP request")
	httpClients := fs.Int("http-clients", 64, "concurrent HTTP clients, each with one request in flight (the same for every target)")
	mqttClients := fs.Int("mqtt-clients", 64, "concurrent MQTT clients")
	window := fs.Int("window", 8, "QoS 1 messages in flight per MQTT client")
	series := fs.Int("series", 100_000, "series for the memory and restart phase")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run (server and load generators) to this file")
	url := fs.String("url", "", "benchmark a running tsingma at this base URL (e.g. http://127.0.0.1:8080) instead of one started in process")
	token := fs.String("token", "", "access token for --url (Bearer, and the MQTT password); also TSINGMA_TOKEN")
	mqttAddr := fs.String("mqtt", "", "MQTT host:port of the --url server (empty: no MQTT phases)")
	procs := fs.Int("procs", 0, "GOMAXPROCS of this process when the server runs in it, as tsingma serve --procs (0: the GOMAXPROCS variable if set, else the usable CPUs plus one, plus one per anomaly scoring worker)")
	if code, ok := parseFlags(fs, e, args); !ok {
		return code
	}
	// The runner would take a value below 1 as "the default"; on the
	// command line it is a mistake.
	for name, v := range map[string]int{"twins": *twins, "channels": *chans, "batch": *batch, "http-clients": *httpClients,
		"mqtt-clients": *mqttClients, "window": *window, "series": *series} {
		if v < 1 {
			fmt.Fprintf(e.stderr, "tsingma bench ingest: --%s must be at least 1, got %d\n", name, v)
			return 2
		}
	}
	if *dur <= 0 {
		fmt.Fprintf(e.stderr, "tsingma bench ingest: --duration must be positive, got %s\n", *dur)
		return 2
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fail(e, "tsingma bench ingest", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fail(e, "tsingma bench ingest", err)
		}
		defer pprof.StopCPUProfile()
	}
	if *url == "" && (*token != "" || *mqttAddr != "") {
		fmt.Fprintln(e.stderr, "tsingma bench ingest: --token and --mqtt go with --url")
		return 2
	}
	if *url != "" {
		if u, err := neturl.Parse(*url); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			fmt.Fprintf(e.stderr, "tsingma bench ingest: --url %q: want http://host:port\n", *url)
			return 2
		}
		if *token == "" {
			*token = os.Getenv("TSINGMA_TOKEN")
		}
	}
	shards := 0
	if *url == "" {
		var undo func()
		var err error
		shards, undo, err = setProcs(e, *procs, true)
		if err != nil {
			fmt.Fprintf(e.stderr, "tsingma bench ingest: %v\n", err)
			return 2
		}
		defer undo()
	}
	_, err := ingest.Run(ctx, ingest.Config{URL: *url, Token: *token, MQTT: *mqttAddr,
		Duration: *dur, Twins: *twins, Channels: *chans, Batch: *batch, HTTPClients: *httpClients, MQTTClients: *mqttClients, Window: *window,
		VM: peers["victoriametrics"], Mosquitto: peers["mosquitto"], StartPeers: *startPeers, Series: *series, Out: e.stdout, AnomalyShards: shards,
	})
	if err != nil {
		return fail(e, "tsingma bench ingest", err)
	}
	return 0
}
