package twin

import (
	"fmt"
	"strings"
)

// UCUM unit validation (The Unified Code for Units of Measure, case
// sensitive "c/s" codes, https://ucum.org/ucum). This is a syntactic check
// against a built-in list of atoms, not a full UCUM implementation:
//
//	term      = ["/"] component { ("." | "/") component }
//	component = annotatable [annotation] | annotation | factor | "(" term ")"
//	annotatable = [prefix] atom [exponent]   (prefix only on metric atoms)
//	exponent  = ["+" | "-"] digits
//	annotation = "{" printable ASCII except "{" "}" "}"
//
// "Wh" is accepted as a metric atom (strictly UCUM spells kWh "kW.h")
// because it is what every meter reports.

// metricAtoms accept SI prefixes.
var metricAtoms = map[string]bool{
	"m": true, "g": true, "s": true, "L": true, "l": true, "Pa": true, "N": true,
	"J": true, "W": true, "Wh": true, "V": true, "A": true, "Ohm": true, "Hz": true,
	"K": true, "Cel": true, "mol": true, "cd": true, "lx": true, "lm": true,
	"rad": true, "sr": true, "t": true, "bar": true, "B": true, "C": true,
	"F": true, "S": true, "T": true, "Wb": true, "H": true, "Bq": true, "Gy": true,
	"Sv": true, "eV": true, "VA": true, "var": true, "b": true, "By": true, "bit": true,
	"Bd": true, "Np": true, "ar": true, "u": true, "gf": true, "dyn": true, "erg": true,
	"P": true, "St": true, "G": true, "Mx": true, "Oe": true, "Ci": true, "R": true,
}

// plainAtoms take no prefix.
var plainAtoms = map[string]bool{
	"1": true, "%": true, "min": true, "h": true, "d": true, "wk": true, "mo": true,
	"a": true, "deg": true, "'": true, "''": true, "gon": true, "[ppth]": true,
	"[ppm]": true, "[ppb]": true, "[pptr]": true, "[degF]": true, "[pH]": true,
	"[in_i]": true, "[ft_i]": true, "[yd_i]": true, "[mi_i]": true, "[nmi_i]": true,
	"[kn_i]": true, "[lb_av]": true, "[gal_us]": true, "[psi]": true, "atm": true,
	"[Btu]": true, "cal": true, "[HP]": true, "[g]": true, "[iU]": true, "ha": true,
	"[Ba]": true, "[beth'U]": true, "[mesh_i]": true, "[acr_us]": true, "[sft_i]": true,
	"[cft_i]": true, "[mph]": true, "[rpm]": true, "[knot]": true,
}

// prefixes are the UCUM prefixes; "da" is the only two-letter one.
var prefixes = []string{"da", "Y", "Z", "E", "P", "T", "G", "M", "k", "h", "d", "c", "m", "u", "n", "p", "f", "a", "z", "y", "Ki", "Mi", "Gi", "Ti"}

// MaxUnitLen bounds a unit code.
const MaxUnitLen = 64

// ValidUnit reports whether code is a syntactically valid UCUM code over
// the built-in atoms, with an error saying where it is not.
func ValidUnit(code string) error {
	if code == "" {
		return fmt.Errorf("empty unit (use \"1\" for dimensionless)")
	}
	if len(code) > MaxUnitLen {
		return fmt.Errorf("unit longer than %d bytes", MaxUnitLen)
	}
	p := ucumParser{s: code}
	if err := p.term(0); err != nil {
		return fmt.Errorf("unit %q: %w", code, err)
	}
	if p.i != len(p.s) {
		return fmt.Errorf("unit %q: unexpected %q at byte %d", code, p.s[p.i], p.i)
	}
	return nil
}

type ucumParser struct {
	s string
	i int
}

func (p *ucumParser) term(depth int) error {
	if depth > 8 {
		return fmt.Errorf("parentheses nested too deep")
	}
	if p.i < len(p.s) && p.s[p.i] == '/' {
		p.i++
	}
	for {
		if err := p.component(depth); err != nil {
			return err
		}
		if p.i < len(p.s) && (p.s[p.i] == '.' || p.s[p.i] == '/') {
			p.i++
			continue
		}
		return nil
	}
}

func (p *ucumParser) component(depth int) error {
	if p.i >= len(p.s) {
		return fmt.Errorf("missing unit at end")
	}
	switch c := p.s[p.i]; {
	case c == '(':
		p.i++
		if err := p.term(depth + 1); err != nil {
			return err
		}
		if p.i >= len(p.s) || p.s[p.i] != ')' {
			return fmt.Errorf("missing ')' at byte %d", p.i)
		}
		p.i++
		p.exponent()
		return nil
	case c == '{':
		return p.annotation()
	case c >= '0' && c <= '9':
		// a factor such as 10 or 10*3 (UCUM "10*3") or the unity "1".
		start := p.i
		for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
			p.i++
		}
		if p.i < len(p.s) && p.s[p.i] == '*' && p.s[start:p.i] == "10" {
			p.i++
			if !p.exponent() {
				return fmt.Errorf("missing exponent after 10* at byte %d", p.i)
			}
		} else if p.i < len(p.s) && p.s[p.i] == '^' && p.s[start:p.i] == "10" {
			p.i++
			if !p.exponent() {
				return fmt.Errorf("missing exponent after 10^ at byte %d", p.i)
			}
		}
		if p.i < len(p.s) && p.s[p.i] == '{' {
			return p.annotation()
		}
		return nil
	}
	start := p.i
	// a symbol runs to the next operator, parenthesis, annotation or digit/sign
	// (the exponent); bracketed atoms may contain anything but ']'.
	for p.i < len(p.s) {
		c := p.s[p.i]
		if c == '[' {
			end := strings.IndexByte(p.s[p.i:], ']')
			if end < 0 {
				return fmt.Errorf("missing ']' after byte %d", p.i)
			}
			p.i += end + 1
			continue
		}
		if c == '.' || c == '/' || c == '(' || c == ')' || c == '{' || c == '+' || c == '-' || (c >= '0' && c <= '9') {
			break
		}
		if c <= ' ' || c > '~' {
			return fmt.Errorf("invalid character %q at byte %d", c, p.i)
		}
		p.i++
	}
	sym := p.s[start:p.i]
	if !knownSymbol(sym) {
		return fmt.Errorf("unknown unit symbol %q", sym)
	}
	p.exponent()
	if p.i < len(p.s) && p.s[p.i] == '{' {
		return p.annotation()
	}
	return nil
}

func knownSymbol(sym string) bool {
	if sym == "" {
		return false
	}
	if metricAtoms[sym] || plainAtoms[sym] {
		return true
	}
	for _, pre := range prefixes {
		if rest, ok := strings.CutPrefix(sym, pre); ok && metricAtoms[rest] {
			return true
		}
	}
	return false
}

func (p *ucumParser) exponent() bool {
	start := p.i
	if p.i < len(p.s) && (p.s[p.i] == '+' || p.s[p.i] == '-') {
		p.i++
	}
	d := p.i
	for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
		p.i++
	}
	if p.i == d {
		p.i = start
		return false
	}
	return true
}

func (p *ucumParser) annotation() error {
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
