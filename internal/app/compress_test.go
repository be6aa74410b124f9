package app

import (
	"bufio"
	"compress/gzip"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tsingma/tsingma/internal/api"
	"github.com/tsingma/tsingma/internal/console"
)

// TestResponsesAreCompressed: a client that accepts gzip gets the
// console's files and large API answers compressed (the console is about
// 3 MB of script and map data; a list of twins compresses tenfold), and
// the same bytes once decompressed; small answers and the live stream
// (whose events must not wait in a compressor) are sent as they are.
func TestResponsesAreCompressed(t *testing.T) {
	con, err := console.New(console.Config{})
	if err != nil {
		t.Fatal(err)
	}
	r := startWith(t, func(c *Config) { c.ExtraRoutes = func(*App) []api.Route { return con.Routes() } })
	tok := r.toks["admin"]
	var nd strings.Builder
	for i := range 300 {
		nd.WriteString(`{"id":"g` + itoa(int64(i)) + `","type":"rain-gauge","geometry":{"type":"Point","coordinates":[114.17,22.3]}}` + "\n")
	}
	if code, body, _ := r.do(t, tok, "POST", "/api/v1/twins/_bulk", nd.String()); code != 200 {
		t.Fatal(code, body)
	}
	get := func(path string, gz bool) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest("GET", r.base+path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		if gz {
			req.Header.Set("Accept-Encoding", "gzip")
		}
		resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	for _, path := range []string{"/", "/app.js", "/api/v1/twins?limit=300", "/api/v1/openapi.json"} {
		plainResp, plain := get(path, false)
		zResp, z := get(path, true)
		if plainResp.StatusCode != 200 || zResp.StatusCode != 200 {
			t.Fatalf("%s: %d %d", path, plainResp.StatusCode, zResp.StatusCode)
		}
		if plainResp.Header.Get("Content-Encoding") != "" || zResp.Header.Get("Content-Encoding") != "gzip" {
			t.Fatalf("%s: encodings %q and %q", path, plainResp.Header.Get("Content-Encoding"), zResp.Header.Get("Content-Encoding"))
		}
		zr, err := gzip.NewReader(strings.NewReader(string(z)))
		if err != nil {
			t.Fatal(err)
		}
		un, err := io.ReadAll(zr)
		if err != nil || string(un) != string(plain) {
			t.Fatalf("%s: decompressed %d bytes (%v), plain %d", path, len(un), err, len(plain))
		}
		if len(z)*2 > len(plain) {
			t.Fatalf("%s: %d bytes compressed, %d plain", path, len(z), len(plain))
		}
	}
	if resp, _ := get("/api/v1/whoami", true); resp.Header.Get("Content-Encoding") != "" {
		t.Fatal("a small answer was compressed")
	}
	req, _ := http.NewRequest("GET", r.base+"/api/v1/stream", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Encoding") != "" {
		t.Fatal("the live stream was compressed")
	}
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(resp.Body).ReadString('\n')
		line <- s
	}()
	select {
	case s := <-line:
		if !strings.HasPrefix(s, ": tsingma live stream") {
			t.Fatalf("stream starts with %q", s)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the stream's first line did not come")
	}
}
