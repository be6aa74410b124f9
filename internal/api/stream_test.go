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

// TestStreamTypeFilterAndCeiling: a stream filtered by type gets the
// samples of its type only, and the server serves at most MaxStreams
// streams at once: one more is a 503 problem with Retry-After, and a slot
// is free again once a stream ends. (500 streams had cut HTTP ingest by
// 80%; 120 filtered by a type that matched nothing, by 47%.)
func TestStreamTypeFilterAndCeiling(t *testing.T) {
	f := newFixture(t)
	f.api.cfg.MaxStreams = 2
	f.do(t, "PUT", "/api/v1/twins/g1", "application/json", gauge)
	f.do(t, "PUT", "/api/v1/twins/s1", "application/json", `{"type":"piezometer","geometry":{"type":"Point","coordinates":[114.17,22.3]}}`)
	open := func(ctx context.Context, q string) (*http.Response, *bufio.Reader) {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, "GET", f.srv.URL+"/api/v1/stream?"+q, nil)
		resp, err := f.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(resp.Body)
		if resp.StatusCode == 200 {
			br.ReadString('\n') // the comment line: the subscription exists now
		}
		return resp, br
	}
	ctx1, cancel1 := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel1()
	r1, br := open(ctx1, "type=piezometer&kinds=samples")
	defer r1.Body.Close()
	ctx2, cancel2 := context.WithTimeout(t.Context(), 10*time.Second)
	r2, _ := open(ctx2, "type=rain-gauge")
	r3, _ := open(t.Context(), "type=rain-gauge")
	defer r3.Body.Close()
	if r3.StatusCode != 503 || r3.Header.Get("Retry-After") == "" || r3.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("a third stream: %d %v", r3.StatusCode, r3.Header)
	}
	// The second ends; its slot is taken again.
	cancel2()
	r2.Body.Close()
	var r4 *http.Response
	for i := 0; i < 100; i++ {
		if r4, _ = open(streamCtx(t), "type=rain-gauge"); r4.StatusCode == 200 {
			break
		}
		r4.Body.Close()
		time.Sleep(20 * time.Millisecond)
	}
	if r4.StatusCode != 200 {
		t.Fatalf("after a stream ended: %d", r4.StatusCode)
	}
	defer r4.Body.Close()
	ts := f.now.Add(-time.Minute).UnixMilli()
	for i, body := range []string{
		fmt.Sprintf(`{"twin":"g1","ts":%d,"values":{"rainfall":1}}`, ts),
		fmt.Sprintf(`{"twin":"s1","ts":%d,"values":{"porePressure":12.5}}`, ts+1),
	} {
		if code, _, b := f.do(t, "POST", "/api/v1/telemetry", "application/json", body); code != 200 {
			t.Fatalf("post %d: %s", i, b)
		}
	}
	got := readEvents(t, br, 1)
	if want := fmt.Sprintf(`samples [{"twin":"s1","channel":"porePressure","type":"piezometer","ts":%d,"value":12.5}]`, ts+1); got[0] != want {
		t.Fatalf("got  %s\nwant %s", got[0], want)
	}
}

func streamCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}
