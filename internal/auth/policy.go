package auth

import (
	"slices"
	"strings"
)

// Rule grants Roles a route: Method ("" any) and Pattern, an API route
// pattern exactly as registered (e.g. "/api/v1/twins/{id}"), or a prefix
// ending in "*". Public rules (Public true) need no token at all.
type Rule struct {
	Method  string `json:"method,omitempty"`
	Pattern string `json:"pattern"`
	Roles   []Role `json:"roles,omitempty"`
	Public  bool   `json:"public,omitempty"`
}

var (
	everyone  = []Role{Viewer, Operator, Engineer, ModelOwner, Reviewer, Approver}
	operators = []Role{Operator, Engineer}
	engineers = []Role{Engineer}
	owners    = []Role{ModelOwner}
	auditors  = []Role{Reviewer, Approver}
)

// policy is the one table of who may call what. The first rule whose
// method and pattern match decides; a route no rule matches is admin-only
// (so a new route is closed until someone opens it here). Admin passes
// every non-public rule of its own tenant.
var policy = []Rule{
	{Method: "GET", Pattern: "/healthz", Public: true},
	{Method: "GET", Pattern: "/readyz", Public: true},

	// Tokens: admin only.
	{Pattern: "/api/v1/tokens*"},
	// Backups: admin only (and the handler asks for the default tenant's).
	{Pattern: "/api/v1/admin/*"},
	{Method: "GET", Pattern: "/api/v1/whoami", Roles: everyone},

	// Twins, types, telemetry, rules, alerts, detector policy.
	{Method: "POST", Pattern: "/api/v1/telemetry", Roles: operators},
	{Method: "POST", Pattern: "/api/v1/types*", Roles: engineers},
	{Method: "PUT", Pattern: "/api/v1/types*", Roles: engineers},
	{Method: "DELETE", Pattern: "/api/v1/types*", Roles: engineers},
	{Method: "POST", Pattern: "/api/v1/twins*", Roles: engineers},
	{Method: "PUT", Pattern: "/api/v1/twins*", Roles: engineers},
	{Method: "PATCH", Pattern: "/api/v1/twins*", Roles: engineers},
	{Method: "DELETE", Pattern: "/api/v1/twins*", Roles: engineers},
	{Method: "POST", Pattern: "/api/v1/rules*", Roles: engineers},
	{Method: "PUT", Pattern: "/api/v1/rules*", Roles: engineers},
	{Method: "DELETE", Pattern: "/api/v1/rules*", Roles: engineers},
	{Method: "POST", Pattern: "/api/v1/alerts/{id}/ack", Roles: operators},
	{Method: "POST", Pattern: "/api/v1/alerts/{id}/resolve", Roles: operators},
	{Method: "PUT", Pattern: "/api/v1/anomaly/policy", Roles: engineers},
	{Method: "POST", Pattern: "/api/v1/scenario*", Roles: operators},
	// Model runs that change no state: what-if storms, route planning.
	{Method: "POST", Pattern: "/api/v1/landslide/whatif", Roles: []Role{Operator, Engineer, ModelOwner, Reviewer, Approver}},
	{Method: "POST", Pattern: "/api/v1/routing/*", Roles: operators},
	{Method: "DELETE", Pattern: "/api/v1/routing/*", Roles: operators},
	// The Prometheus API under /prometheus (Grafana's data source) only
	// reads, POST included.
	{Method: "GET", Pattern: "/prometheus/api/v1/*", Roles: everyone},
	{Method: "POST", Pattern: "/prometheus/api/v1/*", Roles: everyone},
	// PromQL over POST is a read.
	{Method: "POST", Pattern: "/api/v1/query", Roles: everyone},
	{Method: "POST", Pattern: "/api/v1/query_range", Roles: everyone},
	{Method: "POST", Pattern: "/api/v1/series", Roles: everyone},
	{Method: "POST", Pattern: "/api/v1/labels", Roles: everyone},

	// Governance. The registry checks the sign-off step against the role
	// (reviewer reviews, approver approves) and that the approver is not
	// the preparer; the table only lets them reach it.
	{Method: "POST", Pattern: "/api/v1/governance/gate", Roles: everyone},
	// Drift of live models: every role reads it (incidents it records are in the audit log).
	{Method: "GET", Pattern: "/api/v1/governance/drift", Roles: everyone},
	{Method: "POST", Pattern: "/api/v1/governance/assessments/{id}/signoffs", Roles: []Role{ModelOwner, Reviewer, Approver}},
	{Method: "POST", Pattern: "/api/v1/governance/systems/{id}/promote", Roles: []Role{ModelOwner, Approver}},
	{Method: "POST", Pattern: "/api/v1/governance/systems/{id}/rollback", Roles: []Role{ModelOwner, Approver}},
	{Method: "POST", Pattern: "/api/v1/governance/systems/{id}/incidents", Roles: []Role{Operator, Engineer, ModelOwner, Reviewer, Approver}},
	{Method: "POST", Pattern: "/api/v1/governance/*", Roles: owners},
	{Method: "PUT", Pattern: "/api/v1/governance/*", Roles: owners},
	{Method: "DELETE", Pattern: "/api/v1/governance/*", Roles: owners},

	// The audit log: reviewers and approvers (and admin).
	{Pattern: "/api/v1/audit/*", Roles: auditors},

	// Every other read.
	{Method: "GET", Pattern: "/api/v1/*", Roles: everyone},
	{Method: "GET", Pattern: "/metrics", Roles: everyone},
}

// Policy returns a copy of the policy table (for documentation and the
// console).
func Policy() []Rule {
	out := make([]Rule, len(policy))
	for i, r := range policy {
		out[i] = r
		out[i].Roles = slices.Clone(r.Roles)
	}
	return out
}

func (r *Rule) matches(method, pattern string) bool {
	if r.Method != "" && r.Method != method {
		return false
	}
	if p, ok := strings.CutSuffix(r.Pattern, "*"); ok {
		return strings.HasPrefix(pattern, p)
	}
	return r.Pattern == pattern
}

// find returns the rule deciding (method, pattern), or nil.
func find(method, pattern string) *Rule {
	if method == "HEAD" {
		method = "GET"
	}
	for i := range policy {
		if policy[i].matches(method, pattern) {
			return &policy[i]
		}
	}
	return nil
}

// Public reports whether a route needs no token. Routes outside /api/
// and /metrics (the console's static files) are public too.
func Public(method, pattern string) bool {
	if r := find(method, pattern); r != nil {
		return r.Public
	}
	return (method == "GET" || method == "HEAD") && !strings.HasPrefix(pattern, "/api/") && pattern != "/metrics"
}

// Permitted reports whether role may call the route (method and the
// route's registered pattern, not the request path).
func Permitted(role Role, method, pattern string) bool {
	if Public(method, pattern) {
		return true
	}
	if !role.Valid() {
		return false
	}
	if role == Admin {
		return true
	}
	r := find(method, pattern)
	return r != nil && slices.Contains(r.Roles, role)
}

// Check is Permitted for a principal, as an error matching ErrForbidden.
func (p Principal) Check(method, pattern string) error {
	if !Permitted(p.Role, method, pattern) {
		return ErrForbidden
	}
	return nil
}

// MQTT actions.
const (
	Publish   = "publish"
	Subscribe = "subscribe"
)

// PermittedMQTT reports whether role may publish or subscribe to topic.
// Telemetry (tsingma/v1/twins/<id>/telemetry) may be published by
// operators and engineers; every role may subscribe under tsingma/v1/
// (the broker must still keep each tenant's topics apart); anything else
// is admin-only.
func PermittedMQTT(role Role, action, topic string) bool {
	if !role.Valid() {
		return false
	}
	if role == Admin {
		return true
	}
	switch action {
	case Publish:
		rest, ok := strings.CutPrefix(topic, "tsingma/v1/twins/")
		if !ok || !strings.HasSuffix(rest, "/telemetry") || strings.ContainsAny(rest, "+#") {
			return false
		}
		id := strings.TrimSuffix(rest, "/telemetry")
		return id != "" && !strings.Contains(id, "/") && slices.Contains(operators, role)
	case Subscribe:
		return strings.HasPrefix(topic, "tsingma/v1/")
	}
	return false
}

// Covered reports whether a rule of the table decides the route (a route
// no rule covers is admin-only by default).
func Covered(method, pattern string) bool { return find(method, pattern) != nil }
