package sim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// Sample is one telemetry value the scenario produces.
type Sample struct {
	Twin    string
	Channel string
	TS      int64 // simulated time, ms since the epoch
	Value   float64
}

// Position is a vehicle's new location.
type Position struct {
	Twin string
	TS   int64
	Pos  LonLat
}

// Batch is what one Advance produced. Samples are in time order.
type Batch struct {
	Samples   []Sample
	Positions []Position
}

// Events the scenario can play.
const (
	EventBlackRainstorm = "black-rainstorm"
	EventBearing        = "bearing"
	EventCoolingFailure = "cooling-failure"
	EventBreakdown      = "breakdown"
)

// EventNames lists the events in a stable order.
var EventNames = []string{EventBlackRainstorm, EventBearing, EventCoolingFailure, EventBreakdown}

// EventInfo describes an event for the console.
type EventInfo struct {
	Name        string   `json:"name"`
	Title       string   `json:"title"`
	Description string   `json:"description"`
	Active      bool     `json:"active"`
	StartedAt   int64    `json:"startedAt,omitempty"` // simulated ms
	Twins       []string `json:"twins,omitempty"`     // the twins it affects most
}

// Tick is the simulation step.
const Tick = 10 * time.Second

// Engine advances the world through simulated time and produces samples.
// It is deterministic: the same World, the same event triggers at the
// same simulated times, and the same Advance targets give the same
// output. It is not safe for concurrent use.
type Engine struct {
	w    *World
	rng  *rand.Rand
	now  int64 // ms; the last tick emitted
	tick int64 // ticks since start

	cells []rainCell
	// Weather state.
	windMean, windDir, tempAnom, cool float64
	traffic                           float64
	// Events: start time in ms, 0 when not active.
	storm, bearing, coolFail, breakdown int64
	stormNew                            bool
	brokenVeh                           int
	bearingStep                         bool
	// Site state.
	pour                        float64 // hours since the last concrete pour
	progress, tilt, diesel, co2 float64
	energy                      float64
}

// NewEngine starts the world at its Config.Start.
func NewEngine(w *World) *Engine {
	e := &Engine{w: w, rng: rand.New(rand.NewPCG(w.cfg.Seed, 0xe9e)), brokenVeh: -1}
	e.now = w.cfg.Start.UnixMilli() - Tick.Milliseconds()
	e.windMean, e.windDir, e.progress, e.pour = 5, 90, 31.5, 30
	return e
}

// Now is the simulated time of the last tick, ms.
func (e *Engine) Now() int64 { return e.now }

// Events describes the events and whether they are running.
func (e *Engine) Events() []EventInfo {
	out := []EventInfo{
		{Name: EventBlackRainstorm, Title: "Black rainstorm", Description: "A rain band above 70 mm/h crosses the territory from the west; pore pressure rises and displacement accelerates on susceptible slopes.", Active: e.storm != 0, StartedAt: e.storm, Twins: e.w.Susceptible},
		{Name: EventBearing, Title: "Bridge bearing degrading", Description: "The north bearing at the Tsing Yi tower of Tsing Ma Bridge seizes: a slow drift, then a step.", Active: e.bearing != 0, StartedAt: e.bearing, Twins: []string{"tm-brg-tsingyi-n"}},
		{Name: EventCoolingFailure, Title: "Cooling unit failure", Description: "CRAH-3 in the Cyberport data hall trips; rack inlet temperatures in rows B and C climb.", Active: e.coolFail != 0, StartedAt: e.coolFail, Twins: []string{"crah-3"}},
		{Name: EventBreakdown, Title: "Vehicle breakdown", Description: "A delivery van breaks down on the road: speed drops to zero, engine temperature climbs.", Active: e.breakdown != 0, StartedAt: e.breakdown},
	}
	if e.brokenVeh >= 0 {
		out[3].Twins = []string{e.w.fleet[e.brokenVeh].id}
	}
	return out
}

// ErrUnknownEvent is returned by Trigger for a name not in EventNames.
var ErrUnknownEvent = fmt.Errorf("unknown event; want one of %s", strings.Join(EventNames, ", "))

// Trigger starts an event at the current simulated time. Triggering a
// running event restarts it.
func (e *Engine) Trigger(name string) error {
	t := e.now
	switch name {
	case EventBlackRainstorm:
		e.storm, e.stormNew = t, true
	case EventBearing:
		e.bearing, e.bearingStep = t, false
	case EventCoolingFailure:
		e.coolFail = t
	case EventBreakdown:
		e.breakdown = t
		e.brokenVeh = -1
		for i, v := range e.w.fleet {
			if v.speed > 5 && !v.electric {
				e.brokenVeh = i
				break
			}
		}
		if e.brokenVeh < 0 {
			e.brokenVeh = 0
		}
	default:
		return fmt.Errorf("%q: %w", name, ErrUnknownEvent)
	}
	return nil
}

// Advance runs ticks up to simulated time to (ms) and appends their
// output to b.
func (e *Engine) Advance(to int64, b *Batch) {
	step := Tick.Milliseconds()
	for e.now+step <= to {
		e.now += step
		e.tick++
		e.step(b)
	}
}

// hourOfDay is Hong Kong local time (UTC+8) in hours.
func hourOfDay(ms int64) float64 {
	h := math.Mod(float64(ms)/3.6e6+8, 24)
	return h
}

func (e *Engine) every(d time.Duration) bool {
	return e.tick%int64(d/Tick) == 0
}

func (e *Engine) emit(b *Batch, twin, ch string, v float64, digits int) {
	p := math.Pow(10, float64(digits))
	b.Samples = append(b.Samples, Sample{twin, ch, e.now, math.Round(v*p) / p})
}

func (e *Engine) gauss() float64 { return e.rng.NormFloat64() }

func (e *Engine) step(b *Batch) {
	dt := Tick.Seconds()
	hour := hourOfDay(e.now)
	// Weather: an Ornstein-Uhlenbeck wind and temperature anomaly.
	windTarget := 5.0
	if e.storm != 0 && e.since(e.storm) < 8*3600 {
		windTarget = 14
	}
	e.windMean += (windTarget-e.windMean)*dt/1800 + 0.05*e.gauss()
	e.windMean = math.Max(0.5, e.windMean)
	e.windDir = math.Mod(e.windDir+0.3*e.gauss()+360, 360)
	e.tempAnom += -e.tempAnom*dt/86400 + 0.01*e.gauss()
	// Traffic: two rush hours on a base, with random heavy vehicles.
	e.traffic = 0.15 + 0.55*gaussBump(hour, 8.5, 1.3) + 0.6*gaussBump(hour, 18.3, 1.6) + 0.35*gaussBump(hour, 13, 3)
	e.rain(b)
	e.slopes(b)
	e.bridgeStep(b, hour)
	e.siteStep(b, hour)
	e.fleetStep(b, hour)
	e.dcStep(b, hour)
	if e.storm != 0 && e.since(e.storm) > 10*3600 {
		e.storm = 0
	}
	if e.coolFail != 0 && e.since(e.coolFail) > 3*3600 {
		e.coolFail = 0
	}
	if e.breakdown != 0 && e.since(e.breakdown) > 2*3600 {
		e.breakdown, e.brokenVeh = 0, -1
	}
}

func (e *Engine) since(t int64) float64 { return float64(e.now-t) / 1000 }

func gaussBump(x, mu, sigma float64) float64 {
	d := (x - mu) / sigma
	return math.Exp(-d * d / 2)
}

// --- Rain: storm cells moving across the territory. ---

type rainCell struct {
	x, y, vx, vy float64 // km, km/h
	peak, sx, sy float64 // mm/h; km (sx along the band)
	born, life   float64 // s since start; s
	band         bool
}

type gauge struct {
	id         string
	x, y, bias float64
	rate       float64 // mm/h now
}

// intensity is the rain rate in mm/h at (x, y) now.
func (e *Engine) intensity(x, y float64) float64 {
	t := float64(e.tick) * Tick.Seconds()
	s := 0.0
	for _, c := range e.cells {
		age := t - c.born
		if age < 0 || age > c.life {
			continue
		}
		env := math.Sin(math.Pi * age / c.life)
		if c.band {
			env = math.Min(1, math.Min(age/1800, (c.life-age)/3600))
		}
		h := age / 3600
		cx, cy := c.x+c.vx*h, c.y+c.vy*h
		// Rotate into the cell's frame (along its motion).
		sp := math.Hypot(c.vx, c.vy)
		ux, uy := c.vx/sp, c.vy/sp
		dx, dy := x-cx, y-cy
		a := dx*ux + dy*uy   // along motion
		bb := -dx*uy + dy*ux // across motion
		s += c.peak * env * math.Exp(-a*a/(2*c.sy*c.sy)-bb*bb/(2*c.sx*c.sx))
	}
	return s
}

func (e *Engine) rain(b *Batch) {
	t := float64(e.tick) * Tick.Seconds()
	// Showers arrive at about one every six hours.
	if e.rng.Float64() < Tick.Seconds()/(6*3600) {
		e.cells = append(e.cells, rainCell{x: -30 + 10*e.rng.Float64(), y: -15 + 30*e.rng.Float64(), vx: 18 + 10*e.rng.Float64(), vy: 4 + 6*e.rng.Float64(),
			peak: 4 + 26*e.rng.Float64(), sx: 4 + 6*e.rng.Float64(), sy: 4 + 6*e.rng.Float64(), born: t, life: (2 + 3*e.rng.Float64()) * 3600})
	}
	if e.stormNew {
		e.stormNew = false
		// A rain band across the wind, sweeping east-north-east, with
		// embedded convective cells.
		e.cells = append(e.cells, rainCell{x: -26, y: 0, vx: 11, vy: 3, peak: 95, sx: 60, sy: 7, born: t, life: 7 * 3600, band: true})
		for i := 0; i < 4; i++ {
			e.cells = append(e.cells, rainCell{x: -30 + 4*float64(i), y: -14 + 9*float64(i), vx: 12, vy: 3.5, peak: 45,
				sx: 3, sy: 3, born: t + float64(i)*600, life: 6 * 3600, band: true})
		}
	}
	e.cells = slices.DeleteFunc(e.cells, func(c rainCell) bool { return t-c.born > c.life })
	emit := e.every(5 * time.Minute)
	for _, g := range e.w.gauges {
		g.rate = e.intensity(g.x, g.y) * g.bias
		if emit {
			// mm in the last 5 minutes, to the bucket's 0.5 mm resolution
			// for light rain.
			mm := g.rate / 12 * (1 + 0.08*e.gauss())
			if mm < 0.05 {
				mm = 0
			}
			e.emit(b, g.id, "rainfall", math.Max(0, mm), 1)
		}
	}
}

// --- Slopes: groundwater response and creep. ---

type hydrology struct {
	gauge     *gauge
	tau, gain float64
	rise      float64 // m of groundwater rise
	updated   int64
}

func (h *hydrology) update(now int64) {
	if h.updated == now {
		return
	}
	h.updated = now
	dt := Tick.Seconds()
	// Infiltration of a share of the rain into a store of specific yield 0.05.
	in := h.gain * h.gauge.rate / 1000 / 3600 * dt / 0.05
	h.rise += in - h.rise*dt/h.tau
}

type piezo struct {
	id        string
	depth, wt float64
	h         *hydrology
	phase     float64
}

type mover struct {
	id, slope         string
	h                 *hydrology
	depth             float64
	tilt              bool
	creep, gain, crit float64 // mm/h; mm/h per m²; m
	disp              float64
}

func (e *Engine) slopes(b *Batch) {
	for _, p := range e.w.piezos {
		p.h.update(e.now)
	}
	emitP := e.every(5 * time.Minute)
	for _, p := range e.w.piezos {
		if emitP {
			kpa := 9.81 * (p.depth - p.wt + p.h.rise)
			kpa = math.Max(kpa, -40) + 0.15*e.gauss()
			e.emit(b, p.id, "porePressure", kpa, 2)
		}
	}
	emitM := e.every(10 * time.Minute)
	for _, m := range e.w.movers {
		ex := math.Max(0, m.h.rise-m.crit)
		rate := m.creep + m.gain*ex*ex*math.Exp(math.Min(m.disp/80, 2))
		m.disp += math.Min(rate, 60) * Tick.Hours()
		if emitM {
			e.emit(b, m.id, "displacement", m.disp+0.05*e.gauss(), 2)
			if m.tilt {
				e.emit(b, m.id, "tilt", math.Atan(m.disp/1000/m.depth)*180/math.Pi+0.002*e.gauss(), 4)
			}
		}
	}
}

// --- Tsing Ma Bridge. ---

type bridgeSensor struct {
	id, kind string
	chainage float64 // 0..1
	base     float64
	coef     float64
	gain     float64
	bearing  bool
	drift    float64
}

func newBridgeSensor(rng *rand.Rand, t Twin) *bridgeSensor {
	var ch float64
	fmt.Sscanf(t.Labels["chainage"], "%g", &ch)
	s := &bridgeSensor{id: t.ID, kind: t.Labels["kind"], chainage: ch / 2160}
	mid := math.Sin(math.Pi * math.Min(1, math.Max(0, (s.chainage-0.181)/0.638))) // 1 at midspan
	switch s.kind {
	case "strain":
		s.base, s.coef, s.gain = -40+80*rng.Float64(), 2+4*rng.Float64(), 25+45*mid+10*rng.Float64()
	case "acceleration":
		s.gain = 0.02 + 0.04*mid
	case "displacement":
		switch {
		case strings.HasPrefix(t.ID, "tm-dj-mawan"):
			s.coef = -9
		case strings.HasPrefix(t.ID, "tm-dj-tsingyi"):
			s.coef = 4
		case strings.HasPrefix(t.ID, "tm-brg-mawan"):
			s.coef = -6.5
		case strings.HasPrefix(t.ID, "tm-brg-tsingyi"):
			s.coef, s.bearing = 3, t.ID == "tm-brg-tsingyi-n"
		default: // vertical deflection
			s.coef, s.gain = -40, -300-200*mid
		}
	case "temperature", "air-temperature":
		s.base = 0.3 * rng.NormFloat64()
	case "wind":
		s.gain = 1 + 0.15*rng.Float64()
		if strings.Contains(t.Name, "tower top") {
			s.gain = 1.6
		}
	}
	return s
}

func (e *Engine) bridgeStep(b *Batch, hour float64) {
	// Rain cools the air gradually (time constant one hour), not in a step.
	coolTarget := 0.0
	if e.storm != 0 {
		coolTarget = 3
	}
	e.cool += (coolTarget - e.cool) * Tick.Seconds() / 3600
	air := 23 + 3.5*math.Sin(2*math.Pi*(hour-9)/24) + e.tempAnom - e.cool
	sun := math.Max(0, math.Sin(math.Pi*(hour-6.5)/13))
	deck := air + 7*sun*sun
	truck := 0.0
	if e.rng.Float64() < 0.25*e.traffic {
		truck = 0.6 + 0.8*e.rng.Float64()
	}
	load := e.traffic + truck
	emitFast := e.every(20 * time.Second)
	emitSlow := e.every(time.Minute)
	if e.bearing != 0 && !e.bearingStep && e.since(e.bearing) > 3*3600 {
		e.bearingStep = true
	}
	for _, s := range e.w.bridge {
		switch s.kind {
		case "strain":
			if emitFast {
				e.emit(b, s.id, "strain", s.base+s.coef*(deck-25)+s.gain*load+1.5*e.gauss(), 1)
			}
		case "acceleration":
			if emitFast {
				v := 0.004 + s.gain*load + 0.0006*e.windMean*e.windMean*s.gain*10 + 0.002*math.Abs(e.gauss())
				e.emit(b, s.id, "acceleration", v, 4)
			}
		case "displacement":
			if !emitFast {
				continue
			}
			var v float64
			if s.gain != 0 {
				v = s.gain*load*0.1 - 2*(deck-25) + 0.5*e.gauss()
			} else {
				v = s.coef*(deck-25) + 0.6*load*s.coef/3 + 0.3*e.gauss()
			}
			if s.bearing && e.bearing != 0 {
				// Seizing: a residual that grows, then a step as it slips.
				hrs := e.since(e.bearing) / 3600
				s.drift = 4*math.Min(hrs, 3) + 2*math.Min(hrs, 3)*math.Min(hrs, 3)
				if e.bearingStep {
					s.drift += 175
				}
				v += s.drift
			}
			e.emit(b, s.id, "displacement", v, 2)
		case "temperature":
			if emitSlow {
				e.emit(b, s.id, "temperature", deck+s.base+0.1*e.gauss(), 2)
			}
		case "air-temperature":
			if emitSlow {
				e.emit(b, s.id, "temperature", air+s.base+0.1*e.gauss(), 2)
			}
		case "wind":
			if emitFast {
				sp := math.Max(0, e.windMean*s.gain*(1+0.25*e.gauss()))
				e.emit(b, s.id, "windSpeed", sp, 2)
				e.emit(b, s.id, "windDirection", math.Mod(e.windDir+8*e.gauss()+360, 360), 1)
			}
		}
	}
}

// --- San Tin building site. ---

func (e *Engine) siteStep(b *Batch, hour float64) {
	work := hour >= 8 && hour < 18 && !(hour >= 12 && hour < 13)
	id := e.w.site
	if e.every(10 * time.Second) {
		load := 0.0
		if work {
			// Lift cycles of about eight minutes.
			ph := math.Mod(float64(e.tick)*Tick.Seconds()/480, 1)
			if ph < 0.55 {
				load = 2 + 6*math.Sin(math.Pi*ph/0.55)*(0.8+0.4*e.rng.Float64())
			}
		}
		e.emit(b, id, "craneLoad", math.Max(0, load+0.05*e.gauss()), 2)
	}
	if e.every(time.Minute) {
		noise := 52 + 3*e.gauss()
		if work {
			noise = 71 + 4*e.gauss()
		}
		e.emit(b, id, "noise", noise, 1)
		e.tilt += 0.00002*e.gauss() + 0.0000015
		e.emit(b, id, "tilt", 0.05+e.tilt, 4)
	}
	if e.every(5 * time.Minute) {
		pm := 35 + 10*e.gauss()
		if work {
			pm += 45 + 0.6*e.windMean*e.windMean
		}
		if e.storm != 0 {
			pm *= 0.4
		}
		e.emit(b, id, "pm10", math.Max(3, pm), 1)
	}
	e.pour += Tick.Hours()
	if hour >= 7 && hour < 7+Tick.Hours() && int(e.now/86400000)%3 == 0 {
		e.pour = 0 // a pour every third morning
	}
	if e.every(10 * time.Minute) {
		// Heat of hydration: a rise to about 30 K over ambient at ~30 h.
		amb := 24 + 3*math.Sin(2*math.Pi*(hour-9)/24)
		hh := e.pour
		e.emit(b, id, "curingTemperature", amb+32*(hh/30)*math.Exp(1-hh/30)+0.2*e.gauss(), 2)
	}
	if e.every(time.Hour) {
		litres := 6.0
		if work {
			litres = 55 + 15*e.rng.Float64()
		}
		e.diesel, e.co2 = litres, litres*2.68
		e.emit(b, id, "diesel", e.diesel, 1)
		e.emit(b, id, "co2", e.co2, 1)
	}
	if e.every(24 * time.Hour) {
		e.progress = math.Min(100, e.progress+0.11+0.02*e.rng.Float64())
		e.emit(b, id, "progress", e.progress, 2)
	}
}

// --- Fleet. ---

type vehicle struct {
	id       string
	electric bool
	route    []int
	legs     []leg
	legIdx   int
	legPos   float64 // km along the current leg
	pos      LonLat
	speed    float64
	dwell    float64 // s left at a stop or the depot
	stopIdx  int     // index into route of the next stop; -1 heading out, len(route) heading home
	level    float64 // fuel or battery %
	engine   float64 // °C
}

func (e *Engine) fleetStep(b *Batch, hour float64) {
	dt := Tick.Seconds()
	fast := e.every(10 * time.Second)
	slow := e.every(time.Minute)
	for i, v := range e.w.fleet {
		broken := e.breakdown != 0 && i == e.brokenVeh
		moving := false
		switch {
		case broken:
			v.speed = 0
		case v.dwell > 0:
			v.dwell -= dt
			v.speed = 0
		case v.legIdx >= len(v.legs):
			e.nextLeg(v)
		default:
			l := v.legs[v.legIdx]
			// Congestion in the rush hours, slower in heavy rain.
			f := 1 - 0.35*e.traffic
			if e.storm != 0 {
				f *= 0.7
			}
			target := l.speed * f * (0.9 + 0.2*e.rng.Float64())
			v.speed += (target - v.speed) * 0.5
			v.legPos += v.speed * dt / 3600
			if v.legPos >= l.km {
				v.legPos = 0
				v.legIdx++
				v.pos = l.b
				if v.legIdx >= len(v.legs) {
					e.arrive(v)
				}
			} else {
				fr := v.legPos / l.km
				v.pos = LonLat{l.a[0] + fr*(l.b[0]-l.a[0]), l.a[1] + fr*(l.b[1]-l.a[1])}
			}
			moving = true
			v.level -= v.speed * dt / 3600 * 0.09 // ≈ 0.09 % per km
		}
		// Engine temperature: to 88 °C when running, cooling when parked;
		// a broken-down engine overheats.
		target := 32.0
		if moving {
			target = 86 + 0.05*v.speed
		}
		if broken {
			target = 124
			if e.since(e.breakdown) > 1800 {
				target = 35
			}
		}
		if v.electric {
			target = 28 + (target-32)*0.35
		}
		v.engine += (target - v.engine) * dt / 300
		if fast {
			e.emit(b, v.id, "speed", math.Max(0, v.speed), 1)
			vib := 0.15 + 0.035*v.speed + 0.2*math.Abs(e.gauss())
			if broken && e.since(e.breakdown) < 600 {
				vib = 9 + 2*e.gauss()
			} else if v.speed == 0 {
				vib = 0.05 + 0.02*math.Abs(e.gauss())
			}
			e.emit(b, v.id, "vibration", math.Max(0, vib), 2)
			b.Positions = append(b.Positions, Position{v.id, e.now, v.pos})
		}
		if slow {
			ch := "fuelLevel"
			if v.electric {
				ch = "battery"
			}
			e.emit(b, v.id, ch, math.Max(0, v.level), 1)
			e.emit(b, v.id, "engineTemperature", v.engine+0.2*e.gauss(), 1)
		}
	}
	if slow {
		e.stockStep(b, hour)
	}
}

func (e *Engine) nextLeg(v *vehicle) {
	from := v.pos
	var to LonLat
	v.stopIdx++
	if v.stopIdx < len(v.route) {
		to = e.w.stops[v.route[v.stopIdx]].pos
	} else {
		to = e.w.depot
	}
	v.legs = e.w.graph.path(from, to)
	v.legIdx, v.legPos = 0, 0
	if len(v.legs) == 0 {
		e.arrive(v)
	}
}

func (e *Engine) arrive(v *vehicle) {
	switch {
	case v.stopIdx >= 0 && v.stopIdx < len(v.route):
		v.dwell = e.w.stops[v.route[v.stopIdx]].svc * 60
	default: // back at the depot: refuel or recharge, load, go again
		v.stopIdx = -1
		v.dwell = 1800
		if v.level < 35 {
			v.level = 95 + 5*e.rng.Float64()
		}
	}
	v.legs = nil
	v.legIdx = 0
}

type stockItem struct {
	id                   string
	rate, reorder, order float64 // per day
	level                float64
	due                  int64 // ms; replenishment arrival, 0 none
	demand               float64
}

func (e *Engine) stockStep(b *Batch, hour float64) {
	hourly := e.every(time.Hour)
	for _, it := range e.w.items {
		// Demand follows the working day.
		d := it.rate / 24 * (0.3 + 1.4*gaussBump(hour, 14, 4)) / 60 * (1 + 0.3*e.gauss())
		d = math.Max(0, d)
		it.level = math.Max(0, it.level-d)
		it.demand += d
		if it.due == 0 && it.level <= it.reorder {
			it.due = e.now + 2*86400000
		}
		if it.due != 0 && e.now >= it.due {
			it.level += it.order
			it.due = 0
		}
		if hourly {
			e.emit(b, it.id, "stockLevel", math.Round(it.level), 0)
		}
		if e.every(24 * time.Hour) {
			e.emit(b, it.id, "demand", math.Round(it.demand), 0)
			it.demand = 0
		}
	}
}

// --- Data centre. ---

type rack struct {
	id    string
	cu    [2]int
	base  float64
	gpu   bool
	inlet float64
	power float64
}

type coolingUnit struct {
	id     string
	health float64 // 1 working, 0 failed
}

type cluster struct {
	id   string
	util float64
	gpus int
}

func (e *Engine) dcStep(b *Batch, hour float64) {
	dt := Tick.Seconds()
	for i, c := range e.w.cooling {
		target := 1.0
		if e.coolFail != 0 && i == 2 {
			target = 0
		}
		c.health += (target - c.health) * math.Min(1, dt/60)
	}
	util := 0.0
	for _, c := range e.w.clusters {
		c.util += (90-c.util)*dt/900 + 0.6*e.gauss()
		c.util = math.Min(99.5, math.Max(60, c.util))
		util += c.util / float64(len(e.w.clusters))
	}
	total := 0.0
	cuLoad := make([]float64, len(e.w.cooling))
	cuInlet := make([]float64, len(e.w.cooling))
	cuN := make([]float64, len(e.w.cooling))
	for _, r := range e.w.racks {
		r.power = r.base * (0.85 + 0.1*math.Sin(2*math.Pi*(hour-15)/24))
		if r.gpu {
			r.power = r.base * (0.45 + 0.6*util/100)
		}
		r.power += 0.2 * e.gauss()
		total += r.power
		h := (e.w.cooling[r.cu[0]].health + e.w.cooling[r.cu[1]].health) / 2
		// Inlet approaches 23 °C plus a share of the rack's heat that the
		// remaining cooling cannot remove.
		target := 22.5 + 0.03*r.power + (1-h)*(8+0.3*r.power)
		r.inlet += (target - r.inlet) * dt / 480
		for _, c := range r.cu {
			cuLoad[c] += r.power / 2
			cuInlet[c] += r.inlet
			cuN[c]++
		}
	}
	if e.every(time.Minute) {
		for _, r := range e.w.racks {
			e.emit(b, r.id, "inletTemperature", r.inlet+0.1*e.gauss(), 2)
			e.emit(b, r.id, "power", math.Max(0, r.power), 2)
		}
		for i, c := range e.w.cooling {
			// Return air: the served racks' inlet plus their temperature rise.
			ret := cuInlet[i]/cuN[i] + 4 + 0.005*cuLoad[i]
			sup := 17.5 + (1-c.health)*(ret-17.5)
			e.emit(b, c.id, "inletTemperature", ret+0.15*e.gauss(), 2)
			e.emit(b, c.id, "outletTemperature", sup+0.15*e.gauss(), 2)
			e.emit(b, c.id, "power", math.Max(0, c.health*(8+0.09*cuLoad[i])+0.2*e.gauss()), 2)
		}
		for _, c := range e.w.clusters {
			e.emit(b, c.id, "gpuUtilisation", c.util, 1)
			e.emit(b, c.id, "power", float64(c.gpus)*0.72*c.util/100+6, 1)
		}
		e.emit(b, e.w.hall, "itPower", total, 1)
	}
	e.energy += total * Tick.Hours()
	if e.every(15 * time.Minute) {
		e.emit(b, e.w.hall, "energy", e.energy, 1)
		e.energy = 0
	}
}
