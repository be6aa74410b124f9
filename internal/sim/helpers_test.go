package sim

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/tsingma/tsingma/internal/testenv"
)

func loadInputs(t testing.TB) *Inputs {
	t.Helper()
	dir := testenv.Dataset(t, "hk")
	in, err := LoadInputs(dir)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

var testStart = time.Date(2026, 6, 7, 0, 0, 0, 0, time.UTC)

// syntheticInputs is a made-up territory (no land polygon: everything is
// land) so that the generator can be tested without the datasets.
func syntheticInputs() *Inputs {
	r := rand.New(rand.NewPCG(1, 2))
	in := &Inputs{}
	g := newRoadGraph()
	for i := 0; i < 260; i++ {
		n := g.nodes[i%len(g.nodes)].pos
		in.Slopes = append(in.Slopes, SlopeSite{SlopeNo: fmt.Sprintf("11SW-A/C%d", i), FeatureType: []string{"Soil Cut", "Fill Slope", "Rock Cut"}[i%3],
			Incidents: 1 + r.IntN(8), Pos: offset(n, 300*r.NormFloat64(), 300*r.NormFloat64())})
	}
	for i := 0; i < 35; i++ {
		in.Stations = append(in.Stations, Place{Name: fmt.Sprintf("Station %02d", i), Pos: offset(g.nodes[(i*3)%len(g.nodes)].pos, 200, 100)})
	}
	for i := 0; i < 60; i++ {
		in.PostOffices = append(in.PostOffices, Place{Name: fmt.Sprintf("Post Office %02d", i), Pos: offset(g.nodes[i%len(g.nodes)].pos, 400, -300)})
	}
	in.Bridge = []LonLat{{114.064158, 22.348474}, {114.0678, 22.34949}, {114.080612, 22.353064}, {114.084256, 22.354081}}
	in.Towers = [2]LonLat{{114.0678, 22.34949}, {114.080612, 22.353064}}
	in.Cyberport = LonLat{114.1302139, 22.261806}
	in.SanTin = [][]LonLat{{{114.062, 22.508}, {114.092, 22.508}, {114.092, 22.53}, {114.062, 22.53}, {114.062, 22.508}}}
	return in
}
