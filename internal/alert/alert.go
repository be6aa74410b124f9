// Package alert is the one place alerts come from. It holds threshold and
// rate-of-change rules per twin type or per twin, evaluates them on every
// accepted sample (a state machine per rule and twin: pending until the
// condition has held for the rule's hold duration, firing, then clearing
// with hysteresis), and keeps the alert lifecycle: raised, acknowledged,
// cleared, with the samples that caused each alert, one open alert per
// source, twin and channel.
//
// Models (anomaly, landslide, ...) raise and clear alerts through the same
// Engine with Raise and Clear, naming themselves ("model:anomaly") and the
// model version that decided.
//
// Rules and alerts are persisted in a bbolt file. Every change is
// published on the bus as a bus.Event of Kind "alert" or "rule" whose
// Data is a Change.
package alert

import (
	"errors"
	"fmt"
	"time"

	"github.com/tsingma/tsingma/internal/telemetry"
)

// Errors. Branch on them with errors.Is.
var (
	ErrNotFound  = errors.New("not found")
	ErrExists    = errors.New("already exists")
	ErrMalformed = errors.New("malformed document")
	// ErrInvalid: the chain holds a *ValidationError naming the field.
	ErrInvalid = errors.New("invalid")
	// ErrConflict: the If-Match version does not match the rule's.
	ErrConflict = errors.New("version mismatch")
	// ErrState: the alert's state does not allow the action (acknowledging
	// twice, resolving a cleared alert).
	ErrState = errors.New("not allowed in the alert's state")
	// ErrRefused: the Engine's Admit hook refused a model's signal.
	ErrRefused = errors.New("signal refused")
	ErrClosed  = errors.New("alert engine closed")
)

// ValidationError names the offending field of a rule, action or signal.
// It matches ErrInvalid.
type ValidationError struct {
	Field  string
	Reason string
}

func (e *ValidationError) Error() string { return e.Field + ": " + e.Reason }

// Is reports ErrInvalid.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

func invalid(field, format string, args ...any) *ValidationError {
	return &ValidationError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// Severity of a rule or alert.
type Severity string

// Severities, in increasing order.
const (
	Info     Severity = "info"
	Warning  Severity = "warning"
	Critical Severity = "critical"
)

func (s Severity) valid() bool { return s == Info || s == Warning || s == Critical }

// Rank orders severities: info 1, warning 2, critical 3, anything else 0.
func (s Severity) Rank() int {
	switch s {
	case Info:
		return 1
	case Warning:
		return 2
	case Critical:
		return 3
	}
	return 0
}

// State of an alert. Raised and Acknowledged alerts are open; Cleared is
// final (by the condition, by a model, or by hand: see ClearedBy).
type State string

// Alert states.
const (
	Raised       State = "raised"
	Acknowledged State = "acknowledged"
	Cleared      State = "cleared"
)

// Open reports whether the state is raised or acknowledged.
func (s State) Open() bool { return s == Raised || s == Acknowledged }

// Evidence is one sample that contributed to an alert.
type Evidence struct {
	Twin    string  `json:"twin"`
	Channel string  `json:"channel"`
	TS      int64   `json:"ts"` // ms since the epoch
	Value   float64 `json:"value"`
}

// Action is who did something to an alert, and why.
type Action struct {
	By      string    `json:"by"`
	Comment string    `json:"comment,omitempty"`
	At      time.Time `json:"at,omitzero"`
}

// Validate checks who and the comment.
func (a *Action) Validate() error {
	if a.By == "" {
		return invalid("by", "required: who is acting")
	}
	if err := validText(a.By, 128); err != nil {
		return invalid("by", "%v", err)
	}
	if err := validText(a.Comment, MaxTextLen); err != nil {
		return invalid("comment", "%v", err)
	}
	return nil
}

// Clearing causes (Alert.ClearedBy).
const (
	ByCondition   = "condition"    // the rule's clear condition held
	ByModel       = "model"        // the model called Clear
	ByHand        = "manual"       // resolved through the API
	ByRuleDeleted = "rule-deleted" // its rule was deleted
	ByRuleChanged = "rule-changed" // its rule was disabled or re-scoped
	ByTwinDeleted = "twin-deleted" // its twin was deleted
)

// Alert is one alert. Times named At are event times (sample times for
// rules, the signal's time for models); Created and Updated are wall clock.
type Alert struct {
	ID     string `json:"id"`
	Tenant string `json:"-"`
	// Key de-duplicates: at most one open alert per key
	// (source|twin|channel-or-rule).
	Key string `json:"key"`
	// Source is "rule:<id>" or "model:<name>".
	Source       string `json:"source"`
	Rule         string `json:"rule,omitempty"`
	RuleVersion  uint64 `json:"ruleVersion,omitempty"`
	ModelVersion string `json:"modelVersion,omitempty"`

	Twin    string `json:"twin,omitempty"`
	Type    string `json:"type,omitempty"`
	Channel string `json:"channel,omitempty"`

	Severity Severity `json:"severity"`
	State    State    `json:"state"`
	Summary  string   `json:"summary"`
	Reason   string   `json:"reason,omitempty"`
	Unit     string   `json:"unit,omitempty"`
	Value    *float64 `json:"value,omitempty"` // the value (or rate) that raised it
	Peak     *float64 `json:"peak,omitempty"`  // the worst value while open (rules)

	StartsAt  time.Time `json:"startsAt"` // the condition began
	RaisedAt  time.Time `json:"raisedAt"`
	ClearedAt time.Time `json:"clearedAt,omitzero"`
	ClearedBy string    `json:"clearedBy,omitempty"`
	Ack       *Action   `json:"acknowledged,omitempty"`
	Resolve   *Action   `json:"resolved,omitempty"`
	// Count is how many times the source raised it while it was open.
	Count    int            `json:"count"`
	Evidence []Evidence     `json:"evidence,omitempty"`
	Details  map[string]any `json:"details,omitempty"`

	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
}

// TwinRef lets the live stream filter alerts by twin and type.
func (a *Alert) TwinRef() (string, string) { return a.Twin, a.Type }

func (a *Alert) clone() Alert {
	c := *a
	if a.Value != nil {
		v := *a.Value
		c.Value = &v
	}
	if a.Peak != nil {
		v := *a.Peak
		c.Peak = &v
	}
	if a.Ack != nil {
		x := *a.Ack
		c.Ack = &x
	}
	if a.Resolve != nil {
		x := *a.Resolve
		c.Resolve = &x
	}
	c.Evidence = append([]Evidence(nil), a.Evidence...)
	if a.Details != nil {
		c.Details = make(map[string]any, len(a.Details))
		for k, v := range a.Details {
			c.Details[k] = v
		}
	}
	return c
}

// Change is published on the bus (Kind "alert" with Alert set, Kind "rule"
// with Rule set) and passed to Config.OnChange after it is persisted.
type Change struct {
	Tenant string `json:"-"`
	// Action: raised, updated, acknowledged, cleared for alerts;
	// created, replaced, deleted for rules.
	Action string `json:"action"`
	Alert  *Alert `json:"alert,omitempty"`
	Rule   *Rule  `json:"rule,omitempty"`
}

// TwinRef lets the live stream filter changes by twin and type.
func (c Change) TwinRef() (string, string) {
	switch {
	case c.Alert != nil:
		return c.Alert.Twin, c.Alert.Type
	case c.Rule != nil:
		return c.Rule.Twin, c.Rule.Type
	}
	return "", ""
}

// Kind is the bus event kind of the change.
func (c Change) Kind() string {
	if c.Rule != nil {
		return "rule"
	}
	return "alert"
}

// Signal is what a model sends to Raise or Clear.
type Signal struct {
	Tenant string // "" means telemetry.DefaultTenant
	// Source names the model: "model:<name>", e.g. "model:anomaly".
	Source string
	// ModelVersion is the registered version that decided; required.
	ModelVersion string
	// Twin and Channel the alert is about. Twin may be empty for a
	// tenant-wide alert (a territory-wide landslip warning); Type is looked
	// up when empty.
	Twin, Type, Channel string
	// Key separates several alerts of one model on one twin and channel
	// (e.g. "risk" and "forecast"); usually empty.
	Key      string
	Severity Severity // ignored by Clear
	// Reason is the human explanation: which evidence, which numbers.
	Reason string
	// Value is the score or measure that decided (optional).
	Value *float64
	// Evidence: the samples involved (the newest MaxEvidence are kept).
	Evidence []Evidence
	// Details: model-specific JSON-ready values (expected band, forecast
	// time, FS...), at most 16 KiB encoded.
	Details map[string]any
	// At is the event time; zero means now.
	At time.Time
}

func (s *Signal) key() string {
	k := s.Channel
	if s.Key != "" {
		k += "#" + s.Key
	}
	return s.Source + "|" + s.Twin + "|" + k
}

func (s *Signal) normalize() {
	if s.Tenant == "" {
		s.Tenant = telemetry.DefaultTenant
	}
}

func ruleKey(ruleID, twinID string) string { return "rule:" + ruleID + "|" + twinID }

// Query filters ListAlerts. Empty fields match everything. State may also
// be "open" (raised or acknowledged). Source matches exactly, or "rule" /
// "model" match every rule or every model. Cursor is a Page.Next.
type Query struct {
	State    string
	Severity Severity
	Twin     string
	Type     string
	Channel  string
	Source   string
	Rule     string
	Limit    int // default 100, at most 1000
	Cursor   string
}

// Page is one page of alerts, newest first; Next is the cursor of the
// following page, empty at the end.
type Page struct {
	Items []Alert `json:"items"`
	Next  string  `json:"next,omitempty"`
}

// Labels are the alert's identity and annotations in the form Prometheus
// tools take (its PromQL-compatible API, Alertmanager): labels alertname
// (name), severity, source, and twin, type, channel and rule where set;
// annotations summary, description (the reason), and the alert's id and
// state.
func (a *Alert) Labels(name string) (labels, annotations map[string]string) {
	labels = map[string]string{"alertname": name, "severity": string(a.Severity), "source": a.Source}
	for k, v := range map[string]string{"twin": a.Twin, "type": a.Type, "channel": a.Channel, "rule": a.Rule} {
		if v != "" {
			labels[k] = v
		}
	}
	annotations = map[string]string{"summary": a.Summary, "tsingma_alert": a.ID, "tsingma_state": string(a.State)}
	if a.Reason != "" {
		annotations["description"] = a.Reason
	}
	return labels, annotations
}
