package app

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// cors lets web applications of other origins use the API (Config.CORS):
// a browser asks before a cross-origin request with a token (a preflight
// OPTIONS, which carries none) and reads an answer only if it names the
// page's origin. Tokens travel in the Authorization header, never in
// cookies, so no credentials mode is offered. Without origins configured
// nothing is added: the console, served by tsingma itself, needs none.
type cors struct {
	any     bool
	origins []string // scheme://host[:port], lower case
	next    http.Handler
}

const (
	corsMethods = "GET, POST, PUT, PATCH, DELETE"
	corsHeaders = "Authorization, Content-Type, Content-Encoding, If-Match, If-None-Match"
	corsExpose  = "ETag, Location, Retry-After, Content-Disposition"
)

// ParseCORS reads a comma-separated list of origins: "*", or
// scheme://host[:port] each.
func ParseCORS(list string) ([]string, error) {
	var out []string
	for _, o := range strings.Split(list, ",") {
		if o = strings.TrimSpace(o); o == "" {
			continue
		}
		if err := checkOrigin(o); err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}

func checkOrigin(o string) error {
	if o == "*" {
		return nil
	}
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("CORS origin %q: want * or scheme://host[:port], like https://gis.example.hk", o)
	}
	return nil
}

// newCORS wraps next; with no origins it is next.
func newCORS(origins []string, next http.Handler) (http.Handler, error) {
	if len(origins) == 0 {
		return next, nil
	}
	c := &cors{next: next}
	for _, o := range origins {
		if err := checkOrigin(o); err != nil {
			return nil, err
		}
		if o == "*" {
			c.any = true
		} else {
			c.origins = append(c.origins, strings.ToLower(o))
		}
	}
	return c, nil
}

func (c *cors) allowed(origin string) bool {
	return origin != "" && (c.any || slices.Contains(c.origins, strings.ToLower(origin)))
}

func (c *cors) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	origin := r.Header.Get("Origin")
	h := w.Header()
	h.Add("Vary", "Origin")
	if !c.allowed(origin) {
		c.next.ServeHTTP(w, r)
		return
	}
	if c.any {
		h.Set("Access-Control-Allow-Origin", "*")
	} else {
		h.Set("Access-Control-Allow-Origin", origin)
	}
	if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
		// A preflight: answered here, before access control (it carries
		// no token); the request it asks about is checked as any other.
		h.Add("Vary", "Access-Control-Request-Method, Access-Control-Request-Headers")
		h.Set("Access-Control-Allow-Methods", corsMethods)
		h.Set("Access-Control-Allow-Headers", corsHeaders)
		h.Set("Access-Control-Max-Age", "600")
		w.WriteHeader(http.StatusNoContent)
		return
	}
	h.Set("Access-Control-Expose-Headers", corsExpose)
	c.next.ServeHTTP(w, r)
}
