package anomaly

// histCache is derived from one view's histogram (st.Hist[k]) so that the
// calibration need not scan the histogram on every sample. It is not part
// of the checkpoint: New, UnmarshalBinary and rescale rebuild it, and every
// addition to the histogram goes through added. Its zero value is valid
// (it then knows nothing and the searches start from the top bin).
//
// It changes no result: a cursor holds partial sums computed by the same
// floating-point additions, in the same order, as the scan it replaces
// (there is no running total to drift), the body's sums skip only bins
// that are exactly zero, and the group sums, which do drift, only bound a
// probability from below (with a margin for the drift, and summed afresh
// every groupRebuild additions) to show that its exact value is not needed.
// TestCacheMatchesScan compares scores and states with the plain scans.
type histCache struct {
	// adds counts the additions to grp since rebuildGroups; grp is valid
	// when grpOK, for fewer than groupRebuild additions.
	adds uint16
	// zeroLo and zeroHi count bins known to be +0 at the bottom and at the
	// top of the histogram.
	zeroLo, zeroHi uint8
	grpOK          bool
	tail           tailCursor // the 1−TailMass quantile's bin (bins 1…nBins−1)
	// grp[g] is the mass of the bins of group g (groupBins·g …), kept up
	// to date by adding each increment, so only approximately their sum
	// (see bodyProbLow).
	grp [nGroups]float64
	// 128 bytes, in two cache lines: the first holds everything but
	// grp[4:], so that an update of a statistic in the lowest 32 bins
	// (like the range view's zeros) reads one line. The cursor of a
	// zero-inflated view's positive part is kept apart (Detector.posTail),
	// since few samples use it.
}

// Groups of bins for bodyProbLow.
const (
	groupBins    = 8
	nGroups      = nBins / groupBins
	groupRebuild = 1024
)

// rebuildGroups sums the groups afresh.
func (c *histCache) rebuildGroups(h *[nBins]float64) {
	for g := range nGroups {
		sum := 0.0
		for _, x := range h[g*groupBins : (g+1)*groupBins] {
			sum += x
		}
		c.grp[g] = sum
	}
	c.adds, c.grpOK = 0, true
}

// tailCursor resumes the scan from the top bin down. With j = nBins − n,
// at is h[nBins−1] + … + h[j] and above is h[nBins−1] + … + h[j+1], each
// added in that order from 0, exactly as the scan adds them; j = nBins
// (n = 0) is the scan's start, both sums 0. The partial sums never
// decrease going down (the bins are non-negative and rounding is
// monotone), so the scan's answer, the first j from the top whose sum
// reaches need, is the largest such j: when above < need ≤ at, it is j.
type tailCursor struct {
	above, at float64
	n         uint8
}

// find returns the largest j ≥ lo with h[nBins−1] + … + h[j] ≥ need, or
// lo−1 if there is none, as the scan from the top bin down does, and
// leaves the cursor at the answer (at lo when there is none). lo ≥ 1.
func (c *tailCursor) find(h *[nBins]float64, need float64, lo int) int {
	j := nBins - int(c.n)
	if j < nBins-1 && c.above >= need {
		// The answer lies above j (the top bins gained mass): start over.
		j, c.above, c.at = nBins, 0, 0
	}
	for j == nBins || c.at < need {
		if j == lo {
			c.n = uint8(nBins - j)
			return lo - 1
		}
		j--
		c.above = c.at
		c.at += h[j]
	}
	c.n = uint8(nBins - j)
	return j
}

// added updates the cursor after h[b] changed: a bin below the cursor
// changes neither sum, the cursor's own bin changes at (recomputed with the
// scan's addition), and a bin above it changes both (the cursor restarts
// from the top).
func (c *tailCursor) added(h *[nBins]float64, b int) {
	switch j := nBins - int(c.n); {
	case b < j:
	case b == j:
		c.at = c.above + h[b]
	default:
		*c = tailCursor{}
	}
}

// added records that h[b] grew by inc.
func (c *histCache) added(h *[nBins]float64, b int, inc float64) {
	c.tail.added(h, b)
	if c.grpOK {
		c.grp[b/groupBins] += inc
		if c.adds++; c.adds >= groupRebuild {
			c.grpOK = false // summed again when next needed
		}
	}
	c.zeroLo = min(c.zeroLo, uint8(b))
	c.zeroHi = min(c.zeroHi, uint8(nBins-1-b))
}

// rebuildCache derives every view's cache from the histograms, and the
// range view's block extremes.
func (d *Detector) rebuildCache() {
	d.rebuildBlocks()
	for k := range d.cache {
		h := &d.st.Hist[k]
		c := histCache{}
		for c.zeroLo < nBins && h[c.zeroLo] == 0 {
			c.zeroLo++
		}
		for c.zeroHi < nBins && h[nBins-1-int(c.zeroHi)] == 0 {
			c.zeroHi++
		}
		d.cache[k] = c
		d.posTail[k] = tailCursor{}
	}
}
