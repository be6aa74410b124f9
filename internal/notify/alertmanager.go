// Package notify sends tsingma's alerts on to Prometheus Alertmanager,
// which routes them to people (e-mail, chat, paging, any webhook) with its
// grouping, inhibition and silences: the notification engine is an
// existing one, not ours.
//
// Alertmanager's API v2 takes the alerts that fire, again and again (an
// alert not sent again within its resolve_timeout, 5 minutes by default,
// is taken as resolved), and an alert with endsAt set once it is
// resolved. The notifier keeps the open alerts, sends every change soon
// after it happens and all open alerts every Resend, and keeps what could
// not be sent for the next attempt.
package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tsingma/tsingma/internal/alert"
	"github.com/tsingma/tsingma/internal/bus"
)

// Config configures an Alertmanager notifier.
type Config struct {
	URL string   // Alertmanager's base URL, e.g. http://127.0.0.1:9093
	Bus *bus.Bus // alert changes arrive on it
	// Open returns the open alerts when the notifier starts (the engine's
	// OpenAlerts).
	Open func() []alert.Alert
	// Resend is how often every open alert is sent again; default 1 m.
	Resend time.Duration
	// Batch is how long a change waits for others to be sent with it;
	// default 1 s.
	Batch      time.Duration
	ConsoleURL string // the console's base URL, for each alert's generatorURL; may be empty
	Client     *http.Client
	Logger     *slog.Logger
	Now        func() time.Time
}

// Notifier posts alerts to Alertmanager. Run it once.
type Notifier struct {
	cfg      Config
	endpoint string
	sent     atomic.Int64 // alerts posted
	failed   atomic.Int64 // posts that failed
}

// New checks the configuration.
func New(cfg Config) (*Notifier, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("alertmanager URL %q: want http(s)://host:port", cfg.URL)
	}
	if cfg.Bus == nil {
		return nil, errors.New("notify: Config needs a Bus")
	}
	if cfg.Resend <= 0 {
		cfg.Resend = time.Minute
	}
	if cfg.Batch <= 0 {
		cfg.Batch = time.Second
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.Logger = cfg.Logger.With("component", "notify")
	return &Notifier{cfg: cfg, endpoint: strings.TrimRight(cfg.URL, "/") + "/api/v2/alerts"}, nil
}

// Stats are the notifier's counters.
type Stats struct{ Sent, Failed int64 }

// Stats returns the counters.
func (n *Notifier) Stats() Stats { return Stats{n.sent.Load(), n.failed.Load()} }

// amAlert is an alert in Alertmanager's API v2 form.
type amAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt,omitzero"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

func (n *Notifier) convert(a alert.Alert) amAlert {
	name := a.Rule
	if name == "" {
		name = strings.TrimPrefix(a.Source, "model:")
	}
	l, ann := a.Labels(name)
	l["tenant"] = a.Tenant
	if a.Value != nil {
		ann["value"] = strconv.FormatFloat(*a.Value, 'g', -1, 64)
		if a.Unit != "" {
			ann["value"] += " " + a.Unit
		}
	}
	out := amAlert{Labels: l, Annotations: ann, StartsAt: a.StartsAt}
	if a.State == alert.Cleared {
		out.EndsAt = a.ClearedAt
		if out.EndsAt.IsZero() {
			out.EndsAt = n.cfg.Now()
		}
	}
	if n.cfg.ConsoleURL != "" && a.Twin != "" {
		out.GeneratorURL = strings.TrimRight(n.cfg.ConsoleURL, "/") + "/#twin=" + url.QueryEscape(a.Twin)
	}
	return out
}

// Run sends until ctx is done.
func (n *Notifier) Run(ctx context.Context) {
	sub := n.cfg.Bus.Subscribe(bus.SubscribeOptions{Buffer: 4096, Filter: func(ev bus.Event) bool { return ev.Kind == "alert" }})
	defer sub.Close()
	open := map[string]alert.Alert{}    // id → the latest of each open alert
	pending := map[string]alert.Alert{} // changed, not sent yet (cleared ones too)
	if n.cfg.Open != nil {
		for _, a := range n.cfg.Open() {
			open[key(a)], pending[key(a)] = a, a
		}
	}
	resend := time.NewTicker(n.cfg.Resend)
	defer resend.Stop()
	var batch <-chan time.Time // armed by a change
	if len(pending) > 0 {
		batch = time.After(0)
	}
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-sub.C:
			if !ok {
				return
			}
			c, ok := ev.Data.(alert.Change)
			if !ok || c.Alert == nil {
				continue
			}
			a := *c.Alert
			a.Tenant = c.Tenant
			if a.State == alert.Cleared {
				delete(open, key(a))
			} else {
				open[key(a)] = a
			}
			pending[key(a)] = a
			if batch == nil {
				batch = time.After(n.cfg.Batch)
			}
		case <-batch:
			batch = nil
			if !n.post(ctx, pending) {
				batch = time.After(n.cfg.Batch * 5) // try again
			}
		case <-resend.C:
			if n.cfg.Open != nil {
				// The engine's open alerts are the truth: a change the bus
				// dropped (it drops for a slow subscriber) is mended here.
				now := map[string]alert.Alert{}
				for _, a := range n.cfg.Open() {
					now[key(a)] = a
				}
				for k, a := range open {
					if _, ok := now[k]; !ok {
						a.State, a.ClearedAt = alert.Cleared, n.cfg.Now()
						pending[k] = a
					}
				}
				open = now
			}
			for k, a := range open {
				if _, ok := pending[k]; !ok {
					pending[k] = a
				}
			}
			if !n.post(ctx, pending) && batch == nil {
				batch = time.After(n.cfg.Batch * 5)
			}
		}
	}
}

func key(a alert.Alert) string { return a.Tenant + "\x00" + a.ID }

// post sends the pending alerts and, when Alertmanager took them, forgets
// them.
func (n *Notifier) post(ctx context.Context, pending map[string]alert.Alert) bool {
	if len(pending) == 0 {
		return true
	}
	out := make([]amAlert, 0, len(pending))
	for _, a := range pending {
		out = append(out, n.convert(a))
	}
	body, err := json.Marshal(out)
	if err != nil {
		n.cfg.Logger.Error("encode alerts", "err", err)
		return false
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.endpoint, bytes.NewReader(body))
	if err != nil {
		return false
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := n.cfg.Client.Do(req)
	if err == nil {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			err = fmt.Errorf("status %d: %s", resp.StatusCode, bytes.TrimSpace(msg))
		}
	}
	if err != nil {
		n.failed.Add(1)
		if ctx.Err() == nil {
			n.cfg.Logger.Warn("alertmanager did not take the alerts; trying again", "url", n.endpoint, "alerts", len(out), "err", err)
		}
		return false
	}
	n.sent.Add(int64(len(out)))
	clear(pending)
	return true
}
