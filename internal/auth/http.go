package auth

import (
	"net/http"
	"strings"
)

// Request authenticates and authorizes an HTTP request for the route
// ServeMux matched. muxPattern is the pattern as http.ServeMux.Handler
// returns it ("GET /api/v1/twins/{id}"; a pattern without a method
// matches the request's method). It returns the request carrying the
// principal (FromContext), or an error matching ErrUnauthenticated (no,
// unknown, expired or revoked token: answer 401) or ErrForbidden (the
// role may not call the route: answer 403). Public routes pass without a
// token. The token is read from "Authorization: Bearer <token>" only, so
// it never lands in access logs.
func (s *Store) Request(r *http.Request, muxPattern string) (*http.Request, error) {
	method, pattern, ok := strings.Cut(muxPattern, " ")
	if !ok {
		method, pattern = r.Method, muxPattern
	}
	if Public(method, pattern) {
		return r, nil
	}
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		return nil, ErrUnauthenticated
	}
	p, err := s.Authorize(tok)
	if err != nil {
		return nil, err
	}
	if err := p.Check(method, pattern); err != nil {
		return nil, err
	}
	return r.WithContext(WithPrincipal(r.Context(), p)), nil
}

// MQTT authenticates an MQTT CONNECT: the password is the token; the
// username is informational (it is not trusted). Call PermittedMQTT for
// each publish and subscribe with the principal's role, and keep the
// client inside the principal's tenant.
func (s *Store) MQTT(username string, password []byte) (Principal, error) {
	_ = username
	return s.Authorize(string(password))
}
