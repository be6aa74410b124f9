package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/tsingma/tsingma/internal/alert"
	"github.com/tsingma/tsingma/internal/store"
	"github.com/tsingma/tsingma/internal/telemetry"
	"github.com/tsingma/tsingma/internal/twin"
)

// Problem is an RFC 9457 problem document. Type is a stable URI per kind of
// error (the catalogue below); Detail is safe to show the caller: causes
// that could leak internals are logged, not returned.
type Problem struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail,omitempty"`
	Instance string `json:"instance,omitempty"`
	// Extensions.
	Errors     any      `json:"errors,omitempty"`
	Twins      []string `json:"twins,omitempty"`
	RetryAfter int      `json:"retry_after,omitempty"`
	// Prometheus API compatibility (Grafana reads these).
	PromStatus    string `json:"status_text,omitempty"`
	PromErrorType string `json:"errorType,omitempty"`
	PromError     string `json:"error,omitempty"`
}

// The problem catalogue: code → (status, title). Codes are stable API.
var problemCatalogue = map[string]struct {
	status int
	title  string
}{
	"bad-request":           {400, "The request is malformed"},
	"malformed-body":        {400, "The request body could not be decoded"},
	"invalid":               {422, "The document is not valid"},
	"not-found":             {404, "No such resource"},
	"exists":                {409, "The resource already exists"},
	"referenced":            {409, "The resource is still referenced"},
	"incompatible-type":     {409, "The type change would invalidate existing twins"},
	"precondition-failed":   {412, "The resource has changed (revision mismatch)"},
	"precondition-required": {428, "If-Match is required"},
	"too-large":             {413, "The request body is too large"},
	"unsupported-media":     {415, "Unsupported content type"},
	"overloaded":            {429, "Too many requests: the ingest queue is full"},
	"method-not-allowed":    {405, "Method not allowed"},
	"unavailable":           {503, "The service is shutting down or not ready"},
	"internal":              {500, "Internal error"},
	"bad-query":             {400, "The query is not valid"},
	"query-failed":          {422, "The query could not be executed"},
	"timeout":               {503, "The query timed out"},
	"alert-state":           {409, "The alert's state does not allow this"},
	"promotion-refused":     {409, "The promotion gate refused: nothing was changed"},
	"governance-state":      {409, "The assessment or model's state does not allow this"},
	"forbidden":             {403, "Not allowed for this principal"},
	"unauthenticated":       {401, "A valid access token is required"},
	"infeasible-definition": {422, "The routing problem cannot be solved as defined (the stop or vehicle is named)"},
	"job-state":             {409, "The routing job's state does not allow this"},
}

const problemBase = "urn:tsingma:problem:"

// apiError is an error with a problem code and a caller-safe detail.
type apiError struct {
	code   string
	detail string
	cause  error
	extra  func(*Problem)
}

func (e *apiError) Error() string {
	if e.cause != nil {
		return e.code + ": " + e.detail + ": " + e.cause.Error()
	}
	return e.code + ": " + e.detail
}
func (e *apiError) Unwrap() error { return e.cause }

func errorf(code, format string, args ...any) error {
	return &apiError{code: code, detail: fmt.Sprintf(format, args...)}
}

// problemFor maps any error to a Problem; the one place that does.
// The result is named so that an apiError's extra (deferred, to run after
// the fields below are set) still reaches the returned value.
func problemFor(err error) (p Problem) {
	var ae *apiError
	var mbe *http.MaxBytesError
	var ve *twin.ValidationError
	var re *twin.ReferencedError
	var ie *twin.IncompatibleTypeError
	code, detail := "internal", "an internal error occurred; it has been logged"
	switch {
	case errors.As(err, &ae):
		code, detail = ae.code, ae.detail
		if ae.extra != nil {
			defer ae.extra(&p)
		}
	case errors.As(err, &mbe):
		code, detail = "too-large", fmt.Sprintf("the body exceeds %d bytes", mbe.Limit)
	case errors.Is(err, store.ErrBusy):
		code, detail = "overloaded", "the ingest queue is full; retry after the given delay"
		p.RetryAfter = 1
	case errors.Is(err, store.ErrFailed):
		code, detail = "unavailable", "the telemetry store stopped accepting writes after a write to its disk failed; the server needs a restart (/readyz reports it)"
	case errors.Is(err, store.ErrClosed):
		code, detail = "unavailable", "the store is closed"
	case errors.Is(err, telemetry.ErrMalformed):
		code, detail = "malformed-body", err.Error()
	case errors.As(err, &ie):
		code, detail = "incompatible-type", ie.Error()
		p.Twins = ie.Twins
	case errors.As(err, &re):
		code, detail = "referenced", re.Error()
		p.Twins = re.By
	case errors.As(err, &ve), errors.Is(err, twin.ErrInvalid):
		code, detail = "invalid", err.Error()
	case errors.Is(err, twin.ErrNotFound):
		code, detail = "not-found", err.Error()
	case errors.Is(err, twin.ErrExists):
		code, detail = "exists", err.Error()
	case errors.Is(err, twin.ErrConflict):
		code, detail = "precondition-failed", err.Error()
	case errors.Is(err, alert.ErrMalformed):
		code, detail = "malformed-body", err.Error()
	case errors.Is(err, alert.ErrInvalid):
		code, detail = "invalid", err.Error()
	case errors.Is(err, alert.ErrNotFound):
		code, detail = "not-found", err.Error()
	case errors.Is(err, alert.ErrExists):
		code, detail = "exists", err.Error()
	case errors.Is(err, alert.ErrConflict):
		code, detail = "precondition-failed", err.Error()
	case errors.Is(err, alert.ErrState):
		code, detail = "alert-state", err.Error()
	case errors.Is(err, alert.ErrClosed):
		code, detail = "unavailable", "the alert engine is closed"
	case isGovernError(err):
		code, detail, _ = governProblem(err, &p)
	case errors.Is(err, context.DeadlineExceeded):
		code, detail = "timeout", "the request took too long"
	}
	c, ok := problemCatalogue[code]
	if !ok {
		c = problemCatalogue["internal"]
		code = "internal"
	}
	p.Type, p.Title, p.Status, p.Detail = problemBase+code, c.title, c.status, detail
	return p
}

func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	p := problemFor(err)
	p.Instance = r.URL.Path
	if p.Status >= 500 {
		s.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	} else {
		s.log.DebugContext(r.Context(), "request refused", "method", r.Method, "path", r.URL.Path, "status", p.Status, "err", err)
	}
	writeProblem(w, p)
}

func writeProblem(w http.ResponseWriter, p Problem) {
	if p.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(p.RetryAfter))
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p) // the client may have gone; nothing to do
}
