package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/tsingma/tsingma/internal/alert"
	"github.com/tsingma/tsingma/internal/auth"
)

// Alerts is the rule engine and alert store as the API uses it
// (*alert.Engine implements it).
type Alerts interface {
	ListRules(ctx context.Context, tenant string) []alert.Rule
	GetRule(ctx context.Context, tenant, id string) (alert.Rule, error)
	CreateRule(ctx context.Context, tenant string, r alert.Rule) (alert.Rule, error)
	PutRule(ctx context.Context, tenant string, r alert.Rule, ifMatch uint64) (alert.Rule, bool, error)
	DeleteRule(ctx context.Context, tenant, id string) error
	ListAlerts(ctx context.Context, tenant string, q alert.Query) (alert.Page, error)
	GetAlert(ctx context.Context, tenant, id string) (alert.Alert, error)
	Ack(ctx context.Context, tenant, id string, a alert.Action) (alert.Alert, error)
	Resolve(ctx context.Context, tenant, id string, a alert.Action) (alert.Alert, error)
	TwinDeleted(ctx context.Context, tenant, twin string) (int, error)
}

// alertRoutes are the rules and alerts endpoints; none without an engine.
func (s *Server) alertRoutes() []Route {
	if s.cfg.Alerts == nil {
		return nil
	}
	r := func(method, pattern, summary string, h handler) Route {
		return Route{method, pattern, summary, s.h(h)}
	}
	return []Route{
		r("GET", "/api/v1/rules", "List alert rules (filters: type, twin, channel)", s.listRules),
		r("POST", "/api/v1/rules", "Create an alert rule", s.createRule),
		r("GET", "/api/v1/rules/{id}", "Get an alert rule", s.getRule),
		r("PUT", "/api/v1/rules/{id}", "Create or replace an alert rule", s.putRule),
		r("DELETE", "/api/v1/rules/{id}", "Delete an alert rule and clear its alerts", s.deleteRule),
		r("GET", "/api/v1/alerts", "List alerts (filters, cursor)", s.listAlerts),
		r("GET", "/api/v1/alerts/{id}", "Get an alert", s.getAlert),
		r("POST", "/api/v1/alerts/{id}/ack", "Acknowledge an alert", s.ackAlert),
		r("POST", "/api/v1/alerts/{id}/resolve", "Resolve (close) an open alert by hand", s.resolveAlert),
	}
}

func writeRule(w http.ResponseWriter, status int, ru alert.Rule) error {
	w.Header().Set("ETag", etag(ru.Version))
	return writeJSON(w, status, ru)
}

// listRules lists the tenant's rules by id, optionally only those with
// the given type, twin or channel.
func (s *Server) listRules(w http.ResponseWriter, r *http.Request) error {
	v := r.URL.Query()
	for k := range v {
		if k != "type" && k != "twin" && k != "channel" {
			return errorf("bad-query", "unknown parameter %q (want type, twin, channel)", clip(k))
		}
	}
	items := []alert.Rule{}
	for _, ru := range s.cfg.Alerts.ListRules(r.Context(), tenantOf(r)) {
		if (!v.Has("type") || ru.Type == v.Get("type")) && (!v.Has("twin") || ru.Twin == v.Get("twin")) && (!v.Has("channel") || ru.Channel == v.Get("channel")) {
			items = append(items, ru)
		}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"items": items})
}

func (s *Server) getRule(w http.ResponseWriter, r *http.Request) error {
	ru, err := s.cfg.Alerts.GetRule(r.Context(), tenantOf(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeRule(w, http.StatusOK, ru)
}

func (s *Server) createRule(w http.ResponseWriter, r *http.Request) error {
	ru, err := alert.DecodeRule(r.Body)
	if err != nil {
		return err
	}
	out, err := s.cfg.Alerts.CreateRule(r.Context(), tenantOf(r), ru)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/rules/"+out.ID)
	return writeRule(w, http.StatusCreated, out)
}

func (s *Server) putRule(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	match, create, err := putPrecondition(r, func() (uint64, bool) {
		ru, err := s.cfg.Alerts.GetRule(r.Context(), tenantOf(r), id)
		return ru.Version, err == nil
	})
	if err != nil {
		return err
	}
	ru, err := alert.DecodeRule(r.Body)
	if err != nil {
		return err
	}
	if ru.ID == "" {
		ru.ID = id
	} else if ru.ID != id {
		return errorf("invalid", "the document's id %q differs from the path's %q", clip(ru.ID), clip(id))
	}
	var out alert.Rule
	created := create
	if create {
		out, err = s.cfg.Alerts.CreateRule(r.Context(), tenantOf(r), ru)
		if errors.Is(err, alert.ErrExists) {
			return errorf("precondition-failed", "If-None-Match: *, and rule %s exists", clip(id))
		}
	} else {
		out, created, err = s.cfg.Alerts.PutRule(r.Context(), tenantOf(r), ru, match)
	}
	if err != nil {
		return err
	}
	if created {
		w.Header().Set("Location", "/api/v1/rules/"+out.ID)
		return writeRule(w, http.StatusCreated, out)
	}
	return writeRule(w, http.StatusOK, out)
}

func (s *Server) deleteRule(w http.ResponseWriter, r *http.Request) error {
	if err := s.cfg.Alerts.DeleteRule(r.Context(), tenantOf(r), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// listAlerts: state (raised, acknowledged, cleared, open), severity, twin,
// type, channel, source ("rule", "model", or exact), rule, limit, cursor.
func (s *Server) listAlerts(w http.ResponseWriter, r *http.Request) error {
	v := r.URL.Query()
	for k := range v {
		switch k {
		case "state", "severity", "twin", "type", "channel", "source", "rule", "limit", "cursor":
			if len(v[k]) > 1 {
				return errorf("bad-query", "%s is given %d times; give it once", k, len(v[k]))
			}
		default:
			return errorf("bad-query", "unknown parameter %q (want state, severity, twin, type, channel, source, rule, limit, cursor)", clip(k))
		}
	}
	q := alert.Query{
		State: v.Get("state"), Severity: alert.Severity(v.Get("severity")), Twin: v.Get("twin"),
		Type: v.Get("type"), Channel: v.Get("channel"), Source: v.Get("source"), Rule: v.Get("rule"),
		Cursor: v.Get("cursor"),
	}
	if l := v.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 {
			return errorf("bad-query", "limit must be an integer from 1 to 1000")
		}
		q.Limit = n
	}
	page, err := s.cfg.Alerts.ListAlerts(r.Context(), tenantOf(r), q)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, page)
}

func (s *Server) getAlert(w http.ResponseWriter, r *http.Request) error {
	a, err := s.cfg.Alerts.GetAlert(r.Context(), tenantOf(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, a)
}

// decodeAction reads {"comment": ...} and fills in who acts from the
// request's principal (its access token): the body cannot name someone
// else. A "by" in the body is accepted only when it names the principal.
func decodeAction(r *http.Request) (alert.Action, error) {
	var a alert.Action
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&a); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return a, err
		}
		return a, &apiError{code: "malformed-body", detail: "want {\"comment\": \"why\"}: " + err.Error(), cause: err}
	}
	if dec.More() {
		return a, errorf("malformed-body", "more than one JSON value")
	}
	if !a.At.IsZero() {
		return a, errorf("invalid", "at: set by the server")
	}
	p := principalOf(r)
	name := p.Name
	if name == "" {
		name = "anonymous"
	}
	if a.By != "" && a.By != name {
		return a, errorf("invalid", "by: the action is recorded under your access token (%q); leave by out", clip(name))
	}
	a.By = actorLabel(p)
	return a, nil
}

// actorLabel names a principal in records other people read: the token's
// name and, since names need not be unique, its id.
func actorLabel(p auth.Principal) string {
	name := p.Name
	if name == "" {
		name = "anonymous"
	}
	if p.TokenID == "" {
		return name
	}
	return name + " (token " + p.TokenID + ")"
}

func (s *Server) ackAlert(w http.ResponseWriter, r *http.Request) error {
	act, err := decodeAction(r)
	if err != nil {
		return err
	}
	a, err := s.cfg.Alerts.Ack(r.Context(), tenantOf(r), r.PathValue("id"), act)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, a)
}

func (s *Server) resolveAlert(w http.ResponseWriter, r *http.Request) error {
	act, err := decodeAction(r)
	if err != nil {
		return err
	}
	a, err := s.cfg.Alerts.Resolve(r.Context(), tenantOf(r), r.PathValue("id"), act)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, a)
}
