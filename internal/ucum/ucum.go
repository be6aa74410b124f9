// Package ucum reads unit codes of the Unified Code for Units of Measure
// (case-sensitive "c/s" codes, https://ucum.org/ucum) over a built-in
// list of atoms: it checks them (Valid) and converts values between
// commensurable units (Convert). It is not a full UCUM implementation:
//
//	term      = ["/"] component { ("." | "/") component }
//	component = annotatable [annotation] | annotation | factor | "(" term ")" [exponent]
//	annotatable = [prefix] atom [exponent]   (prefix only on metric atoms)
//	exponent  = ["+" | "-"] digits
//	factor    = digits | "10*" exponent | "10^" exponent
//	annotation = "{" printable ASCII except "{" "}" "}"
//
// "Wh" is accepted as a metric atom (strictly UCUM spells kWh "kW.h")
// because it is what every meter reports. Annotations are the unity, as
// UCUM has them ("{count}/d" is commensurable with "1/h").
//
// Conversion multiplies by the ratio of the two units' magnitudes in
// UCUM's base units (m, s, g, rad, K, C, cd) when their dimensions agree.
// Celsius and Fahrenheit convert with their offsets, alone only (a
// temperature difference such as "Cel/h" converts to nothing but itself).
// Logarithmic and arbitrary units (B, Np, [pH], [iU], ...) convert to
// nothing but themselves.
package ucum

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// MaxLen bounds a unit code.
const MaxLen = 64

// ErrIncommensurable reports units that cannot be converted into each
// other.
var ErrIncommensurable = errors.New("units are not commensurable")

// base dimensions: UCUM's base units.
const (
	dimM   = iota // metre
	dimS          // second
	dimG          // gram
	dimRad        // radian
	dimK          // kelvin
	dimC          // coulomb
	dimCd         // candela
	nDims
)

type dims [nDims]int8

// atom is a unit atom's magnitude in base units and its dimensions;
// special marks units converted otherwise (temperatures with an offset)
// or not at all (logarithmic and arbitrary units).
type atom struct {
	f       float64
	d       dims
	special bool
}

func mk(f float64, pairs ...int) atom {
	var d dims
	for i := 0; i+1 < len(pairs); i += 2 {
		d[pairs[i]] = int8(pairs[i+1])
	}
	return atom{f: f, d: d}
}

var special = atom{special: true}

const (
	gravity = 9.80665                // [g], m/s2
	inch    = 0.0254                 // [in_i], m
	foot    = 12 * inch              // [ft_i]
	pound   = 453.59237              // [lb_av], g
	lbf     = pound * gravity        // [lbf_av], g.m/s2
	psi     = lbf / (inch * inch)    // g/(m.s2)
	joule   = 1e3                    // g.m2/s2
	usRod   = 16.5 * 1200.0 / 3937.0 // [rd_us], m (US survey)
	horse   = 550 * foot * lbf / 1e3 // [HP] in W: 550 [ft_i].[lbf_av]/s
	btuTh   = 1054.35                // [Btu] = [Btu_th], J
	kelvin0 = 273.15
)

// metricAtoms accept SI prefixes.
var metricAtoms = map[string]atom{
	"m": mk(1, dimM, 1), "g": mk(1, dimG, 1), "s": mk(1, dimS, 1),
	"L": mk(1e-3, dimM, 3), "l": mk(1e-3, dimM, 3),
	"Pa":  mk(1e3, dimG, 1, dimM, -1, dimS, -2),
	"N":   mk(1e3, dimG, 1, dimM, 1, dimS, -2),
	"J":   mk(joule, dimG, 1, dimM, 2, dimS, -2),
	"W":   mk(joule, dimG, 1, dimM, 2, dimS, -3),
	"Wh":  mk(3600*joule, dimG, 1, dimM, 2, dimS, -2),
	"V":   mk(joule, dimG, 1, dimM, 2, dimS, -2, dimC, -1),
	"A":   mk(1, dimC, 1, dimS, -1),
	"Ohm": mk(joule, dimG, 1, dimM, 2, dimS, -1, dimC, -2),
	"Hz":  mk(1, dimS, -1),
	"K":   mk(1, dimK, 1), "Cel": special,
	"mol": mk(6.02214076e23), "cd": mk(1, dimCd, 1),
	"lx": mk(1, dimCd, 1, dimRad, 2, dimM, -2), "lm": mk(1, dimCd, 1, dimRad, 2),
	"rad": mk(1, dimRad, 1), "sr": mk(1, dimRad, 2),
	"t":   mk(1e6, dimG, 1),
	"bar": mk(1e5*1e3, dimG, 1, dimM, -1, dimS, -2),
	"B":   special, "Np": special,
	"C":  mk(1, dimC, 1),
	"F":  mk(1/joule, dimC, 2, dimG, -1, dimM, -2, dimS, 2),
	"S":  mk(1/joule, dimC, 2, dimG, -1, dimM, -2, dimS, 1),
	"T":  mk(joule, dimG, 1, dimS, -1, dimC, -1),
	"Wb": mk(joule, dimG, 1, dimM, 2, dimS, -1, dimC, -1),
	"H":  mk(joule, dimG, 1, dimM, 2, dimC, -2),
	"Bq": mk(1, dimS, -1), "Gy": mk(1, dimM, 2, dimS, -2), "Sv": mk(1, dimM, 2, dimS, -2),
	"eV": mk(1.602176634e-19*joule, dimG, 1, dimM, 2, dimS, -2),
	"VA": mk(joule, dimG, 1, dimM, 2, dimS, -3), "var": mk(joule, dimG, 1, dimM, 2, dimS, -3),
	"b":  mk(1e-28, dimM, 2),
	"By": mk(8), "bit": mk(1), "Bd": mk(1, dimS, -1),
	"ar":  mk(100, dimM, 2),
	"u":   mk(1.66053906660e-24, dimG, 1),
	"gf":  mk(gravity, dimG, 1, dimM, 1, dimS, -2),
	"dyn": mk(1e-2, dimG, 1, dimM, 1, dimS, -2),
	"erg": mk(1e-4, dimG, 1, dimM, 2, dimS, -2),
	"P":   mk(100, dimG, 1, dimM, -1, dimS, -1),
	"St":  mk(1e-4, dimM, 2, dimS, -1),
	"G":   mk(1e-4*joule, dimG, 1, dimS, -1, dimC, -1),
	"Mx":  mk(1e-8*joule, dimG, 1, dimM, 2, dimS, -1, dimC, -1),
	"Oe":  mk(250/math.Pi, dimC, 1, dimS, -1, dimM, -1),
	"Ci":  mk(3.7e10, dimS, -1),
	"R":   mk(2.58e-7, dimC, 1, dimG, -1),
}

// plainAtoms take no prefix.
var plainAtoms = map[string]atom{
	"1": mk(1), "%": mk(1e-2),
	"min": mk(60, dimS, 1), "h": mk(3600, dimS, 1), "d": mk(86400, dimS, 1), "wk": mk(7*86400, dimS, 1),
	"mo": mk(30.4375*86400, dimS, 1), "a": mk(365.25*86400, dimS, 1),
	"deg": mk(math.Pi/180, dimRad, 1), "'": mk(math.Pi/180/60, dimRad, 1), "''": mk(math.Pi/180/3600, dimRad, 1),
	"gon":    mk(0.9*math.Pi/180, dimRad, 1),
	"[ppth]": mk(1e-3), "[ppm]": mk(1e-6), "[ppb]": mk(1e-9), "[pptr]": mk(1e-12),
	"[degF]": special, "[pH]": special,
	"[in_i]": mk(inch, dimM, 1), "[ft_i]": mk(foot, dimM, 1), "[yd_i]": mk(3*foot, dimM, 1),
	"[mi_i]": mk(5280*foot, dimM, 1), "[nmi_i]": mk(1852, dimM, 1),
	"[kn_i]":   mk(1852.0/3600, dimM, 1, dimS, -1),
	"[lb_av]":  mk(pound, dimG, 1),
	"[gal_us]": mk(231*inch*inch*inch, dimM, 3),
	"[psi]":    mk(psi, dimG, 1, dimM, -1, dimS, -2),
	"atm":      mk(101325*1e3, dimG, 1, dimM, -1, dimS, -2),
	"[Btu]":    mk(btuTh*joule, dimG, 1, dimM, 2, dimS, -2),
	"cal":      mk(4.184*joule, dimG, 1, dimM, 2, dimS, -2),
	"[HP]":     mk(horse*joule, dimG, 1, dimM, 2, dimS, -3),
	"[g]":      mk(gravity, dimM, 1, dimS, -2),
	"[iU]":     special, "ha": mk(1e4, dimM, 2),
	"[Ba]": special, "[beth'U]": special,
	"[mesh_i]": mk(1/inch, dimM, -1),
	"[acr_us]": mk(160*usRod*usRod, dimM, 2),
	"[sft_i]":  mk(foot*foot, dimM, 2), "[cft_i]": mk(foot*foot*foot, dimM, 3),
	"[mph]": mk(5280*foot/3600, dimM, 1, dimS, -1), "[rpm]": mk(1.0/60, dimS, -1), "[knot]": mk(1852.0/3600, dimM, 1, dimS, -1),
}

// prefixes are the UCUM prefixes; "da" is the only two-letter decimal
// one, "Ki".."Ti" the binary ones.
var prefixes = []struct {
	p string
	f float64
}{
	{"da", 1e1}, {"Ki", 1024}, {"Mi", 1 << 20}, {"Gi", 1 << 30}, {"Ti", 1 << 40},
	{"Y", 1e24}, {"Z", 1e21}, {"E", 1e18}, {"P", 1e15}, {"T", 1e12}, {"G", 1e9}, {"M", 1e6}, {"k", 1e3}, {"h", 1e2},
	{"d", 1e-1}, {"c", 1e-2}, {"m", 1e-3}, {"u", 1e-6}, {"n", 1e-9}, {"p", 1e-12}, {"f", 1e-15}, {"a", 1e-18}, {"z", 1e-21}, {"y", 1e-24},
}

// quantity is a parsed unit: its magnitude in base units and dimensions.
// sym is set for a special unit standing alone (its prefixed symbol);
// mixed marks a special unit inside a larger term.
type quantity struct {
	f     float64
	d     dims
	sym   string
	mixed bool
}

func (q quantity) special() bool { return q.sym != "" || q.mixed }

// mul returns q times r^sign (sign 1 or -1).
func (q quantity) mul(r quantity, sign int8) quantity {
	out := quantity{f: q.f, d: q.d, mixed: q.special() || r.special()}
	if sign > 0 {
		out.f *= r.f
	} else {
		out.f /= r.f
	}
	for i := range out.d {
		d := int(out.d[i]) + int(sign)*int(r.d[i])
		if d > maxDim || d < -maxDim {
			return quantity{mixed: true}
		}
		out.d[i] = int8(d)
	}
	return out
}

func (q quantity) pow(e int) quantity {
	if e == 1 {
		return q
	}
	out := quantity{f: math.Pow(q.f, float64(e)), mixed: q.special()}
	for i := range out.d {
		d := int(q.d[i]) * e
		if d > maxDim || d < -maxDim {
			return quantity{mixed: true} // no real unit: itself only
		}
		out.d[i] = int8(d)
	}
	return out
}

// maxDim bounds a dimension's exponent (int8 holds it).
const maxDim = 100

// Valid reports whether code is a valid unit code, with an error saying
// where it is not.
func Valid(code string) error {
	_, err := parse(code)
	return err
}

func parse(code string) (quantity, error) {
	if code == "" {
		return quantity{}, fmt.Errorf("empty unit (use \"1\" for dimensionless)")
	}
	if len(code) > MaxLen {
		return quantity{}, fmt.Errorf("unit longer than %d bytes", MaxLen)
	}
	p := parser{s: code}
	q, err := p.term(0)
	if err != nil {
		return quantity{}, fmt.Errorf("unit %q: %w", code, err)
	}
	if p.i != len(p.s) {
		return quantity{}, fmt.Errorf("unit %q: unexpected %q at byte %d", code, p.s[p.i], p.i)
	}
	return q, nil
}

// Convert converts v from unit from to unit to: an error when either is
// not valid or they are not commensurable (ErrIncommensurable).
func Convert(v float64, from, to string) (float64, error) {
	f, err := Factor(from, to)
	if err != nil {
		return 0, err
	}
	return f.Apply(v), nil
}

// A Conversion maps values of one unit to another: v*Scale + Offset.
type Conversion struct{ Scale, Offset float64 }

// Apply converts v.
func (c Conversion) Apply(v float64) float64 { return v*c.Scale + c.Offset }

// Factor returns the conversion from unit from to unit to.
func Factor(from, to string) (Conversion, error) {
	if from == to {
		if err := Valid(from); err != nil {
			return Conversion{}, err
		}
		return Conversion{Scale: 1}, nil
	}
	a, err := parse(from)
	if err != nil {
		return Conversion{}, err
	}
	b, err := parse(to)
	if err != nil {
		return Conversion{}, err
	}
	if a.special() || b.special() {
		// Temperatures: through kelvin, with the offsets.
		ta, okA := toKelvin(a)
		tb, okB := toKelvin(b)
		if !okA || !okB {
			return Conversion{}, fmt.Errorf("%s to %s: %w", from, to, ErrIncommensurable)
		}
		// v[from] -> K: v*ta.Scale + ta.Offset; K -> to: (k - tb.Offset) / tb.Scale
		return Conversion{Scale: ta.Scale / tb.Scale, Offset: (ta.Offset - tb.Offset) / tb.Scale}, nil
	}
	if a.d != b.d {
		return Conversion{}, fmt.Errorf("%s to %s: %w", from, to, ErrIncommensurable)
	}
	scale := a.f / b.f
	if scale == 0 || math.IsInf(scale, 0) || math.IsNaN(scale) || a.f == 0 || b.f == 0 || math.IsInf(a.f, 0) || math.IsInf(b.f, 0) {
		return Conversion{}, fmt.Errorf("%s to %s: the ratio is beyond float64: %w", from, to, ErrIncommensurable)
	}
	return Conversion{Scale: scale}, nil
}

// toKelvin is the conversion of a temperature unit to kelvin: Cel and
// [degF] alone, or a unit of dimension K alone (K, mK, ...).
func toKelvin(q quantity) (Conversion, bool) {
	switch {
	case q.sym == "Cel":
		return Conversion{Scale: 1, Offset: kelvin0}, true
	case q.sym == "[degF]":
		return Conversion{Scale: 5.0 / 9, Offset: 459.67 * 5 / 9}, true
	case !q.special() && q.d == (dims{dimK: 1}):
		return Conversion{Scale: q.f}, true
	}
	return Conversion{}, false
}

type parser struct {
	s string
	i int
}

func (p *parser) term(depth int) (quantity, error) {
	if depth > 8 {
		return quantity{}, fmt.Errorf("parentheses nested too deep")
	}
	q := quantity{f: 1}
	sign := int8(1)
	if p.i < len(p.s) && p.s[p.i] == '/' {
		p.i++
		sign = -1
	}
	first := true
	for {
		c, err := p.component(depth)
		if err != nil {
			return quantity{}, err
		}
		if first && sign > 0 {
			q = c // keep a lone special unit's symbol
		} else {
			q = q.mul(c, sign)
		}
		first = false
		if p.i < len(p.s) && (p.s[p.i] == '.' || p.s[p.i] == '/') {
			sign = 1
			if p.s[p.i] == '/' {
				sign = -1
			}
			p.i++
			continue
		}
		return q, nil
	}
}

func (p *parser) component(depth int) (quantity, error) {
	if p.i >= len(p.s) {
		return quantity{}, fmt.Errorf("missing unit at end")
	}
	switch c := p.s[p.i]; {
	case c == '(':
		p.i++
		q, err := p.term(depth + 1)
		if err != nil {
			return quantity{}, err
		}
		if p.i >= len(p.s) || p.s[p.i] != ')' {
			return quantity{}, fmt.Errorf("missing ')' at byte %d", p.i)
		}
		p.i++
		if e, ok := p.exponent(); ok {
			q = q.pow(e)
		}
		return q, nil
	case c == '{':
		return quantity{f: 1}, p.annotation()
	case c >= '0' && c <= '9':
		// a factor such as 10 or 10*3 (UCUM "10*3") or the unity "1".
		start := p.i
		for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
			p.i++
		}
		digits := p.s[start:p.i]
		var f float64
		if p.i < len(p.s) && (p.s[p.i] == '*' || p.s[p.i] == '^') && digits == "10" {
			p.i++
			e, ok := p.exponent()
			if !ok {
				return quantity{}, fmt.Errorf("missing exponent after 10%c at byte %d", p.s[p.i-1], p.i)
			}
			f = math.Pow(10, float64(e))
		} else {
			for _, d := range digits {
				f = f*10 + float64(d-'0')
			}
		}
		q := quantity{f: f}
		if p.i < len(p.s) && p.s[p.i] == '{' {
			return q, p.annotation()
		}
		return q, nil
	}
	start := p.i
	// a symbol runs to the next operator, parenthesis, annotation or digit/sign
	// (the exponent); bracketed atoms may contain anything but ']'.
	for p.i < len(p.s) {
		c := p.s[p.i]
		if c == '[' {
			end := strings.IndexByte(p.s[p.i:], ']')
			if end < 0 {
				return quantity{}, fmt.Errorf("missing ']' after byte %d", p.i)
			}
			p.i += end + 1
			continue
		}
		if c == '.' || c == '/' || c == '(' || c == ')' || c == '{' || c == '+' || c == '-' || (c >= '0' && c <= '9') {
			break
		}
		if c <= ' ' || c > '~' {
			return quantity{}, fmt.Errorf("invalid character %q at byte %d", c, p.i)
		}
		p.i++
	}
	sym := p.s[start:p.i]
	q, ok := symbol(sym)
	if !ok {
		return quantity{}, fmt.Errorf("unknown unit symbol %q", sym)
	}
	if e, ok := p.exponent(); ok {
		q = q.pow(e)
	}
	if p.i < len(p.s) && p.s[p.i] == '{' {
		return q, p.annotation()
	}
	return q, nil
}

// symbol looks up a (prefixed) atom.
func symbol(sym string) (quantity, bool) {
	if sym == "" {
		return quantity{}, false
	}
	of := func(a atom, f float64) quantity {
		if a.special {
			if f != 1 {
				return quantity{mixed: true} // a prefixed special unit: itself only
			}
			return quantity{f: 1, sym: sym}
		}
		return quantity{f: a.f * f, d: a.d}
	}
	if a, ok := metricAtoms[sym]; ok {
		return of(a, 1), true
	}
	if a, ok := plainAtoms[sym]; ok {
		return of(a, 1), true
	}
	for _, pre := range prefixes {
		if rest, ok := strings.CutPrefix(sym, pre.p); ok {
			if a, ok := metricAtoms[rest]; ok {
				return of(a, pre.f), true
			}
		}
	}
	return quantity{}, false
}

func (p *parser) exponent() (int, bool) {
	start := p.i
	neg := false
	if p.i < len(p.s) && (p.s[p.i] == '+' || p.s[p.i] == '-') {
		neg = p.s[p.i] == '-'
		p.i++
	}
	d := p.i
	e := 0
	for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
		if e < 1000 {
			e = e*10 + int(p.s[p.i]-'0')
		}
		p.i++
	}
	if p.i == d {
		p.i = start
		return 0, false
	}
	if neg {
		e = -e
	}
	return e, true
}

func (p *parser) annotation() error {
	end := strings.IndexByte(p.s[p.i:], '}')
	if end < 0 {
		return fmt.Errorf("missing '}' after byte %d", p.i)
	}
	body := p.s[p.i+1 : p.i+end]
	for i := 0; i < len(body); i++ {
		if body[i] < ' ' || body[i] > '~' || body[i] == '{' {
			return fmt.Errorf("invalid character %q in annotation", body[i])
		}
	}
	p.i += end + 1
	return nil
}
