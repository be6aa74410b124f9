// Package telemetry defines the Sample, decodes the wire formats in which
// sensors send samples (JSON, NDJSON, MQTT payloads), and validates samples
// against their twin's type before they are stored.
package telemetry

import "fmt"

// DefaultTenant is the tenant of every object until access control lands.
const DefaultTenant = "default"

// Sample is one measured value of one channel of one twin.
// TS is in milliseconds since the Unix epoch.
type Sample struct {
	Tenant  string
	Twin    string
	Channel string
	Type    string // the twin's type, filled in by validation
	TS      int64
	Value   float64
}

// Key identifies the series a sample belongs to.
type Key struct {
	Tenant, Twin, Channel string
}

// Key returns the series key of s.
func (s Sample) Key() Key { return Key{s.Tenant, s.Twin, s.Channel} }

func (s Sample) String() string {
	return fmt.Sprintf("%s/%s/%s@%d=%g", s.Tenant, s.Twin, s.Channel, s.TS, s.Value)
}

// Status says what the store did with one sample.
type Status uint8

const (
	Accepted   Status = iota
	Duplicate         // same timestamp and value as the series' newest sample: stored once
	OutOfOrder        // older than the series' newest sample
	Conflict          // the series' newest timestamp with another value: refused
)

func (s Status) String() string {
	switch s {
	case Accepted:
		return "accepted"
	case Duplicate:
		return "duplicate"
	case Conflict:
		return "conflict"
	default:
		return "out_of_order"
	}
}

// DeletedKind is the bus event kind of a deletion of stored telemetry
// (its Data a Deleted): the components that keep state per series drop
// it when whole series went, since they may start again from any time.
const DeletedKind = "telemetry.deleted"

// Deleted names deleted telemetry: one channel of a twin, or all its
// channels (Channel ""), whole or (Span) a time range of them.
type Deleted struct {
	Twin    string `json:"twin"`
	Channel string `json:"channel,omitempty"`
	// Span, if set, is the time range deleted: the series go on, and so
	// does the state kept for them.
	Span *Span `json:"span,omitempty"`
	// Forgotten, if not nil, is closed by anomaly scoring once it has
	// scored the samples from before the deletion and forgotten the
	// series (deleting again the scores it stored meanwhile), so that the
	// deleter can wait until nothing of the deleted telemetry comes back.
	Forgotten chan<- struct{} `json:"-"`
}

// Span is a time range, in milliseconds since 1970, both ends included.
type Span struct {
	From int64 `json:"from"`
	To   int64 `json:"to"`
}

// TwinRef lets live streams filtered by twin pass the event on.
func (d Deleted) TwinRef() (string, string) { return d.Twin, "" }
