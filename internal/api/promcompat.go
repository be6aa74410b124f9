package api

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"

	"github.com/tsingma/tsingma/internal/alert"
)

// PromPrefix is where the Prometheus HTTP API is served whole, for
// Grafana's Prometheus data source (its URL is the server's address with
// this prefix). The query endpoints are also served at /api/v1, but
// /api/v1/rules and /api/v1/alerts are tsingma's own there, so a client
// asking them in Prometheus's form (Grafana's alerting views do) found
// answers it could not read.
const PromPrefix = "/prometheus"

// promRoutes serves the Prometheus HTTP API under PromPrefix: the query
// endpoints, and tsingma's rules and open alerts in Prometheus's form.
func (s *Server) promRoutes() []Route {
	r := func(method, path, summary string, h handler) Route {
		return Route{method, PromPrefix + path, summary, s.h(h)}
	}
	return []Route{
		r("GET", "/api/v1/query", "PromQL instant query (Prometheus API)", s.promQuery),
		r("POST", "/api/v1/query", "PromQL instant query (Prometheus API)", s.promQuery),
		r("GET", "/api/v1/query_range", "PromQL range query (Prometheus API)", s.promQueryRange),
		r("POST", "/api/v1/query_range", "PromQL range query (Prometheus API)", s.promQueryRange),
		r("GET", "/api/v1/series", "Series matching selectors (Prometheus API)", s.promSeries),
		r("POST", "/api/v1/series", "Series matching selectors (Prometheus API)", s.promSeries),
		r("GET", "/api/v1/labels", "Label names (Prometheus API)", s.promLabels),
		r("POST", "/api/v1/labels", "Label names (Prometheus API)", s.promLabels),
		r("GET", "/api/v1/label/{name}/values", "Label values (Prometheus API)", s.promLabelValues),
		r("GET", "/api/v1/status/buildinfo", "Build information (Prometheus API)", s.promBuildInfo),
		r("GET", "/api/v1/metadata", "Metric metadata: every channel is a gauge (Prometheus API)", s.promMetadata),
		r("GET", "/api/v1/query_exemplars", "Exemplars: tsingma stores none (Prometheus API)", s.promExemplars),
		r("POST", "/api/v1/query_exemplars", "Exemplars: tsingma stores none (Prometheus API)", s.promExemplars),
		r("GET", "/api/v1/rules", "tsingma's alert rules as Prometheus alerting rules, with their open alerts (Prometheus API)", s.promRules),
		r("GET", "/api/v1/alerts", "tsingma's open alerts (Prometheus API)", s.promAlerts),
	}
}

func (s *Server) promExemplars(w http.ResponseWriter, _ *http.Request) error {
	return writeJSON(w, http.StatusOK, promResponse{Status: "success", Data: []any{}})
}

// promAlert is an alert in Prometheus's form.
type promAlert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	State       string            `json:"state"`
	ActiveAt    time.Time         `json:"activeAt"`
	Value       string            `json:"value"`
}

// promRule is an alerting rule in Prometheus's form.
type promRule struct {
	State          string            `json:"state"`
	Name           string            `json:"name"`
	Query          string            `json:"query"`
	Duration       float64           `json:"duration"`
	KeepFiringFor  float64           `json:"keepFiringFor"`
	Labels         map[string]string `json:"labels"`
	Annotations    map[string]string `json:"annotations"`
	Alerts         []promAlert       `json:"alerts"`
	Health         string            `json:"health"`
	Type           string            `json:"type"`
	LastEvaluation time.Time         `json:"lastEvaluation"`
	EvaluationTime float64           `json:"evaluationTime"`
}

type promGroup struct {
	Name           string     `json:"name"`
	File           string     `json:"file"`
	Rules          []promRule `json:"rules"`
	Interval       float64    `json:"interval"`
	Limit          int        `json:"limit"`
	EvaluationTime float64    `json:"evaluationTime"`
	LastEvaluation time.Time  `json:"lastEvaluation"`
}

// openAlerts returns the tenant's open alerts (raised or acknowledged).
func (s *Server) openAlerts(r *http.Request) ([]alert.Alert, error) {
	if s.cfg.Alerts == nil {
		return nil, nil
	}
	var out []alert.Alert
	q := alert.Query{State: "open", Limit: 1000}
	for {
		page, err := s.cfg.Alerts.ListAlerts(r.Context(), tenantOf(r), q)
		if err != nil {
			return nil, err
		}
		out = append(out, page.Items...)
		if page.Next == "" || len(out) >= 100_000 {
			return out, nil
		}
		q.Cursor = page.Next
	}
}

func toPromAlert(a alert.Alert, name string) promAlert {
	l, ann := a.Labels(name)
	v := ""
	if a.Value != nil {
		v = strconv.FormatFloat(*a.Value, 'e', -1, 64)
	}
	return promAlert{Labels: l, Annotations: ann, State: "firing", ActiveAt: a.StartsAt, Value: v}
}

// alertName is an alert's alertname: its rule's name or id, or its model.
func alertName(a alert.Alert, rules map[string]alert.Rule) string {
	if ru, ok := rules[a.Rule]; ok && ru.Name != "" {
		return ru.Name
	}
	if a.Rule != "" {
		return a.Rule
	}
	return strings.TrimPrefix(a.Source, "model:")
}

func (s *Server) promAlerts(w http.ResponseWriter, r *http.Request) error {
	open, err := s.openAlerts(r)
	if err != nil {
		return err
	}
	rules := s.rulesByID(r)
	out := make([]promAlert, 0, len(open))
	for _, a := range open {
		out = append(out, toPromAlert(a, alertName(a, rules)))
	}
	return writeJSON(w, http.StatusOK, promResponse{Status: "success", Data: map[string]any{"alerts": out}})
}

func (s *Server) rulesByID(r *http.Request) map[string]alert.Rule {
	m := map[string]alert.Rule{}
	if s.cfg.Alerts != nil {
		for _, ru := range s.cfg.Alerts.ListRules(r.Context(), tenantOf(r)) {
			m[ru.ID] = ru
		}
	}
	return m
}

// promRules lists the tenant's rules in one group, each with its PromQL
// reading and its open alerts. The engine evaluates a rule on every
// sample as it arrives, not on an interval, so the group's interval and
// evaluation times are zero.
func (s *Server) promRules(w http.ResponseWriter, r *http.Request) error {
	if t := r.URL.Query().Get("type"); t != "" && t != "alert" {
		// Prometheus's recording rules: tsingma has none.
		return writeJSON(w, http.StatusOK, promResponse{Status: "success", Data: map[string]any{"groups": []promGroup{}}})
	}
	open, err := s.openAlerts(r)
	if err != nil {
		return err
	}
	byRule := map[string][]alert.Alert{}
	for _, a := range open {
		byRule[a.Rule] = append(byRule[a.Rule], a)
	}
	g := promGroup{Name: "tsingma", File: "tsingma rules", Rules: []promRule{}}
	if s.cfg.Alerts != nil {
		for _, ru := range s.cfg.Alerts.ListRules(r.Context(), tenantOf(r)) {
			name := ru.Name
			if name == "" {
				name = ru.ID
			}
			pr := promRule{State: "inactive", Name: name, Query: ruleQuery(ru), Duration: time.Duration(ru.For).Seconds(),
				Labels:      map[string]string{"severity": string(ru.Severity), "rule": ru.ID},
				Annotations: map[string]string{}, Alerts: []promAlert{}, Health: "ok", Type: "alerting"}
			if ru.Description != "" {
				pr.Annotations["description"] = ru.Description
			}
			if ru.Disabled {
				pr.Annotations["tsingma_disabled"] = "true"
			}
			for _, a := range byRule[ru.ID] {
				pr.Alerts = append(pr.Alerts, toPromAlert(a, name))
				pr.State = "firing"
			}
			g.Rules = append(g.Rules, pr)
		}
	}
	return writeJSON(w, http.StatusOK, promResponse{Status: "success", Data: map[string]any{"groups": []promGroup{g}}})
}

var metricName = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)

// ruleQuery is a rule's condition written in PromQL over tsingma's series
// (name: the channel; labels twin and type). The engine evaluates the rule
// itself, per sample; this is what it means, for people and for Grafana.
func ruleQuery(ru alert.Rule) string {
	var m []string
	if !metricName.MatchString(ru.Channel) {
		m = append(m, `__name__=`+strconv.Quote(ru.Channel))
	}
	if ru.Type != "" {
		m = append(m, `type=`+strconv.Quote(ru.Type))
	}
	if ru.Twin != "" {
		m = append(m, `twin=`+strconv.Quote(ru.Twin))
	}
	sel := "{" + strings.Join(m, ",") + "}"
	if metricName.MatchString(ru.Channel) {
		sel = ru.Channel + sel
	}
	if ru.Rate != nil {
		per := time.Duration(ru.Rate.Per)
		if per == 0 {
			per = time.Hour
		}
		sel = "deriv(" + sel + "[" + model.Duration(ru.Rate.Window).String() + "]) * " + num(per.Seconds())
	}
	f := func(p *float64) string {
		if p == nil {
			return "NaN"
		}
		return num(*p)
	}
	switch ru.Op {
	case alert.OpOutside:
		return sel + " < " + f(ru.Low) + " or " + sel + " > " + f(ru.High)
	case alert.OpInside:
		return "(" + sel + " >= " + f(ru.Low) + ") and (" + sel + " <= " + f(ru.High) + ")"
	default:
		return sel + " " + ru.Op + " " + f(ru.Value)
	}
}

func num(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
