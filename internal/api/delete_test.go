package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tsingma/tsingma/internal/scoring"
	"github.com/tsingma/tsingma/internal/telemetry"
)

// A channel's telemetry, a whole twin's, and a deleted twin's go; what
// is left is untouched, and a channel takes older samples again.
func TestDeleteTelemetry(t *testing.T) {
	f := newFixture(t)
	for _, id := range []string{"g1", "g2"} {
		if code, _, body := f.do(t, "PUT", "/api/v1/twins/"+id, "application/json", gauge); code/100 != 2 {
			t.Fatalf("put %s: %d %s", id, code, body)
		}
	}
	base := f.now.Add(-30 * time.Minute).UnixMilli()
	post := func(twin string, from int) {
		t.Helper()
		body := `{"samples":[`
		for i := 0; i < 10; i++ {
			if i > 0 {
				body += ","
			}
			body += fmt.Sprintf(`{"twin":%q,"channel":"rainfall","ts":%d,"value":%d}`, twin, base+int64(from+i)*1000, i)
		}
		body += "]}"
		code, _, resp := f.do(t, "POST", "/api/v1/telemetry", "application/json", body)
		if code != http.StatusOK || !jsonHas(resp, "accepted", 10) {
			t.Fatalf("post %s: %d %s", twin, code, resp)
		}
	}
	count := func(twin string) int {
		t.Helper()
		code, _, body := f.do(t, "GET", "/api/v1/twins/"+twin+"/telemetry/rainfall?from=0", "", "")
		if code != http.StatusOK {
			t.Fatalf("get %s: %d %s", twin, code, body)
		}
		var out struct{ Points []json.RawMessage }
		if err := json.Unmarshal([]byte(body), &out); err != nil {
			t.Fatal(err)
		}
		return len(out.Points)
	}
	post("g1", 100)
	post("g2", 100)
	code, _, body := f.do(t, "DELETE", "/api/v1/twins/g1/telemetry/rainfall", "", "")
	// The channel, and its anomaly scores if the scorer stored some.
	if code != http.StatusOK || !(jsonHas(body, "deletedSeries", 1) || jsonHas(body, "deletedSeries", 2)) {
		t.Fatalf("delete channel: %d %s", code, body)
	}
	if n := count("g1"); n != 0 {
		t.Fatalf("g1 has %d points after the deletion", n)
	}
	if n := count("g2"); n != 10 {
		t.Fatalf("g2 has %d points, want 10", n)
	}
	// Older than what was deleted: accepted, as a new series.
	post("g1", 0)
	if n := count("g1"); n != 10 {
		t.Fatalf("g1 has %d points after new samples, want 10", n)
	}
	code, _, body = f.do(t, "DELETE", "/api/v1/twins/g1/telemetry", "", "")
	if code != http.StatusOK || jsonHas(body, "deletedSeries", 0) {
		t.Fatalf("delete twin telemetry: %d %s", code, body)
	}
	if n := count("g1"); n != 0 {
		t.Fatalf("g1 has %d points after deleting all its telemetry", n)
	}
	// Deleting the twin deletes its telemetry; the same id made again
	// starts empty.
	if code, _, body := f.do(t, "DELETE", "/api/v1/twins/g2", "", ""); code != http.StatusNoContent {
		t.Fatalf("delete g2: %d %s", code, body)
	}
	if code, _, body := f.do(t, "PUT", "/api/v1/twins/g2", "application/json", gauge); code/100 != 2 {
		t.Fatalf("put g2 again: %d %s", code, body)
	}
	if n := count("g2"); n != 0 {
		t.Fatalf("g2 made again has %d points of the deleted twin", n)
	}
	// A time range: those samples go, the rest stays, Latest moves back
	// when the tail goes, and a deleted tail takes samples again.
	post("g1", 1000)
	rng := func(q string) string {
		t.Helper()
		code, _, body := f.do(t, "DELETE", "/api/v1/twins/g1/telemetry/rainfall?"+q, "", "")
		if code != http.StatusOK {
			t.Fatalf("delete %s: %d %s", q, code, body)
		}
		return body
	}
	ms := func(i int) int64 { return base + int64(i)*1000 }
	if body := rng(fmt.Sprintf("from=%d&to=%d", ms(1003), ms(1006))); !jsonHas(body, "deletedSamples", 4) || !jsonHas(body, "from", float64(ms(1003))) {
		t.Fatalf("delete a range: %s", body)
	}
	if n := count("g1"); n != 6 {
		t.Fatalf("g1 has %d points after a ranged deletion, want 6", n)
	}
	latest := func() string {
		_, _, b := f.do(t, "GET", "/api/v1/twins/g1/latest", "", "")
		return b
	}
	if body := rng("from=" + time.UnixMilli(ms(1008)).UTC().Format(time.RFC3339Nano)); !jsonHas(body, "deletedSamples", 2) {
		t.Fatalf("delete the tail: %s", body)
	}
	if b := latest(); !strings.Contains(b, fmt.Sprint(ms(1007))) {
		t.Fatalf("latest after the tail's deletion: %s", b)
	}
	post("g1", 1008) // the tail again (1008..1017)
	if n := count("g1"); n != 14 {
		t.Fatalf("g1 has %d points after the tail was sent again, want 14", n)
	}
	if body := rng(fmt.Sprintf("to=%d", ms(1001))); !jsonHas(body, "deletedSamples", 2) {
		t.Fatalf("delete the start: %s", body)
	}
	if body := rng(fmt.Sprintf("from=%d&to=%d", ms(1003), ms(1006))); !jsonHas(body, "deletedSamples", 0) {
		t.Fatalf("delete a deleted range again: %s", body)
	}
	// Bad ranges and other parameters: refused, nothing gone.
	for _, q := range []string{"from=1&to=0", "from=yesterday", "from=1&from=2", "to=", "before=1", "from=0&channel=x"} {
		code, hdr, body := f.do(t, "DELETE", "/api/v1/twins/g1/telemetry/rainfall?"+q, "", "")
		wantProblem(t, code, hdr, body, http.StatusBadRequest, "bad-request")
		code, hdr, body = f.do(t, "DELETE", "/api/v1/twins/g1/telemetry?"+q, "", "")
		wantProblem(t, code, hdr, body, http.StatusBadRequest, "bad-request")
	}
	if n := count("g1"); n != 12 {
		t.Fatalf("g1 has %d points after refused deletions, want 12", n)
	}
	var hdr http.Header
	// Nothing stored, an id that cannot be one, an empty channel.
	code, _, body = f.do(t, "DELETE", "/api/v1/twins/nope/telemetry", "", "")
	if code != http.StatusOK || !jsonHas(body, "deletedSeries", 0) {
		t.Fatalf("delete nothing: %d %s", code, body)
	}
	code, hdr, body = f.do(t, "DELETE", "/api/v1/twins/"+"%20bad/telemetry", "", "")
	wantProblem(t, code, hdr, body, http.StatusBadRequest, "bad-request")
	if code, _, _ := f.do(t, "DELETE", "/api/v1/twins/g1/telemetry/", "", ""); code/100 == 2 {
		t.Fatalf("delete with an empty channel: %d", code)
	}
}

// jsonHas reports whether the JSON object body has key with the number n.
func jsonHas(body, key string, n float64) bool {
	var m map[string]any
	if json.Unmarshal([]byte(body), &m) != nil {
		return false
	}
	v, ok := m[key].(float64)
	return ok && v == n
}

// Deleting a twin clears its open alerts (as twin-deleted): nothing else
// would ever clear them, and a notifier would resend them for ever.
func TestDeletingATwinClearsItsAlerts(t *testing.T) {
	f := newFixture(t)
	for _, id := range []string{"g1", "g2"} {
		if code, _, body := f.do(t, "PUT", "/api/v1/twins/"+id, "application/json", gauge); code/100 != 2 {
			t.Fatalf("put %s: %d %s", id, code, body)
		}
	}
	if code, _, body := f.do(t, "POST", "/api/v1/rules", "application/json", `{"id":"wet","type":"rain-gauge","channel":"rainfall","op":">","value":5,"severity":"warning"}`); code != 201 {
		t.Fatalf("rule: %d %s", code, body)
	}
	ts := f.now.Add(-time.Minute).UnixMilli()
	body := fmt.Sprintf(`{"samples":[{"twin":"g1","channel":"rainfall","ts":%d,"value":9},{"twin":"g2","channel":"rainfall","ts":%d,"value":9}]}`, ts, ts)
	if code, _, resp := f.do(t, "POST", "/api/v1/telemetry", "application/json", body); code != 200 {
		t.Fatalf("post: %d %s", code, resp)
	}
	open := func(twin string) string {
		t.Helper()
		_, _, b := f.do(t, "GET", "/api/v1/alerts?state=open&twin="+twin, "", "")
		return b
	}
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(open("g1"), `"rule":"wet"`) || !strings.Contains(open("g2"), `"rule":"wet"`); {
		if time.Now().After(deadline) {
			t.Fatalf("no alerts raised: %s %s", open("g1"), open("g2"))
		}
		time.Sleep(10 * time.Millisecond)
	}
	if code, _, b := f.do(t, "DELETE", "/api/v1/twins/g1", "", ""); code != http.StatusNoContent {
		t.Fatalf("delete g1: %d %s", code, b)
	}
	if b := open("g1"); strings.Contains(b, `"rule":"wet"`) {
		t.Fatalf("g1's alert still open after the twin was deleted: %s", b)
	}
	if b := open("g2"); !strings.Contains(b, `"rule":"wet"`) {
		t.Fatalf("g2's alert was cleared with g1's: %s", b)
	}
	_, _, b := f.do(t, "GET", "/api/v1/alerts?twin=g1", "", "")
	if !strings.Contains(b, `"clearedBy":"twin-deleted"`) {
		t.Fatalf("g1's alert is not cleared as twin-deleted: %s", b)
	}
}

// heldScores holds the scorer's appends of scores until released.
type heldScores struct {
	scoring.Store
	entered chan struct{} // a score append waits
	release chan struct{}
}

func (h heldScores) Append(ctx context.Context, samples []telemetry.Sample) ([]telemetry.Status, error) {
	select {
	case h.entered <- struct{}{}:
	default:
	}
	select {
	case <-h.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return h.Store.Append(ctx, samples)
}

// TestDeletionWaitsForScoring: the scorer is behind (its store of the
// samples' scores held), so it stores scores of deleted samples after the
// deletion; the deletion answers only once the scorer has reached it and
// deleted them again, so nothing deleted shows after the answer.
func TestDeletionWaitsForScoring(t *testing.T) {
	h := heldScores{entered: make(chan struct{}, 1), release: make(chan struct{})}
	f := newFixtureScoring(t, func(st scoring.Store) scoring.Store { h.Store = st; return h })
	var release sync.Once
	t.Cleanup(func() { release.Do(func() { close(h.release) }) }) // before the scorer's Close
	if code, _, body := f.do(t, "PUT", "/api/v1/twins/g1", "application/json", gauge); code/100 != 2 {
		t.Fatalf("put g1: %d %s", code, body)
	}
	ts := f.now.Add(-time.Minute).UnixMilli()
	if code, _, body := f.do(t, "POST", "/api/v1/telemetry", "application/json", fmt.Sprintf(`{"twin":"g1","ts":%d,"values":{"rainfall":1}}`, ts)); code != http.StatusOK {
		t.Fatalf("post: %d %s", code, body)
	}
	select {
	case <-h.entered: // the scorer holds the sample's score
	case <-time.After(20 * time.Second):
		t.Fatal("the scorer never stored the sample's score")
	}
	type answer struct {
		code int
		body string
	}
	done := make(chan answer, 1)
	go func() {
		code, _, body := f.do(t, "DELETE", "/api/v1/twins/g1/telemetry", "", "")
		done <- answer{code, body}
	}()
	// The answer must wait for the scorer, which cannot go on: however
	// long this waits, a correct server has not answered.
	select {
	case a := <-done:
		t.Fatalf("the deletion answered (%d %s) while the scorer had not reached it", a.code, a.body)
	case <-time.After(300 * time.Millisecond):
	}
	release.Do(func() { close(h.release) }) // the score is stored (after the deletion), then deleted again
	a := <-done
	if a.code != http.StatusOK {
		t.Fatalf("delete: %d %s", a.code, a.body)
	}
	code, _, body := f.do(t, "GET", "/api/v1/twins/g1/latest", "", "")
	if code != http.StatusOK || strings.Contains(body, "rainfall") {
		t.Fatalf("after the deletion's answer, g1's latest: %d %s", code, body)
	}
}
