package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/tsingma/tsingma/internal/audit"
	"github.com/tsingma/tsingma/internal/auth"
	"github.com/tsingma/tsingma/internal/govern"
	"github.com/tsingma/tsingma/internal/telemetry"
)

// Govern is what the governance, audit and token routes need
// (*govern.Platform implements it).
type Govern interface {
	GovernRegistry() *govern.Registry
	GovernShadows() *govern.Shadows
	GovernDrift() *govern.DriftMonitor // nil: no drift monitor
	GovernSource() govern.Source
	AuditLog() *audit.Log
	TokenStore() *auth.Store
}

// governRoutes are the governance, audit and token endpoints; none
// without Config.Govern.
func (s *Server) governRoutes() []Route {
	if s.cfg.Govern == nil {
		return nil
	}
	r := func(method, pattern, summary string, h handler) Route {
		return Route{method, pattern, summary, s.h(h)}
	}
	return []Route{
		r("GET", "/api/v1/whoami", "The principal the request acts as", s.whoami),
		r("GET", "/api/v1/tokens", "List the tenant's access tokens (never their secrets)", s.listTokens),
		r("POST", "/api/v1/tokens", "Create an access token; its secret is shown once", s.createToken),
		r("DELETE", "/api/v1/tokens/{id}", "Revoke an access token", s.revokeToken),

		r("GET", "/api/v1/governance/principles", "The Ethical AI Framework catalogue: principles, criteria, lifecycle stages", s.getPrinciples),
		r("POST", "/api/v1/governance/gate", "Risk gating: questionnaire to tier, evaluations, sign-off chain, review interval", s.postGate),
		r("GET", "/api/v1/governance/check", "Live models without a current assessment", s.getGovernCheck),
		r("GET", "/api/v1/governance/systems", "List AI systems", s.listSystems),
		r("POST", "/api/v1/governance/systems", "Register an AI system", s.createSystem),
		r("GET", "/api/v1/governance/systems/{id}", "Get an AI system with its versions, aliases and transitions", s.getSystem),
		r("POST", "/api/v1/governance/systems/{id}/versions", "Register a model version", s.createVersion),
		r("POST", "/api/v1/governance/systems/{id}/aliases/{alias}", "Move the challenger or shadow alias (recorded)", s.setAlias),
		r("POST", "/api/v1/governance/systems/{id}/promote", "Make a version champion through the promotion gate", s.promote),
		r("POST", "/api/v1/governance/systems/{id}/rollback", "Make the previous champion champion again", s.rollback),
		r("POST", "/api/v1/governance/systems/{id}/incidents", "Record an incident, drift or change: assessments become due", s.incident),
		r("POST", "/api/v1/governance/systems/{id}/shadow", "Start a shadow trial of a version on the live stream", s.startShadow),
		r("DELETE", "/api/v1/governance/systems/{id}/shadow", "Stop the system's shadow trial", s.stopShadow),
		r("POST", "/api/v1/governance/systems/{id}/shadow/evaluation", "Record the shadow trial's counters as an evaluation", s.recordShadow),
		r("GET", "/api/v1/governance/shadows", "Running shadow trials and their counters", s.listShadows),
		r("GET", "/api/v1/governance/drift", "Score drift of live models against their approval baselines (PSI, KS)", s.listDrift),
		r("POST", "/api/v1/governance/backtests", "Replay a version over recorded telemetry (deterministic, point-in-time)", s.postBacktest),
		r("POST", "/api/v1/governance/comparisons", "Champion-challenger replay with paired bootstrap intervals", s.postComparison),
		r("GET", "/api/v1/governance/evaluations", "List evaluations (backtests, comparisons, shadow trials)", s.listEvaluations),
		r("GET", "/api/v1/governance/evaluations/{id}", "Get an evaluation", s.getEvaluation),
		r("GET", "/api/v1/governance/evaluations/{id}/report", "An evaluation's report: its exact JSON, or HTML for a comparison (?format=html)", s.getReport),
		r("POST", "/api/v1/governance/documents", "Register a document by its bytes (the server hashes it) for evidence", s.postDocument),
		r("GET", "/api/v1/governance/assessments", "List impact assessments", s.listAssessments),
		r("POST", "/api/v1/governance/assessments", "Start an impact assessment of a version (the caller prepares it)", s.createAssessment),
		r("GET", "/api/v1/governance/assessments/{id}", "Get an impact assessment", s.getAssessment),
		r("PUT", "/api/v1/governance/assessments/{id}/answers/{criterion}", "Answer a criterion with evidence", s.putAnswer),
		r("POST", "/api/v1/governance/assessments/{id}/signoffs", "Sign the next step: preparer, reviewer, approver", s.postSignOff),
		r("GET", "/api/v1/governance/assessments/{id}/pack", "Evidence pack: the assessment, its evidence and audit proofs", s.getPack),

		r("GET", "/api/v1/audit/checkpoint", "The latest signed checkpoint and the public key", s.getCheckpoint),
		r("GET", "/api/v1/audit/entries", "Audit entries of the tenant (from, limit)", s.listAuditEntries),
		r("GET", "/api/v1/audit/entries/{seq}/proof", "Inclusion proof of an entry against a signed checkpoint", s.getAuditProof),
		r("GET", "/api/v1/audit/consistency", "Consistency proof between two tree sizes (from, to)", s.getConsistency),
		r("POST", "/api/v1/audit/verify", "Verify the whole log on disk against its checkpoints", s.postAuditVerify),
	}
}

// principalOf returns the request's principal; without one (auth off)
// an anonymous principal of the request's tenant, which may read but
// cannot prepare, review or approve.
func principalOf(r *http.Request) auth.Principal {
	if p, ok := auth.FromContext(r.Context()); ok {
		return p
	}
	return auth.Principal{Name: "anonymous", Tenant: tenantOf(r)}
}

func (s *Server) tenantP(r *http.Request) (auth.Principal, string) {
	p := principalOf(r)
	if p.Tenant == "" {
		p.Tenant = telemetry.DefaultTenant
	}
	return p, p.Tenant
}

func decodeBody(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeErr(err)
	}
	if dec.More() {
		return errorf("malformed-body", "more than one JSON value")
	}
	return nil
}

func (s *Server) whoami(w http.ResponseWriter, r *http.Request) error {
	p, _ := s.tenantP(r)
	return writeJSON(w, http.StatusOK, p)
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) error {
	_, t := s.tenantP(r)
	return writeJSON(w, http.StatusOK, map[string]any{"items": nonNil(s.cfg.Govern.TokenStore().List(t))})
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request) error {
	p, t := s.tenantP(r)
	var in struct {
		Name string    `json:"name"`
		Role auth.Role `json:"role"`
		TTL  string    `json:"ttl,omitempty"`
	}
	if err := decodeBody(r, &in); err != nil {
		return err
	}
	n := auth.NewToken{Name: in.Name, Role: in.Role, Tenant: t}
	if in.TTL != "" {
		d, err := time.ParseDuration(in.TTL)
		if err != nil {
			return errorf("invalid", "ttl: want a duration like 720h")
		}
		n.TTL = d
	}
	tok, secret, err := s.cfg.Govern.TokenStore().Create(r.Context(), p.Name, n)
	if err != nil {
		return err
	}
	tok.Hash = ""
	return writeJSON(w, http.StatusCreated, map[string]any{"token": tok, "secret": secret})
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request) error {
	p, t := s.tenantP(r)
	tok, err := s.cfg.Govern.TokenStore().Revoke(r.Context(), p.Name, t, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, tok)
}

func (s *Server) getPrinciples(w http.ResponseWriter, _ *http.Request) error {
	return writeJSON(w, http.StatusOK, s.cfg.Govern.GovernRegistry().Catalogue())
}

func (s *Server) postGate(w http.ResponseWriter, r *http.Request) error {
	var q govern.Questionnaire
	if err := decodeBody(r, &q); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, q.Assess())
}

func (s *Server) getGovernCheck(w http.ResponseWriter, r *http.Request) error {
	_, t := s.tenantP(r)
	fs, err := s.cfg.Govern.GovernRegistry().Check(t)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"ok": len(fs) == 0, "findings": nonNil(fs)})
}

func (s *Server) listSystems(w http.ResponseWriter, r *http.Request) error {
	_, t := s.tenantP(r)
	ss, err := s.cfg.Govern.GovernRegistry().Systems(t)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"items": nonNil(ss)})
}

func (s *Server) createSystem(w http.ResponseWriter, r *http.Request) error {
	p, t := s.tenantP(r)
	var n govern.NewSystem
	if err := decodeBody(r, &n); err != nil {
		return err
	}
	sys, err := s.cfg.Govern.GovernRegistry().RegisterSystem(r.Context(), p, t, n)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, sys)
}

func (s *Server) getSystem(w http.ResponseWriter, r *http.Request) error {
	_, t := s.tenantP(r)
	sys, err := s.cfg.Govern.GovernRegistry().GetSystem(t, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, sys)
}

func (s *Server) createVersion(w http.ResponseWriter, r *http.Request) error {
	p, t := s.tenantP(r)
	var n govern.NewVersion
	if err := decodeBody(r, &n); err != nil {
		return err
	}
	v, err := s.cfg.Govern.GovernRegistry().RegisterVersion(r.Context(), p, t, r.PathValue("id"), n)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, v)
}

type versionReason struct {
	Version string `json:"version"`
	Reason  string `json:"reason"`
}

func (s *Server) setAlias(w http.ResponseWriter, r *http.Request) error {
	p, t := s.tenantP(r)
	var in versionReason
	if err := decodeBody(r, &in); err != nil {
		return err
	}
	tr, err := s.cfg.Govern.GovernRegistry().SetAlias(r.Context(), p, t, r.PathValue("id"), r.PathValue("alias"), in.Version, in.Reason)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, tr)
}

func (s *Server) promote(w http.ResponseWriter, r *http.Request) error {
	p, t := s.tenantP(r)
	var in versionReason
	if err := decodeBody(r, &in); err != nil {
		return err
	}
	tr, err := s.cfg.Govern.GovernRegistry().Promote(r.Context(), p, t, r.PathValue("id"), in.Version, in.Reason)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, tr)
}

func (s *Server) rollback(w http.ResponseWriter, r *http.Request) error {
	p, t := s.tenantP(r)
	var in struct {
		Reason string `json:"reason"`
	}
	if err := decodeBody(r, &in); err != nil {
		return err
	}
	tr, err := s.cfg.Govern.GovernRegistry().Rollback(r.Context(), p, t, r.PathValue("id"), in.Reason)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, tr)
}

func (s *Server) incident(w http.ResponseWriter, r *http.Request) error {
	p, t := s.tenantP(r)
	var in struct {
		Kind   string `json:"kind"`
		Detail string `json:"detail"`
	}
	if err := decodeBody(r, &in); err != nil {
		return err
	}
	out, err := s.cfg.Govern.GovernRegistry().ReportIncident(r.Context(), p, t, r.PathValue("id"), govern.Incident{Kind: in.Kind, Detail: in.Detail})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, out)
}

func (s *Server) startShadow(w http.ResponseWriter, r *http.Request) error {
	p, t := s.tenantP(r)
	var in struct {
		Version  string  `json:"version"`
		Fraction float64 `json:"fraction"`
	}
	if err := decodeBody(r, &in); err != nil {
		return err
	}
	st, err := s.cfg.Govern.GovernShadows().Start(r.Context(), p, t, r.PathValue("id"), in.Version, in.Fraction)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, st)
}

func (s *Server) stopShadow(w http.ResponseWriter, r *http.Request) error {
	p, t := s.tenantP(r)
	if err := s.cfg.Govern.GovernShadows().Stop(r.Context(), p, t, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) recordShadow(w http.ResponseWriter, r *http.Request) error {
	p, t := s.tenantP(r)
	ev, err := s.cfg.Govern.GovernShadows().Record(r.Context(), p, t, r.PathValue("id"))
	if err != nil {
		return err
	}
	ev.Report = nil
	return writeJSON(w, http.StatusCreated, ev)
}

func (s *Server) listShadows(w http.ResponseWriter, r *http.Request) error {
	_, t := s.tenantP(r)
	return writeJSON(w, http.StatusOK, map[string]any{"items": nonNil(s.cfg.Govern.GovernShadows().List(t))})
}

func (s *Server) listDrift(w http.ResponseWriter, r *http.Request) error {
	_, t := s.tenantP(r)
	d := s.cfg.Govern.GovernDrift()
	if d == nil {
		return writeJSON(w, http.StatusOK, map[string]any{"items": []any{}, "running": false})
	}
	return writeJSON(w, http.StatusOK, map[string]any{"items": nonNil(d.Status(t)), "running": true})
}

type replayBody struct {
	govern.ReplayRequest
	Version    string `json:"version,omitempty"`    // backtest
	Champion   string `json:"champion,omitempty"`   // comparison; default: the current champion
	Challenger string `json:"challenger,omitempty"` // comparison
}

func (s *Server) postBacktest(w http.ResponseWriter, r *http.Request) error {
	p, t := s.tenantP(r)
	var in replayBody
	if err := decodeBody(r, &in); err != nil {
		return err
	}
	ev, rep, err := s.cfg.Govern.GovernRegistry().Backtest(r.Context(), p, t, s.cfg.Govern.GovernSource(), in.Version, in.ReplayRequest)
	if err != nil {
		return err
	}
	ev.Report = nil
	return writeJSON(w, http.StatusCreated, map[string]any{"evaluation": ev, "report": rep})
}

func (s *Server) postComparison(w http.ResponseWriter, r *http.Request) error {
	p, t := s.tenantP(r)
	var in replayBody
	if err := decodeBody(r, &in); err != nil {
		return err
	}
	ev, rep, err := s.cfg.Govern.GovernRegistry().Compare(r.Context(), p, t, s.cfg.Govern.GovernSource(), in.Champion, in.Challenger, in.ReplayRequest)
	if err != nil {
		return err
	}
	ev.Report = nil
	return writeJSON(w, http.StatusCreated, map[string]any{"evaluation": ev, "report": rep})
}

func (s *Server) listEvaluations(w http.ResponseWriter, r *http.Request) error {
	_, t := s.tenantP(r)
	evs, err := s.cfg.Govern.GovernRegistry().Evaluations(t, r.URL.Query().Get("system"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"items": nonNil(evs)})
}

func (s *Server) getEvaluation(w http.ResponseWriter, r *http.Request) error {
	_, t := s.tenantP(r)
	ev, err := s.cfg.Govern.GovernRegistry().GetEvaluation(t, r.PathValue("id"))
	if err != nil {
		return err
	}
	ev.Report = nil
	return writeJSON(w, http.StatusOK, ev)
}

func (s *Server) getReport(w http.ResponseWriter, r *http.Request) error {
	_, t := s.tenantP(r)
	ev, err := s.cfg.Govern.GovernRegistry().GetEvaluation(t, r.PathValue("id"))
	if err != nil {
		return err
	}
	if len(ev.Report) == 0 {
		return errorf("not-found", "the report of %s was too large to keep; its SHA-256 is %s", ev.ID, ev.ReportHash)
	}
	switch r.URL.Query().Get("format") {
	case "", "json":
		w.Header().Set("Content-Type", "application/json")
		_, err = w.Write(ev.Report)
		return err
	case "html":
		if ev.Kind != govern.EvalComparison {
			return errorf("bad-request", "only comparison reports have an HTML form")
		}
		var rep govern.ComparisonReport
		if err := json.Unmarshal(ev.Report, &rep); err != nil {
			return err
		}
		b, err := rep.HTML()
		if err != nil {
			return err
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
		_, err = w.Write(b)
		return err
	}
	return errorf("bad-request", "format must be json or html")
}

func (s *Server) postDocument(w http.ResponseWriter, r *http.Request) error {
	p, t := s.tenantP(r)
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	d, err := s.cfg.Govern.GovernRegistry().RegisterDocument(r.Context(), p, t, r.URL.Query().Get("name"), body)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, d)
}

func (s *Server) listAssessments(w http.ResponseWriter, r *http.Request) error {
	_, t := s.tenantP(r)
	as, err := s.cfg.Govern.GovernRegistry().Assessments(t, r.URL.Query().Get("system"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"items": nonNil(as)})
}

func (s *Server) createAssessment(w http.ResponseWriter, r *http.Request) error {
	p, t := s.tenantP(r)
	var in struct {
		System        string               `json:"system"`
		Version       string               `json:"version"`
		Questionnaire govern.Questionnaire `json:"questionnaire"`
	}
	if err := decodeBody(r, &in); err != nil {
		return err
	}
	a, err := s.cfg.Govern.GovernRegistry().NewAssessment(r.Context(), p, t, in.System, in.Version, in.Questionnaire)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, a)
}

func (s *Server) getAssessment(w http.ResponseWriter, r *http.Request) error {
	_, t := s.tenantP(r)
	a, err := s.cfg.Govern.GovernRegistry().GetAssessment(t, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, a)
}

func (s *Server) putAnswer(w http.ResponseWriter, r *http.Request) error {
	p, t := s.tenantP(r)
	var in struct {
		Text     string            `json:"text"`
		Evidence []govern.Evidence `json:"evidence"`
	}
	if err := decodeBody(r, &in); err != nil {
		return err
	}
	for _, e := range in.Evidence {
		if e.Detail != "" {
			return errorf("invalid", "evidence detail is filled in by the server")
		}
	}
	a, err := s.cfg.Govern.GovernRegistry().Answer(r.Context(), p, t, r.PathValue("id"), r.PathValue("criterion"), in.Text, in.Evidence)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, a)
}

func (s *Server) postSignOff(w http.ResponseWriter, r *http.Request) error {
	p, t := s.tenantP(r)
	var in struct {
		Step    string `json:"step"`
		Comment string `json:"comment"`
	}
	if err := decodeBody(r, &in); err != nil {
		return err
	}
	a, err := s.cfg.Govern.GovernRegistry().SignOff(r.Context(), p, t, r.PathValue("id"), in.Step, in.Comment)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, a)
}

func (s *Server) getPack(w http.ResponseWriter, r *http.Request) error {
	_, t := s.tenantP(r)
	pk, err := s.cfg.Govern.GovernRegistry().EvidencePack(t, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, pk)
}

func (s *Server) getCheckpoint(w http.ResponseWriter, _ *http.Request) error {
	l := s.cfg.Govern.AuditLog()
	return writeJSON(w, http.StatusOK, map[string]any{"checkpoint": l.Latest(), "public_key": fmt.Sprintf("%x", []byte(l.PublicKey())), "entries": l.Size()})
}

func uintParam(r *http.Request, name string, def uint64) (uint64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, errorf("bad-request", "%s must be a non-negative integer", name)
	}
	return n, nil
}

func (s *Server) listAuditEntries(w http.ResponseWriter, r *http.Request) error {
	_, t := s.tenantP(r)
	from, err := uintParam(r, "from", 0)
	if err != nil {
		return err
	}
	limit, err := uintParam(r, "limit", 100)
	if err != nil {
		return err
	}
	limit = min(max(limit, 1), 1000)
	var items []audit.Entry
	next := uint64(0)
	scanned := 0
	err = s.cfg.Govern.AuditLog().Entries(from, func(e audit.Entry) bool {
		scanned++
		next = e.Seq + 1
		if e.Tenant == t {
			items = append(items, e)
		}
		return uint64(len(items)) < limit && scanned < 100_000
	})
	if err != nil {
		return err
	}
	out := map[string]any{"items": nonNil(items)}
	if next < s.cfg.Govern.AuditLog().Size() {
		out["next"] = next
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) getAuditProof(w http.ResponseWriter, r *http.Request) error {
	_, t := s.tenantP(r)
	seq, err := strconv.ParseUint(r.PathValue("seq"), 10, 64)
	if err != nil {
		return errorf("bad-request", "seq must be an entry's sequence number")
	}
	pr, err := s.cfg.Govern.AuditLog().Prove(seq)
	if err != nil {
		return err
	}
	if pr.Entry.Tenant != t {
		return errorf("not-found", "no audit entry %d", seq)
	}
	return writeJSON(w, http.StatusOK, pr)
}

func (s *Server) getConsistency(w http.ResponseWriter, r *http.Request) error {
	from, err := uintParam(r, "from", 0)
	if err != nil {
		return err
	}
	l := s.cfg.Govern.AuditLog()
	to, err := uintParam(r, "to", l.Latest().Size)
	if err != nil {
		return err
	}
	if from > to || to > l.Size() {
		return errorf("bad-request", "want 0 <= from <= to <= %d", l.Size())
	}
	p, err := l.Consistency(from, to)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"from": from, "to": to, "hashes": nonNil(p)})
}

func (s *Server) postAuditVerify(w http.ResponseWriter, _ *http.Request) error {
	l := s.cfg.Govern.AuditLog()
	if _, err := l.Checkpoint(); err != nil {
		return err
	}
	rep, err := audit.Verify(l.Dir(), audit.VerifyOptions{PublicKey: l.PublicKey()})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, rep)
}

func nonNil[T any](xs []T) []T {
	if xs == nil {
		return []T{}
	}
	return xs
}

// governProblem maps governance, audit and token errors (problem.go's
// switch calls it).
func governProblem(err error, p *Problem) (code, detail string, ok bool) {
	var re *govern.RefusedError
	switch {
	case errors.As(err, &re):
		p.Errors = re.Reasons
		return "promotion-refused", re.Error(), true
	case errors.Is(err, govern.ErrInvalid), errors.Is(err, auth.ErrInvalid):
		return "invalid", err.Error(), true
	case errors.Is(err, govern.ErrNotFound), errors.Is(err, auth.ErrNotFound), errors.Is(err, audit.ErrNotFound):
		return "not-found", err.Error(), true
	case errors.Is(err, govern.ErrExists):
		return "exists", err.Error(), true
	case errors.Is(err, govern.ErrState):
		return "governance-state", err.Error(), true
	case errors.Is(err, govern.ErrForbidden):
		return "forbidden", err.Error(), true
	case errors.Is(err, auth.ErrForbidden):
		return "forbidden", "the token's role does not allow this", true
	case errors.Is(err, auth.ErrUnauthenticated):
		return "unauthenticated", "a valid access token is required", true
	case errors.Is(err, audit.ErrClosed):
		return "unavailable", "the audit log is closed", true
	}
	return "", "", false
}

func isGovernError(err error) bool {
	_, _, ok := governProblem(err, &Problem{})
	return ok
}
