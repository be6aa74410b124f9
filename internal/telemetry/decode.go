package telemetry

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
	"unique"

	"github.com/valyala/fastjson"
)

// Reason is a stable, machine-readable code for a rejected sample.
type Reason string

const (
	ReasonMissingField    Reason = "missing_field"
	ReasonBadTimestamp    Reason = "bad_timestamp"
	ReasonBadValue        Reason = "bad_value"
	ReasonNotFinite       Reason = "not_finite"
	ReasonUnknownTwin     Reason = "unknown_twin"
	ReasonUnknownChannel  Reason = "unknown_channel"
	ReasonOutOfRange      Reason = "out_of_range"
	ReasonFutureTimestamp Reason = "future_timestamp"
	ReasonOutOfOrder      Reason = "out_of_order"
	ReasonBadID           Reason = "bad_id"
	ReasonWrongUnit       Reason = "wrong_unit"
	ReasonConflict        Reason = "conflict"
)

// Item is one decoded sample, or the reason it could not be decoded.
// Index is the sample's position in the request, counting every value of
// per-twin objects in document order.
type Item struct {
	Index  int
	Sample Sample
	Reason Reason
	Detail string
	// Unit is the unit the sample declares ("unit", or "units" of the
	// per-twin form); empty: the channel's. Ingest converts the value to
	// the channel's unit, or rejects it when it cannot.
	Unit string
	// Route, if not nil, is where the caller keeps what Ingest resolved
	// of the item's twin, for its next items of that twin (see Route).
	Route *Route
}

// ErrMalformed reports a document that is not valid JSON or not of any of
// the accepted shapes; nothing of it is accepted.
var ErrMalformed = errors.New("malformed telemetry document")

// MaxIDLen bounds twin ids and channel names.
const MaxIDLen = 128

// Decoder turns request bodies into Items. It is not safe for concurrent
// use; keep one per goroutine (or use a sync.Pool).
type Decoder struct {
	p      fastjson.Parser
	now    func() time.Time
	intern map[string]string // twin ids and channel names seen, to avoid an allocation per sample
	// lastTwin is the twin id of the previous sample (see twinName).
	lastTwin string
	// chans is the ring of recent channel names (see chanName).
	chanRing            [16]string
	chans               []string
	chanNext, chanEvict int
}

// maxInterned bounds the intern table; past it, it is cleared.
const maxInterned = 1 << 16

// str returns b as a string, reusing a previous copy when b was seen.
func (d *Decoder) str(b []byte) string {
	if s, ok := d.intern[string(b)]; ok { // no allocation for the lookup
		return s
	}
	if d.intern == nil || len(d.intern) >= maxInterned {
		d.intern = make(map[string]string, 1024)
	}
	// The canonical copy (unique): every decoder hands out the same one,
	// and the maps the samples meet (catalog, head) hold it too, so their
	// key comparisons stop at the pointers instead of reading both strings.
	s := unique.Make(string(b)).Value()
	d.intern[s] = s
	return s
}

// NewDecoder returns a Decoder that stamps samples without "ts" with now().
func NewDecoder(now func() time.Time) *Decoder {
	if now == nil {
		now = time.Now
	}
	return &Decoder{now: now}
}

// DecodeJSON decodes a JSON body: {"samples":[{twin,channel,ts,value},...]},
// a per-twin object {"twin":..,"ts":..,"values":{ch:v}}, or an array of
// either. dst is appended to and returned.
func (d *Decoder) DecodeJSON(dst []Item, body []byte) ([]Item, error) {
	if out, ok := d.fastSamples(dst, body); ok {
		return out, nil
	}
	return d.generalJSON(dst, body)
}

// generalJSON is DecodeJSON without the fast path.
func (d *Decoder) generalJSON(dst []Item, body []byte) ([]Item, error) {
	v, err := d.p.ParseBytes(body)
	if err != nil {
		return dst, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return d.decodeTop(dst, v, "")
}

// DecodeNDJSON decodes newline-delimited JSON: one sample object or one
// per-twin object per line. A malformed line makes the whole body
// malformed (with its line number), so nothing half-read is stored.
func (d *Decoder) DecodeNDJSON(dst []Item, body []byte) ([]Item, error) {
	return d.decodeNDJSON(dst, body, true)
}

func (d *Decoder) decodeNDJSON(dst []Item, body []byte, fast bool) ([]Item, error) {
	line := 0
	for len(body) > 0 {
		line++
		i := bytes.IndexByte(body, '\n')
		var ln []byte
		if i < 0 {
			ln, body = body, nil
		} else {
			ln, body = body[:i], body[i+1:]
		}
		ln = bytes.TrimSpace(ln)
		if len(ln) == 0 {
			continue
		}
		if fast {
			fs := scanner{b: ln}
			if it, ok := d.compactSample(&fs, len(dst)); ok && fs.end() {
				dst = append(dst, it)
				continue
			}
		}
		v, err := d.p.ParseBytes(ln)
		if err != nil {
			return dst, fmt.Errorf("%w: line %d: %v", ErrMalformed, line, err)
		}
		if v.Type() != fastjson.TypeObject {
			return dst, fmt.Errorf("%w: line %d: want a JSON object", ErrMalformed, line)
		}
		dst, err = d.decodeObject(dst, v, "")
		if err != nil {
			return dst, fmt.Errorf("line %d: %w", line, err)
		}
	}
	return dst, nil
}

// DecodeMQTT decodes an MQTT payload published to a twin's telemetry
// topic: {"ts":..,"values":{..}}, an array of those, or
// {"samples":[{channel,ts,value},...]}; twin comes from the topic.
func (d *Decoder) DecodeMQTT(dst []Item, twin string, payload []byte) ([]Item, error) {
	if out, ok := d.fastValues(dst, twin, payload); ok {
		return out, nil
	}
	return d.generalMQTT(dst, twin, payload)
}

// generalMQTT is DecodeMQTT without the fast path.
func (d *Decoder) generalMQTT(dst []Item, twin string, payload []byte) ([]Item, error) {
	v, err := d.p.ParseBytes(payload)
	if err != nil {
		return dst, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return d.decodeTop(dst, v, twin)
}

func (d *Decoder) decodeTop(dst []Item, v *fastjson.Value, twin string) ([]Item, error) {
	var err error
	switch v.Type() {
	case fastjson.TypeObject:
		return d.decodeObject(dst, v, twin)
	case fastjson.TypeArray:
		arr, _ := v.Array()
		for _, e := range arr {
			if e.Type() != fastjson.TypeObject {
				return dst, fmt.Errorf("%w: array elements must be objects", ErrMalformed)
			}
			if dst, err = d.decodeObject(dst, e, twin); err != nil {
				return dst, err
			}
		}
		return dst, nil
	default:
		return dst, fmt.Errorf("%w: want a JSON object or array", ErrMalformed)
	}
}

// decodeObject handles {"samples":[...]}, a per-twin {"values":{...}} and
// a single sample {"twin","channel","ts","value"}.
func (d *Decoder) decodeObject(dst []Item, v *fastjson.Value, twin string) ([]Item, error) {
	if arr := v.Get("samples"); arr != nil {
		if arr.Type() != fastjson.TypeArray {
			return dst, fmt.Errorf("%w: \"samples\" must be an array", ErrMalformed)
		}
		items, _ := arr.Array()
		for _, e := range items {
			if e.Type() != fastjson.TypeObject {
				dst = append(dst, Item{Index: len(dst), Reason: ReasonMissingField, Detail: "sample must be an object"})
				continue
			}
			dst = append(dst, d.single(e, twin, len(dst)))
		}
		return dst, nil
	}
	if vals := v.Get("values"); vals != nil {
		obj, err := vals.Object()
		if err != nil {
			return dst, fmt.Errorf("%w: \"values\" must be an object", ErrMalformed)
		}
		base := Item{}
		tw, r, det := d.twinOf(v, twin)
		ts, tr, tdet := d.tsOf(v)
		if r == "" {
			r, det = tr, tdet
		}
		base.Reason, base.Detail = r, det
		var units *fastjson.Object
		if u := v.Get("units"); u != nil {
			if units, err = u.Object(); err != nil && base.Reason == "" {
				base.Reason, base.Detail = ReasonWrongUnit, "\"units\" must be an object of channel names to unit codes"
			}
		}
		obj.Visit(func(k []byte, x *fastjson.Value) {
			it := base
			it.Index = len(dst)
			it.Sample = Sample{Tenant: DefaultTenant, Twin: tw, Channel: d.str(k), TS: ts}
			if it.Reason == "" {
				if !validName(k) {
					it.Reason, it.Detail = ReasonBadID, "channel name must be 1-128 URL-safe characters"
				} else {
					it.Sample.Value, it.Reason, it.Detail = valueOf(x)
				}
			}
			if it.Reason == "" && units != nil {
				if u := units.Get(string(k)); u != nil {
					it.Unit, it.Reason, it.Detail = d.unitOf(u)
				}
			}
			dst = append(dst, it)
		})
		return dst, nil
	}
	if v.Get("value") != nil || v.Get("channel") != nil {
		return append(dst, d.single(v, twin, len(dst))), nil
	}
	return dst, fmt.Errorf("%w: object has none of \"samples\", \"values\", \"value\"", ErrMalformed)
}

func (d *Decoder) single(e *fastjson.Value, twin string, idx int) Item {
	it := Item{Index: idx}
	tw, r, det := d.twinOf(e, twin)
	it.Sample.Tenant, it.Sample.Twin = DefaultTenant, tw
	if r != "" {
		it.Reason, it.Detail = r, det
		return it
	}
	ch := e.GetStringBytes("channel")
	if len(ch) == 0 {
		it.Reason, it.Detail = ReasonMissingField, "\"channel\" is required"
		return it
	}
	if !validName(ch) {
		it.Reason, it.Detail = ReasonBadID, "channel name must be 1-128 URL-safe characters"
		return it
	}
	it.Sample.Channel = d.str(ch)
	if it.Sample.TS, it.Reason, it.Detail = d.tsOf(e); it.Reason != "" {
		return it
	}
	x := e.Get("value")
	if x == nil {
		it.Reason, it.Detail = ReasonMissingField, "\"value\" is required"
		return it
	}
	if it.Sample.Value, it.Reason, it.Detail = valueOf(x); it.Reason != "" {
		return it
	}
	if u := e.Get("unit"); u != nil {
		it.Unit, it.Reason, it.Detail = d.unitOf(u)
	}
	return it
}

// unitOf reads a declared unit: a non-empty string (checked against the
// channel's unit at ingest).
func (d *Decoder) unitOf(u *fastjson.Value) (string, Reason, string) {
	b, err := u.StringBytes()
	if err != nil || len(b) == 0 || len(b) > 64 {
		return "", ReasonWrongUnit, "a unit is a UCUM code such as \"mm\" or \"kPa\", a string of 1-64 bytes"
	}
	return d.str(b), "", ""
}

func (d *Decoder) twinOf(e *fastjson.Value, twin string) (string, Reason, string) {
	if twin != "" {
		if x := e.GetStringBytes("twin"); len(x) > 0 && string(x) != twin {
			return twin, ReasonBadID, "\"twin\" differs from the topic's twin"
		}
		return twin, "", ""
	}
	x := e.GetStringBytes("twin")
	if len(x) == 0 {
		return "", ReasonMissingField, "\"twin\" is required"
	}
	if !validName(x) {
		return "", ReasonBadID, "twin id must be 1-128 URL-safe characters"
	}
	return d.str(x), "", ""
}

// tsOf reads "ts": integer milliseconds since the epoch or an RFC 3339
// string; absent means now.
func (d *Decoder) tsOf(e *fastjson.Value) (int64, Reason, string) {
	x := e.Get("ts")
	if x == nil {
		return d.now().UnixMilli(), "", ""
	}
	switch x.Type() {
	case fastjson.TypeNumber:
		f, err := x.Float64()
		if err != nil || f != math.Trunc(f) || f < 0 || f > 1e15 {
			return 0, ReasonBadTimestamp, "\"ts\" must be whole milliseconds since 1970 or an RFC 3339 string"
		}
		return int64(f), "", ""
	case fastjson.TypeString:
		s, _ := x.StringBytes()
		t, err := time.Parse(time.RFC3339Nano, string(s))
		if err != nil {
			return 0, ReasonBadTimestamp, "\"ts\" is not RFC 3339: " + strconv.Quote(truncate(string(s), 40))
		}
		ms := t.UnixMilli()
		if ms < 0 {
			return 0, ReasonBadTimestamp, "\"ts\" is before 1970"
		}
		return ms, "", ""
	default:
		return 0, ReasonBadTimestamp, "\"ts\" must be a number or a string"
	}
}

func valueOf(x *fastjson.Value) (float64, Reason, string) {
	switch x.Type() {
	case fastjson.TypeNumber:
		f, err := x.Float64()
		if err != nil {
			return 0, ReasonBadValue, "value is not a number"
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return 0, ReasonNotFinite, "value must be finite"
		}
		return f, "", ""
	case fastjson.TypeTrue:
		return 1, "", ""
	case fastjson.TypeFalse:
		return 0, "", ""
	case fastjson.TypeString:
		s, _ := x.StringBytes()
		switch string(s) {
		case "NaN", "nan", "Inf", "+Inf", "-Inf", "Infinity", "-Infinity":
			return 0, ReasonNotFinite, "value must be finite"
		}
		return 0, ReasonBadValue, "value must be a number"
	default:
		return 0, ReasonBadValue, "value must be a number"
	}
}

// validName reports whether b is a URL-safe id: 1-128 bytes of
// [A-Za-z0-9._~-], not starting with '_'.
func validName(b []byte) bool {
	if len(b) == 0 || len(b) > MaxIDLen || b[0] == '_' {
		return false
	}
	for _, c := range b {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '~', c == '-':
		default:
			return false
		}
	}
	return true
}

// ValidID reports whether s is a valid twin id or channel name.
func ValidID(s string) bool { return validName([]byte(s)) }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
