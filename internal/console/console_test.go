package console

import (
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/tsingma/tsingma/internal/testenv"
)

func newMux(t *testing.T, cfg Config) *http.ServeMux {
	t.Helper()
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	for _, r := range h.Routes() {
		mux.Handle(r.Method+" "+r.Pattern, r.Handler)
	}
	// An API route, to check the console does not shadow it.
	mux.HandleFunc("GET /api/v1/twins", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("api")) })
	return mux
}

func TestBundleEmbedded(t *testing.T) {
	h, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	files := h.Files()
	for _, want := range []string{"index.html", "app.js", "app.css", "maplibre-gl-worker.js", "THIRD_PARTY_LICENSES.txt"} {
		if !slices.Contains(files, want) {
			t.Errorf("bundle lacks %s (has %v); run npm run build in web/", want, files)
		}
	}
	if !strings.Contains(string(h.index), "/app.js") {
		t.Error("index.html does not load /app.js")
	}
}

func TestServe(t *testing.T) {
	mux := newMux(t, Config{})
	get := func(path string, hdr ...string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", path, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		return rec
	}
	for _, tc := range []struct {
		path, ctype, contains string
		status                int
	}{
		{"/", "text/html; charset=utf-8", "<title>", 200},
		{"/twins/slope-1", "text/html; charset=utf-8", "<title>", 200}, // client route
		{"/app.js", "text/javascript; charset=utf-8", "", 200},
		{"/app.css", "text/css; charset=utf-8", "", 200},
		{"/api/v1/nope", "application/problem+json", "urn:tsingma:problem:not-found", 404},
		{"/api", "application/problem+json", "not-found", 404},
		{"/api/v1/twins", "", "api", 200},
		{"/basemap/hk-land.geojson", "application/geo+json", "FeatureCollection", 200}, // embedded basemap without BasemapDir
		{"/basemap/nothing.geojson", "application/problem+json", "not-found", 404},
	} {
		rec := get(tc.path)
		if rec.Code != tc.status {
			t.Errorf("GET %s: status %d, want %d", tc.path, rec.Code, tc.status)
		}
		if tc.ctype != "" && rec.Header().Get("Content-Type") != tc.ctype {
			t.Errorf("GET %s: Content-Type %q, want %q", tc.path, rec.Header().Get("Content-Type"), tc.ctype)
		}
		if !strings.Contains(rec.Body.String(), tc.contains) {
			t.Errorf("GET %s: body lacks %q", tc.path, tc.contains)
		}
	}
	rec := get("/app.js")
	tag := rec.Header().Get("ETag")
	if tag == "" {
		t.Fatal("no ETag on /app.js")
	}
	if rec := get("/app.js", "If-None-Match", tag); rec.Code != http.StatusNotModified {
		t.Errorf("If-None-Match with the ETag: status %d, want 304", rec.Code)
	}
	if rec := get("/index.html"); rec.Header().Get("Cache-Control") != "no-cache" {
		t.Errorf("index.html Cache-Control %q, want no-cache", rec.Header().Get("Cache-Control"))
	}
}

func TestBasemap(t *testing.T) {
	dir := testenv.Dataset(t, "hk")
	mux := newMux(t, Config{BasemapDir: dir})
	for name, rel := range basemapFiles {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest("GET", "/basemap/"+name, nil))
		st, err := os.Stat(dir + "/" + rel)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Code != 200 || int64(rec.Body.Len()) != st.Size() {
			t.Errorf("GET /basemap/%s: status %d, %d bytes, want 200 and %d", name, rec.Code, rec.Body.Len(), st.Size())
		}
	}
	for _, bad := range []string{"/basemap/..%2fPROVENANCE.md", "/basemap/preview.png", "/basemap/"} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest("GET", bad, nil))
		if rec.Code == 200 && strings.Contains(rec.Header().Get("Content-Type"), "geo+json") {
			t.Errorf("GET %s served a file", bad)
		}
	}
}
