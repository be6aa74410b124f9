package alert

import "time"

// DefaultRules are the rules a new installation starts with, so that the
// demo's events (black rainstorm, bearing degradation, cooling failure,
// vehicle breakdown) raise alerts with no set-up. They use the built-in
// types' channels (internal/twin/builtin/types.json) and the demo's "rack"
// type. Pass them as Config.Defaults; they are loaded once, into the
// default tenant. docs/decisions/alerts.md gives the reasoning for each
// threshold and what the demo scenario produces against them.
func DefaultRules() []Rule {
	f := func(v float64) *float64 { return &v }
	d := func(s string) Duration {
		v, err := time.ParseDuration(s)
		if err != nil {
			panic(err) // constant input
		}
		return Duration(v)
	}
	return []Rule{
		{
			ID: "rain-black", Name: "Black rainstorm rainfall",
			Description: "5-minute rainfall of 6 mm or more (about 70 mm/h, the Observatory's black rainstorm criterion) held for 10 minutes.",
			Type:        "rain-gauge", Channel: "rainfall", Op: OpGE, Value: f(6),
			For: d("10m"), ClearFor: d("15m"), Hysteresis: 2, Severity: Critical,
		},
		{
			ID: "pore-pressure-high", Name: "Pore-water pressure high",
			Description: "Pore-water pressure above 30 kPa (about 3 m of water above the tip) for 10 minutes: the slope is losing its suction and strength.",
			Type:        "piezometer", Channel: "porePressure", Op: OpGT, Value: f(30),
			For: d("10m"), Hysteresis: 5, Severity: Warning,
		},
		{
			ID: "extensometer-accelerating", Name: "Slope displacement rate high (extensometer)",
			Description: "Displacement faster than 2 mm/h over the last hour, held 10 minutes: the slope may be accelerating towards failure.",
			Type:        "extensometer", Channel: "displacement", Op: OpOutside, Low: f(-2), High: f(2),
			Rate: &Rate{Window: d("1h"), Per: d("1h")}, For: d("10m"), Hysteresis: 1, Severity: Critical,
		},
		{
			ID: "inclinometer-accelerating", Name: "Slope displacement rate high (inclinometer)",
			Description: "Displacement faster than 2 mm/h over the last hour, held 10 minutes: the slope may be accelerating towards failure.",
			Type:        "inclinometer", Channel: "displacement", Op: OpOutside, Low: f(-2), High: f(2),
			Rate: &Rate{Window: d("1h"), Per: d("1h")}, For: d("10m"), Hysteresis: 1, Severity: Critical,
		},
		{
			ID: "bridge-displacement-band", Name: "Bridge displacement out of band",
			Description: "Displacement beyond ±150 mm of the reference held for 5 minutes: a bearing or joint has moved beyond its thermal and traffic range (a passing heavy vehicle does not last 5 minutes).",
			Type:        "bridge-sensor", Channel: "displacement", Op: OpOutside, Low: f(-150), High: f(150),
			For: d("5m"), Hysteresis: 10, Severity: Warning,
		},
		{
			ID: "cooling-supply-hot", Name: "Cooling unit not cooling",
			Description: "Supply (outlet) air above 27 °C, the top of ASHRAE's recommended inlet range, for 2 minutes: the unit is not removing heat.",
			Type:        "cooling-unit", Channel: "outletTemperature", Op: OpGT, Value: f(27),
			For: d("2m"), Hysteresis: 2, Severity: Critical,
		},
		{
			ID: "rack-inlet-hot", Name: "Rack inlet temperature high",
			Description: "Rack inlet air above 32 °C (ASHRAE class A1's allowable limit) for 2 minutes.",
			Type:        "rack", Channel: "inletTemperature", Unit: "Cel", Op: OpGT, Value: f(32),
			For: d("2m"), Hysteresis: 1, Severity: Warning,
		},
		{
			ID: "vehicle-engine-hot", Name: "Vehicle engine overheating",
			Description: "Engine temperature above 110 °C for 2 minutes.",
			Type:        "vehicle", Channel: "engineTemperature", Op: OpGT, Value: f(110),
			For: d("2m"), Hysteresis: 10, Severity: Critical,
		},
	}
}
