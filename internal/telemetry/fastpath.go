package telemetry

import (
	"math"
	"unsafe"

	"github.com/valyala/fastjson/fastfloat"
)

// The fast path decodes the two shapes that carry nearly all telemetry,
// written plainly:
//
//	{"samples":[{"twin":"a","channel":"b","ts":1,"value":2.5},...]}   (HTTP)
//	{"ts":1,"values":{"b":2.5,...}}                                    (MQTT)
//
// in one pass over the bytes, without building a document tree. Anything
// else — escapes in a string, a missing or unknown field, a duplicate key,
// a number that is not plain JSON, an id that is not valid, a value of
// another type — makes it give up, and the general decoder (fastjson)
// decodes the body from the start with its full error reporting. So the
// fast path only ever answers what the general decoder would have answered;
// FuzzFastPathAgrees checks exactly that.

// scanner walks a JSON text. Its methods report false on anything that is
// not the plain form the fast path takes.
type scanner struct {
	b []byte
	i int
}

func (s *scanner) ws() {
	b, i := s.b, s.i
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	s.i = i
}

// byte consumes c after optional whitespace.
func (s *scanner) byte(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c { // mostly there is no whitespace
		s.i++
		return true
	}
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// peek returns the next non-space byte (0 at the end).
func (s *scanner) peek() byte {
	s.ws()
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// str reads a string without escapes or control characters and returns
// its bytes (a view into the input).
func (s *scanner) str() ([]byte, bool) {
	if !s.byte('"') {
		return nil, false
	}
	b, start := s.b, s.i
	for i := start; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			s.i = i + 1
			return b[start:i], true
		case c == '\\' || c < 0x20:
			return nil, false
		}
	}
	return nil, false
}

// number reads a number in strict JSON grammar and returns its bytes and
// whether it is a plain integer (no fraction, no exponent, no sign).
func (s *scanner) number() (raw []byte, integer bool, ok bool) {
	s.ws()
	b, i := s.b, s.i
	start := i
	integer = true
	if i < len(b) && b[i] == '-' {
		i++
		integer = false
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i++
		for i < len(b) && b[i]-'0' <= 9 {
			i++
		}
	default:
		return nil, false, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		integer = false
		d := i
		for i < len(b) && b[i]-'0' <= 9 {
			i++
		}
		if i == d {
			return nil, false, false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		integer = false
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		d := i
		for i < len(b) && b[i]-'0' <= 9 {
			i++
		}
		if i == d {
			return nil, false, false
		}
	}
	if !delimiter(b, i) {
		return nil, false, false
	}
	s.i = i
	return b[start:i], integer, true
}

// ts reads a timestamp given as whole milliseconds in [0, 1e15], in one
// pass that checks and converts its digits.
func (s *scanner) ts() (int64, bool) {
	s.ws()
	b, i := s.b, s.i
	start := i
	var v int64
	for i < len(b) && b[i]-'0' <= 9 && i-start < 17 {
		v = v*10 + int64(b[i]-'0')
		i++
	}
	n := i - start
	if n == 0 || n > 16 || (n > 1 && b[start] == '0') || !delimiter(b, i) {
		return 0, false // not a plain integer: a fraction, a sign, an exponent
	}
	s.i = i
	return v, v <= 1e15
}

// delimiter reports whether a number ending before b[i] ends at a
// delimiter (or the input's end), as in any JSON parser.
func delimiter(b []byte, i int) bool {
	if i == len(b) {
		return true
	}
	switch b[i] {
	case ',', '}', ']', ' ', '\t', '\n', '\r':
		return true
	}
	return false
}

// value reads a finite number. A decimal without exponent and with at most
// 15 significant digits, the form sensors send, is converted in the pass
// that checks its grammar: its digits and the power of ten it is divided
// by are exact float64 values, so one division gives the correctly
// rounded result, the bits any correct parser gives (the fast path of
// Clinger's algorithm, which strconv and fastfloat take too). Other
// numbers are parsed by the general decoder's own float parser (fastjson's
// fastfloat), so both paths give the same bits.
func (s *scanner) value() (float64, bool) {
	s.ws()
	b, i := s.b, s.i
	start := i
	neg := i < len(b) && b[i] == '-'
	if neg {
		i++
	}
	var m uint64
	digits, frac := 0, 0
	intStart := i
	i, m, digits = mantissa(b, i, m, digits)
	simple := i > intStart && (i-intStart == 1 || b[intStart] != '0')
	if simple && i < len(b) && b[i] == '.' {
		fracStart := i + 1
		i, m, digits = mantissa(b, fracStart, m, digits)
		frac = i - fracStart
		simple = frac > 0
	}
	if simple && digits <= 15 && frac < len(pow10) && delimiter(b, i) {
		s.i = i
		f := float64(m) / pow10[frac]
		if neg {
			f = -f
		}
		return f, true
	}
	s.i = start
	raw, _, ok := s.number()
	if !ok {
		return 0, false
	}
	// A view of the bytes, not a copy: Parse keeps nothing of it but in
	// an error, which is dropped here.
	f, err := fastfloat.Parse(unsafe.String(&raw[0], len(raw)))
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, false // the general way reports it
	}
	return f, true
}

// mantissa reads the digits from b[i] on into m, counting the significant
// ones (digits after the first non-zero one) into digits; m is only
// meaningful while digits stays at most 19.
func mantissa(b []byte, i int, m uint64, digits int) (int, uint64, int) {
	for i < len(b) && b[i]-'0' <= 9 {
		if c := b[i] - '0'; digits > 0 || c != 0 {
			digits++
		}
		m = m*10 + uint64(b[i]-'0')
		i++
	}
	return i, m, digits
}

// pow10 holds the powers of ten that a float64 represents exactly.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// end reports whether only whitespace is left.
func (s *scanner) end() bool {
	s.ws()
	return s.i == len(s.b)
}

// fastSamples decodes {"samples":[{twin,channel,ts,value},...]} (HTTP,
// twin in every sample). ok false: decode the general way; dst is then
// returned as it came.
func (d *Decoder) fastSamples(dst []Item, body []byte) ([]Item, bool) {
	n0 := len(dst)
	s := scanner{b: body}
	if !s.byte('{') {
		return dst[:n0], false
	}
	if k, ok := s.str(); !ok || string(k) != "samples" || !s.byte(':') || !s.byte('[') {
		return dst[:n0], false
	}
	if s.peek() == ']' {
		s.i++
	} else {
		for {
			it, ok := d.compactSample(&s, len(dst))
			if !ok {
				return dst[:n0], false
			}
			dst = append(dst, it)
			if s.byte(',') {
				continue
			}
			if s.byte(']') {
				break
			}
			return dst[:n0], false
		}
	}
	if !s.byte('}') || !s.end() {
		return dst[:n0], false
	}
	return dst, true
}

// compactSample reads one sample object written as encoders write it:
// {"twin":..,"channel":..,"ts":..,"value":..}, in this order, without
// whitespace, its keys matched as whole literals. Any other layout goes
// to fastSample.
func (d *Decoder) compactSample(s *scanner, idx int) (Item, bool) {
	start := s.i
	it := Item{Index: idx}
	it.Sample.Tenant = DefaultTenant
	var ok bool
	var v []byte
	if s.lit(`{"twin":`) {
		if v, ok = s.str(); ok {
			it.Sample.Twin, ok = d.twinName(v)
		}
		if ok = ok && s.lit(`,"channel":`); ok {
			if v, ok = s.str(); ok {
				it.Sample.Channel, ok = d.chanName(v)
			}
		}
		ok = ok && s.lit(`,"ts":`) && s.tsInto(&it.Sample.TS) &&
			s.lit(`,"value":`) && s.valueInto(&it.Sample.Value) && s.lit("}")
		if ok {
			return it, true
		}
	}
	s.i = start
	return d.fastSample(s, idx)
}

// lit consumes tok, with no whitespace before it.
func (s *scanner) lit(tok string) bool {
	if len(s.b)-s.i >= len(tok) && string(s.b[s.i:s.i+len(tok)]) == tok {
		s.i += len(tok)
		return true
	}
	return false
}

// fastSample reads one {"twin","channel","ts","value"} object, the four
// keys in any order, each once, and nothing else.
func (d *Decoder) fastSample(s *scanner, idx int) (Item, bool) {
	it := Item{Index: idx}
	it.Sample.Tenant = DefaultTenant
	if !s.byte('{') {
		return it, false
	}
	var seen uint8
	for {
		bit := s.sampleKey()
		if bit == 0 || !s.byte(':') {
			return it, false
		}
		switch bit {
		case 1, 2:
			v, ok := s.str()
			if !ok {
				return it, false
			}
			if bit == 1 {
				if it.Sample.Twin, ok = d.twinName(v); !ok {
					return it, false
				}
			} else if it.Sample.Channel, ok = d.chanName(v); !ok {
				return it, false
			}
		case 4:
			if !s.tsInto(&it.Sample.TS) {
				return it, false
			}
		case 8:
			if !s.valueInto(&it.Sample.Value) {
				return it, false
			}
		}
		if seen&bit != 0 {
			return it, false // a duplicate key
		}
		seen |= bit
		if s.byte(',') {
			continue
		}
		if s.byte('}') && seen == 15 {
			return it, true
		}
		return it, false
	}
}

func (s *scanner) tsInto(p *int64) bool {
	v, ok := s.ts()
	*p = v
	return ok
}

func (s *scanner) valueInto(p *float64) bool {
	v, ok := s.value()
	*p = v
	return ok
}

// fastValues decodes {"ts":N,"values":{"ch":v,...}} for a twin named by
// the MQTT topic (the keys in either order, no "twin"). ok false: decode
// the general way; dst is then returned as it came.
func (d *Decoder) fastValues(dst []Item, twin string, body []byte) ([]Item, bool) {
	n0 := len(dst)
	s := scanner{b: body}
	if twin == "" || !s.byte('{') {
		return dst[:n0], false
	}
	var ts int64
	haveTS, haveValues := false, false
	for {
		k, ok := s.str()
		if !ok || !s.byte(':') {
			return dst[:n0], false
		}
		switch string(k) {
		case "ts":
			if haveTS || !s.tsInto(&ts) {
				return dst[:n0], false
			}
			haveTS = true
		case "values":
			if haveValues {
				return dst[:n0], false
			}
			haveValues = true
			if dst, ok = d.fastChannels(&s, dst, twin); !ok {
				return dst[:n0], false
			}
		default:
			return dst[:n0], false
		}
		if s.byte(',') {
			continue
		}
		if !s.byte('}') || !s.end() || !haveTS || !haveValues {
			return dst[:n0], false
		}
		break
	}
	// "ts" may come after "values": stamp the items now.
	for i := n0; i < len(dst); i++ {
		dst[i].Sample.TS = ts
	}
	return dst, true
}

// fastChannels reads a {"channel":number,...} object into items of twin
// (their timestamps set by the caller).
func (d *Decoder) fastChannels(s *scanner, dst []Item, twin string) ([]Item, bool) {
	if !s.byte('{') {
		return dst, false
	}
	if s.peek() == '}' {
		s.i++
		return dst, true
	}
	for {
		k, ok := s.str()
		if !ok {
			return dst, false
		}
		ch, ok := d.chanName(k)
		if !ok || !s.byte(':') {
			return dst, false
		}
		it := Item{Index: len(dst), Sample: Sample{Tenant: DefaultTenant, Twin: twin, Channel: ch}}
		if !s.valueInto(&it.Sample.Value) {
			return dst, false
		}
		dst = append(dst, it)
		if s.byte(',') {
			continue
		}
		return dst, s.byte('}')
	}
}

// sampleKey reads a key of a sample object and says which it is: 1
// "twin", 2 "channel", 4 "ts", 8 "value", 0 anything else (which the fast
// path does not take). The four are matched as whole tokens, quotes
// included, without a scan for the closing quote.
func (s *scanner) sampleKey() uint8 {
	s.ws()
	b := s.b[s.i:]
	if len(b) < 4 || b[0] != '"' {
		return 0
	}
	// The second byte tells which key it can be; lit checks it whole.
	var tok string
	var bit uint8
	switch b[1] {
	case 't':
		if b[2] == 's' {
			tok, bit = `"ts"`, 4
		} else {
			tok, bit = `"twin"`, 1
		}
	case 'c':
		tok, bit = `"channel"`, 2
	case 'v':
		tok, bit = `"value"`, 8
	default:
		return 0
	}
	if !s.lit(tok) {
		return 0
	}
	return bit
}

// twinName returns a twin id as a string, false if it is not a valid id.
// Ids arrive in runs (a twin's channels one after another): the last one
// is kept at hand, and a repeat needs neither the check nor a lookup.
func (d *Decoder) twinName(b []byte) (string, bool) {
	if d.lastTwin != "" && string(b) == d.lastTwin {
		return d.lastTwin, true
	}
	if !validName(b) {
		return "", false
	}
	d.lastTwin = d.str(b)
	return d.lastTwin, true
}

// chanName is twinName for channel names, which repeat in the same order
// twin after twin: a small ring of the recent ones, searched from after
// the last match, mostly answers with one comparison instead of a map
// lookup (every name in the ring was checked when it went in).
func (d *Decoder) chanName(b []byte) (string, bool) {
	n := len(d.chans)
	for j := range n {
		k := d.chanNext + j
		if k >= n {
			k -= n
		}
		if d.chans[k] == string(b) {
			d.chanNext = k + 1
			return d.chans[k], true
		}
	}
	if !validName(b) {
		return "", false
	}
	s := d.str(b)
	if n < len(d.chanRing) {
		d.chanRing[n] = s
		d.chans = d.chanRing[:n+1]
		d.chanNext = n + 1
	} else {
		d.chans[d.chanEvict] = s
		d.chanNext = d.chanEvict + 1
		d.chanEvict = (d.chanEvict + 1) % n
	}
	return s, true
}
