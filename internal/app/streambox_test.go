package app

import (
	"bufio"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestStreamBoxFollowsMovingTwins: a live stream filtered by a bounding
// box follows twins across its edge: a vehicle driving into the box is
// streamed from then on, one driving out is not. (The box's twins were
// fixed when the stream started.) Twin events themselves are sent only
// when asked for.
func TestStreamBoxFollowsMovingTwins(t *testing.T) {
	r := start(t)
	tok := r.toks["admin"]
	point := func(lon float64) string {
		return `{"type":"vehicle","geometry":{"type":"Point","coordinates":[` + strings.TrimRight(strings.TrimRight(strconvF(lon), "0"), ".") + `,22.3]}}`
	}
	for id, lon := range map[string]float64{"in": 114.15, "out": 114.35} {
		if code, body, _ := r.do(t, tok, "PUT", "/api/v1/twins/"+id, point(lon)); code != 201 {
			t.Fatal(code, body)
		}
	}
	req, _ := http.NewRequestWithContext(t.Context(), "GET", r.base+"/api/v1/stream?kinds=samples&bbox=114.1,22.2,114.2,22.4", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("stream: %v %v", resp, err)
	}
	defer resp.Body.Close()
	events := make(chan string, 64)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if l := sc.Text(); strings.HasPrefix(l, "event: ") || strings.HasPrefix(l, "data: ") {
				events <- l
			}
		}
	}()
	ts := time.Now().UnixMilli() - 10_000
	send := func(speed int) {
		t.Helper()
		ts += 1000
		body := `{"samples":[{"twin":"in","channel":"speed","ts":` + itoa(ts) + `,"value":` + itoa(int64(speed)) + `},{"twin":"out","channel":"speed","ts":` + itoa(ts) + `,"value":` + itoa(int64(speed+1)) + `}]}`
		if code, b, _ := r.do(t, tok, "POST", "/api/v1/telemetry", body); code != 200 {
			t.Fatal(code, b)
		}
	}
	// next returns the next samples event's data, failing on any other event.
	next := func() string {
		t.Helper()
		for {
			select {
			case l := <-events:
				if strings.HasPrefix(l, "event: ") && l != "event: samples" {
					t.Fatalf("unasked event %q", l)
				}
				if strings.HasPrefix(l, "data: ") && strings.Contains(l, `"channel":"speed"`) {
					return l // (the anomaly scores of earlier samples come in their own time)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("no samples event")
			}
		}
	}
	send(10)
	if d := next(); !strings.Contains(d, `"twin":"in"`) || strings.Contains(d, `"twin":"out"`) {
		t.Fatalf("before the moves: %s", d)
	}
	for id, lon := range map[string]float64{"in": 114.35, "out": 114.15} { // they swap places
		if code, body, _ := r.do(t, tok, "PUT", "/api/v1/twins/"+id, point(lon)); code != 200 {
			t.Fatal(code, body)
		}
	}
	time.Sleep(100 * time.Millisecond) // the twin events reach the stream before the samples
	send(20)
	if d := next(); !strings.Contains(d, `"twin":"out"`) || strings.Contains(d, `"twin":"in"`) {
		t.Fatalf("after the moves: %s", d)
	}
}

func strconvF(f float64) string { return strconv.FormatFloat(f, 'f', 6, 64) }

// TestStreamBoxTwinEvents: a box stream of twin changes sends a twin's
// change while it is in the box, the change that takes it out (its last),
// and none after, until it comes back.
func TestStreamBoxTwinEvents(t *testing.T) {
	r := start(t)
	tok := r.toks["admin"]
	put := func(lon string) {
		t.Helper()
		if code, body, _ := r.do(t, tok, "PUT", "/api/v1/twins/v1", `{"type":"vehicle","geometry":{"type":"Point","coordinates":[`+lon+`,22.3]}}`); code >= 300 {
			t.Fatal(code, body)
		}
	}
	put("114.15")
	req, _ := http.NewRequestWithContext(t.Context(), "GET", r.base+"/api/v1/stream?kinds=twin&bbox=114.1,22.2,114.2,22.4", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("stream: %v %v", resp, err)
	}
	defer resp.Body.Close()
	lons := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if l := sc.Text(); strings.HasPrefix(l, "data: ") {
				if _, rest, ok := strings.Cut(l, `"coordinates":[`); ok {
					lon, _, _ := strings.Cut(rest, ",")
					lons <- lon
				}
			}
		}
	}()
	for _, lon := range []string{"114.16", "114.35", "114.36", "114.17"} { // in, out, still out, back
		put(lon)
	}
	for _, want := range []string{"114.16", "114.35", "114.17"} {
		select {
		case got := <-lons:
			if got != want {
				t.Fatalf("event at %s, want %s", got, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no event at %s", want)
		}
	}
}
