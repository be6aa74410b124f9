package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/tsingma/tsingma/internal/dispatch"
	"github.com/tsingma/tsingma/internal/route"
)

// Dispatch is the logistics service as the API uses it: routing jobs
// (*dispatch.Service) and the inventory monitor (*dispatch.Monitor).
type Dispatch interface {
	Submit(ctx context.Context, tenant string, def dispatch.Definition) (*dispatch.Job, error)
	Get(tenant, id string) (*dispatch.Job, error)
	List(tenant string) ([]dispatch.Summary, error)
	Cancel(tenant, id string) (*dispatch.Job, error)
	Replan(ctx context.Context, tenant, id string, r dispatch.Replan) (*dispatch.Job, error)
	Warehouse(ctx context.Context, tenant, id string) (*dispatch.WarehouseView, error)
}

// routingRoutes are always routed (and documented); without the service
// they answer 503.
func (s *Server) routingRoutes() []Route {
	r := func(method, pattern, summary string, h handler) Route {
		return Route{method, pattern, summary, s.h(h)}
	}
	return []Route{
		r("POST", "/api/v1/routing/jobs", "Start a routing job (VRP with time windows) from a depot twin ({\"depot\": id}) or an explicit problem; 202 with the queued job; progress on the stream (kinds=routing)", s.postRoutingJob),
		r("GET", "/api/v1/routing/jobs", "List routing jobs, newest first", s.listRoutingJobs),
		r("GET", "/api/v1/routing/jobs/{id}", "A routing job: state, best cost over time, and the checked plan (routes with stop order, ETAs, loads, slack; unserved stops with reasons; the previous plan when re-planned)", s.getRoutingJob),
		r("DELETE", "/api/v1/routing/jobs/{id}", "Cancel a queued or running routing job (a running job keeps its best plan so far)", s.cancelRoutingJob),
		r("POST", "/api/v1/routing/jobs/{id}/replan", "Repair a job's plan after a breakdown or an urgent stop: served stops kept, vehicles continue from their current positions; 202 with the new job", s.postRoutingReplan),
		r("GET", "/api/v1/inventory/{warehouse}", "A warehouse's stock items: demand forecast, reorder point, order quantity, stock-out risk and reorder suggestion", s.getInventory),
	}
}

func (s *Server) dispatch() (Dispatch, error) {
	if s.cfg.Dispatch == nil {
		return nil, errorf("unavailable", "the routing and inventory service is not running")
	}
	return s.cfg.Dispatch, nil
}

// stopProblem names the stop or vehicle that makes a definition invalid.
type stopProblem struct {
	Stop    string `json:"stop,omitempty"`
	Vehicle string `json:"vehicle,omitempty"`
	Field   string `json:"field"`
	Message string `json:"message"`
}

// routingErr turns the service's errors into problems.
func routingErr(err error) error {
	var se *route.StopError
	var ve *route.VehicleError
	var me *route.MatrixError
	var de *dispatch.DefinitionError
	one := func(code string, sp stopProblem) error {
		return &apiError{code: code, detail: err.Error(), cause: err,
			extra: func(p *Problem) { p.Errors = []stopProblem{sp} }}
	}
	switch {
	case errors.As(err, &se):
		return one("infeasible-definition", stopProblem{Stop: se.StopID, Field: se.Field, Message: se.Reason})
	case errors.As(err, &ve):
		return one("infeasible-definition", stopProblem{Vehicle: ve.VehicleID, Field: ve.Field, Message: ve.Reason})
	case errors.As(err, &me):
		return one("invalid", stopProblem{Field: "distance", Message: me.Reason})
	case errors.As(err, &de):
		return one("invalid", stopProblem{Field: de.Field, Message: de.Reason})
	case errors.Is(err, route.ErrNoVehicles):
		return one("infeasible-definition", stopProblem{Field: "vehicles", Message: "no vehicles"})
	case errors.Is(err, dispatch.ErrNotFound):
		return errorf("not-found", "%v", err)
	case errors.Is(err, dispatch.ErrState):
		return &apiError{code: "job-state", detail: err.Error(), cause: err}
	case errors.Is(err, dispatch.ErrBusy):
		return &apiError{code: "overloaded", detail: err.Error(), cause: err, extra: func(p *Problem) { p.RetryAfter = 5 }}
	case errors.Is(err, dispatch.ErrClosed):
		return errorf("unavailable", "the routing service is shutting down")
	}
	return err
}

func decodeStrictBody(r *http.Request, v any, want string) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return &apiError{code: "malformed-body", detail: want + ": " + err.Error(), cause: err}
	}
	if _, err := dec.Token(); err != io.EOF {
		return &apiError{code: "malformed-body", detail: "one JSON object expected: trailing data after the object"}
	}
	return nil
}

func (s *Server) postRoutingJob(w http.ResponseWriter, r *http.Request) error {
	d, err := s.dispatch()
	if err != nil {
		return err
	}
	var def dispatch.Definition
	if err := decodeStrictBody(r, &def, `want {"depot": "<depot twin id>"} or {"depot_location": {...}, "stops": [...], "vehicles": [...]}`); err != nil {
		return err
	}
	j, err := d.Submit(r.Context(), tenantOf(r), def)
	if err != nil {
		return routingErr(err)
	}
	w.Header().Set("Location", "/api/v1/routing/jobs/"+j.ID)
	return writeJSON(w, http.StatusAccepted, j)
}

func (s *Server) listRoutingJobs(w http.ResponseWriter, r *http.Request) error {
	d, err := s.dispatch()
	if err != nil {
		return err
	}
	l, err := d.List(tenantOf(r))
	if err != nil {
		return routingErr(err)
	}
	return writeJSON(w, http.StatusOK, map[string]any{"jobs": l})
}

func (s *Server) getRoutingJob(w http.ResponseWriter, r *http.Request) error {
	d, err := s.dispatch()
	if err != nil {
		return err
	}
	j, err := d.Get(tenantOf(r), r.PathValue("id"))
	if err != nil {
		return routingErr(err)
	}
	return writeJSON(w, http.StatusOK, j)
}

func (s *Server) cancelRoutingJob(w http.ResponseWriter, r *http.Request) error {
	d, err := s.dispatch()
	if err != nil {
		return err
	}
	j, err := d.Cancel(tenantOf(r), r.PathValue("id"))
	if err != nil {
		return routingErr(err)
	}
	return writeJSON(w, http.StatusAccepted, j)
}

func (s *Server) postRoutingReplan(w http.ResponseWriter, r *http.Request) error {
	d, err := s.dispatch()
	if err != nil {
		return err
	}
	var rp dispatch.Replan
	if err := decodeStrictBody(r, &rp, `want {"broken": [...], "add_stops": [...], "positions": {...}, "served": {...}}`); err != nil {
		return err
	}
	j, err := d.Replan(r.Context(), tenantOf(r), r.PathValue("id"), rp)
	if err != nil {
		return routingErr(err)
	}
	w.Header().Set("Location", "/api/v1/routing/jobs/"+j.ID)
	return writeJSON(w, http.StatusAccepted, j)
}

func (s *Server) getInventory(w http.ResponseWriter, r *http.Request) error {
	d, err := s.dispatch()
	if err != nil {
		return err
	}
	v, err := d.Warehouse(r.Context(), tenantOf(r), r.PathValue("warehouse"))
	if err != nil {
		return routingErr(err)
	}
	return writeJSON(w, http.StatusOK, v)
}
