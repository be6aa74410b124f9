package api

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func gz(t *testing.T, s string) string {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write([]byte(s))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestGzipRequestBodies: a body sent with Content-Encoding: gzip is read
// decompressed (sensors on metered links send batches so); the size limit
// holds for the decompressed bytes (a small bomb is a 413, not memory);
// an encoding tsingma cannot read is a 415, not a "malformed JSON".
func TestGzipRequestBodies(t *testing.T) {
	f := newFixture(t) // MaxBody 1 MiB
	gauge := `{"id":"g1","type":"rain-gauge","geometry":{"type":"Point","coordinates":[114.17,22.3]}}`
	if code, _, body := f.do(t, "POST", "/api/v1/twins", "application/json", gz(t, gauge), "Content-Encoding", "gzip"); code != http.StatusCreated {
		t.Fatalf("gzipped twin: %d %s", code, body)
	}
	var sb strings.Builder
	sb.WriteString(`{"samples":[`)
	for i := range 200 {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"twin":"g1","channel":"rainfall","ts":%d,"value":%d}`, f.now.UnixMilli()-int64(300-i)*1000, i%50)
	}
	sb.WriteString("]}")
	code, _, body := f.do(t, "POST", "/api/v1/telemetry", "application/json", gz(t, sb.String()), "Content-Encoding", "gzip")
	if code != http.StatusOK || !strings.Contains(body, `"accepted":200`) {
		t.Fatalf("gzipped telemetry: %d %s", code, body)
	}
	bomb := gz(t, `{"samples":[`+strings.Repeat(" ", 2<<20)+`]}`) // 2 MiB of spaces, about 2 KB sent
	code, hdr, body := f.do(t, "POST", "/api/v1/telemetry", "application/json", bomb, "Content-Encoding", "gzip")
	wantProblem(t, code, hdr, body, http.StatusRequestEntityTooLarge, "too-large")
	code, hdr, body = f.do(t, "POST", "/api/v1/telemetry", "application/json", "not gzip at all", "Content-Encoding", "gzip")
	wantProblem(t, code, hdr, body, http.StatusBadRequest, "malformed-body")
	code, hdr, body = f.do(t, "POST", "/api/v1/telemetry", "application/json", sb.String(), "Content-Encoding", "br")
	wantProblem(t, code, hdr, body, http.StatusUnsupportedMediaType, "unsupported-media")
	if code, _, body := f.do(t, "POST", "/api/v1/telemetry", "application/json", fmt.Sprintf(`{"twin":"g1","ts":%d,"values":{"rainfall":1}}`, f.now.UnixMilli()), "Content-Encoding", "identity"); code != http.StatusOK {
		t.Fatalf("identity: %d %s", code, body)
	}
}
