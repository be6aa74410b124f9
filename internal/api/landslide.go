package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/tsingma/tsingma/internal/slopewatch"
)

// Landslide is the live landslide model as the API uses it
// (*slopewatch.Service).
type Landslide interface {
	Snapshot(tenant string) *slopewatch.Snapshot
	WhatIf(ctx context.Context, tenant string, st slopewatch.Storm) (*slopewatch.WhatIfResult, error)
}

// landslideRoutes are always routed (and documented); without a model
// they answer 503.
func (s *Server) landslideRoutes() []Route {
	r := func(method, pattern, summary string, h handler) Route {
		return Route{method, pattern, summary, s.h(h)}
	}
	return []Route{
		r("GET", "/api/v1/landslide/status", "Landslide model status: territory-wide landslip warning, slope counts by risk level, every slope's level and minimum FS (map layer)", s.getLandslideStatus),
		r("GET", "/api/v1/landslide/slopes/{id}", "A slope's landslide evidence: rainfall windows and gauges used, FS over depth, failure-time forecasts, risk level with reasons", s.getLandslideSlope),
		r("POST", "/api/v1/landslide/whatif", "Run a design storm (hyetograph, or return period and duration) on every slope without touching live state; slopes ranked by minimum FS with the expected number of failures", s.postLandslideWhatIf),
	}
}

func (s *Server) landslide() (Landslide, error) {
	if s.cfg.Landslide == nil {
		return nil, errorf("unavailable", "the landslide model is not running")
	}
	return s.cfg.Landslide, nil
}

func (s *Server) getLandslideStatus(w http.ResponseWriter, r *http.Request) error {
	ls, err := s.landslide()
	if err != nil {
		return err
	}
	sn := ls.Snapshot(tenantOf(r))
	if sn == nil {
		return errorf("unavailable", "the landslide model has not loaded this tenant's slopes yet; retry shortly")
	}
	return writeJSON(w, http.StatusOK, sn)
}

func (s *Server) getLandslideSlope(w http.ResponseWriter, r *http.Request) error {
	ls, err := s.landslide()
	if err != nil {
		return err
	}
	v, err := ls.Snapshot(tenantOf(r)).Slope(r.PathValue("id"))
	if errors.Is(err, slopewatch.ErrNotFound) {
		return errorf("not-found", "%v", err)
	}
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

type fieldProblem struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (s *Server) postLandslideWhatIf(w http.ResponseWriter, r *http.Request) error {
	ls, err := s.landslide()
	if err != nil {
		return err
	}
	var st slopewatch.Storm
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		return whatIfDecodeErr(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return &apiError{code: "malformed-body", detail: "one JSON object expected",
			extra: func(p *Problem) { p.Errors = []fieldProblem{{"", "trailing data after the object"}} }}
	}
	res, err := ls.WhatIf(r.Context(), tenantOf(r), st)
	var fe *slopewatch.FieldError
	if errors.As(err, &fe) {
		return &apiError{code: "invalid", detail: fe.Error(), cause: err,
			extra: func(p *Problem) { p.Errors = []fieldProblem{{fe.Field, fe.Message}} }}
	}
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, res)
}

// whatIfDecodeErr names the field of a decoding error.
func whatIfDecodeErr(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return err
	}
	field := ""
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &te):
		field = te.Field
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field = strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
	}
	return &apiError{code: "malformed-body", detail: "want a storm: {\"hyetograph\": [{\"hours\": h, \"mm_per_h\": i}, ...]} or {\"return_period_years\": T, \"duration_hours\": D}: " + err.Error(), cause: err,
		extra: func(p *Problem) { p.Errors = []fieldProblem{{field, err.Error()}} }}
}
