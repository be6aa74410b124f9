package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// RunnerConfig configures a Runner.
type RunnerConfig struct {
	URL      string        // the platform's base URL, e.g. http://127.0.0.1:8080
	MQTTAddr string        // host:port of its MQTT broker; empty sends everything over HTTP
	Speed    float64       // simulated seconds per wall second; default 60
	Event    string        // event to trigger once the twins exist; empty none
	Duration time.Duration // wall time to run; 0 until ctx is done
	Token    string        // API token: HTTP "Authorization: Bearer", MQTT CONNECT password; empty for --no-auth servers
	Client   *http.Client  // nil: a client with a 30 s timeout
	Logger   *slog.Logger  // nil: discard
	Now      func() time.Time
}

// MaxSpeed bounds Speed.
const MaxSpeed = 3600

// Runner feeds a World's telemetry into a running platform through its
// public API: twins and types over HTTP, field-device telemetry over MQTT,
// data-logger uploads over HTTP. Create it with NewRunner, call Run; the
// control methods (Status, Trigger, SetSpeed, Handler) are safe for
// concurrent use while it runs.
type Runner struct {
	cfg  RunnerConfig
	log  *slog.Logger
	w    *World
	base *url.URL

	mu       sync.Mutex
	eng      *Engine
	speed    float64
	anchorW  time.Time // wall time of the last speed change
	anchorS  int64     // simulated ms at anchorW
	pending  []string  // events to trigger at the next tick
	effSpeed float64
	ready    bool

	vehicles map[string]Twin
	viaMQTT  map[string]bool // twin types sent over MQTT

	sentHTTP, sentMQTT, rejected, positions atomic.Int64
	lastErr                                 atomic.Value // string
}

// NewRunner validates cfg.
func NewRunner(cfg RunnerConfig, w *World) (*Runner, error) {
	if w == nil {
		return nil, errors.New("sim: no world")
	}
	u, err := url.Parse(strings.TrimSuffix(cfg.URL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("sim: --url must be http://host:port, got %q", cfg.URL)
	}
	if cfg.Speed == 0 {
		cfg.Speed = 60
	}
	if cfg.Speed < 1 || cfg.Speed > MaxSpeed {
		return nil, fmt.Errorf("sim: speed must be between 1 and %d, got %g", MaxSpeed, cfg.Speed)
	}
	if cfg.Event != "" && !validEvent(cfg.Event) {
		return nil, fmt.Errorf("sim: scenario %q: %w", cfg.Event, ErrUnknownEvent)
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 30 * time.Second}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	r := &Runner{cfg: cfg, log: cfg.Logger.With("component", "sim"), w: w, base: u, eng: NewEngine(w), speed: cfg.Speed,
		vehicles: map[string]Twin{}, viaMQTT: map[string]bool{}}
	for _, t := range w.Twins() {
		if t.Type == "vehicle" {
			r.vehicles[t.ID] = t
		}
	}
	if cfg.MQTTAddr != "" {
		for _, t := range []string{"bridge-sensor", "vehicle", "building-site", "rack", "cooling-unit", "compute-cluster", "data-hall"} {
			r.viaMQTT[t] = true
		}
	}
	if cfg.Event != "" {
		r.pending = append(r.pending, cfg.Event)
	}
	r.lastErr.Store("")
	return r, nil
}

func validEvent(name string) bool {
	for _, n := range EventNames {
		if n == name {
			return true
		}
	}
	return false
}

func (r *Runner) url(path string) string { return r.base.String() + path }

func (r *Runner) do(ctx context.Context, method, path, ctype string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, r.url(path), bytes.NewReader(body))
	if err != nil {
		return err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if r.cfg.Token != "" {
		req.Header.Set("Authorization", "Bearer "+r.cfg.Token)
	}
	resp, err := r.cfg.Client.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("%s %s: read response: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(b[:min(len(b), 400)]))
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s %s: decode response: %w", method, path, err)
		}
	}
	return nil
}

// Newest returns the newest timestamp (Unix ms) the server holds for any
// channel of twins, or math.MinInt64 when it holds none (a first run):
// one /api/v1/latest request per type.
func (r *Runner) Newest(ctx context.Context, twins []Twin) (int64, error) {
	ids := map[string]bool{}
	var types []string
	for _, t := range twins {
		ids[t.ID] = true
		if !slices.Contains(types, t.Type) {
			types = append(types, t.Type)
		}
	}
	newest := int64(math.MinInt64)
	for _, typ := range types {
		var page struct {
			Items []struct {
				Twin     string `json:"twin"`
				Channels map[string]struct {
					TS int64 `json:"ts"`
				} `json:"channels"`
			} `json:"items"`
		}
		if err := r.do(ctx, "GET", "/api/v1/latest?limit=10000&type="+url.QueryEscape(typ), "", nil, &page); err != nil {
			return 0, err
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

// Setup creates the extra types and upserts every twin, stage by stage.
func (r *Runner) Setup(ctx context.Context) error {
	for _, t := range r.w.Types {
		b, _ := json.Marshal(t)
		if err := r.do(ctx, "PUT", "/api/v1/types/"+t["name"].(string), "application/json", b, nil); err != nil {
			return fmt.Errorf("create type: %w", err)
		}
	}
	for i, stage := range r.w.Stages {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		for _, t := range stage {
			if err := enc.Encode(t); err != nil {
				return err
			}
		}
		var res struct {
			Upserted, Failed int
			Results          []struct {
				Line  int
				ID    string
				Error *struct{ Detail string }
			}
		}
		if err := r.do(ctx, "POST", "/api/v1/twins/_bulk", "application/x-ndjson", buf.Bytes(), &res); err != nil {
			return fmt.Errorf("create twins (stage %d): %w", i+1, err)
		}
		if res.Failed > 0 {
			for _, x := range res.Results {
				if x.Error != nil {
					return fmt.Errorf("create twins (stage %d): %d failed; first: %s: %s", i+1, res.Failed, x.ID, x.Error.Detail)
				}
			}
		}
	}
	r.mu.Lock()
	r.ready = true
	r.mu.Unlock()
	return nil
}

// Status is the scenario's state as GET /api/v1/scenario shows it.
type Status struct {
	Scenario       string      `json:"scenario"`
	Seed           uint64      `json:"seed"`
	Ready          bool        `json:"ready"`
	Speed          float64     `json:"speed"`
	EffectiveSpeed float64     `json:"effectiveSpeed"`
	SimTime        int64       `json:"simTime"`
	Start          int64       `json:"start"`
	CaughtUp       bool        `json:"caughtUp"`
	Events         []EventInfo `json:"events"`
	Twins          int         `json:"twins"`
	SamplesHTTP    int64       `json:"samplesHttp"`
	SamplesMQTT    int64       `json:"samplesMqtt"`
	Rejected       int64       `json:"rejected"`
	Positions      int64       `json:"positions"`
	LastError      string      `json:"lastError,omitempty"`
	Focus          Focus       `json:"focus"`
}

// Focus names the scenario's key twins so a console can jump to them.
type Focus struct {
	Bridge      string   `json:"bridge"`
	Site        string   `json:"site"`
	Depot       string   `json:"depot"`
	Warehouse   string   `json:"warehouse"`
	Hall        string   `json:"hall"`
	Susceptible []string `json:"susceptible"`
}

// Status reports the scenario's state.
func (r *Runner) Status() Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.eng.Now()
	return Status{Scenario: ScenarioName, Seed: r.w.cfg.Seed, Ready: r.ready, Speed: r.speed, EffectiveSpeed: r.effSpeed,
		SimTime: now, Start: r.w.cfg.Start.UnixMilli(), CaughtUp: r.cfg.Now().UnixMilli()-now < 2*Tick.Milliseconds()*int64(max(1, r.speed)),
		Events: r.eng.Events(), Twins: len(r.w.Twins()), SamplesHTTP: r.sentHTTP.Load(), SamplesMQTT: r.sentMQTT.Load(),
		Rejected: r.rejected.Load(), Positions: r.positions.Load(), LastError: r.lastErr.Load().(string),
		Focus: Focus{Bridge: "tsing-ma-bridge", Site: r.w.site, Depot: "depot-kwu-tung", Warehouse: "wh-kwu-tung", Hall: r.w.hall, Susceptible: r.w.Susceptible}}
}

// Trigger queues an event; it starts at the next tick.
func (r *Runner) Trigger(name string) error {
	if !validEvent(name) {
		return fmt.Errorf("%q: %w", name, ErrUnknownEvent)
	}
	r.mu.Lock()
	r.pending = append(r.pending, name)
	r.mu.Unlock()
	return nil
}

// SetSpeed changes how fast simulated time runs.
func (r *Runner) SetSpeed(x float64) error {
	if !(x >= 1 && x <= MaxSpeed) {
		return fmt.Errorf("speed must be between 1 and %d, got %g", MaxSpeed, x)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.cfg.Now()
	r.anchorS = r.target(now)
	r.anchorW = now
	r.speed = x
	return nil
}

// target is where simulated time should be at wall time now: it runs at
// speed from the anchor, but never ahead of the wall clock (the platform
// refuses samples from the future).
func (r *Runner) target(now time.Time) int64 {
	t := r.anchorS + int64(float64(now.Sub(r.anchorW).Milliseconds())*r.speed)
	return min(t, now.UnixMilli()-1000)
}

// Run creates the twins, then streams telemetry until ctx is done or the
// duration has passed. It closes its MQTT connection before returning.
func (r *Runner) Run(ctx context.Context) error {
	if r.cfg.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, r.cfg.Duration)
		defer cancel()
	}
	if err := r.Setup(ctx); err != nil {
		return err
	}
	// Several connections, as field gateways would have: a broker
	// acknowledges QoS 1 publishes of one connection in order, each after
	// its fsync, so one connection would bound the rate by the disk's
	// latency.
	var mc []mqtt.Client
	if r.cfg.MQTTAddr != "" {
		for i := 0; i < mqttConns; i++ {
			opts := mqtt.NewClientOptions().AddBroker("tcp://" + r.cfg.MQTTAddr).
				SetClientID(fmt.Sprintf("tsingma-sim-%d-gw%d-%d", r.w.cfg.Seed, i, r.cfg.Now().UnixNano()%1e6)).
				SetCleanSession(true).SetAutoReconnect(true).SetConnectTimeout(10 * time.Second).SetOrderMatters(false).
				// A publish blocks for up to this long when the connection is
				// going (paho's default is 30 s a message, which held a demo's
				// shutdown for minutes).
				SetWriteTimeout(2 * time.Second)
			if r.cfg.Token != "" {
				opts.SetUsername("tsingma-sim").SetPassword(r.cfg.Token)
			}
			c := mqtt.NewClient(opts)
			tok := c.Connect()
			if !tok.WaitTimeout(15*time.Second) || tok.Error() != nil {
				return fmt.Errorf("mqtt connect %s: %v", r.cfg.MQTTAddr, tok.Error())
			}
			defer c.Disconnect(250)
			mc = append(mc, c)
		}
	}
	r.mu.Lock()
	r.anchorW, r.anchorS = r.cfg.Now(), r.eng.Now()
	r.mu.Unlock()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	lastPos := time.Time{}
	latestPos := map[string]Position{}
	lastW, lastS := r.cfg.Now(), r.eng.Now()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		var b Batch
		r.mu.Lock()
		for _, ev := range r.pending {
			if err := r.eng.Trigger(ev); err != nil {
				r.log.Warn("trigger", "event", ev, "err", err)
			}
		}
		r.pending = r.pending[:0]
		now := r.cfg.Now()
		tgt := r.target(now)
		// Bound the work per round so a high speed cannot build huge batches.
		if lim := r.eng.Now() + int64(r.speed)*1000; tgt > lim {
			tgt = lim
			r.anchorS, r.anchorW = tgt, now // fall back rather than race ahead
		}
		r.eng.Advance(tgt, &b)
		if d := now.Sub(lastW).Seconds(); d >= 2 {
			r.effSpeed = float64(r.eng.Now()-lastS) / 1000 / d
			lastW, lastS = now, r.eng.Now()
		}
		r.mu.Unlock()
		if err := r.send(ctx, mc, b.Samples); err != nil && ctx.Err() == nil {
			r.lastErr.Store(err.Error())
			r.log.Warn("send telemetry", "err", err)
		}
		for _, p := range b.Positions {
			latestPos[p.Twin] = p
		}
		if len(latestPos) > 0 && now.Sub(lastPos) >= time.Second {
			if err := r.sendPositions(ctx, latestPos); err != nil && ctx.Err() == nil {
				r.lastErr.Store(err.Error())
				r.log.Warn("send positions", "err", err)
			}
			clear(latestPos)
			lastPos = now
		}
	}
}

const mqttConns = 8

func fnv32(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h = (h ^ uint32(s[i])) * 16777619
	}
	return h
}

// typeOf maps a twin id to its type (ids carry the kind in their prefix).
func (r *Runner) typeOf(id string) string {
	switch {
	case strings.HasPrefix(id, "tm-"):
		return "bridge-sensor"
	case strings.HasPrefix(id, "veh-"):
		return "vehicle"
	case strings.HasPrefix(id, "site-"):
		return "building-site"
	case strings.HasPrefix(id, "rack-"):
		return "rack"
	case strings.HasPrefix(id, "crah-"):
		return "cooling-unit"
	case strings.HasPrefix(id, "gpu-pod-"):
		return "compute-cluster"
	case strings.HasPrefix(id, "dc-"):
		return "data-hall"
	}
	return ""
}

type wireSample struct {
	Twin    string  `json:"twin"`
	Channel string  `json:"channel"`
	TS      int64   `json:"ts"`
	Value   float64 `json:"value"`
}

func (r *Runner) send(ctx context.Context, mc []mqtt.Client, samples []Sample) error {
	var viaHTTP []wireSample
	type key struct {
		twin string
		ts   int64
	}
	msgs := map[key]map[string]float64{}
	var order []key
	for _, s := range samples {
		if len(mc) > 0 && r.viaMQTT[r.typeOf(s.Twin)] {
			k := key{s.Twin, s.TS}
			m, ok := msgs[k]
			if !ok {
				m = map[string]float64{}
				msgs[k] = m
				order = append(order, k)
			}
			m[s.Channel] = s.Value
			continue
		}
		viaHTTP = append(viaHTTP, wireSample(s))
	}
	var errs []error
	var toks []mqtt.Token
	n := 0
	for _, k := range order {
		if ctx.Err() != nil {
			break // stopping: what is not sent is not acknowledged either
		}
		body, _ := json.Marshal(struct {
			TS     int64              `json:"ts"`
			Values map[string]float64 `json:"values"`
		}{k.ts, msgs[k]})
		c := mc[int(fnv32(k.twin)%uint32(len(mc)))]
		toks = append(toks, c.Publish("tsingma/v1/twins/"+k.twin+"/telemetry", 1, false, body))
		n += len(msgs[k])
	}
	for i := 0; i < len(viaHTTP); i += 5000 {
		chunk := viaHTTP[i:min(i+5000, len(viaHTTP))]
		body, _ := json.Marshal(map[string]any{"samples": chunk})
		var res struct{ Accepted, Rejected int64 }
		if err := r.do(ctx, "POST", "/api/v1/telemetry", "application/json", body, &res); err != nil {
			errs = append(errs, err)
			continue
		}
		r.sentHTTP.Add(res.Accepted)
		r.rejected.Add(res.Rejected)
	}
	timeout := time.NewTimer(30 * time.Second)
	defer timeout.Stop()
waitAcks:
	for _, t := range toks {
		select {
		case <-t.Done():
		case <-ctx.Done():
			return errors.Join(append(errs, ctx.Err())...)
		case <-timeout.C:
			errs = append(errs, errors.New("mqtt publish: no PUBACK within 30s"))
			break waitAcks
		}
		if t.Error() != nil {
			errs = append(errs, fmt.Errorf("mqtt publish: %w", t.Error()))
			break
		}
	}
	if len(errs) == 0 {
		r.sentMQTT.Add(int64(n))
	}
	return errors.Join(errs...)
}

func (r *Runner) sendPositions(ctx context.Context, pos map[string]Position) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	ids := make([]string, 0, len(pos))
	for id := range pos {
		ids = append(ids, id)
	}
	for _, id := range sortedStrings(ids) {
		t := r.vehicles[id]
		t.Geometry = point(pos[id].Pos)
		t.Labels = map[string]string{LabelScenario: ScenarioName, "layer": "fleet", "positionTs": strconv.FormatInt(pos[id].TS, 10)}
		if err := enc.Encode(t); err != nil {
			return err
		}
	}
	if err := r.do(ctx, "POST", "/api/v1/twins/_bulk", "application/x-ndjson", buf.Bytes(), nil); err != nil {
		return err
	}
	r.positions.Add(int64(len(pos)))
	return nil
}
