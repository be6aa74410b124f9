package sim

import (
	"container/heap"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
)

// buildBridge lays 116 sensors along the Tsing Ma deck.
func buildBridge(rng *rand.Rand, in *Inputs, lab func(string) map[string]string) (Twin, []Twin) {
	line := make([][]float64, len(in.Bridge))
	for i, p := range in.Bridge {
		line[i] = []float64{p[0], p[1]}
	}
	bridge := Twin{ID: "tsing-ma-bridge", Type: "bridge", Name: "Tsing Ma Bridge (modelled)",
		Properties: map[string]any{"span": 1377.0, "structure": "suspension", "opened": "1997-05-22T00:00:00+08:00"},
		Geometry:   &Geometry{"LineString", line}, Labels: lab("bridge")}
	a, b := in.Bridge[0], in.Bridge[len(in.Bridge)-1]
	// Unit vectors along and across the deck (metres).
	dx, dy := (b[0]-a[0])*mPerLon, (b[1]-a[1])*mPerLat
	L := math.Hypot(dx, dy)
	ux, uy := dx/L, dy/L
	at := func(f, side float64) LonLat { // side: +1 north, -1 south, metres scaled
		return offset(a, f*L*ux+side*(-uy), f*L*uy+side*ux)
	}
	var out []Twin
	add := func(id, kind, loc string, f, side float64) {
		t := Twin{ID: id, Type: "bridge-sensor", Name: loc, Properties: map[string]any{"location": loc},
			Geometry: point(at(f, side)), Relationships: map[string][]string{"on": {bridge.ID}}, Labels: lab("bridge")}
		t.Labels["kind"] = kind
		t.Labels["chainage"] = fmt.Sprintf("%.0f", f*L)
		out = append(out, t)
	}
	sides := []struct {
		name string
		off  float64
	}{{"north", 16}, {"south", -16}}
	for i := 0; i < 16; i++ {
		f := 0.04 + 0.92*float64(i)/15
		for j, part := range []string{"north girder", "south girder", "cross-frame"} {
			off := []float64{16, -16, 0}[j]
			add(fmt.Sprintf("tm-sg-%02d", i*3+j+1), "strain", fmt.Sprintf("Strain gauge, section %d, %s (ch %.0f m)", i+1, part, f*L), f, off)
		}
	}
	for i := 0; i < 12; i++ {
		f := 0.06 + 0.88*float64(i)/11
		for j, s := range sides {
			add(fmt.Sprintf("tm-ac-%02d", i*2+j+1), "acceleration", fmt.Sprintf("Accelerometer (vertical RMS), section %d, %s (ch %.0f m)", i+1, s.name, f*L), f, s.off)
		}
	}
	for j, s := range sides {
		add("tm-dj-mawan-"+s.name[:1], "displacement", "Expansion joint, Ma Wan abutment, "+s.name, 0.005, s.off)
		add("tm-dj-tsingyi-"+s.name[:1], "displacement", "Expansion joint, Tsing Yi abutment, "+s.name, 0.995, s.off)
		add("tm-brg-mawan-"+s.name[:1], "displacement", "Bearing, Ma Wan tower, "+s.name, 0.181, s.off)
		add("tm-brg-tsingyi-"+s.name[:1], "displacement", "Bearing, Tsing Yi tower, "+s.name, 0.819, s.off)
		add("tm-dv-mid-"+s.name[:1], "displacement", "Vertical deflection, midspan, "+s.name, 0.5, s.off)
		add("tm-dv-qtr-"+s.name[:1], "displacement", "Vertical deflection, Tsing Yi quarter span, "+s.name, 0.66, s.off)
		_ = j
	}
	for i := 0; i < 12; i++ {
		f := 0.06 + 0.88*float64(i)/11
		add(fmt.Sprintf("tm-tc-%02d", i*2+1), "temperature", fmt.Sprintf("Deck steel temperature, section %d (ch %.0f m)", i+1, f*L), f, 8)
		add(fmt.Sprintf("tm-tc-%02d", i*2+2), "air-temperature", fmt.Sprintf("Air temperature, section %d (ch %.0f m)", i+1, f*L), f, -8)
	}
	for i, f := range []float64{0.181, 0.35, 0.5, 0.65, 0.819} {
		add(fmt.Sprintf("tm-an-%02d", i+1), "wind", fmt.Sprintf("Anemometer, deck level north (ch %.0f m)", f*L), f, 22)
	}
	add("tm-an-06", "wind", "Anemometer, Ma Wan tower top (206 m)", 0.181, 0)
	add("tm-an-07", "wind", "Anemometer, Tsing Yi tower top (206 m)", 0.819, 0)
	add("tm-an-08", "wind", "Anemometer, deck level south, midspan", 0.5, -22)
	return bridge, out
}

// Road graph: hand-placed waypoints on Hong Kong's trunk roads. Vehicles
// drive straight between waypoints; a test checks that the legs stay on
// land except where they are a tunnel or a bridge.
type roadNode struct {
	name string
	pos  LonLat
}

type roadEdge struct {
	to    int
	km    float64
	kind  string // road, highway, tunnel, bridge
	speed float64
}

type roadGraph struct {
	nodes []roadNode
	adj   [][]roadEdge
	index map[string]int
}

var roadNodes = []roadNode{
	{"Kwu Tung", LonLat{114.1010, 22.5005}}, {"Lok Ma Chau", LonLat{114.0760, 22.5060}}, {"San Tin", LonLat{114.0780, 22.4930}},
	{"Sheung Shui", LonLat{114.1280, 22.5010}}, {"Fanling", LonLat{114.1400, 22.4920}}, {"Tai Po", LonLat{114.1680, 22.4470}},
	{"Tai Po Kau", LonLat{114.1840, 22.4270}}, {"Ma Liu Shui", LonLat{114.2050, 22.4130}}, {"Sha Tin", LonLat{114.1880, 22.3820}},
	{"Tai Wai", LonLat{114.1780, 22.3730}}, {"Kowloon Tong", LonLat{114.1770, 22.3370}}, {"Ma On Shan", LonLat{114.2320, 22.4240}},
	{"Sai Kung", LonLat{114.2700, 22.3820}}, {"Tseung Kwan O", LonLat{114.2600, 22.3130}}, {"Lam Tin", LonLat{114.2350, 22.3070}},
	{"Kwun Tong", LonLat{114.2250, 22.3130}}, {"Kowloon Bay", LonLat{114.2090, 22.3230}}, {"To Kwa Wan", LonLat{114.1900, 22.3180}},
	{"Mong Kok", LonLat{114.1700, 22.3190}}, {"Tsim Sha Tsui", LonLat{114.1720, 22.2990}}, {"Hung Hom", LonLat{114.1830, 22.3040}},
	{"Sham Shui Po", LonLat{114.1600, 22.3310}}, {"Lai Chi Kok", LonLat{114.1450, 22.3370}}, {"Kwai Chung", LonLat{114.1300, 22.3580}},
	{"Tsuen Wan", LonLat{114.1150, 22.3720}}, {"Tsing Yi", LonLat{114.1040, 22.3560}}, {"Ma Wan", LonLat{114.0620, 22.3480}},
	{"Sunny Bay", LonLat{114.0290, 22.3310}}, {"Siu Ho Wan", LonLat{113.9900, 22.3050}}, {"Tung Chung", LonLat{113.9430, 22.2890}},
	{"Mui Wo", LonLat{114.0000, 22.2650}}, {"Sham Tseng", LonLat{114.0600, 22.3680}}, {"Tuen Mun", LonLat{113.9750, 22.3920}},
	{"Yuen Long", LonLat{114.0250, 22.4450}}, {"Tin Shui Wai", LonLat{114.0030, 22.4600}}, {"Kam Tin", LonLat{114.0600, 22.4450}},
	{"Ting Kau", LonLat{114.0800, 22.3700}}, {"Causeway Bay", LonLat{114.1830, 22.2800}}, {"Wan Chai", LonLat{114.1720, 22.2780}},
	{"Central", LonLat{114.1580, 22.2820}}, {"Sheung Wan", LonLat{114.1500, 22.2860}}, {"Kennedy Town", LonLat{114.1280, 22.2820}},
	{"Pok Fu Lam", LonLat{114.1370, 22.2630}}, {"Aberdeen", LonLat{114.1550, 22.2480}}, {"Wong Chuk Hang", LonLat{114.1680, 22.2478}},
	{"Happy Valley", LonLat{114.1830, 22.2700}}, {"North Point", LonLat{114.2000, 22.2910}}, {"Quarry Bay", LonLat{114.2120, 22.2870}},
	{"Shau Kei Wan", LonLat{114.2280, 22.2790}}, {"Chai Wan", LonLat{114.2370, 22.2650}}, {"Stanley", LonLat{114.2120, 22.2190}},
	{"Repulse Bay", LonLat{114.1965, 22.2367}}, {"West Kowloon", LonLat{114.1600, 22.3050}}, {"Sai Ying Pun", LonLat{114.1420, 22.2870}},
	{"Wu Kai Sha", LonLat{114.2178, 22.4048}}, {"Hiram's Highway", LonLat{114.2504, 22.3556}}, {"Kai Tak", LonLat{114.1966, 22.3214}},
	{"Tai Kok Tsui", LonLat{114.1603, 22.3156}}, {"Yam O", LonLat{114.0241, 22.3270}}, {"Tai Ho", LonLat{113.9772, 22.3015}},
	{"Deep Water Bay", LonLat{114.1861, 22.2458}}, {"Chung Hom Kok Road", LonLat{114.2042, 22.2278}},
}

var roadEdges = []struct {
	a, b, kind string
}{
	{"Kwu Tung", "Lok Ma Chau", "road"}, {"Lok Ma Chau", "San Tin", "road"}, {"Kwu Tung", "Sheung Shui", "road"}, {"Sheung Shui", "Fanling", "road"},
	{"Fanling", "Tai Po", "highway"}, {"Tai Po", "Tai Po Kau", "highway"}, {"Tai Po Kau", "Ma Liu Shui", "highway"}, {"Ma Liu Shui", "Sha Tin", "highway"},
	{"Sha Tin", "Tai Wai", "road"}, {"Tai Wai", "Kowloon Tong", "tunnel"}, {"Sha Tin", "Wu Kai Sha", "road"}, {"Wu Kai Sha", "Ma On Shan", "road"},
	{"Ma On Shan", "Sai Kung", "road"}, {"Sai Kung", "Hiram's Highway", "road"}, {"Hiram's Highway", "Tseung Kwan O", "road"}, {"Tseung Kwan O", "Lam Tin", "tunnel"}, {"Lam Tin", "Kwun Tong", "road"},
	{"Kwun Tong", "Kowloon Bay", "road"}, {"Kowloon Bay", "Kai Tak", "road"}, {"Kai Tak", "To Kwa Wan", "road"}, {"Kowloon Bay", "Kowloon Tong", "road"}, {"To Kwa Wan", "Hung Hom", "road"},
	{"To Kwa Wan", "Mong Kok", "road"}, {"Mong Kok", "Kowloon Tong", "road"}, {"Mong Kok", "Tsim Sha Tsui", "road"}, {"Tsim Sha Tsui", "Hung Hom", "road"},
	{"Mong Kok", "Sham Shui Po", "road"}, {"Sham Shui Po", "Lai Chi Kok", "road"}, {"Lai Chi Kok", "Kwai Chung", "highway"}, {"Kwai Chung", "Tsuen Wan", "highway"},
	{"Kwai Chung", "Tsing Yi", "bridge"}, {"Tsing Yi", "Ma Wan", "bridge"}, {"Ma Wan", "Sunny Bay", "bridge"}, {"Sunny Bay", "Yam O", "highway"}, {"Yam O", "Siu Ho Wan", "highway"},
	{"Siu Ho Wan", "Tai Ho", "highway"}, {"Tai Ho", "Tung Chung", "highway"}, {"Tung Chung", "Mui Wo", "road"}, {"Tsuen Wan", "Ting Kau", "highway"}, {"Ting Kau", "Sham Tseng", "highway"},
	{"Sham Tseng", "Tuen Mun", "highway"}, {"Tuen Mun", "Yuen Long", "highway"}, {"Yuen Long", "Tin Shui Wai", "road"}, {"Yuen Long", "Kam Tin", "road"},
	{"Kam Tin", "San Tin", "highway"}, {"Kam Tin", "Ting Kau", "tunnel"}, {"Tsuen Wan", "Tai Wai", "tunnel"}, {"West Kowloon", "Mong Kok", "road"},
	{"West Kowloon", "Tsim Sha Tsui", "road"}, {"West Kowloon", "Tai Kok Tsui", "highway"}, {"Tai Kok Tsui", "Lai Chi Kok", "highway"}, {"West Kowloon", "Sai Ying Pun", "tunnel"}, {"Hung Hom", "Causeway Bay", "tunnel"},
	{"Lam Tin", "Quarry Bay", "tunnel"}, {"Causeway Bay", "Wan Chai", "road"}, {"Wan Chai", "Central", "road"}, {"Central", "Sheung Wan", "road"},
	{"Sheung Wan", "Sai Ying Pun", "road"}, {"Sai Ying Pun", "Kennedy Town", "road"}, {"Kennedy Town", "Pok Fu Lam", "road"}, {"Pok Fu Lam", "Aberdeen", "road"},
	{"Aberdeen", "Wong Chuk Hang", "road"}, {"Wong Chuk Hang", "Happy Valley", "tunnel"}, {"Happy Valley", "Causeway Bay", "road"}, {"Causeway Bay", "North Point", "road"},
	{"North Point", "Quarry Bay", "road"}, {"Quarry Bay", "Shau Kei Wan", "road"}, {"Shau Kei Wan", "Chai Wan", "road"}, {"Wong Chuk Hang", "Deep Water Bay", "road"}, {"Deep Water Bay", "Repulse Bay", "road"},
	{"Repulse Bay", "Chung Hom Kok Road", "road"}, {"Chung Hom Kok Road", "Stanley", "road"}, {"Stanley", "Chai Wan", "road"}, {"Fanling", "Sha Tin", "highway"},
}

func newRoadGraph() *roadGraph {
	g := &roadGraph{nodes: roadNodes, adj: make([][]roadEdge, len(roadNodes)), index: map[string]int{}}
	for i, n := range roadNodes {
		g.index[n.name] = i
	}
	speeds := map[string]float64{"road": 32, "highway": 70, "tunnel": 60, "bridge": 70}
	for _, e := range roadEdges {
		a, ok1 := g.index[e.a]
		b, ok2 := g.index[e.b]
		if !ok1 || !ok2 {
			panic("sim: road graph names " + e.a + " / " + e.b) // static table; a test covers it
		}
		km := distM(roadNodes[a].pos, roadNodes[b].pos) / 1000 * 1.25 // roads wind
		g.adj[a] = append(g.adj[a], roadEdge{b, km, e.kind, speeds[e.kind]})
		g.adj[b] = append(g.adj[b], roadEdge{a, km, e.kind, speeds[e.kind]})
	}
	return g
}

func (g *roadGraph) nearest(p LonLat) (int, float64) {
	best, bd := 0, math.Inf(1)
	for i, n := range g.nodes {
		if d := distM(p, n.pos); d < bd {
			best, bd = i, d
		}
	}
	return best, bd
}

// leg is a straight piece of a route.
type leg struct {
	a, b  LonLat
	km    float64
	speed float64 // km/h
	kind  string
}

type pqItem struct {
	n int
	d float64
}
type pq []pqItem

func (q pq) Len() int           { return len(q) }
func (q pq) Less(i, j int) bool { return q[i].d < q[j].d || q[i].d == q[j].d && q[i].n < q[j].n }
func (q pq) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *pq) Push(x any)        { *q = append(*q, x.(pqItem)) }
func (q *pq) Pop() any          { o := *q; x := o[len(o)-1]; *q = o[:len(o)-1]; return x }

// path returns the legs from p to q through the graph (time-shortest).
func (g *roadGraph) path(p, q LonLat) []leg {
	s, _ := g.nearest(p)
	t, _ := g.nearest(q)
	dist := make([]float64, len(g.nodes))
	prev := make([]int, len(g.nodes))
	via := make([]roadEdge, len(g.nodes))
	for i := range dist {
		dist[i], prev[i] = math.Inf(1), -1
	}
	dist[s] = 0
	h := &pq{{s, 0}}
	for h.Len() > 0 {
		it := heap.Pop(h).(pqItem)
		if it.d > dist[it.n] {
			continue
		}
		for _, e := range g.adj[it.n] {
			if d := it.d + e.km/e.speed; d < dist[e.to] {
				dist[e.to], prev[e.to], via[e.to] = d, it.n, e
				heap.Push(h, pqItem{e.to, d})
			}
		}
	}
	var nodes []int
	for n := t; n != -1; n = prev[n] {
		nodes = append(nodes, n)
	}
	var legs []leg
	stub := func(a, b LonLat) {
		if km := distM(a, b) / 1000; km > 0.001 {
			legs = append(legs, leg{a, b, km * 1.2, 22, "street"})
		}
	}
	stub(p, g.nodes[s].pos)
	for i := len(nodes) - 1; i > 0; i-- {
		a, b := nodes[i], nodes[i-1]
		e := via[b]
		legs = append(legs, leg{g.nodes[a].pos, g.nodes[b].pos, e.km, e.speed, e.kind})
	}
	stub(g.nodes[t].pos, q)
	return legs
}

// onLandFraction samples a straight segment and returns the share of
// samples on land.
func onLandFraction(l *Land, a, b LonLat, n int) float64 {
	on := 0
	for i := 0; i <= n; i++ {
		f := float64(i) / float64(n)
		if l.Contains(LonLat{a[0] + f*(b[0]-a[0]), a[1] + f*(b[1]-a[1])}) {
			on++
		}
	}
	return float64(on) / float64(n+1)
}

type stop struct {
	id   string
	pos  LonLat
	svc  float64 // service minutes
	name string
}

func (w *World) buildLogistics(rng *rand.Rand, in *Inputs, lab func(string) map[string]string, hubs, mid, leaf *[]Twin) error {
	g := newRoadGraph()
	w.graph = g
	w.depot = LonLat{114.1030, 22.4985}
	depotID := "depot-kwu-tung"
	*hubs = append(*hubs, Twin{ID: depotID, Type: "depot", Name: "Kwu Tung North logistics depot (Northern Metropolis)",
		Properties: map[string]any{"opens": "00:00", "closes": "23:59"}, Geometry: point(w.depot), Labels: lab("fleet")})
	*hubs = append(*hubs, Twin{ID: "wh-kwu-tung", Type: "warehouse", Name: "Kwu Tung North warehouse",
		Properties: map[string]any{"capacity": 42000.0}, Geometry: point(offset(w.depot, 120, 60)), Labels: lab("fleet")})
	reachable := func(p LonLat) bool {
		if !in.Land.Contains(p) {
			return false
		}
		n, d := g.nearest(p)
		return d < 6000 && onLandFraction(in.Land, p, g.nodes[n].pos, 24) >= 0.9
	}
	var stops []stop
	for _, po := range in.PostOffices {
		if reachable(po.Pos) {
			stops = append(stops, stop{id: "stop-" + slug(po.Name), pos: po.Pos, name: po.Name})
		}
	}
	if len(stops) < 40 {
		return fmt.Errorf("sim: only %d post offices reachable by road", len(stops))
	}
	// Pad with parcel lockers a few hundred metres from the post offices.
	base := len(stops)
	for i, tries := 0, 0; len(stops) < 220 && tries < 5000; tries++ {
		po := stops[i%base]
		ang := rng.Float64() * 2 * math.Pi
		r := 200 + rng.Float64()*500
		p := offset(po.pos, r*math.Cos(ang), r*math.Sin(ang))
		if !reachable(p) {
			continue
		}
		i++
		stops = append(stops, stop{id: fmt.Sprintf("stop-locker-%03d", len(stops)-base+1), pos: p, name: "Parcel locker near " + po.name})
	}
	for i := range stops {
		stops[i].svc = float64(5 + rng.IntN(11))
	}
	sort.Slice(stops, func(i, j int) bool { return stops[i].id < stops[j].id })
	w.stops = stops
	for _, s := range stops {
		*mid = append(*mid, Twin{ID: s.id, Type: "delivery-stop", Name: s.name, Geometry: point(s.pos),
			Properties:    map[string]any{"demand": float64(20 + rng.IntN(300)), "serviceTime": s.svc},
			Relationships: map[string][]string{"servedFrom": {depotID}}, Labels: lab("fleet")})
	}
	// Routes: stops sorted by bearing from the territory's centre, cut into
	// one contiguous group per vehicle, visited nearest-first.
	const nVeh = 36
	order := make([]int, len(stops))
	for i := range order {
		order[i] = i
	}
	ang := func(p LonLat) float64 { x, y := toKM(p); return math.Atan2(y, x) }
	sort.SliceStable(order, func(i, j int) bool { return ang(stops[order[i]].pos) < ang(stops[order[j]].pos) })
	for v := 0; v < nVeh; v++ {
		grp := order[v*len(order)/nVeh : (v+1)*len(order)/nVeh]
		var route []int
		used := make([]bool, len(grp))
		cur := w.depot
		for range grp {
			bi, bd := -1, math.Inf(1)
			for k, si := range grp {
				if !used[k] {
					if d := distM(cur, stops[si].pos); d < bd {
						bi, bd = k, d
					}
				}
			}
			used[bi] = true
			route = append(route, grp[bi])
			cur = stops[grp[bi]].pos
		}
		fuel := "diesel"
		if v%4 == 3 {
			fuel = "electric"
		}
		id := fmt.Sprintf("veh-%02d", v+1)
		plate := fmt.Sprintf("T%c %04d", 'A'+rune(rng.IntN(26)), 1000+rng.IntN(9000))
		*leaf = append(*leaf, Twin{ID: id, Type: "vehicle", Name: fmt.Sprintf("Van %02d (%s)", v+1, plate),
			Properties:    map[string]any{"capacity": 2500.0, "fuel": fuel, "plate": plate},
			Geometry:      point(w.depot),
			Relationships: map[string][]string{"basedAt": {depotID}}, Labels: lab("fleet")})
		w.fleet = append(w.fleet, &vehicle{id: id, electric: fuel == "electric", route: route, pos: w.depot, level: 60 + 40*rng.Float64(),
			engine: 30, dwell: float64(v) * 90, stopIdx: -1})
	}
	skus := []string{"parcel-s", "parcel-m", "parcel-l", "cold-chain-box", "pallet-wrap", "label-roll", "tote", "returns-bag"}
	for i := 0; i < 24; i++ {
		sku := fmt.Sprintf("%s-%02d", skus[i%len(skus)], i/len(skus)+1)
		rate := 40 + rng.Float64()*160
		rp := math.Round(rate * 2.5)
		*leaf = append(*leaf, Twin{ID: "sku-" + sku, Type: "stock-item", Name: "Stock: " + sku,
			Properties:    map[string]any{"sku": sku, "unitCost": math.Round(rng.Float64()*400) / 10, "leadTime": 2.0, "reorderPoint": rp},
			Relationships: map[string][]string{"storedAt": {"wh-kwu-tung"}}, Labels: lab("fleet")})
		w.items = append(w.items, &stockItem{id: "sku-" + sku, rate: rate, reorder: rp, order: math.Round(rate * 7), level: rp + rate*3*rng.Float64()})
	}
	return nil
}

func (w *World) buildDataCentre(rng *rand.Rand, in *Inputs, lab func(string) map[string]string, hubs, mid, leaf *[]Twin) {
	w.hall = "dc-cyberport-hall-1"
	*hubs = append(*hubs, Twin{ID: w.hall, Type: "data-hall", Name: "Cyberport data hall 1", Geometry: point(in.Cyberport),
		Properties: map[string]any{"designLoad": 1200.0, "tier": "III"}, Labels: lab("datacentre")})
	rows := []string{"A", "B", "C", "D", "E"}
	for i := 0; i < 6; i++ {
		id := fmt.Sprintf("crah-%d", i+1)
		*mid = append(*mid, Twin{ID: id, Type: "cooling-unit", Name: fmt.Sprintf("CRAH-%d", i+1),
			Properties: map[string]any{"ratedCapacity": 300.0}, Relationships: map[string][]string{"in": {w.hall}}, Labels: lab("datacentre")})
		w.cooling = append(w.cooling, &coolingUnit{id: id, health: 1})
	}
	for r, row := range rows {
		for p := 1; p <= 8; p++ {
			gpu := row == "B" || row == "C" || (row == "D" && p <= 4)
			id := fmt.Sprintf("rack-%s%02d", strings.ToLower(row), p)
			cus := []string{fmt.Sprintf("crah-%d", r+1), fmt.Sprintf("crah-%d", r+2)}
			*leaf = append(*leaf, Twin{ID: id, Type: "rack", Name: fmt.Sprintf("Rack %s%02d", row, p),
				Properties:    map[string]any{"row": row, "position": p, "gpu": gpu},
				Relationships: map[string][]string{"in": {w.hall}, "cooledBy": cus}, Labels: lab("datacentre")})
			base := 6 + 4*rng.Float64()
			if gpu {
				base = 30 + 6*rng.Float64()
			}
			w.racks = append(w.racks, &rack{id: id, cu: [2]int{r, r + 1}, base: base, gpu: gpu, inlet: 23 + rng.Float64()})
		}
	}
	for i := 0; i < 4; i++ {
		id := fmt.Sprintf("gpu-pod-%d", i+1)
		*leaf = append(*leaf, Twin{ID: id, Type: "compute-cluster", Name: fmt.Sprintf("GPU pod %d", i+1),
			Properties:    map[string]any{"gpus": int64(128), "model": "H-class accelerator (generic)"},
			Relationships: map[string][]string{"in": {w.hall}, "cooledBy": {fmt.Sprintf("crah-%d", i+2), fmt.Sprintf("crah-%d", i+3)}}, Labels: lab("datacentre")})
		w.clusters = append(w.clusters, &cluster{id: id, util: 88 + 4*rng.Float64(), gpus: 128})
	}
}
