package api

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tsingma/tsingma/internal/bus"
	"github.com/tsingma/tsingma/internal/telemetry"
)

// readEvents returns "event data" strings from an SSE body until n events.
func readEvents(t *testing.T, br *bufio.Reader, n int) []string {
	t.Helper()
	var out []string
	var ev string
	for len(out) < n {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("read stream: %v (got %v)", err, out)
		}
		line = strings.TrimRight(line, "\n")
		switch {
		case strings.HasPrefix(line, "event: "):
			ev = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			if strings.Contains(line, `.anomaly"`) {
				continue // anomaly scores of the same twin
			}
			out = append(out, ev+" "+strings.TrimPrefix(line, "data: "))
		}
	}
	return out
}

func TestStreamFiltersAndOrder(t *testing.T) {
	f := newFixture(t)
	f.do(t, "PUT", "/api/v1/twins/g1", "application/json", gauge)
	f.do(t, "PUT", "/api/v1/twins/g2", "application/json", gauge)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", f.srv.URL+"/api/v1/stream?twin=g2&kinds=samples", nil)
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	br := bufio.NewReader(resp.Body)
	br.ReadString('\n') // the comment line: the subscription exists now
	ts := f.now.Add(-time.Minute).UnixMilli()
	for i, tw := range []string{"g1", "g2", "g1", "g2"} {
		code, _, body := f.do(t, "POST", "/api/v1/telemetry", "application/json", fmt.Sprintf(`{"twin":%q,"ts":%d,"values":{"rainfall":%d}}`, tw, ts+int64(i), i))
		if code != 200 {
			t.Fatal(body)
		}
	}
	got := readEvents(t, br, 2)
	want := []string{
		fmt.Sprintf(`samples [{"twin":"g2","channel":"rainfall","type":"rain-gauge","ts":%d,"value":1}]`, ts+1),
		fmt.Sprintf(`samples [{"twin":"g2","channel":"rainfall","type":"rain-gauge","ts":%d,"value":3}]`, ts+3),
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("event %d:\ngot  %s\nwant %s", i, got[i], want[i])
		}
	}
}

// TestSlowConsumerIsCutOff fills a subscriber that never reads: publishing
// never blocks, and the subscription ends in overflow.
func TestSlowConsumerIsCutOff(t *testing.T) {
	b := bus.New()
	sub := b.Subscribe(bus.SubscribeOptions{Buffer: 4, CutOff: true})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 100; i++ {
			b.PublishSamples([]telemetry.Sample{{Tenant: "default", Twin: "x", Channel: "c", TS: int64(i)}})
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Publish blocked on a slow consumer")
	}
	n := 0
	for range sub.C {
		n++
	}
	if !sub.Overflowed() || n != 4 {
		t.Fatalf("got overflowed=%v after %d events, want true after 4", sub.Overflowed(), n)
	}
	if b.Len() != 0 {
		t.Fatalf("bus still has %d subscribers", b.Len())
	}
}
