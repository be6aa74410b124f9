package ucum

import (
	"errors"
	"math"
	"testing"
)

// TestConvert checks conversions against values from their definitions
// (NIST SP 811, UCUM's table), both ways.
func TestConvert(t *testing.T) {
	for _, c := range []struct {
		v        float64
		from, to string
		want     float64
	}{
		{1, "m", "mm", 1000},
		{25.4, "mm", "[in_i]", 1},
		{1, "[ft_i]", "m", 0.3048},
		{1, "[mi_i]", "km", 1.609344},
		{1, "[psi]", "kPa", 6.894757293168361},
		{1, "bar", "kPa", 100},
		{1, "atm", "Pa", 101325},
		{1, "kPa", "N/m2", 1000},
		{1, "km/h", "m/s", 1 / 3.6},
		{1, "[mph]", "m/s", 0.44704},
		{1, "[kn_i]", "km/h", 1.852},
		{1, "[g]", "m/s2", 9.80665},
		{1, "kWh", "J", 3.6e6},
		{1, "kW.h", "kWh", 1},
		{1, "[HP]", "W", 745.6998715822702},
		{1, "cal", "J", 4.184},
		{1, "[Btu]", "J", 1054.35},
		{1, "L", "m3", 1e-3},
		{1, "[gal_us]", "L", 3.785411784},
		{1, "[lb_av]", "kg", 0.45359237},
		{1, "t", "kg", 1000},
		{1, "h", "s", 3600},
		{1, "d", "min", 1440},
		{1, "a", "d", 365.25},
		{50, "%", "1", 0.5},
		{1, "[ppm]", "%", 1e-4},
		{180, "deg", "rad", math.Pi},
		{1, "deg", "''", 3600},
		{1, "ha", "m2", 1e4},
		{1, "[acr_us]", "m2", 4046.872609874252},
		{1, "ug/m3", "mg/m3", 1e-3},
		{1, "kN/m3", "N/m3", 1000},
		{10, "{count}/d", "1/h", 10.0 / 24},
		{1, "10*-6{strain}", "1", 1e-6},
		{1, "m2/s", "St", 1e4},
		{1, "Hz", "1/min", 60},
		{1, "GiBy", "MiBy", 1024},
		{1, "kBy", "bit", 8000},
		{1, "mm/h", "[in_i]/h", 1 / 25.4},
		{1, "(m/s)2", "m2/s2", 1},
		{1, "/s", "Hz", 1},
		// Temperatures, with their offsets.
		{0, "Cel", "K", 273.15},
		{100, "Cel", "[degF]", 212},
		{32, "[degF]", "Cel", 0},
		{-40, "[degF]", "Cel", -40},
		{300, "K", "Cel", 26.85},
		{1000, "mK", "K", 1},
		{1, "K", "mK", 1000},
	} {
		got, err := Convert(c.v, c.from, c.to)
		if err != nil || math.Abs(got-c.want) > 1e-12*math.Max(1, math.Abs(c.want)) {
			t.Errorf("%g %s in %s = %v (%v), want %v", c.v, c.from, c.to, got, err, c.want)
			continue
		}
		back, err := Convert(got, c.to, c.from)
		if err != nil || math.Abs(back-c.v) > 1e-9*math.Max(1, math.Abs(c.v)) {
			t.Errorf("%g %s back from %s = %v (%v)", got, c.to, c.from, back, err)
		}
	}
}

// TestIncommensurable: different dimensions, and special units other
// than themselves, do not convert.
func TestIncommensurable(t *testing.T) {
	for _, c := range [][2]string{
		{"m", "s"}, {"mm", "mm/h"}, {"kPa", "kN"}, {"deg", "1"}, {"Cel", "m"}, {"Cel/h", "K/h"},
		{"dB", "B"}, {"[pH]", "1"}, {"mCel", "K"}, {"Cel2", "K2"}, {"%", "m"}, {"kW", "kWh"},
	} {
		if _, err := Convert(1, c[0], c[1]); !errors.Is(err, ErrIncommensurable) {
			t.Errorf("%s to %s: %v, want ErrIncommensurable", c[0], c[1], err)
		}
	}
	for _, u := range []string{"dB", "Cel/h", "[pH]"} {
		if v, err := Convert(7, u, u); err != nil || v != 7 {
			t.Errorf("%s to itself: %v %v", u, v, err)
		}
	}
	for _, c := range [][2]string{{"furlongs", "m"}, {"m", ""}, {"m", "m)"}} {
		if _, err := Convert(1, c[0], c[1]); err == nil || errors.Is(err, ErrIncommensurable) {
			t.Errorf("%s to %s: %v, want a syntax error", c[0], c[1], err)
		}
	}
}

// TestHugeExponents: exponents past what a dimension holds make a unit
// that converts to nothing but itself, never a wrapped dimension.
func TestHugeExponents(t *testing.T) {
	if _, err := Convert(1, "m200", "m-56"); !errors.Is(err, ErrIncommensurable) {
		t.Fatalf("m200 to m-56: %v", err)
	}
	if _, err := Convert(1, "((m10)10)10", "m"); !errors.Is(err, ErrIncommensurable) {
		t.Fatalf("((m10)10)10 to m: %v", err)
	}
}

func FuzzConvert(f *testing.F) {
	for _, s := range []string{"m", "mm/h", "Cel", "[degF]", "10*-6{strain}", "kW.h", "(m/s)2", "/s", "dB", "((m10)10)10"} {
		f.Add(s, "m", 1.5)
	}
	f.Fuzz(func(t *testing.T, from, to string, v float64) {
		c, err := Factor(from, to)
		if err != nil {
			return
		}
		if Valid(from) != nil || Valid(to) != nil {
			t.Fatalf("%q to %q converted, but one is not valid", from, to)
		}
		// Converting there and back is the identity, to rounding.
		back, err := Factor(to, from)
		if err != nil {
			t.Fatalf("%q to %q converts, back does not: %v", from, to, err)
		}
		if x := back.Apply(c.Apply(v)); !math.IsNaN(v) && !math.IsInf(v, 0) && math.Abs(v) < 1e6 && !math.IsInf(c.Apply(v), 0) &&
			math.Abs(x-v) > 1e-6*math.Max(1, math.Abs(v)) {
			t.Fatalf("%g %s -> %s -> %s = %g", v, from, to, from, x)
		}
	})
}
