package app

import (
	"cmp"
	"encoding/json"
	"fmt"
	"github.com/tsingma/tsingma/internal/api"
	"github.com/tsingma/tsingma/internal/auth"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestHostileRequestsGetProblems sends every API route malformed and
// hostile input, one thing wrong at a time: path ids that are too long,
// NUL, invalid UTF-8, traversal or markup; query parameters out of range
// or unparseable; bodies that are empty, truncated, null, of the wrong
// shape, deeply nested, not UTF-8, over the size limit or of the wrong
// content type; and an If-Match that is not an ETag. Every answer must be
// below 500, and every refusal application/problem+json; the server must
// still be healthy at the end. (It found PUT /api/v1/twins/{id} with the
// body null answering 500: the id was added to a nil map.)
func TestHostileRequestsGetProblems(t *testing.T) {
	const maxBody = 1 << 20
	r := startWith(t, func(c *Config) { c.MaxBody = maxBody })
	a, base, tok := r.a, r.base, r.toks["admin"]
	ctx := t.Context()
	c := &http.Client{Timeout: 30 * time.Second}
	send := func(method, path, ctype, body string, hdr map[string]string) (int, string, string) {
		t.Helper()
		req, err := http.NewRequest(method, base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", ctype)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("%s %.80s: %v", method, path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
		return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
	}

	// Real objects, so that a route gets past "not found" to its body.
	for _, doc := range []string{
		`{"id":"s1","type":"slope","geometry":{"type":"Polygon","coordinates":[[[114.1,22.3],[114.2,22.3],[114.2,22.4],[114.1,22.3]]]}}`,
		`{"id":"g1","type":"rain-gauge","geometry":{"type":"Point","coordinates":[114.15,22.35]}}`,
		`{"id":"w1","type":"warehouse","geometry":{"type":"Point","coordinates":[114.15,22.35]}}`,
	} {
		if code, _, body := send("POST", "/api/v1/twins", "application/json", doc, nil); code != http.StatusCreated {
			t.Fatalf("create twin: %d %s", code, body)
		}
	}
	if code, _, body := send("POST", "/api/v1/telemetry", "application/json", `{"twin":"g1","ts":1700000000000,"values":{"rainfall":1.5}}`, nil); code != http.StatusOK {
		t.Fatalf("telemetry: %d %s", code, body)
	}
	if code, _, body := send("POST", "/api/v1/rules", "application/json", `{"id":"r1","type":"rain-gauge","channel":"rainfall","op":">=","value":6,"for":"10m","severity":"critical"}`, nil); code != http.StatusCreated {
		t.Fatalf("rule: %d %s", code, body)
	}
	tk, _, err := a.Tokens.Create(ctx, "test", auth.NewToken{Name: "probe", Role: auth.Viewer, Tenant: "default"})
	if err != nil {
		t.Fatal(err)
	}
	// An assessment of the built-in anomaly detector's champion version.
	code, _, body := send("GET", "/api/v1/governance/systems/anomaly", "", "", nil)
	var sys struct {
		Aliases       map[string]string
		Questionnaire json.RawMessage
	}
	if err := json.Unmarshal([]byte(body), &sys); code != http.StatusOK || err != nil || sys.Aliases["champion"] == "" {
		t.Fatalf("system anomaly: %d %s", code, body)
	}
	code, _, body = send("POST", "/api/v1/governance/assessments", "application/json", `{"system":"anomaly","version":"`+sys.Aliases["champion"]+`","questionnaire":`+string(sys.Questionnaire)+`}`, nil)
	var as struct{ ID string }
	if err := json.Unmarshal([]byte(body), &as); code != http.StatusCreated || err != nil || as.ID == "" {
		t.Fatalf("assessment: %d %s", code, body)
	}
	// The value of each path parameter, by the path segment before it.
	real := map[string]string{"types": "slope", "twins": "g1", "telemetry": "rainfall", "label": "twin", "rules": "r1",
		"tokens": tk.ID, "slopes": "s1", "inventory": "w1", "entries": "1", "systems": "anomaly", "aliases": "challenger", "assessments": as.ID}
	pathOf := func(pattern string) string {
		segs := strings.Split(pattern, "/")
		for i, sg := range segs {
			if param.MatchString(sg) {
				v, ok := real[segs[i-1]]
				if !ok {
					v = "x1"
				}
				segs[i] = v
			}
		}
		return strings.Join(segs, "/")
	}

	ids := []string{strings.Repeat("a", 300), "%00", "..%2F..%2Fetc", "%FF%FE", "%3Cscript%3E", "%E6%BB%91%E5%9D%A1", "a%20b", "%25"}
	queries := []string{"?limit=-1", "?limit=99999999999999999999", "?cursor=%ZZ", "?cursor=zzzz",
		"?from=abc&to=def", "?from=9999999999999999&to=-9999999999999999", "?step=-1m", "?step=1ns&from=0&to=9999999999999",
		"?bbox=1,2", "?bbox=a,b,c,d", "?bbox=200,100,-200,-100", "?near=1,2&radius=-5", "?within=%7B", "?depth=99", "?agg=bogus&step=1m",
		"?query=(((", "?query=max_over_time(x[10y:1ms])", "?query=max_over_time(x[1h:])", "?query=" + strings.Repeat("a", 10000), "?match[]=%7B", "?start=x&end=y&step=z", "?sort=%00", "?type=%FF", "?cascade=maybe",
		"?unit=" + strings.Repeat("(", 100), "?unit=%5Bdeg%5D", "?unit=Cel&agg=sum&step=1m", "?unit=m999"}
	bodies := []string{"", "{", "null", "[]", `"text"`, "0", `{"a":`, strings.Repeat("[", 20000) + strings.Repeat("]", 20000),
		`{"x":1e999}`, "\xff\xfe{}", `{"id":123,"type":[],"properties":"x","geometry":{"type":"Point","coordinates":[999,999]}}`,
		`{"samples":[{"twin":1}]}`, strings.Repeat(" ", maxBody+1)}
	type probe struct{ path, query, body, ctype, ifMatch string }
	n := 0
	hist := map[string]int{}
	routes := a.API.Routes()
	// Deletions last, so that the objects are there for the rest.
	slices.SortStableFunc(routes, func(x, y api.Route) int {
		return cmp.Compare(boolInt(x.Method == http.MethodDelete), boolInt(y.Method == http.MethodDelete))
	})
	for _, rt := range routes {
		if !isAPI(rt.Pattern) || strings.HasSuffix(rt.Pattern, "/stream") {
			continue // the console's files; the live stream stays open
		}
		p0 := pathOf(rt.Pattern)
		var probes []probe
		if p0 != rt.Pattern {
			for _, id := range ids {
				probes = append(probes, probe{path: param.ReplaceAllString(rt.Pattern, id), body: "{}"})
			}
		}
		for _, q := range queries {
			probes = append(probes, probe{path: p0, query: q, body: "{}"})
		}
		if rt.Method != http.MethodGet && rt.Method != http.MethodDelete {
			for _, b := range bodies {
				for _, ct := range []string{"application/json", "application/x-ndjson", "application/x-www-form-urlencoded"} {
					probes = append(probes, probe{path: p0, body: b, ctype: ct})
				}
			}
		}
		if rt.Method != http.MethodGet && rt.Method != http.MethodPost {
			probes = append(probes, probe{path: p0, body: "{}", ifMatch: "not-an-etag"}, probe{path: p0, body: "{}", ifMatch: `"999999999999999999999"`})
		}
		for _, pr := range probes {
			ct := "application/json"
			if pr.ctype != "" {
				ct = pr.ctype
			}
			var hdr map[string]string
			if pr.ifMatch != "" {
				hdr = map[string]string{"If-Match": pr.ifMatch}
			}
			code, ctype, body := send(rt.Method, pr.path+pr.query, ct, pr.body, hdr)
			n++
			hist[fmt.Sprint(code)]++
			if code >= 500 || (code >= 400 && ctype != "application/problem+json") {
				t.Errorf("%s %.80s%.80s body %.24q (%s, If-Match %q): %d %s: %.300s", rt.Method, pr.path, pr.query, pr.body, pr.ctype, pr.ifMatch,
					code, ctype, body)
			}
		}
	}
	if code, _, body := send("GET", "/healthz", "", "", nil); code != http.StatusOK {
		t.Fatalf("healthz after %d hostile requests: %d %s", n, code, body)
	}
	t.Logf("%d hostile requests %v", n, hist)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
