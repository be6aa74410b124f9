package alert

import "time"

// DefaultRules are the rules a new installation starts with, so that the
// demo's events (black rainstorm, bearing degradation, cooling failure,
// vehicle breakdown) raise alerts with no set-up. They use the built-in
// types' channels (internal/twin/builtin/types.json). Pass them as
// Config.Defaults; they are loaded once, into the default tenant.
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
			Description: "Positive pore-water pressure above 30 kPa (about 3 m of water above the tip) for 10 minutes: the slope is losing suction.",
			Type:        "piezometer", Channel: "porePressure", Op: OpGT, Value: f(30),
			For: d("10m"), Hysteresis: 5, Severity: Warning,
		},
		{
			ID: "pore-pressure-rising", Name: "Pore-water pressure rising fast",
			Description: "Pore-water pressure rising faster than 10 kPa/h (about 1 m of head per hour) over the last hour.",
			Type:        "piezometer", Channel: "porePressure", Op: OpGT, Value: f(10),
			Rate: &Rate{Window: d("1h"), Per: d("1h")}, Hysteresis: 5, Severity: Warning,
		},
		{
			ID: "extensometer-accelerating", Name: "Slope displacement rate high (extensometer)",
			Description: "Displacement faster than 1 mm/h over the last hour, held 10 minutes: the slope may be accelerating.",
			Type:        "extensometer", Channel: "displacement", Op: OpOutside, Low: f(-1), High: f(1),
			Rate: &Rate{Window: d("1h"), Per: d("1h")}, For: d("10m"), Hysteresis: 0.5, Severity: Critical,
		},
		{
			ID: "inclinometer-accelerating", Name: "Slope displacement rate high (inclinometer)",
			Description: "Displacement faster than 1 mm/h over the last hour, held 10 minutes: the slope may be accelerating.",
			Type:        "inclinometer", Channel: "displacement", Op: OpOutside, Low: f(-1), High: f(1),
			Rate: &Rate{Window: d("1h"), Per: d("1h")}, For: d("10m"), Hysteresis: 0.5, Severity: Critical,
		},
		{
			ID: "bridge-displacement-band", Name: "Bridge bearing or joint displacement out of band",
			Description: "Displacement outside ±200 mm of the reference for 5 minutes: a bearing or expansion joint is moving beyond its design range.",
			Type:        "bridge-sensor", Channel: "displacement", Op: OpOutside, Low: f(-200), High: f(200),
			For: d("5m"), Hysteresis: 10, Severity: Warning,
		},
		{
			ID: "cooling-inlet-hot", Name: "Cooling unit inlet temperature high",
			Description: "Inlet temperature above 32 °C (the ASHRAE A1 allowable limit) for 2 minutes.",
			Type:        "cooling-unit", Channel: "inletTemperature", Op: OpGT, Value: f(32),
			For: d("2m"), Hysteresis: 2, Severity: Critical,
		},
		{
			ID: "vehicle-engine-hot", Name: "Vehicle engine overheating",
			Description: "Engine temperature above 110 °C for 2 minutes.",
			Type:        "vehicle", Channel: "engineTemperature", Op: OpGT, Value: f(110),
			For: d("2m"), Hysteresis: 10, Severity: Critical,
		},
	}
}
