package sim

import (
	"testing"
)

// TestRoadsOnLand checks the hand-placed road graph against the HK land
// polygon: every leg that is not a tunnel or a bridge must run over land
// (sampled every ~50 m; a few samples may fall in rivers, nullahs or
// reclamation the 2019 coastline misses).
func TestRoadsOnLand(t *testing.T) {
	in := loadInputs(t)
	g := newRoadGraph()
	for i, n := range g.nodes {
		if !in.Land.Contains(n.pos) {
			t.Errorf("waypoint %s %v is not on land", n.name, n.pos)
		}
		for _, e := range g.adj[i] {
			if e.to < i || e.kind == "tunnel" || e.kind == "bridge" {
				continue
			}
			b := g.nodes[e.to]
			samples := int(distM(n.pos, b.pos)/50) + 2
			if f := onLandFraction(in.Land, n.pos, b.pos, samples); f < 0.9 {
				t.Errorf("road %s – %s (%s): %.0f%% on land, want at least 90%%", n.name, b.name, e.kind, 100*f)
			}
		}
	}
}

func TestRoadGraphConnected(t *testing.T) {
	g := newRoadGraph()
	seen := map[int]bool{0: true}
	stack := []int{0}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, e := range g.adj[n] {
			if !seen[e.to] {
				seen[e.to] = true
				stack = append(stack, e.to)
			}
		}
	}
	for i, n := range g.nodes {
		if !seen[i] {
			t.Errorf("waypoint %s cannot be reached from %s", n.name, g.nodes[0].name)
		}
	}
}
