package app

import (
	"net/http"
	"strings"
	"testing"
)

// TestCORS: an allowed origin's preflight is answered without a token and
// its requests are readable (the token still decides what they may do);
// another origin gets nothing that lets a browser read the answer.
func TestCORS(t *testing.T) {
	r := startWith(t, func(c *Config) { c.CORS = []string{"https://gis.example.hk"} })
	call := func(method, path, origin, tok string, hdr ...string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(method, r.base+path, nil)
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	pre := call("OPTIONS", "/api/v1/twins", "https://gis.example.hk", "", "Access-Control-Request-Method", "PUT", "Access-Control-Request-Headers", "authorization,content-type")
	if pre.StatusCode != 204 || pre.Header.Get("Access-Control-Allow-Origin") != "https://gis.example.hk" ||
		!strings.Contains(pre.Header.Get("Access-Control-Allow-Methods"), "PUT") || !strings.Contains(pre.Header.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Fatalf("preflight: %d %v", pre.StatusCode, pre.Header)
	}
	get := call("GET", "/api/v1/twins", "https://GIS.example.hk", r.toks["a-viewer"])
	if get.StatusCode != 200 || get.Header.Get("Access-Control-Allow-Origin") == "" || !strings.Contains(get.Header.Get("Access-Control-Expose-Headers"), "ETag") {
		t.Fatalf("a read from the allowed origin: %d %v", get.StatusCode, get.Header)
	}
	// The token still decides: a viewer from the allowed origin cannot write.
	if put := call("PUT", "/api/v1/twins/g1", "https://gis.example.hk", r.toks["a-viewer"]); put.StatusCode != 403 && put.StatusCode != 415 {
		t.Fatalf("a viewer's write from the allowed origin: %d", put.StatusCode)
	}
	for _, origin := range []string{"https://evil.example", "http://gis.example.hk", ""} {
		resp := call("OPTIONS", "/api/v1/twins", origin, "", "Access-Control-Request-Method", "PUT")
		if resp.Header.Get("Access-Control-Allow-Origin") != "" || resp.StatusCode == 204 {
			t.Fatalf("preflight from %q: %d %v", origin, resp.StatusCode, resp.Header)
		}
		if resp := call("GET", "/api/v1/twins", origin, r.toks["a-viewer"]); resp.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Fatalf("a read from %q is readable cross-origin", origin)
		}
	}
	if _, err := ParseCORS("https://a.example, *"); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"a.example", "https://a.example/x", "ftp://a.example", "https://user@a.example", "https://"} {
		if _, err := ParseCORS(bad); err == nil {
			t.Errorf("origin %q accepted", bad)
		}
	}
}
