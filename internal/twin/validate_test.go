package twin

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestUnits(t *testing.T) {
	valid := []string{"m", "mm", "kPa", "Pa", "Cel", "%", "mm/h", "m/s", "m/s2", "kN", "t", "dB", "ug/m3",
		"L", "kg", "kWh", "kW", "W", "deg", "rad", "1", "{count}", "h", "min", "s", "km/h", "km", "mm/d",
		"m2/s", "kN/m3", "10*-6{strain}", "{count}/d", "kg.m/s2", "/s", "m3/(s.m2)", "mol/L", "[ppm]", "m-1", "s-2.m"}
	for _, u := range valid {
		if err := ValidUnit(u); err != nil {
			t.Errorf("ValidUnit(%q) = %v, want nil", u, err)
		}
	}
	invalidUnits := []string{"", "meters", "kmin", "m//s", "m/", "(m", "m)", "{x", "k", "mm h", "kk m", "ms^", "m.{é}", "Cel/", "[abc]"}
	for _, u := range invalidUnits {
		if err := ValidUnit(u); err == nil {
			t.Errorf("ValidUnit(%q) = nil, want an error", u)
		}
	}
}

func TestDecodeTypeErrors(t *testing.T) {
	tests := []struct {
		name, doc, field string
	}{
		{"unknown field", `{"name":"x","colour":"red"}`, "type"},
		{"bad name", `{"name":"_x"}`, "name"},
		{"bad kind", `{"name":"x","properties":{"a":{"type":"float"}}}`, "properties.a.type"},
		{"bad unit", `{"name":"x","properties":{"a":{"type":"number","unit":"furlongs"}}}`, "properties.a.unit"},
		{"min over max", `{"name":"x","properties":{"a":{"type":"number","min":5,"max":1}}}`, "properties.a"},
		{"enum empty", `{"name":"x","properties":{"a":{"type":"enum"}}}`, "properties.a.enum"},
		{"enum dup", `{"name":"x","properties":{"a":{"type":"enum","enum":["a","a"]}}}`, "properties.a.enum[1]"},
		{"unit on string", `{"name":"x","properties":{"a":{"type":"string","unit":"m"}}}`, "properties.a"},
		{"channel no unit", `{"name":"x","channels":{"c":{}}}`, "channels.c.unit"},
		{"channel bad interval", `{"name":"x","channels":{"c":{"unit":"m","interval":"5 minutes"}}}`, "channels.c.interval"},
		{"channel negative interval", `{"name":"x","channels":{"c":{"unit":"m","interval":"-5m"}}}`, "channels.c.interval"},
		{"cardinality", `{"name":"x","relationships":{"on":{"target":"slope","cardinality":"few"}}}`, "relationships.on.cardinality"},
		{"geometry kind", `{"name":"x","geometry":{"kinds":["Circle"]}}`, "geometry.kinds[0]"},
		{"trailing", `{"name":"x"} {}`, "type"},
		{"too big", `{"name":"x","description":"` + strings.Repeat("a", MaxTypeBytes) + `"}`, "type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeType(strings.NewReader(tt.doc))
			var ve *ValidationError
			if !errors.As(err, &ve) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("DecodeType error = %v, want a *ValidationError", err)
			}
			if ve.Field != tt.field {
				t.Errorf("field = %q, want %q (%v)", ve.Field, tt.field, err)
			}
		})
	}
}

func TestBuiltinTypes(t *testing.T) {
	types, err := BuiltinTypes()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"slope", "rain-gauge", "piezometer", "inclinometer", "extensometer", "bridge", "bridge-sensor",
		"building-site", "depot", "vehicle", "delivery-stop", "warehouse", "stock-item", "data-hall", "cooling-unit", "compute-cluster"}
	got := map[string]Type{}
	for _, ty := range types {
		got[ty.Name] = ty
	}
	for _, name := range want {
		if _, ok := got[name]; !ok {
			t.Errorf("builtin type %s missing", name)
		}
	}
	if ch := got["rain-gauge"].Channels["rainfall"]; ch.Unit != "mm" || ch.Interval != "5m" {
		t.Errorf("rain-gauge rainfall = %+v, want unit mm interval 5m", ch)
	}
	if rel := got["piezometer"].Relationships["on"]; rel.Target != "slope" {
		t.Errorf("piezometer on -> %q, want slope", rel.Target)
	}
	if rel := got["bridge-sensor"].Relationships["on"]; rel.Target != "bridge" {
		t.Errorf("bridge-sensor on -> %q, want bridge", rel.Target)
	}
	for _, p := range []string{"slopeAngle", "soilDepth", "ksat", "diffusivity", "cohesion", "frictionAngle", "unitWeight", "initialWaterTableDepth"} {
		if _, ok := got["slope"].Properties[p]; !ok {
			t.Errorf("slope lacks landslide parameter %s", p)
		}
	}
}

func TestTwinValidation(t *testing.T) {
	r := openTest(t, Config{})
	fixture(t, r)
	ctx := context.Background()
	tests := []struct {
		name  string
		tw    Twin
		field string
	}{
		{"bad id", Twin{ID: "a b", Type: "slope"}, "id"},
		{"underscore id", Twin{ID: "_x", Type: "slope"}, "id"},
		{"long id", Twin{ID: strings.Repeat("a", 129), Type: "slope"}, "id"},
		{"unknown type", Twin{ID: "x", Type: "volcano"}, "type"},
		{"missing required geometry", Twin{ID: "x", Type: "slope"}, "geometry"},
		{"wrong geometry kind", Twin{ID: "x", Type: "slope", Geometry: point(114, 22)}, "geometry.type"},
		{"unknown property", Twin{ID: "x", Type: "piezometer", Properties: map[string]any{"colour": "red"}}, "properties.colour"},
		{"wrong property type", Twin{ID: "x", Type: "piezometer", Properties: map[string]any{"depth": "deep"}}, "properties.depth"},
		{"below min", Twin{ID: "x", Type: "piezometer", Properties: map[string]any{"depth": -1.0}}, "properties.depth"},
		{"not in enum", Twin{ID: "x", Type: "slope", Geometry: square(114, 22, 0.1), Properties: map[string]any{"soil": "cheese"}}, "properties.soil"},
		{"required property", Twin{ID: "x", Type: "stock-item"}, "properties.sku"},
		{"integer", Twin{ID: "x", Type: "compute-cluster", Properties: map[string]any{"gpus": 1.5}}, "properties.gpus"},
		{"bad time", Twin{ID: "x", Type: "bridge", Properties: map[string]any{"opened": "yesterday"}}, "properties.opened"},
		{"null property", Twin{ID: "x", Type: "piezometer", Properties: map[string]any{"depth": nil}}, "properties.depth"},
		{"unknown relationship", Twin{ID: "x", Type: "piezometer", Relationships: map[string][]string{"near": {"s1"}}}, "relationships.near"},
		{"missing target", Twin{ID: "x", Type: "piezometer", Relationships: map[string][]string{"on": {"nope"}}}, "relationships.on[0]"},
		{"wrong target type", Twin{ID: "x", Type: "piezometer", Relationships: map[string][]string{"on": {"p1"}}}, "relationships.on[0]"},
		{"cardinality one", Twin{ID: "x", Type: "piezometer", Relationships: map[string][]string{"on": {"s1", "s2"}}}, "relationships.on"},
		{"self reference", Twin{ID: "x", Type: "piezometer", Relationships: map[string][]string{"on": {"x"}}}, "relationships.on[0]"},
		{"duplicate target", Twin{ID: "x", Type: "rain-gauge", Relationships: map[string][]string{"on": {"s1", "s1"}}}, "relationships.on[1]"},
		{"label key", Twin{ID: "x", Type: "piezometer", Labels: map[string]string{"a:b": "c"}}, "labels"},
		{"label value control", Twin{ID: "x", Type: "piezometer", Labels: map[string]string{"a": "b\x00"}}, "labels.a"},
		{"open ring", Twin{ID: "x", Type: "slope", Geometry: &Geometry{Type: KindPolygon, Polygon: [][]Position{{{0, 0}, {1, 0}, {1, 1}, {0, 1}}}}}, "geometry.coordinates[0]"},
		{"latitude", Twin{ID: "x", Type: "piezometer", Geometry: point(114, 91)}, "geometry.coordinates"},
	}
	before := snapshot(t, r)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := r.Create(ctx, DefaultTenant, tt.tw)
			var ve *ValidationError
			if !errors.As(err, &ve) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("Create error = %v, want a *ValidationError", err)
			}
			if ve.Field != tt.field {
				t.Errorf("field = %q, want %q (%v)", ve.Field, tt.field, err)
			}
		})
	}
	assertSnapshot(t, r, before)
}

func TestNormalisedProperties(t *testing.T) {
	r := openTest(t, Config{})
	ctx := context.Background()
	got, err := r.Create(ctx, DefaultTenant, Twin{ID: "c1", Type: "compute-cluster", Properties: map[string]any{"gpus": 8.0, "model": "H100"}})
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := got.Properties["gpus"].(int64); !ok || v != 8 {
		t.Errorf("gpus = %#v, want int64(8)", got.Properties["gpus"])
	}
	if n, ok := got.Number("gpus"); !ok || n != 8 {
		t.Errorf("Number(gpus) = %v %v", n, ok)
	}
	if s, ok := got.Text("model"); !ok || s != "H100" {
		t.Errorf("Text(model) = %q %v", s, ok)
	}
}
