package api

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestCSVImport: a logger's CSV goes in (bad rows rejected by index, the
// rest kept), and a channel's CSV export goes back in, into another twin,
// as it is.
func TestCSVImport(t *testing.T) {
	f := newFixture(t)
	for _, id := range []string{"g1", "g2"} {
		if code, _, body := f.do(t, "PUT", "/api/v1/twins/"+id, "application/json", gauge); code/100 != 2 {
			t.Fatalf("put %s: %d %s", id, code, body)
		}
	}
	base := f.now.Add(-time.Hour).UnixMilli()
	var b strings.Builder
	b.WriteString("twin,channel,ts,value\n")
	for i := 0; i < 50; i++ {
		fmt.Fprintf(&b, "g1,rainfall,%d,%d\n", base+int64(i)*60_000, i%7)
	}
	b.WriteString("g1,rainfall,not-a-time,1\n")
	b.WriteString("nope,rainfall,1000,1\n")
	code, _, body := f.do(t, "POST", "/api/v1/telemetry", "text/csv", b.String())
	if code != http.StatusOK || !jsonHas(body, "accepted", 50) || !jsonHas(body, "rejected", 2) ||
		!strings.Contains(body, `"index":50`) || !strings.Contains(body, `"bad_timestamp"`) || !strings.Contains(body, `"unknown_twin"`) {
		t.Fatalf("import: %d %s", code, body)
	}
	code, _, export := f.do(t, "GET", fmt.Sprintf("/api/v1/twins/g1/telemetry/rainfall?from=%d&format=csv", base), "", "")
	if code != 200 || strings.Count(export, "\n") != 51 {
		t.Fatalf("export: %d %q", code, export)
	}
	code, _, body = f.do(t, "POST", "/api/v1/telemetry?twin=g2&channel=rainfall", "text/csv", export)
	if code != http.StatusOK || !jsonHas(body, "accepted", 50) {
		t.Fatalf("the export back in: %d %s", code, body)
	}
	_, _, again := f.do(t, "GET", fmt.Sprintf("/api/v1/twins/g2/telemetry/rainfall?from=%d&format=csv", base), "", "")
	if again != export {
		t.Fatalf("g2's export differs from g1's:\n%s\n%s", again, export)
	}
	code, hdr, body := f.do(t, "POST", "/api/v1/telemetry", "text/csv", "twin,channel,value\ng1,rainfall,1\n")
	wantProblem(t, code, hdr, body, 400, "malformed-body")
}
