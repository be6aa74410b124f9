package api

import (
	"encoding/json"
	"net/http"

	"github.com/tsingma/tsingma/internal/scoring"
)

// Anomaly is the anomaly-scoring service as the API uses it.
type Anomaly interface {
	Policy() scoring.Policy
	SetPolicy(scoring.Policy) error
	Stats() scoring.Stats
}

func (s *Server) anomalyRoutes() []Route {
	if s.cfg.Anomaly == nil {
		return nil
	}
	r := func(method, pattern, summary string, h handler) Route {
		return Route{method, pattern, summary, s.h(h)}
	}
	return []Route{
		r("GET", "/api/v1/anomaly/policy", "Anomaly scoring policy: defaults and overrides by type and twin", s.getAnomalyPolicy),
		r("PUT", "/api/v1/anomaly/policy", "Replace the anomaly scoring policy", s.putAnomalyPolicy),
		r("GET", "/api/v1/anomaly/status", "Anomaly scoring counters and backlog", s.getAnomalyStatus),
	}
}

func (s *Server) getAnomalyPolicy(w http.ResponseWriter, _ *http.Request) error {
	return writeJSON(w, http.StatusOK, s.cfg.Anomaly.Policy())
}

func (s *Server) putAnomalyPolicy(w http.ResponseWriter, r *http.Request) error {
	var p scoring.Policy
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return decodeErr(err)
	}
	if err := p.Validate(); err != nil {
		return errorf("invalid", "%v", err)
	}
	if err := s.cfg.Anomaly.SetPolicy(p); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, s.cfg.Anomaly.Policy())
}

func (s *Server) getAnomalyStatus(w http.ResponseWriter, _ *http.Request) error {
	st := s.cfg.Anomaly.Stats()
	return writeJSON(w, http.StatusOK, map[string]any{
		"model": scoring.ModelName, "version": scoring.ModelVersion,
		"scored": st.Scored, "dropped": st.Dropped, "alerts": st.Alerts, "backlog_batches": st.Backlog,
	})
}
