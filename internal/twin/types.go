package twin

import (
	"github.com/tsingma/tsingma/internal/ucum"

	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"time"
)

// Property kinds.
const (
	KindNumber   = "number"
	KindInteger  = "integer"
	KindString   = "string"
	KindBool     = "bool"
	KindEnum     = "enum"
	KindTime     = "time"     // RFC 3339 string
	KindGeometry = "geometry" // GeoJSON geometry object
	KindObject   = "object"   // any JSON object
)

// Relationship cardinalities.
const (
	One  = "one"
	Many = "many"
)

// Limits on type documents.
const (
	MaxTypeBytes      = 256 << 10
	MaxTypeMembers    = 256 // properties, channels, relationships each
	MaxEnumValues     = 256
	MaxDescriptionLen = 2048
	MaxNameLen        = 128
)

// Type describes a kind of twin. Name is URL-safe (see ValidID). Version,
// Created and Updated are assigned by the registry: Version is 1 when the
// type is created and +1 on each change.
type Type struct {
	Name          string                  `json:"name"`
	Description   string                  `json:"description,omitempty"`
	Version       uint64                  `json:"version,omitempty"`
	Geometry      *GeometryRule           `json:"geometry,omitempty"`
	Properties    map[string]Property     `json:"properties,omitempty"`
	Channels      map[string]Channel      `json:"channels,omitempty"`
	Relationships map[string]Relationship `json:"relationships,omitempty"`
	Created       time.Time               `json:"created,omitzero"`
	Updated       time.Time               `json:"updated,omitzero"`
}

// GeometryRule constrains the geometry of the type's twins: the allowed
// GeoJSON kinds (empty: any) and whether a geometry is required.
type GeometryRule struct {
	Kinds    []string `json:"kinds,omitempty"`
	Required bool     `json:"required,omitempty"`
}

// Property describes one property of a type. Unit (a UCUM code) applies to
// number and integer kinds; Min and Max bound them; Enum lists the values
// of the enum kind.
type Property struct {
	Kind        string   `json:"type"`
	Description string   `json:"description,omitempty"`
	Unit        string   `json:"unit,omitempty"`
	Required    bool     `json:"required,omitempty"`
	Min         *float64 `json:"min,omitempty"`
	Max         *float64 `json:"max,omitempty"`
	Enum        []string `json:"enum,omitempty"`
}

// Channel describes a telemetry channel: its UCUM unit, the valid range
// (nil bound: unbounded) and the expected sampling interval, a Go duration
// such as "5m".
type Channel struct {
	Description string   `json:"description,omitempty"`
	Unit        string   `json:"unit"`
	Min         *float64 `json:"min,omitempty"`
	Max         *float64 `json:"max,omitempty"`
	Interval    string   `json:"interval,omitempty"`
}

// Relationship declares that twins of the type may point at twins of
// Target ("one": at most one target, "many": any number).
type Relationship struct {
	Description string `json:"description,omitempty"`
	Target      string `json:"target"`
	Cardinality string `json:"cardinality"`
}

// ChannelInfo is what telemetry validation needs about one channel of one
// twin. Min and Max are ±Inf when unset; Interval is 0 when unset.
type ChannelInfo struct {
	Type     string
	Unit     string
	Min, Max float64
	Interval time.Duration
}

// DecodeType reads one type document (at most MaxTypeBytes, unknown fields
// refused) and checks it on its own (names, kinds, units, bounds); whether
// relationship targets exist is checked by Registry.PutType.
func DecodeType(r io.Reader) (Type, error) {
	var t Type
	if err := decodeStrict(r, MaxTypeBytes, "type", &t); err != nil {
		return Type{}, err
	}
	if err := t.Validate(); err != nil {
		return Type{}, err
	}
	return t, nil
}

// Validate checks the type document on its own.
func (t *Type) Validate() error {
	if err := ValidID(t.Name); err != nil {
		return invalid("name", "%v", err)
	}
	if len(t.Description) > MaxDescriptionLen {
		return invalid("description", "longer than %d bytes", MaxDescriptionLen)
	}
	if g := t.Geometry; g != nil {
		for i, k := range g.Kinds {
			switch k {
			case KindPoint, KindLineString, KindPolygon, KindMultiPolygon:
			default:
				return invalid(fmt.Sprintf("geometry.kinds[%d]", i), "%q is not one of Point, LineString, Polygon, MultiPolygon", k)
			}
			if slices.Contains(g.Kinds[:i], k) {
				return invalid(fmt.Sprintf("geometry.kinds[%d]", i), "%q listed twice", k)
			}
		}
	}
	if len(t.Properties) > MaxTypeMembers || len(t.Channels) > MaxTypeMembers || len(t.Relationships) > MaxTypeMembers {
		return invalid("", "more than %d properties, channels or relationships", MaxTypeMembers)
	}
	for _, name := range slices.Sorted(maps.Keys(t.Properties)) {
		if err := t.Properties[name].validate("properties." + name); err != nil {
			return err
		}
		if err := validMemberName(name); err != nil {
			return invalid("properties."+name, "%v", err)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(t.Channels)) {
		if err := validMemberName(name); err != nil {
			return invalid("channels."+name, "%v", err)
		}
		if err := t.Channels[name].validate("channels." + name); err != nil {
			return err
		}
	}
	for _, name := range slices.Sorted(maps.Keys(t.Relationships)) {
		f := "relationships." + name
		if err := validMemberName(name); err != nil {
			return invalid(f, "%v", err)
		}
		rel := t.Relationships[name]
		if err := ValidID(rel.Target); err != nil {
			return invalid(f+".target", "%v", err)
		}
		if rel.Cardinality != One && rel.Cardinality != Many {
			return invalid(f+".cardinality", "%q is not \"one\" or \"many\"", rel.Cardinality)
		}
		if len(rel.Description) > MaxDescriptionLen {
			return invalid(f+".description", "longer than %d bytes", MaxDescriptionLen)
		}
	}
	return nil
}

// validMemberName: property, channel, relationship and label-key names are
// 1-64 bytes of [A-Za-z0-9_.-] (they appear in query strings).
func validMemberName(s string) error {
	if s == "" || len(s) > 64 {
		return fmt.Errorf("name must be 1-64 bytes")
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return fmt.Errorf("name %q: byte %q not in [A-Za-z0-9_.-]", s, c)
		}
	}
	return nil
}

func finite(p *float64) bool { return p == nil || (!math.IsNaN(*p) && !math.IsInf(*p, 0)) }

func (p Property) validate(f string) error {
	if len(p.Description) > MaxDescriptionLen {
		return invalid(f+".description", "longer than %d bytes", MaxDescriptionLen)
	}
	switch p.Kind {
	case KindNumber, KindInteger:
		if p.Unit != "" {
			if err := ValidUnit(p.Unit); err != nil {
				return invalid(f+".unit", "%v", err)
			}
		}
		if !finite(p.Min) || !finite(p.Max) {
			return invalid(f, "min and max must be finite")
		}
		if p.Min != nil && p.Max != nil && *p.Min > *p.Max {
			return invalid(f, "min %g > max %g", *p.Min, *p.Max)
		}
		if len(p.Enum) > 0 {
			return invalid(f+".enum", "only for the enum kind")
		}
		return nil
	case KindEnum:
		if len(p.Enum) == 0 || len(p.Enum) > MaxEnumValues {
			return invalid(f+".enum", "an enum needs 1-%d values", MaxEnumValues)
		}
		for i, v := range p.Enum {
			if v == "" || len(v) > 256 || slices.Contains(p.Enum[:i], v) {
				return invalid(fmt.Sprintf("%s.enum[%d]", f, i), "values must be distinct, 1-256 bytes")
			}
		}
	case KindString, KindBool, KindTime, KindGeometry, KindObject:
		if len(p.Enum) > 0 {
			return invalid(f+".enum", "only for the enum kind")
		}
	case "":
		return invalid(f+".type", "missing")
	default:
		return invalid(f+".type", "%q is not one of number, integer, string, bool, enum, time, geometry, object", p.Kind)
	}
	if p.Unit != "" || p.Min != nil || p.Max != nil {
		return invalid(f, "unit, min and max apply to number and integer kinds only")
	}
	return nil
}

func (c Channel) validate(f string) error {
	if err := ValidUnit(c.Unit); err != nil {
		return invalid(f+".unit", "%v", err)
	}
	if !finite(c.Min) || !finite(c.Max) {
		return invalid(f, "min and max must be finite")
	}
	if c.Min != nil && c.Max != nil && *c.Min > *c.Max {
		return invalid(f, "min %g > max %g", *c.Min, *c.Max)
	}
	if c.Interval != "" {
		d, err := time.ParseDuration(c.Interval)
		if err != nil || d <= 0 {
			return invalid(f+".interval", "%q is not a positive Go duration such as \"5m\"", c.Interval)
		}
	}
	if len(c.Description) > MaxDescriptionLen {
		return invalid(f+".description", "longer than %d bytes", MaxDescriptionLen)
	}
	return nil
}

func (c Channel) info(typeName string) ChannelInfo {
	ci := ChannelInfo{Type: typeName, Unit: c.Unit, Min: math.Inf(-1), Max: math.Inf(1)}
	if c.Min != nil {
		ci.Min = *c.Min
	}
	if c.Max != nil {
		ci.Max = *c.Max
	}
	if c.Interval != "" {
		ci.Interval, _ = time.ParseDuration(c.Interval)
	}
	return ci
}

// ValidID checks a twin id or type name: 1-128 bytes of [A-Za-z0-9._~-]
// (RFC 3986 unreserved, so it needs no escaping in a URL path), not
// starting with '_' (reserved), and not "." or "..".
func ValidID(s string) error {
	if s == "" || len(s) > MaxNameLen {
		return fmt.Errorf("must be 1-%d bytes", MaxNameLen)
	}
	if s[0] == '_' {
		return fmt.Errorf("%q: must not start with '_'", s)
	}
	if s == "." || s == ".." {
		return fmt.Errorf("%q is not allowed", s)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '~' || c == '-') {
			return fmt.Errorf("%q: byte %q not in [A-Za-z0-9._~-]", s, c)
		}
	}
	return nil
}

// sameDefinition reports whether two types define the same thing (ignoring
// version and times).
func sameDefinition(a, b *Type) bool {
	a2, b2 := *a, *b
	a2.Version, b2.Version = 0, 0
	a2.Created, b2.Created = time.Time{}, time.Time{}
	a2.Updated, b2.Updated = time.Time{}, time.Time{}
	ja, err1 := marshalCanonical(&a2)
	jb, err2 := marshalCanonical(&b2)
	return err1 == nil && err2 == nil && string(ja) == string(jb)
}

func (t *Type) clone() Type {
	c := *t
	if t.Geometry != nil {
		g := *t.Geometry
		g.Kinds = slices.Clone(g.Kinds)
		c.Geometry = &g
	}
	if t.Properties != nil {
		c.Properties = make(map[string]Property, len(t.Properties))
		for k, p := range t.Properties {
			p.Enum = slices.Clone(p.Enum)
			p.Min = clonePtr(p.Min)
			p.Max = clonePtr(p.Max)
			c.Properties[k] = p
		}
	}
	if t.Channels != nil {
		c.Channels = make(map[string]Channel, len(t.Channels))
		for k, ch := range t.Channels {
			ch.Min = clonePtr(ch.Min)
			ch.Max = clonePtr(ch.Max)
			c.Channels[k] = ch
		}
	}
	c.Relationships = maps.Clone(t.Relationships)
	return c
}

func clonePtr(p *float64) *float64 {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// ValidUnit reports whether code is a valid UCUM unit code (ucum.Valid).
func ValidUnit(code string) error { return ucum.Valid(code) }
