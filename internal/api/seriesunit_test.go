package api

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"testing"

	"github.com/tsingma/tsingma/internal/telemetry"
)

// TestSeriesInAnotherUnit: a channel's samples read with unit= come
// converted (an aggregate too; a count is a count), the answer names its
// unit, and what cannot be converted is a 400: another dimension, a
// series without a declared unit, a sum into a scale whose zero is
// elsewhere (a sum of Celsius is no sum of Fahrenheit).
func TestSeriesInAnotherUnit(t *testing.T) {
	f := newFixture(t)
	for _, d := range []string{
		`{"id":"g1","type":"rain-gauge","geometry":{"type":"Point","coordinates":[114.17,22.3]}}`,
		`{"id":"cu","type":"cooling-unit"}`,
	} {
		if code, _, body := f.do(t, "POST", "/api/v1/twins", "application/json", d); code != http.StatusCreated {
			t.Fatal(code, body)
		}
	}
	ts := f.now.UnixMilli() - 120_000
	if _, err := f.st.Append(t.Context(), []telemetry.Sample{
		{Tenant: "default", Twin: "g1", Channel: "rainfall", Type: "rain-gauge", TS: ts, Value: 25.4},
		{Tenant: "default", Twin: "g1", Channel: "rainfall", Type: "rain-gauge", TS: ts + 1000, Value: 50.8},
		{Tenant: "default", Twin: "cu", Channel: "outletTemperature", Type: "cooling-unit", TS: ts, Value: 20},
	}); err != nil {
		t.Fatal(err)
	}
	type series struct {
		Unit   string
		Points []struct{ Value float64 }
	}
	get := func(path string) series {
		t.Helper()
		code, _, body := f.do(t, "GET", path, "", "")
		var s series
		if err := json.Unmarshal([]byte(body), &s); code != 200 || err != nil {
			t.Fatalf("%s: %d %s", path, code, body)
		}
		return s
	}
	q := fmt.Sprintf("?from=%d&to=%d", ts-1, ts+5000)
	for _, c := range []struct {
		path, unit string
		want       []float64
	}{
		{"/api/v1/twins/g1/telemetry/rainfall" + q, "mm", []float64{25.4, 50.8}},
		{"/api/v1/twins/g1/telemetry/rainfall" + q + "&unit=[in_i]", "[in_i]", []float64{1, 2}},
		{"/api/v1/twins/g1/telemetry/rainfall" + q + "&unit=m&step=1m&agg=sum", "m", []float64{0.0762}},
		{"/api/v1/twins/g1/telemetry/rainfall" + q + "&unit=[in_i]&step=1m&agg=count", "1", []float64{2}},
		{"/api/v1/twins/cu/telemetry/outletTemperature" + q + "&unit=[degF]", "[degF]", []float64{68}},
		{"/api/v1/twins/cu/telemetry/outletTemperature" + q + "&unit=K&step=1m&agg=max", "K", []float64{293.15}},
	} {
		s := get(c.path)
		if s.Unit != c.unit || len(s.Points) != len(c.want) {
			t.Fatalf("%s: unit %q, %d points; want %q, %d", c.path, s.Unit, len(s.Points), c.unit, len(c.want))
		}
		for i, w := range c.want {
			if math.Abs(s.Points[i].Value-w) > 1e-9 {
				t.Fatalf("%s: point %d is %g, want %g", c.path, i, s.Points[i].Value, w)
			}
		}
	}
	for _, path := range []string{
		"/api/v1/twins/g1/telemetry/rainfall" + q + "&unit=kPa",
		"/api/v1/twins/g1/telemetry/rainfall" + q + "&unit=furlongs",
		"/api/v1/twins/g1/telemetry/rainfall.anomaly" + q + "&unit=mm",
		"/api/v1/twins/cu/telemetry/outletTemperature" + q + "&unit=[degF]&step=1m&agg=sum",
	} {
		code, hdr, body := f.do(t, "GET", path, "", "")
		wantProblem(t, code, hdr, body, http.StatusBadRequest, "bad-request")
	}
}

// TestRuleThresholdsInAnotherUnit: a rule whose thresholds are given in
// another unit has them converted to the channel's (the unit was
// overwritten with the channel's and the numbers kept: 2 [in_i] became
// 2 mm); a unit that cannot be converted is refused.
func TestRuleThresholdsInAnotherUnit(t *testing.T) {
	f := newFixture(t)
	type rule struct {
		Value, Low, High *float64
		Hysteresis       float64
		Unit             string
	}
	for _, c := range []struct {
		body  string
		value float64
		unit  string
		hyst  float64
	}{
		{`{"id":"r1","type":"rain-gauge","channel":"rainfall","op":">=","value":2,"hysteresis":0.1,"unit":"[in_i]","severity":"warning"}`, 50.8, "mm", 2.54},
		{`{"id":"r2","type":"rain-gauge","channel":"rainfall","op":">=","value":7,"unit":"mm","severity":"warning"}`, 7, "mm", 0},
		{`{"id":"r3","type":"rain-gauge","channel":"rainfall","op":">","value":1,"rate":{"window":"1h"},"unit":"[in_i]/h","severity":"warning"}`, 25.4, "mm/h", 0},
		{`{"id":"r4","type":"rain-gauge","channel":"rainfall","op":">","value":1,"rate":{"window":"1h","per":"1m"},"unit":"cm/h","severity":"warning"}`, 10.0 / 60, "mm/min", 0},
	} {
		code, _, body := f.do(t, "POST", "/api/v1/rules", "application/json", c.body)
		var got rule
		if err := json.Unmarshal([]byte(body), &got); code != http.StatusCreated || err != nil || got.Value == nil {
			t.Fatalf("%s: %d %s", c.body, code, body)
		}
		if math.Abs(*got.Value-c.value) > 1e-9 || got.Unit != c.unit || math.Abs(got.Hysteresis-c.hyst) > 1e-9 {
			t.Fatalf("%s: value %g %s hysteresis %g; want %g %s %g", c.body, *got.Value, got.Unit, got.Hysteresis, c.value, c.unit, c.hyst)
		}
	}
	for _, b := range []string{
		`{"id":"x1","type":"rain-gauge","channel":"rainfall","op":">=","value":2,"unit":"kPa","severity":"warning"}`,
		`{"id":"x2","type":"rain-gauge","channel":"rainfall","op":">","value":1,"rate":{"window":"1h"},"unit":"mm","severity":"warning"}`,
	} {
		code, hdr, body := f.do(t, "POST", "/api/v1/rules", "application/json", b)
		wantProblem(t, code, hdr, body, http.StatusUnprocessableEntity, "invalid")
	}
}
