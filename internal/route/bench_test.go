package route

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkLocalSearch runs the local search from a random solution of a
// 100-stop random instance.
func BenchmarkLocalSearch(b *testing.B) {
	p := randomProblem(17, 100, 25, 60, 500)
	in := newInstance(p, 40)
	rng := rand.New(rand.NewPCG(1, 1))
	ls := newLocalSearch(in, rng, func() bool { return false })
	h := &hgs{in: in, rng: rng, pen: penalties{cap: 100, tw: 1}}
	g := append([]int32(nil), in.clients...)
	b.ReportAllocs()
	var evals int64
	for b.Loop() {
		rng.Shuffle(len(g), func(i, j int) { g[i], g[j] = g[j], g[i] })
		ls.load(h.split(g))
		before := ls.evals
		ls.run(h.pen)
		evals += ls.evals - before
	}
	b.ReportMetric(float64(evals)/float64(b.N), "evals/op")
}
