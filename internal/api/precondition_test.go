package api

import (
	"net/http"
	"strings"
	"testing"
)

// TestStarPreconditions: "If-None-Match: *" makes a PUT a create (412 when
// the twin or rule exists: nothing overwritten) and "If-Match: *" makes it
// a replace (412 when there is nothing to replace: nothing created), as
// RFC 9110 section 13.1 has them. Both were ignored: the PUT went ahead.
func TestStarPreconditions(t *testing.T) {
	f := newFixture(t)
	gauge := `{"type":"rain-gauge","name":"first","geometry":{"type":"Point","coordinates":[114.17,22.3]}}`
	other := `{"type":"rain-gauge","name":"second","geometry":{"type":"Point","coordinates":[114.17,22.3]}}`
	rule := `{"type":"rain-gauge","channel":"rainfall","op":">=","value":30,"severity":"critical","name":"first"}`
	rule2 := `{"type":"rain-gauge","channel":"rainfall","op":">=","value":40,"severity":"critical","name":"second"}`
	for _, c := range []struct{ path, first, second string }{
		{"/api/v1/twins/g1", gauge, other},
		{"/api/v1/rules/r1", rule, rule2},
	} {
		if code, _, body := f.do(t, "PUT", c.path, "application/json", c.first, "If-Match", "*"); code != http.StatusPreconditionFailed {
			t.Fatalf("PUT %s If-Match * with nothing there: %d %s", c.path, code, body)
		}
		if code, _, _ := f.do(t, "GET", c.path, "", ""); code != http.StatusNotFound {
			t.Fatalf("PUT %s If-Match * created it: GET %d", c.path, code)
		}
		if code, _, body := f.do(t, "PUT", c.path, "application/json", c.first, "If-None-Match", "*"); code != http.StatusCreated {
			t.Fatalf("PUT %s If-None-Match * with nothing there: %d %s", c.path, code, body)
		}
		code, hdr, body := f.do(t, "PUT", c.path, "application/json", c.second, "If-None-Match", "*")
		wantProblem(t, code, hdr, body, http.StatusPreconditionFailed, "precondition-failed")
		if _, _, body := f.do(t, "GET", c.path, "", ""); !strings.Contains(body, `"name":"first"`) {
			t.Fatalf("PUT %s If-None-Match * replaced it: %s", c.path, body)
		}
		if code, _, body := f.do(t, "PUT", c.path, "application/json", c.second, "If-Match", "*"); code != http.StatusOK || !strings.Contains(body, `"name":"second"`) {
			t.Fatalf("PUT %s If-Match * with it there: %d %s", c.path, code, body)
		}
		code, hdr, body = f.do(t, "PUT", c.path, "application/json", c.second, "If-None-Match", `"3"`)
		wantProblem(t, code, hdr, body, http.StatusBadRequest, "bad-request")
	}
}
