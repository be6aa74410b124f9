package cli

import (
	"context"
	"flag"
	"fmt"
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
	httpClients := fs.Int("http-clients", 8, "concurrent HTTP clients")
	mqttClients := fs.Int("mqtt-clients", 64, "concurrent MQTT clients")
	window := fs.Int("window", 8, "QoS 1 messages in flight per MQTT client")
	series := fs.Int("series", 100_000, "series for the memory and restart phase")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run (server and load generators) to this file")
	if code, ok := parseFlags(fs, e, args); !ok {
		return code
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
	_, err := ingest.Run(ctx, ingest.Config{
		Duration: *dur, Twins: *twins, Channels: *chans, Batch: *batch, HTTPClients: *httpClients, MQTTClients: *mqttClients, Window: *window,
		VM: peers["victoriametrics"], Mosquitto: peers["mosquitto"], StartPeers: *startPeers, Series: *series, Out: e.stdout,
	})
	if err != nil {
		return fail(e, "tsingma bench ingest", err)
	}
	return 0
}
