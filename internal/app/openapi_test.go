package app

import (
	"encoding/json"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// TestOpenAPIDescribesEveryRoute checks the whole app's router, with every
// component wired, against /api/v1/openapi.json, both ways.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	r := start(t)
	code, body, _ := r.do(t, r.toks["admin"], "GET", "/api/v1/openapi.json", "")
	if code != 200 {
		t.Fatalf("openapi.json: %d", code)
	}
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for p, ops := range doc.Paths {
		for m := range ops {
			documented[strings.ToUpper(m)+" "+p] = true
		}
	}
	wild := regexp.MustCompile(`\{([a-z]+)\.\.\.\}`)
	routed := map[string]bool{}
	for _, rt := range r.a.API.Routes() {
		if !isAPI(rt.Pattern) && rt.Pattern != "/healthz" && rt.Pattern != "/readyz" && rt.Pattern != "/metrics" {
			continue // the console's static files
		}
		routed[rt.Method+" "+wild.ReplaceAllString(rt.Pattern, "{$1}")] = true
	}
	var missing, extra []string
	for k := range routed {
		if !documented[k] {
			missing = append(missing, k)
		}
	}
	for k := range documented {
		if !routed[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing)+len(extra) > 0 {
		t.Fatalf("routes not in openapi.json: %v\ndocumented operations without a route: %v", missing, extra)
	}
}
