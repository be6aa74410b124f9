package twin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"time"
	"unicode"
	"unicode/utf8"
)

// Limits on twin documents.
const (
	MaxTwinBytes      = 1 << 20
	MaxTwinNameLen    = 256
	MaxLabels         = 64
	MaxLabelKeyLen    = 63
	MaxLabelValueLen  = 256
	MaxTargets        = 1024 // targets of one relationship
	MaxPropertyValues = 256
)

// Twin is one asset or sensor. ID is chosen by the user (see ValidID) and
// unique within a tenant. Properties are validated against the type and
// normalised on write: number -> float64, integer -> int64, string, enum
// and time -> string, bool -> bool, geometry -> Geometry, object ->
// map[string]any (numbers as json.Number). Relationships map a relationship
// name of the type to target twin ids. Created, Updated and Revision are
// assigned by the registry (Revision is 1 on create, +1 per write) and
// ignored on input.
type Twin struct {
	ID            string              `json:"id"`
	Type          string              `json:"type"`
	Name          string              `json:"name,omitempty"`
	Properties    map[string]any      `json:"properties,omitempty"`
	Geometry      *Geometry           `json:"geometry,omitempty"`
	Relationships map[string][]string `json:"relationships,omitempty"`
	Labels        map[string]string   `json:"labels,omitempty"`
	Created       time.Time           `json:"created,omitzero"`
	Updated       time.Time           `json:"updated,omitzero"`
	Revision      uint64              `json:"revision,omitempty"`
}

// DecodeTwin reads one twin document (at most MaxTwinBytes, unknown fields
// refused, numbers kept as json.Number) and checks what can be checked
// without its type: id, name, geometry, labels and the shape of
// relationships. The registry checks the rest on write.
func DecodeTwin(r io.Reader) (Twin, error) {
	var tw Twin
	if err := decodeStrict(r, MaxTwinBytes, "twin", &tw); err != nil {
		return Twin{}, err
	}
	if err := tw.validateShape(); err != nil {
		return Twin{}, err
	}
	return tw, nil
}

// validateShape checks the twin on its own (no type, no other twins).
func (tw *Twin) validateShape() error {
	if err := ValidID(tw.ID); err != nil {
		return invalid("id", "%v", err)
	}
	if err := ValidID(tw.Type); err != nil {
		return invalid("type", "%v", err)
	}
	if err := validText(tw.Name, MaxTwinNameLen); err != nil {
		return invalid("name", "%v", err)
	}
	if tw.Geometry != nil {
		if err := tw.Geometry.Validate(); err != nil {
			return err
		}
	}
	if len(tw.Properties) > MaxPropertyValues {
		return invalid("properties", "more than %d properties", MaxPropertyValues)
	}
	if len(tw.Labels) > MaxLabels {
		return invalid("labels", "more than %d labels", MaxLabels)
	}
	for _, k := range slices.Sorted(maps.Keys(tw.Labels)) {
		if err := validLabelKey(k); err != nil {
			return invalid("labels", "%v", err)
		}
		if err := validText(tw.Labels[k], MaxLabelValueLen); err != nil {
			return invalid("labels."+k, "%v", err)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(tw.Relationships)) {
		f := "relationships." + name
		if err := validMemberName(name); err != nil {
			return invalid(f, "%v", err)
		}
		targets := tw.Relationships[name]
		if len(targets) > MaxTargets {
			return invalid(f, "more than %d targets", MaxTargets)
		}
		for i, id := range targets {
			if err := ValidID(id); err != nil {
				return invalid(fmt.Sprintf("%s[%d]", f, i), "%v", err)
			}
			if id == tw.ID {
				return invalid(fmt.Sprintf("%s[%d]", f, i), "a twin cannot point at itself")
			}
			if slices.Contains(targets[:i], id) {
				return invalid(fmt.Sprintf("%s[%d]", f, i), "%q listed twice", id)
			}
		}
	}
	return nil
}

func validLabelKey(k string) error {
	if k == "" || len(k) > MaxLabelKeyLen {
		return fmt.Errorf("key %q must be 1-%d bytes", k, MaxLabelKeyLen)
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-' || c == '/') {
			return fmt.Errorf("key %q: byte %q not in [A-Za-z0-9_./-]", k, c)
		}
	}
	return nil
}

func validText(s string, max int) error {
	if len(s) > max {
		return fmt.Errorf("longer than %d bytes", max)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("not valid UTF-8")
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return fmt.Errorf("contains control character %U", r)
		}
	}
	return nil
}

// normalize validates the twin's properties, geometry and relationship
// names against its type and returns the properties in normal form. Whether
// relationship targets exist is checked by the registry.
func (tw *Twin) normalize(t *Type) (map[string]any, error) {
	if err := tw.validateShape(); err != nil {
		return nil, err
	}
	var props map[string]any
	if len(tw.Properties) > 0 {
		props = make(map[string]any, len(tw.Properties))
	}
	for _, name := range slices.Sorted(maps.Keys(tw.Properties)) {
		p, ok := t.Properties[name]
		if !ok {
			return nil, invalid("properties."+name, "type %s has no such property", t.Name)
		}
		v, err := normalizeValue("properties."+name, p, tw.Properties[name])
		if err != nil {
			return nil, err
		}
		props[name] = v
	}
	for _, name := range slices.Sorted(maps.Keys(t.Properties)) {
		if _, ok := tw.Properties[name]; !ok && t.Properties[name].Required {
			return nil, invalid("properties."+name, "required by type %s", t.Name)
		}
	}
	if g := t.Geometry; g != nil {
		if tw.Geometry == nil && g.Required {
			return nil, invalid("geometry", "required by type %s", t.Name)
		}
		if tw.Geometry != nil && len(g.Kinds) > 0 && !slices.Contains(g.Kinds, tw.Geometry.Type) {
			return nil, invalid("geometry.type", "type %s allows %v, got %s", t.Name, g.Kinds, tw.Geometry.Type)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(tw.Relationships)) {
		rel, ok := t.Relationships[name]
		if !ok {
			return nil, invalid("relationships."+name, "type %s has no such relationship", t.Name)
		}
		if rel.Cardinality == One && len(tw.Relationships[name]) > 1 {
			return nil, invalid("relationships."+name, "cardinality one, got %d targets", len(tw.Relationships[name]))
		}
	}
	return props, nil
}

func normalizeValue(f string, p Property, v any) (any, error) {
	if v == nil {
		return nil, invalid(f, "null (omit the property instead)")
	}
	switch p.Kind {
	case KindNumber, KindInteger:
		x, isInt, ok := number(v)
		if !ok {
			return nil, invalid(f, "want a %s, got %s", p.Kind, jsonKind(v))
		}
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, invalid(f, "not a finite number")
		}
		if p.Min != nil && x < *p.Min {
			return nil, invalid(f, "%v below min %g", v, *p.Min)
		}
		if p.Max != nil && x > *p.Max {
			return nil, invalid(f, "%v above max %g", v, *p.Max)
		}
		if p.Kind == KindNumber {
			return x, nil
		}
		if !isInt {
			return nil, invalid(f, "want an integer, got %v", v)
		}
		n, err := integer(v)
		if err != nil {
			return nil, invalid(f, "%v", err)
		}
		return n, nil
	case KindString, KindEnum, KindTime:
		s, ok := v.(string)
		if !ok {
			return nil, invalid(f, "want a string, got %s", jsonKind(v))
		}
		if len(s) > 64<<10 || !utf8.ValidString(s) {
			return nil, invalid(f, "strings are valid UTF-8 of at most 64 KiB")
		}
		if p.Kind == KindEnum && !slices.Contains(p.Enum, s) {
			return nil, invalid(f, "%q is not one of %v", s, p.Enum)
		}
		if p.Kind == KindTime {
			if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
				return nil, invalid(f, "not an RFC 3339 time: %v", err)
			}
		}
		return s, nil
	case KindBool:
		b, ok := v.(bool)
		if !ok {
			return nil, invalid(f, "want a bool, got %s", jsonKind(v))
		}
		return b, nil
	case KindGeometry:
		data, err := json.Marshal(v)
		if err != nil {
			return nil, invalid(f, "%v", err)
		}
		g, err := DecodeGeometry(bytes.NewReader(data))
		if err != nil {
			return nil, invalid(f, "%v", err)
		}
		return g, nil
	case KindObject:
		data, err := json.Marshal(v)
		if err != nil {
			return nil, invalid(f, "%v", err)
		}
		var m map[string]any
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		if err := dec.Decode(&m); err != nil || m == nil {
			return nil, invalid(f, "want a JSON object, got %s", jsonKind(v))
		}
		return m, nil
	}
	return nil, invalid(f, "unknown kind %q", p.Kind)
}

// number converts a JSON or Go number; isInt reports an integral value.
func number(v any) (x float64, isInt, ok bool) {
	switch n := v.(type) {
	case json.Number:
		f, err := strconv.ParseFloat(string(n), 64)
		if err != nil {
			return 0, false, false
		}
		_, ierr := strconv.ParseInt(string(n), 10, 64)
		return f, ierr == nil || (f == math.Trunc(f) && math.Abs(f) <= 1<<53), true
	case float64:
		return n, n == math.Trunc(n) && math.Abs(n) <= 1<<53, true
	case float32:
		return float64(n), float64(n) == math.Trunc(float64(n)) && math.Abs(float64(n)) <= 1<<53, true
	case int:
		return float64(n), true, true
	case int64:
		return float64(n), true, true
	case int32:
		return float64(n), true, true
	case uint32:
		return float64(n), true, true
	case uint64:
		return float64(n), n <= math.MaxInt64, true
	}
	return 0, false, false
}

func integer(v any) (int64, error) {
	switch n := v.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
			return i, nil
		}
		f, _ := strconv.ParseFloat(string(n), 64)
		return int64(f), nil
	case float64:
		return int64(n), nil
	case float32:
		return int64(n), nil
	case int:
		return int64(n), nil
	case int64:
		return n, nil
	case int32:
		return int64(n), nil
	case uint32:
		return int64(n), nil
	case uint64:
		return int64(n), nil
	}
	return 0, fmt.Errorf("not an integer")
}

func jsonKind(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case bool:
		return "a bool"
	case json.Number, float64, float32, int, int64, int32, uint32, uint64:
		return "a number"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

// clone returns a deep copy of the twin.
func (tw *Twin) clone() Twin {
	c := *tw
	if tw.Properties != nil {
		c.Properties = make(map[string]any, len(tw.Properties))
		for k, v := range tw.Properties {
			c.Properties[k] = cloneValue(v)
		}
	}
	c.Geometry = tw.Geometry.clone()
	if tw.Relationships != nil {
		c.Relationships = make(map[string][]string, len(tw.Relationships))
		for k, v := range tw.Relationships {
			c.Relationships[k] = slices.Clone(v)
		}
	}
	c.Labels = maps.Clone(tw.Labels)
	return c
}

func cloneValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = cloneValue(e)
		}
		return m
	case []any:
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = cloneValue(e)
		}
		return s
	case Geometry:
		return *x.clone()
	}
	return v
}

// Number returns a number or integer property as float64.
func (tw *Twin) Number(name string) (float64, bool) {
	x, _, ok := number(tw.Properties[name])
	return x, ok
}

// Text returns a string, enum or time property.
func (tw *Twin) Text(name string) (string, bool) {
	s, ok := tw.Properties[name].(string)
	return s, ok
}

func marshalCanonical(v any) ([]byte, error) { return json.Marshal(v) }
