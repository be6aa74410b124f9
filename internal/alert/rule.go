package alert

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tsingma/tsingma/internal/twin"
)

// Condition operators. The first four compare a value with Value; the
// band operators compare it with [Low, High].
const (
	OpGT      = ">"
	OpGE      = ">="
	OpLT      = "<"
	OpLE      = "<="
	OpOutside = "outside" // value < Low or value > High
	OpInside  = "inside"  // Low <= value <= High
)

// Limits on rule documents.
const (
	MaxRuleBytes    = 16 << 10
	MaxTextLen      = 2048
	MaxHold         = 7 * 24 * time.Hour // For and ClearFor
	MaxRateWindow   = 7 * 24 * time.Hour
	maxAbsThreshold = 1e15
)

// Duration is a time.Duration written in JSON as a Go duration string
// ("10m", "90s"). Numbers are refused: their unit would be a guess.
type Duration time.Duration

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(fmtDur(time.Duration(d)))
}

// fmtDur is d.String() without zero trailing units: "10m", "1h30m".
func fmtDur(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// UnmarshalJSON reads a Go duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New(`a duration is a string such as "10m" or "90s"`)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration %q: want a Go duration such as \"10m\"", clip(s))
	}
	*d = Duration(v)
	return nil
}

// Rate makes a rule compare the channel's rate of change instead of its
// value: the least-squares slope of the samples in the last Window,
// expressed per Per (default one hour). The rate is undefined, and the
// rule not evaluated, until the samples in the window span at least half
// of it.
type Rate struct {
	Window Duration `json:"window"`
	Per    Duration `json:"per,omitempty"`
}

// Rule raises an alert for each twin in scope whose channel meets the
// condition for at least For, and clears it once the condition, moved by
// Hysteresis towards the safe side, has been false for at least ClearFor.
//
// Exactly one of Type (every twin of that type) and Twin (one twin) sets
// the scope. ID, Version, Unit, Created and Updated are assigned on write
// (ID only when empty).
type Rule struct {
	ID          string   `json:"id"`
	Name        string   `json:"name,omitempty"`
	Description string   `json:"description,omitempty"`
	Type        string   `json:"type,omitempty"`
	Twin        string   `json:"twin,omitempty"`
	Channel     string   `json:"channel"`
	Op          string   `json:"op"`
	Value       *float64 `json:"value,omitempty"`
	Low         *float64 `json:"low,omitempty"`
	High        *float64 `json:"high,omitempty"`
	Rate        *Rate    `json:"rate,omitempty"`
	For         Duration `json:"for,omitempty"`
	ClearFor    Duration `json:"clearFor,omitempty"`
	// MaxGap, when set, restarts a hold (For, ClearFor) after a silence
	// longer than it between two samples: a gauge at 35 mm that falls
	// silent for six hours does not meet "for 1h" with its first sample
	// back. 0 (the default) lets a hold run across any silence.
	MaxGap     Duration `json:"maxGap,omitempty"`
	Hysteresis float64  `json:"hysteresis,omitempty"`
	Severity   Severity `json:"severity"`
	Disabled   bool     `json:"disabled,omitempty"`

	Unit    string    `json:"unit,omitempty"` // the channel's unit (of the rate: unit per Per)
	Version uint64    `json:"version,omitempty"`
	Created time.Time `json:"created,omitzero"`
	Updated time.Time `json:"updated,omitzero"`
}

// DecodeRule reads one rule document (at most MaxRuleBytes, unknown fields
// refused, one JSON value) and validates it on its own (Validate). Syntax
// errors match ErrMalformed, invalid documents ErrInvalid.
func DecodeRule(r io.Reader) (Rule, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxRuleBytes+1))
	if err != nil {
		return Rule{}, fmt.Errorf("read rule: %w", err)
	}
	if len(b) > MaxRuleBytes {
		return Rule{}, fmt.Errorf("%w: the rule is larger than %d bytes", ErrMalformed, MaxRuleBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var ru Rule
	if err := dec.Decode(&ru); err != nil {
		return Rule{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if dec.More() {
		return Rule{}, fmt.Errorf("%w: more than one JSON value", ErrMalformed)
	}
	if err := ru.Validate(); err != nil {
		return Rule{}, err
	}
	return ru, nil
}

// Validate checks the rule on its own: names, operator and thresholds
// (finite, band ordered, hysteresis not inverting the band), durations and
// severity. Whether the channel exists is checked by the Engine.
func (ru *Rule) Validate() error {
	if ru.ID != "" {
		if err := twin.ValidID(ru.ID); err != nil {
			return invalid("id", "%v", err)
		}
	}
	if err := validText(ru.Name, twin.MaxNameLen); err != nil {
		return invalid("name", "%v", err)
	}
	if err := validText(ru.Description, MaxTextLen); err != nil {
		return invalid("description", "%v", err)
	}
	switch {
	case ru.Type == "" && ru.Twin == "":
		return invalid("type", "set type (every twin of a type) or twin (one twin)")
	case ru.Type != "" && ru.Twin != "":
		return invalid("twin", "set type or twin, not both")
	case ru.Type != "":
		if err := twin.ValidID(ru.Type); err != nil {
			return invalid("type", "%v", err)
		}
	default:
		if err := twin.ValidID(ru.Twin); err != nil {
			return invalid("twin", "%v", err)
		}
	}
	if err := twin.ValidID(ru.Channel); err != nil {
		return invalid("channel", "%v", err)
	}
	if !finite(ru.Hysteresis) || ru.Hysteresis < 0 || ru.Hysteresis > maxAbsThreshold {
		return invalid("hysteresis", "must be a finite number >= 0")
	}
	switch ru.Op {
	case OpGT, OpGE, OpLT, OpLE:
		if ru.Value == nil {
			return invalid("value", "operator %s needs a value", ru.Op)
		}
		if !finiteBound(*ru.Value) {
			return invalid("value", "must be a finite number within ±1e15")
		}
		if ru.Low != nil || ru.High != nil {
			return invalid("low", "low and high belong to the inside and outside operators")
		}
	case OpOutside, OpInside:
		if ru.Low == nil || ru.High == nil {
			return invalid("low", "operator %s needs low and high", ru.Op)
		}
		if !finiteBound(*ru.Low) {
			return invalid("low", "must be a finite number within ±1e15")
		}
		if !finiteBound(*ru.High) {
			return invalid("high", "must be a finite number within ±1e15")
		}
		if *ru.Low > *ru.High {
			return invalid("high", "must be >= low")
		}
		if ru.Value != nil {
			return invalid("value", "operator %s uses low and high, not value", ru.Op)
		}
		if ru.Op == OpOutside && *ru.Low+ru.Hysteresis > *ru.High-ru.Hysteresis {
			return invalid("hysteresis", "the band shrunk by the hysteresis on each side is empty, so the alert could never clear")
		}
	case "":
		return invalid("op", "required: one of >, >=, <, <=, outside, inside")
	default:
		return invalid("op", "%q: want one of >, >=, <, <=, outside, inside", clip(ru.Op))
	}
	if ru.Rate != nil {
		if ru.Rate.Window <= 0 || time.Duration(ru.Rate.Window) > MaxRateWindow {
			return invalid("rate.window", "must be > 0 and at most %s", MaxRateWindow)
		}
		if ru.Rate.Window < Duration(time.Second) {
			return invalid("rate.window", "must be at least 1s")
		}
		if ru.Rate.Per < 0 || time.Duration(ru.Rate.Per) > MaxRateWindow {
			return invalid("rate.per", "must be > 0 and at most %s", MaxRateWindow)
		}
		if ru.Rate.Per != 0 && ru.Rate.Per < Duration(time.Millisecond) {
			return invalid("rate.per", "must be at least 1ms")
		}
	}
	if ru.For < 0 || time.Duration(ru.For) > MaxHold {
		return invalid("for", "must be between 0 and %s", MaxHold)
	}
	if ru.ClearFor < 0 || time.Duration(ru.ClearFor) > MaxHold {
		return invalid("clearFor", "must be between 0 and %s", MaxHold)
	}
	if ru.MaxGap < 0 || time.Duration(ru.MaxGap) > MaxHold {
		return invalid("maxGap", "must be between 0 and %s", MaxHold)
	}
	if !ru.Severity.valid() {
		if ru.Severity == "" {
			return invalid("severity", "required: info, warning or critical")
		}
		return invalid("severity", "%q: want info, warning or critical", clip(string(ru.Severity)))
	}
	return nil
}

// normalize fills defaults.
func (ru *Rule) normalize() {
	if ru.Rate != nil && ru.Rate.Per == 0 {
		ru.Rate.Per = Duration(time.Hour)
	}
}

// ratePerLabel is "/h" style text for a rate's unit.
func perLabel(d Duration) string {
	switch time.Duration(d) {
	case time.Second:
		return "s"
	case time.Minute:
		return "min"
	case time.Hour:
		return "h"
	case 24 * time.Hour:
		return "d"
	}
	return fmtDur(time.Duration(d))
}

// Describe is a short human statement of the condition, e.g.
// "rainfall >= 6 mm for 10m" or "rate of displacement > 2 mm/h over 1h".
func (ru *Rule) Describe() string {
	var b strings.Builder
	unit := ru.Unit
	if ru.Rate != nil {
		b.WriteString("rate of ")
	}
	b.WriteString(ru.Channel)
	b.WriteByte(' ')
	num := func(v float64) string {
		s := fmt.Sprintf("%g", v)
		if unit != "" {
			s += " " + unit
		}
		return s
	}
	switch ru.Op {
	case OpOutside, OpInside:
		fmt.Fprintf(&b, "%s [%s, %s]", ru.Op, num(*ru.Low), num(*ru.High))
	default:
		fmt.Fprintf(&b, "%s %s", ru.Op, num(*ru.Value))
	}
	if ru.Rate != nil {
		fmt.Fprintf(&b, " over %s", fmtDur(time.Duration(ru.Rate.Window)))
	}
	if ru.For > 0 {
		fmt.Fprintf(&b, " for %s", fmtDur(time.Duration(ru.For)))
	}
	return b.String()
}

// cond is a compiled condition: raise tests whether x is in alarm, clear
// whether it is clear of the alarm by the hysteresis, worse orders values
// by how far into alarm they are (for the peak).
type cond struct {
	op              string
	v, lo, hi, hyst float64
}

func compileCond(ru *Rule) cond {
	c := cond{op: ru.Op, hyst: ru.Hysteresis}
	if ru.Value != nil {
		c.v = *ru.Value
	}
	if ru.Low != nil {
		c.lo, c.hi = *ru.Low, *ru.High
	}
	return c
}

func (c cond) raise(x float64) bool {
	switch c.op {
	case OpGT:
		return x > c.v
	case OpGE:
		return x >= c.v
	case OpLT:
		return x < c.v
	case OpLE:
		return x <= c.v
	case OpOutside:
		return x < c.lo || x > c.hi
	case OpInside:
		return x >= c.lo && x <= c.hi
	}
	return false
}

// clear is the negation of raise with the threshold moved by the
// hysteresis towards the safe side.
func (c cond) clear(x float64) bool {
	switch c.op {
	case OpGT:
		return x <= c.v-c.hyst
	case OpGE:
		return x < c.v-c.hyst
	case OpLT:
		return x >= c.v+c.hyst
	case OpLE:
		return x > c.v+c.hyst
	case OpOutside:
		return x >= c.lo+c.hyst && x <= c.hi-c.hyst
	case OpInside:
		return x < c.lo-c.hyst || x > c.hi+c.hyst
	}
	return true
}

// severity of x: larger is further into alarm.
func (c cond) depth(x float64) float64 {
	switch c.op {
	case OpGT, OpGE:
		return x - c.v
	case OpLT, OpLE:
		return c.v - x
	case OpOutside:
		return math.Max(c.lo-x, x-c.hi)
	case OpInside:
		return math.Min(x-c.lo, c.hi-x)
	}
	return 0
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

func finiteBound(f float64) bool { return finite(f) && math.Abs(f) <= maxAbsThreshold }

func validText(s string, max int) error {
	if len(s) > max {
		return fmt.Errorf("longer than %d bytes", max)
	}
	if !utf8.ValidString(s) {
		return errors.New("not valid UTF-8")
	}
	for _, r := range s {
		if r < 0x20 && r != '\n' && r != '\t' || r == 0x7f {
			return errors.New("contains control characters")
		}
	}
	return nil
}

func clip(s string) string {
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	return strings.ToValidUTF8(s, "?")
}
