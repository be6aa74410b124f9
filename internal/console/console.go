// Package console serves tsingma's web console: the bundle built from web/
// (committed under dist/, embedded, so that go build needs no Node) and
// the basemap layers read from the staged Hong Kong datasets. Every path
// outside /api/ that is not a file gets index.html (the console routes on
// the client); paths under /api/ are never answered with the console.
package console

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/tsingma/tsingma/internal/api"
)

//go:embed all:dist
var dist embed.FS

//go:embed basemap/*.geojson
var embeddedBasemap embed.FS

// Basemap layers the console may load, by the name it asks for, and their
// path under the hk dataset directory. The same files are embedded (see
// basemap/ATTRIBUTION.md) and served when no dataset directory is given.
var basemapFiles = map[string]string{
	"hk-land.geojson":                   "basemap/hk-land.geojson",
	"hk-districts.geojson":              "basemap/hk-districts.geojson",
	"mainland-context-land.osm.geojson": "basemap/mainland-context-land.osm.geojson",
	"hk-rail-lines.osm2016.geojson":     "transport/hk-rail-lines.osm2016.geojson",
}

// Config configures the console.
type Config struct {
	// BasemapDir is the hk dataset directory (e.g. ../shared/datasets/hk).
	// Empty: the basemap embedded in the binary is served.
	BasemapDir string
}

// Handler serves the console. It is immutable after New and safe for
// concurrent use.
type Handler struct {
	cfg   Config
	files fs.FS
	etags map[string]string
	index []byte
}

// New checks that the bundle is present and hashes its files for ETags.
func New(cfg Config) (*Handler, error) {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		return nil, err
	}
	h := &Handler{cfg: cfg, files: sub, etags: map[string]string{}}
	err = fs.WalkDir(sub, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(sub, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		h.etags[p] = `"` + hex.EncodeToString(sum[:12]) + `"`
		if p == "index.html" {
			h.index = b
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("console: read bundle: %w", err)
	}
	if h.index == nil {
		return nil, errors.New("console: the bundle has no index.html; run npm run build in web/")
	}
	return h, nil
}

// Files lists the embedded bundle's files (for tests and diagnostics).
func (h *Handler) Files() []string {
	var out []string
	for p := range h.etags {
		out = append(out, p)
	}
	return out
}

// Routes are the console's routes for app.Config.ExtraRoutes.
func (h *Handler) Routes() []api.Route {
	return []api.Route{
		{Method: "GET", Pattern: "/{path...}", Summary: "Web console (index.html for any path outside /api/)", Handler: http.HandlerFunc(h.serveConsole)},
		{Method: "GET", Pattern: "/basemap/{name}", Summary: "Basemap layer (GeoJSON) for the console", Handler: http.HandlerFunc(h.serveBasemap)},
	}
}

func (h *Handler) serveConsole(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	if p == "/api" || strings.HasPrefix(p, "/api/") {
		writeProblem(w, http.StatusNotFound, "not-found", "No such resource", fmt.Sprintf("%s %s is not an API route", r.Method, p))
		return
	}
	name := strings.TrimPrefix(path.Clean(p), "/")
	if name == "" {
		name = "index.html"
	}
	tag, ok := h.etags[name]
	if !ok {
		// Client-side route: the console itself.
		name, tag = "index.html", h.etags["index.html"]
	}
	w.Header().Set("ETag", tag)
	if name == "index.html" {
		w.Header().Set("Cache-Control", "no-cache")
	} else {
		w.Header().Set("Cache-Control", "public, max-age=0, must-revalidate")
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if r.Header.Get("If-None-Match") == tag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if name == "index.html" {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(h.index)
		return
	}
	r2 := r.Clone(r.Context())
	r2.URL.Path = "/" + name
	http.FileServerFS(h.files).ServeHTTP(w, r2)
}

func (h *Handler) serveBasemap(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	rel, ok := basemapFiles[name]
	if !ok {
		writeProblem(w, http.StatusNotFound, "not-found", "No such resource", "no such basemap layer")
		return
	}
	if h.cfg.BasemapDir == "" {
		w.Header().Set("Content-Type", "application/geo+json")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		r2 := r.Clone(r.Context())
		r2.URL.Path = "/basemap/" + name
		http.FileServerFS(embeddedBasemap).ServeHTTP(w, r2)
		return
	}
	p := filepath.Join(h.cfg.BasemapDir, filepath.FromSlash(rel))
	st, err := os.Stat(p)
	if err != nil {
		writeProblem(w, http.StatusNotFound, "not-found", "No such resource", "basemap layer not staged on this server")
		return
	}
	w.Header().Set("Content-Type", "application/geo+json")
	w.Header().Set("ETag", fmt.Sprintf(`"%x-%x"`, st.ModTime().UnixNano(), st.Size()))
	w.Header().Set("Cache-Control", "public, max-age=3600")
	http.ServeFile(w, r, p)
}

func writeProblem(w http.ResponseWriter, status int, code, title, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"type": "urn:tsingma:problem:" + code, "title": title, "status": status, "detail": detail})
}
