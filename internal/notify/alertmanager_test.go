package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tsingma/tsingma/internal/alert"
	"github.com/tsingma/tsingma/internal/bus"
	"github.com/tsingma/tsingma/internal/testenv"
)

func TestMain(m *testing.M) { testenv.MainWithLeakCheck(m) }

// fakeAM records what is posted to /api/v2/alerts; fail makes it answer 503.
type fakeAM struct {
	mu    sync.Mutex
	posts [][]amAlert
	fail  atomic.Bool
}

func (f *fakeAM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != "POST" || r.URL.Path != "/api/v2/alerts" {
		http.NotFound(w, r)
		return
	}
	if f.fail.Load() {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	var got []amAlert
	if err := json.NewDecoder(r.Body).Decode(&got); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	f.mu.Lock()
	f.posts = append(f.posts, got)
	f.mu.Unlock()
}

// waitFor returns the first alert posted after from (a post index) that
// pred accepts.
func (f *fakeAM) waitFor(t *testing.T, from int, pred func(amAlert) bool) (amAlert, int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		f.mu.Lock()
		for i := from; i < len(f.posts); i++ {
			for _, a := range f.posts[i] {
				if pred(a) {
					f.mu.Unlock()
					return a, i + 1
				}
			}
		}
		f.mu.Unlock()
	}
	t.Fatal("no such alert posted")
	return amAlert{}, 0
}

func raised(id, twin string) alert.Alert {
	v := 42.0
	return alert.Alert{ID: id, Tenant: "default", Source: "rule:heavy", Rule: "heavy", Twin: twin, Type: "rain-gauge", Channel: "rainfall",
		Severity: alert.Critical, State: alert.Raised, Summary: "rainfall >= 30 mm", Value: &v, Unit: "mm", StartsAt: time.Unix(1000, 0).UTC()}
}

// TestNotifier: open alerts at start, raised and cleared ones as they
// change, all open ones again every Resend, what Alertmanager refused
// until it takes it, and a clearing the bus dropped, from the engine's
// own list.
func TestNotifier(t *testing.T) {
	am := &fakeAM{}
	srv := httptest.NewServer(am)
	defer srv.Close()
	b := bus.New()
	var open atomic.Value
	open.Store([]alert.Alert{raised("1", "g1")})
	n, err := New(Config{URL: srv.URL, Bus: b, Open: func() []alert.Alert { return open.Load().([]alert.Alert) },
		Resend: 200 * time.Millisecond, Batch: 10 * time.Millisecond, ConsoleURL: "https://tsingma.example/"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { n.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	a, i := am.waitFor(t, 0, func(a amAlert) bool { return a.Labels["twin"] == "g1" })
	want := map[string]string{"alertname": "heavy", "severity": "critical", "source": "rule:heavy", "tenant": "default", "twin": "g1", "type": "rain-gauge", "channel": "rainfall", "rule": "heavy"}
	if fmt.Sprint(a.Labels) != fmt.Sprint(want) || a.Annotations["value"] != "42 mm" || !a.EndsAt.IsZero() || a.GeneratorURL != "https://tsingma.example/#twin=g1" {
		t.Fatalf("open at start: %+v", a)
	}
	time.Sleep(50 * time.Millisecond) // the bus subscription is made at Run's start
	a2 := raised("2", "g2")
	b.Publish(bus.Event{Kind: "alert", Tenant: "default", Data: alert.Change{Tenant: "default", Action: "raised", Alert: &a2}})
	_, i = am.waitFor(t, i, func(a amAlert) bool { return a.Labels["twin"] == "g2" && a.EndsAt.IsZero() })
	open.Store([]alert.Alert{raised("1", "g1"), a2})
	// Alertmanager down: the clearing waits, and is sent once it is back.
	am.fail.Store(true)
	c2 := a2
	c2.State, c2.ClearedAt = alert.Cleared, time.Unix(2000, 0).UTC()
	b.Publish(bus.Event{Kind: "alert", Tenant: "default", Data: alert.Change{Tenant: "default", Action: "cleared", Alert: &c2}})
	open.Store([]alert.Alert{raised("1", "g1")})
	time.Sleep(100 * time.Millisecond)
	am.fail.Store(false)
	if a, _ := am.waitFor(t, i, func(a amAlert) bool { return a.Labels["twin"] == "g2" && !a.EndsAt.IsZero() }); !a.EndsAt.Equal(c2.ClearedAt) {
		t.Fatalf("cleared: %+v", a)
	}
	if n.Stats().Failed == 0 {
		t.Fatal("no failed post counted")
	}
	// The open one is sent again; one whose clearing never came on the
	// bus is resolved from the engine's list.
	_, i = am.waitFor(t, i, func(a amAlert) bool { return a.Labels["twin"] == "g1" && a.EndsAt.IsZero() })
	open.Store([]alert.Alert{})
	am.waitFor(t, i, func(a amAlert) bool { return a.Labels["twin"] == "g1" && !a.EndsAt.IsZero() })
}

// TestRealAlertmanager: Debian's Alertmanager takes the notifier's alerts
// and lists them with their labels, and takes their resolution.
func TestRealAlertmanager(t *testing.T) {
	bin, err := exec.LookPath("prometheus-alertmanager")
	if err != nil {
		testenv.Missing(t, "prometheus-alertmanager (Debian package prometheus-alertmanager)")
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "am.yml")
	os.WriteFile(cfg, []byte("route:\n  receiver: none\nreceivers:\n  - name: none\n"), 0o644)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin, "--config.file="+cfg, "--storage.path="+dir, "--web.listen-address="+addr, "--cluster.listen-address=")
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	base := "http://" + addr
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get(base + "/-/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("alertmanager did not start")
		}
	}
	b := bus.New()
	n, err := New(Config{URL: base, Bus: b, Batch: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { n.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	time.Sleep(50 * time.Millisecond)
	a := raised("7", "g7")
	a.StartsAt = time.Now().Add(-time.Minute).UTC()
	b.Publish(bus.Event{Kind: "alert", Tenant: "default", Data: alert.Change{Tenant: "default", Action: "raised", Alert: &a}})
	type listed struct {
		Labels map[string]string
		Status struct{ State string }
	}
	list := func() []listed {
		resp, err := http.Get(base + "/api/v2/alerts")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out []listed
		json.NewDecoder(resp.Body).Decode(&out)
		return out
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if got := list(); len(got) == 1 && got[0].Labels["twin"] == "g7" && got[0].Labels["alertname"] == "heavy" && got[0].Status.State == "active" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("alertmanager lists %+v", list())
		}
	}
	c := a
	c.State, c.ClearedAt = alert.Cleared, time.Now().UTC()
	b.Publish(bus.Event{Kind: "alert", Tenant: "default", Data: alert.Change{Tenant: "default", Action: "cleared", Alert: &c}})
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if len(list()) == 0 { // resolved alerts are not listed
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still listed after its resolution: %+v", list())
		}
	}
	if n.Stats().Failed != 0 {
		t.Fatalf("%d posts failed", n.Stats().Failed)
	}
}
