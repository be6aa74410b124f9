package sim

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"time"
)

// Twin is a twin document as the public API takes it.
type Twin struct {
	ID            string              `json:"id"`
	Type          string              `json:"type"`
	Name          string              `json:"name,omitempty"`
	Properties    map[string]any      `json:"properties,omitempty"`
	Geometry      *Geometry           `json:"geometry,omitempty"`
	Relationships map[string][]string `json:"relationships,omitempty"`
	Labels        map[string]string   `json:"labels,omitempty"`
}

// Geometry is a GeoJSON geometry.
type Geometry struct {
	Type        string `json:"type"`
	Coordinates any    `json:"coordinates"`
}

func point(p LonLat) *Geometry { return &Geometry{"Point", []float64{round6(p[0]), round6(p[1])}} }

func round6(x float64) float64 { return math.Round(x*1e6) / 1e6 }

// Config selects the scenario's size and randomness.
type Config struct {
	Seed   uint64
	Start  time.Time // simulated time of the first tick
	Slopes int       // number of slopes; default 400, at least 200
}

// Label values every scenario twin carries.
const (
	LabelScenario = "scenario"
	ScenarioName  = "hk-live"
)

// World is the scenario's static part: the twins (in creation order,
// stage by stage so that relationship targets exist first), the extra
// types, and each entity's model parameters. It is a pure function of the
// Inputs and Config (see Build).
type World struct {
	cfg    Config
	Stages [][]Twin
	Types  []map[string]any

	gauges   []*gauge
	piezos   []*piezo
	movers   []*mover // inclinometers and extensometers
	bridge   []*bridgeSensor
	site     string
	fleet    []*vehicle
	stops    []stop
	graph    *roadGraph
	depot    LonLat
	items    []*stockItem
	racks    []*rack
	cooling  []*coolingUnit
	clusters []*cluster
	hall     string
	// Slopes that accelerate under heavy rain.
	Susceptible []string
}

// Start is the simulated time of the scenario's first tick.
func (w *World) Start() time.Time { return w.cfg.Start }

// Twins returns every twin in creation order.
func (w *World) Twins() []Twin {
	var out []Twin
	for _, s := range w.Stages {
		out = append(out, s...)
	}
	return out
}

// metres per degree at Hong Kong's latitude.
const (
	refLat   = 22.35
	refLon   = 114.15
	mPerLat  = 110760.0
	earthRad = 6371000.0
)

var mPerLon = 111320.0 * math.Cos(refLat*math.Pi/180)

// toKM maps a position to km east/north of (114.15, 22.35).
func toKM(p LonLat) (x, y float64) {
	return (p[0] - refLon) * mPerLon / 1000, (p[1] - refLat) * mPerLat / 1000
}

func offset(p LonLat, east, north float64) LonLat {
	return LonLat{p[0] + east/mPerLon, p[1] + north/mPerLat}
}

func distM(a, b LonLat) float64 {
	dx := (a[0] - b[0]) * mPerLon
	dy := (a[1] - b[1]) * mPerLat
	return math.Hypot(dx, dy)
}

func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
			dash = false
		case !dash && b.Len() > 0:
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}

func slopeID(no string) string {
	r := strings.NewReplacer("/", "_", " ", "")
	return "slope-" + r.Replace(no)
}

// Build places the scenario on the inputs. The same inputs and config give
// the same world.
func Build(in *Inputs, cfg Config) (*World, error) {
	if in == nil {
		return nil, errors.New("sim: no inputs")
	}
	if cfg.Slopes == 0 {
		cfg.Slopes = 400
	}
	if cfg.Slopes < 200 {
		return nil, fmt.Errorf("sim: at least 200 slopes, got %d", cfg.Slopes)
	}
	if cfg.Start.IsZero() {
		return nil, errors.New("sim: Config.Start is required")
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x5eed))
	w := &World{cfg: cfg}
	w.Types = extraTypes()
	var hubs, mid, leaf []Twin
	lab := func(layer string) map[string]string {
		return map[string]string{LabelScenario: ScenarioName, "layer": layer}
	}

	// Slopes: the registered slopes with the longest landslide history.
	slopes := append([]SlopeSite(nil), in.Slopes...)
	sort.SliceStable(slopes, func(i, j int) bool {
		if slopes[i].Incidents != slopes[j].Incidents {
			return slopes[i].Incidents > slopes[j].Incidents
		}
		return slopes[i].SlopeNo < slopes[j].SlopeNo
	})
	var chosen []SlopeSite
	seen := map[string]bool{}
	for _, s := range slopes {
		id := slopeID(s.SlopeNo)
		if s.SlopeNo == "" || seen[id] || !in.Land.Contains(s.Pos) {
			continue
		}
		seen[id] = true
		chosen = append(chosen, s)
		if len(chosen) == cfg.Slopes {
			break
		}
	}
	if len(chosen) < cfg.Slopes {
		return nil, fmt.Errorf("sim: only %d usable slopes in the inputs, want %d", len(chosen), cfg.Slopes)
	}
	slopeTwins := make([]Twin, len(chosen))
	slopeParams := make([]slopeModel, len(chosen))
	for i, s := range chosen {
		st, m := makeSlope(rng, s)
		slopeTwins[i], slopeParams[i] = st, m
	}
	hubs = append(hubs, slopeTwins...)

	// Rain gauges at the HKO stations on land.
	var stations []Place
	for _, s := range in.Stations {
		if in.Land.Contains(s.Pos) || in.Land.Contains(offset(s.Pos, 60, 0)) || in.Land.Contains(offset(s.Pos, -60, 0)) {
			stations = append(stations, s)
		}
	}
	if len(stations) > 30 {
		picked := make([]Place, 0, 30)
		for i := 0; i < 30; i++ {
			picked = append(picked, stations[i*len(stations)/30])
		}
		stations = picked
	}
	if len(stations) < 10 {
		return nil, fmt.Errorf("sim: only %d weather stations on land", len(stations))
	}
	gaugeSlopes := make([][]string, len(stations))
	slopeGauge := make([]int, len(chosen))
	for i, s := range chosen {
		best, bd := 0, math.Inf(1)
		for j, g := range stations {
			if d := distM(s.Pos, g.Pos); d < bd {
				best, bd = j, d
			}
		}
		slopeGauge[i] = best
		gaugeSlopes[best] = append(gaugeSlopes[best], slopeTwins[i].ID)
	}
	for j, s := range stations {
		id := "rg-" + slug(s.Name)
		t := Twin{ID: id, Type: "rain-gauge", Name: s.Name + " rain gauge", Geometry: point(s.Pos), Labels: lab("rain")}
		if len(gaugeSlopes[j]) > 0 {
			t.Relationships = map[string][]string{"on": gaugeSlopes[j]}
		}
		t.Labels["station"] = s.Name
		mid = append(mid, t)
		x, y := toKM(s.Pos)
		w.gauges = append(w.gauges, &gauge{id: id, x: x, y: y, bias: 0.85 + 0.3*rng.Float64()})
	}

	// Instruments on the slopes with most incidents.
	for i, s := range chosen {
		if i >= 90 {
			break
		}
		m := slopeParams[i]
		g := w.gauges[slopeGauge[i]]
		depth := math.Round((m.waterTable+0.5+1.5*rng.Float64())*10) / 10
		pid := "pz-" + strings.TrimPrefix(slopeTwins[i].ID, "slope-")
		leaf = append(leaf, Twin{ID: pid, Type: "piezometer", Name: "Piezometer at " + s.SlopeNo,
			Properties: map[string]any{"depth": depth}, Geometry: point(offset(s.Pos, 8, -6)),
			Relationships: map[string][]string{"on": {slopeTwins[i].ID}}, Labels: lab("slope-instruments")})
		hydro := &hydrology{gauge: g, tau: (18 + 36*rng.Float64()) * 3600, gain: 0.3 + 0.3*rng.Float64()}
		w.piezos = append(w.piezos, &piezo{id: pid, depth: depth, wt: m.waterTable, h: hydro, phase: rng.Float64()})
		if i < 40 {
			iid := "in-" + strings.TrimPrefix(slopeTwins[i].ID, "slope-")
			leaf = append(leaf, Twin{ID: iid, Type: "inclinometer", Name: "Inclinometer at " + s.SlopeNo,
				Properties: map[string]any{"depth": math.Round(m.soilDepth*10+30) / 10}, Geometry: point(offset(s.Pos, -6, 5)),
				Relationships: map[string][]string{"on": {slopeTwins[i].ID}}, Labels: lab("slope-instruments")})
			w.movers = append(w.movers, &mover{id: iid, slope: slopeTwins[i].ID, h: hydro, depth: m.soilDepth + 3, tilt: true,
				creep: 0.0005 + 0.001*rng.Float64(), gain: 0.5 + rng.Float64(), crit: 2 + rng.Float64()})
		}
		if i < 20 {
			eid := "ex-" + strings.TrimPrefix(slopeTwins[i].ID, "slope-")
			leaf = append(leaf, Twin{ID: eid, Type: "extensometer", Name: "Extensometer at " + s.SlopeNo,
				Geometry: point(offset(s.Pos, 0, 10)), Relationships: map[string][]string{"on": {slopeTwins[i].ID}}, Labels: lab("slope-instruments")})
			w.movers = append(w.movers, &mover{id: eid, slope: slopeTwins[i].ID, h: hydro, depth: m.soilDepth,
				creep: 0.0005 + 0.001*rng.Float64(), gain: 0.5 + rng.Float64(), crit: 2 + rng.Float64()})
		}
	}
	// A few slopes with both instruments are susceptible: they accelerate
	// when the water table rises.
	perm := rng.Perm(20)
	for _, k := range perm[:4] {
		sid := slopeTwins[k].ID
		w.Susceptible = append(w.Susceptible, sid)
		for _, m := range w.movers {
			if m.slope == sid {
				m.gain *= 8
				m.crit = 0.4
			}
		}
	}
	sort.Strings(w.Susceptible)

	// Tsing Ma Bridge.
	bt, bs := buildBridge(rng, in, lab)
	hubs = append(hubs, bt)
	mid = append(mid, bs...)
	for _, t := range bs {
		w.bridge = append(w.bridge, newBridgeSensor(rng, t))
	}

	// San Tin building site.
	ring := make([][]float64, 0, len(in.SanTin[0]))
	for _, p := range in.SanTin[0] {
		ring = append(ring, []float64{p[0], p[1]})
	}
	w.site = "site-san-tin-t1"
	hubs = append(hubs, Twin{ID: w.site, Type: "building-site", Name: "San Tin Technopole site works, phase 1",
		Properties: map[string]any{"contractor": "Demo Contractor JV (fictional)", "start": cfg.Start.AddDate(0, -8, 0).UTC().Format(time.RFC3339),
			"plannedEnd": cfg.Start.AddDate(2, 0, 0).UTC().Format(time.RFC3339), "noiseLimit": 75.0},
		Geometry: &Geometry{"Polygon", [][][]float64{ring}}, Labels: lab("site")})

	// Logistics.
	if err := w.buildLogistics(rng, in, lab, &hubs, &mid, &leaf); err != nil {
		return nil, err
	}
	// Data centre.
	w.buildDataCentre(rng, in, lab, &hubs, &mid, &leaf)

	w.Stages = [][]Twin{hubs, mid, leaf}
	return w, nil
}

type slopeModel struct {
	waterTable, soilDepth float64
}

func makeSlope(rng *rand.Rand, s SlopeSite) (Twin, slopeModel) {
	ft := strings.ToLower(s.FeatureType)
	soil := "completely-decomposed-granite"
	switch {
	case strings.Contains(ft, "fill") || strings.Contains(ft, "wall"):
		soil = "fill"
	case ft == "rock cut":
		soil = "rock"
	case strings.Contains(ft, "natural") || strings.Contains(ft, "disturbed"):
		soil = "colluvium"
	case rng.Float64() < 0.4:
		soil = "completely-decomposed-volcanic"
	}
	cc := "3"
	switch {
	case s.Deaths > 0 || s.Incidents >= 5:
		cc = "1"
	case s.Incidents >= 2:
		cc = "2"
	}
	height := math.Round((6+rng.Float64()*40+float64(min(s.Incidents, 10))*2)*10) / 10
	grad := math.Round((30+rng.Float64()*25)*10) / 10
	if soil == "rock" {
		grad = math.Round((55+rng.Float64()*20)*10) / 10
	}
	depth := math.Round((1.5+rng.Float64()*4.5)*10) / 10
	wt := math.Round((depth*0.6+rng.Float64()*2)*10) / 10
	length := math.Min(140, math.Max(15, height/math.Sin(grad*math.Pi/180)))
	width := 20 + rng.Float64()*60
	aspect := rng.Float64() * 2 * math.Pi
	ux, uy := math.Cos(aspect), math.Sin(aspect)
	var ring [][]float64
	for _, c := range [][2]float64{{-1, -1}, {1, -1}, {1, 1}, {-1, 1}, {-1, -1}} {
		e := c[0]*width/2*(-uy) + c[1]*length/2*ux
		n := c[0]*width/2*ux + c[1]*length/2*uy
		p := offset(s.Pos, e, n)
		ring = append(ring, []float64{round6(p[0]), round6(p[1])})
	}
	cohesion := map[string]float64{"fill": 3, "rock": 50, "colluvium": 5, "completely-decomposed-granite": 8, "completely-decomposed-volcanic": 10}[soil]
	cohesion += math.Round(rng.Float64()*40) / 10
	phi := math.Round((32+rng.Float64()*6)*10) / 10
	gamma := math.Round((19+rng.Float64()*2)*10) / 10
	// Registered slopes stand at rest: give each the cohesion (its apparent
	// cohesion, suction and root reinforcement lumped together) that puts its
	// infinite-slope factor of safety at the base, with the initial water
	// table, between 1.2 and 1.8, so that rain, not the parameters, brings
	// the susceptible ones down.
	target := 1.2 + 0.6*rng.Float64()
	b, f := grad*math.Pi/180, phi*math.Pi/180
	psi := math.Max(0, depth-wt) * math.Cos(b) * math.Cos(b) // steady slope-parallel seepage
	need := (target-math.Tan(f)/math.Tan(b))*gamma*depth*math.Sin(b)*math.Cos(b) + psi*9.81*math.Tan(f)
	cohesion = math.Round(math.Max(cohesion, need)*10) / 10
	props := map[string]any{
		"height": height, "gradient": grad, "slopeAngle": grad, "soil": soil, "consequenceClass": cc,
		"soilDepth": depth, "ksat": roundSig(1e-6 + rng.Float64()*9e-6), "diffusivity": roundSig(1e-5 + rng.Float64()*9e-5),
		"cohesion": cohesion, "frictionAngle": phi,
		"unitWeight": gamma, "initialWaterTableDepth": wt,
	}
	t := Twin{ID: slopeID(s.SlopeNo), Type: "slope", Name: s.SlopeNo + " (" + s.FeatureType + ")", Properties: props,
		Geometry: &Geometry{"Polygon", [][][]float64{ring}},
		Labels: map[string]string{LabelScenario: ScenarioName, "layer": "slopes", "incidents": fmt.Sprint(s.Incidents),
			"lastIncident": s.Last, "featureType": s.FeatureType}}
	return t, slopeModel{waterTable: wt, soilDepth: depth}
}

func roundSig(x float64) float64 {
	if x == 0 {
		return 0
	}
	p := math.Pow(10, 2-math.Floor(math.Log10(math.Abs(x))))
	return math.Round(x*p) / p
}

// extraTypes are the types the scenario needs beyond the built-in ones.
func extraTypes() []map[string]any {
	return []map[string]any{{
		"name":        "rack",
		"description": "A rack of IT equipment in a data hall (demo scenario type).",
		"properties": map[string]any{
			"row":      map[string]any{"type": "string"},
			"position": map[string]any{"type": "integer", "min": 1, "max": 100},
			"gpu":      map[string]any{"type": "bool"},
		},
		"channels": map[string]any{
			"inletTemperature": map[string]any{"unit": "Cel", "min": -20, "max": 80, "interval": "1m"},
			"power":            map[string]any{"unit": "kW", "min": 0, "max": 200, "interval": "1m"},
		},
		"relationships": map[string]any{
			"in":       map[string]any{"target": "data-hall", "cardinality": "one"},
			"cooledBy": map[string]any{"target": "cooling-unit", "cardinality": "many"},
		},
	}}
}
