package landslide

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// StandardWindows are the rolling windows of the Hong Kong warning practice.
var StandardWindows = []time.Duration{time.Hour, 3 * time.Hour, 12 * time.Hour, 24 * time.Hour, 72 * time.Hour}

// Errors of the streaming rainfall types.
var (
	ErrOutOfOrder = errors.New("landslide: sample older than the current interval")
	ErrBadSample  = errors.New("landslide: invalid rainfall sample")
)

// microMM is the fixed-point unit of Rolling: sums are kept in integer
// micrometres so that adding and removing samples never drifts.
const microMM = 1000.0

// Rolling keeps rolling rainfall accumulations over several windows,
// updated per sample in O(number of windows) time and constant memory: a
// ring of per-interval totals (the interval is the resolution, e.g. 5 min
// or 1 h) and, per window, the running total and the count of intervals
// with no data. Intervals skipped by a gap count as missing (rain 0).
// Not safe for concurrent use.
type Rolling struct {
	res     time.Duration
	windows []time.Duration
	k       []int   // intervals per window
	ring    []int64 // per-interval totals, µm
	seen    []bool  // interval had at least one sample
	sum     []int64 // per-window totals, µm
	missing []int   // per-window count of intervals without a sample
	cur     int64   // index of the current interval (time / res)
	started bool
}

// NewRolling returns a Rolling with interval res and the given windows,
// each a positive multiple of res.
func NewRolling(res time.Duration, windows []time.Duration) (*Rolling, error) {
	if res <= 0 || len(windows) == 0 {
		return nil, fmt.Errorf("%w: resolution %v, %d windows", ErrBadParams, res, len(windows))
	}
	r := &Rolling{res: res, windows: append([]time.Duration(nil), windows...)}
	maxK := 0
	for _, w := range windows {
		if w <= 0 || w%res != 0 {
			return nil, fmt.Errorf("%w: window %v is not a positive multiple of %v", ErrBadParams, w, res)
		}
		k := int(w / res)
		if k > 1<<22 {
			return nil, fmt.Errorf("%w: window %v too long for resolution %v", ErrBadParams, w, res)
		}
		r.k = append(r.k, k)
		maxK = max(maxK, k)
	}
	r.ring = make([]int64, maxK)
	r.seen = make([]bool, maxK)
	r.sum = make([]int64, len(windows))
	r.missing = make([]int, len(windows))
	return r, nil
}

// Windows returns the windows in the order of Sums.
func (r *Rolling) Windows() []time.Duration { return r.windows }

func (r *Rolling) slot(idx int64) int {
	m := int64(len(r.ring))
	return int(((idx % m) + m) % m)
}

// advance moves the current interval to idx, retiring intervals that leave
// each window. Long gaps cost at most one pass over the ring.
func (r *Rolling) advance(idx int64) {
	steps := idx - r.cur
	if steps > int64(len(r.ring)) {
		// Everything is retired: reset to an all-missing history.
		for i := range r.ring {
			r.ring[i], r.seen[i] = 0, false
		}
		for w := range r.sum {
			r.sum[w] = 0
			r.missing[w] = r.k[w]
		}
		r.cur = idx
		return
	}
	for ; steps > 0; steps-- {
		r.cur++
		for w, k := range r.k {
			old := r.slot(r.cur - int64(k)) // the interval leaving window w
			r.sum[w] -= r.ring[old]
			if !r.seen[old] {
				r.missing[w]--
			}
		}
		s := r.slot(r.cur)
		r.ring[s], r.seen[s] = 0, false
		for w := range r.missing {
			r.missing[w]++
		}
	}
}

// Add records mm of rain at time t (the amount fallen in the interval
// containing t; several samples in one interval add up). Samples must not
// go back to an earlier interval. NaN, ±Inf and negative amounts are
// rejected with ErrBadSample and leave the state unchanged.
func (r *Rolling) Add(t time.Time, mm float64) error {
	if math.IsNaN(mm) || math.IsInf(mm, 0) || mm < 0 || mm > 1e6 {
		return fmt.Errorf("%w: %g mm at %v", ErrBadSample, mm, t)
	}
	idx := t.UnixNano() / int64(r.res)
	if t.UnixNano() < 0 && t.UnixNano()%int64(r.res) != 0 {
		idx--
	}
	if !r.started {
		r.started, r.cur = true, idx
		for w := range r.missing {
			r.missing[w] = r.k[w] // the whole window precedes the first sample
		}
	} else if idx < r.cur {
		return fmt.Errorf("%w: %v before interval starting %v", ErrOutOfOrder, t, time.Unix(0, r.cur*int64(r.res)).UTC())
	} else if idx > r.cur {
		r.advance(idx)
	}
	v := int64(math.Round(mm * microMM))
	s := r.slot(r.cur)
	if !r.seen[s] {
		r.seen[s] = true
		for w := range r.missing {
			r.missing[w]--
		}
	}
	r.ring[s] += v
	for w := range r.sum {
		r.sum[w] += v
	}
	return nil
}

// AdvanceTo moves the clock to t without rain data (a silent gauge): the
// intervals up to t count as missing.
func (r *Rolling) AdvanceTo(t time.Time) {
	idx := t.UnixNano() / int64(r.res)
	if r.started && idx > r.cur {
		r.advance(idx)
	}
}

// Sums returns the accumulations (mm) over each window ending with the
// current interval, in the order of Windows. dst is reused if large enough.
func (r *Rolling) Sums(dst []float64) []float64 {
	dst = dst[:0]
	for _, s := range r.sum {
		dst = append(dst, float64(s)/microMM)
	}
	return dst
}

// Missing returns, per window, the fraction of intervals with no sample.
func (r *Rolling) Missing(dst []float64) []float64 {
	dst = dst[:0]
	for w, m := range r.missing {
		dst = append(dst, float64(m)/float64(r.k[w]))
	}
	return dst
}
