package nab

import (
	"hash/fnv"
	"sort"
)

// Halves is the fixed held-out split of the corpus used to choose the
// detector's design and settings honestly: it maps every series name to "a"
// (the tuning half) or "b" (the held-out half). The split is stratified by
// category: within a category the series are ordered by the 32-bit FNV-1a
// hash of their name ("<category>/<file>.csv", ties by name) and
// alternate a, b, a, b... It depends on nothing but the names, so it is the
// same on every machine and for every detector.
func (c *Corpus) Halves() map[string]string {
	byCat := map[string][]string{}
	for _, s := range c.Series {
		byCat[s.Category()] = append(byCat[s.Category()], s.Name)
	}
	hash := func(s string) uint32 {
		h := fnv.New32a()
		h.Write([]byte(s))
		return h.Sum32()
	}
	out := map[string]string{}
	for _, names := range byCat {
		sort.Slice(names, func(i, j int) bool {
			hi, hj := hash(names[i]), hash(names[j])
			if hi != hj {
				return hi < hj
			}
			return names[i] < names[j]
		})
		for i, n := range names {
			out[n] = string(rune('a' + i%2))
		}
	}
	return out
}

// SelectHalf returns a corpus with only the series of the given half ("a"
// or "b"; see Halves); "" returns c itself. The series are shared, not
// copied.
func (c *Corpus) SelectHalf(half string) *Corpus {
	if half == "" {
		return c
	}
	h := c.Halves()
	out := &Corpus{Profiles: c.Profiles}
	for _, s := range c.Series {
		if h[s.Name] == half {
			out.Series = append(out.Series, s)
		}
	}
	return out
}
