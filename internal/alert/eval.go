package alert

import (
	"math"
	"time"
)

// phase of a (rule, twin) state machine.
type phase uint8

const (
	inactive phase = iota
	pending        // the condition holds, not yet for the hold duration
	firing         // an alert is open
	clearing       // firing, and the clear condition holds, not yet for ClearFor
)

func (p phase) String() string {
	return [...]string{"inactive", "pending", "firing", "clearing"}[p]
}

// compiled is a rule ready to evaluate.
type compiled struct {
	Rule
	c        cond
	hold     int64 // ms
	clearFor int64 // ms
	window   int64 // ms; 0 for value rules
	per      float64
	maxGap   int64 // ms; 0: holds run across any silence
}

func compile(ru Rule) *compiled {
	k := &compiled{Rule: ru, c: compileCond(&ru), hold: time.Duration(ru.For).Milliseconds(), clearFor: time.Duration(ru.ClearFor).Milliseconds(),
		maxGap: time.Duration(ru.MaxGap).Milliseconds()}
	if ru.Rate != nil {
		k.window = time.Duration(ru.Rate.Window).Milliseconds()
		k.per = time.Duration(ru.Rate.Per).Seconds()
	}
	return k
}

// state is one (rule, twin) state machine.
type state struct {
	phase    phase
	since    int64 // pending: when the condition began; clearing: when clearing began
	start    int64 // when the condition began (kept through firing)
	lastTS   int64
	seen     bool
	alert    *Alert // open alert while firing/clearing
	evidence []Evidence
	first    float64 // the value at firing
	rate     *rateWin
}

// transition is what one sample did to a state machine.
type transition uint8

const (
	none transition = iota
	fire
	clearNow
)

// step feeds one sample to the state machine. x is the sample value;
// for rate rules the machine turns it into a rate first. It returns what
// happened and the value compared (the rate for rate rules).
func (st *state) step(k *compiled, ev Evidence, maxEvidence int) (transition, float64, bool) {
	if st.seen && ev.TS <= st.lastTS {
		return none, 0, false // an old or repeated sample: never goes backwards
	}
	// A silence longer than the rule's maxGap restarts a hold in progress.
	gap := k.maxGap > 0 && st.seen && ev.TS-st.lastTS > k.maxGap
	st.seen, st.lastTS = true, ev.TS
	x := ev.Value
	if k.window > 0 {
		if st.rate == nil {
			st.rate = newRateWin(k.window)
		}
		st.rate.add(ev.TS, ev.Value)
		r, ok := st.rate.slope()
		if !ok {
			return none, 0, false
		}
		x = r * k.per
	}
	switch st.phase {
	case inactive:
		if !k.c.raise(x) {
			return none, x, true
		}
		st.phase, st.since, st.start = pending, ev.TS, ev.TS
		st.evidence = append(st.evidence[:0], ev)
		if ev.TS-st.since >= k.hold {
			st.phase = firing
			st.first = x
			return fire, x, true
		}
	case pending:
		if !k.c.raise(x) {
			st.phase = inactive
			st.evidence = st.evidence[:0]
			return none, x, true
		}
		if gap {
			st.since, st.start = ev.TS, ev.TS
			st.evidence = st.evidence[:0]
		}
		st.evidence = appendBounded(st.evidence, ev, maxEvidence)
		if ev.TS-st.since >= k.hold {
			st.phase = firing
			st.first = x
			return fire, x, true
		}
	case firing, clearing:
		if st.alert != nil && k.c.depth(x) > k.c.depth(derefOr(st.alert.Peak, x)) {
			v := x
			st.alert.Peak = &v
		}
		if !k.c.clear(x) {
			st.phase = firing
			return none, x, true
		}
		if st.phase == firing || gap {
			st.phase, st.since = clearing, ev.TS
		}
		if ev.TS-st.since >= k.clearFor {
			st.phase = inactive
			st.evidence = st.evidence[:0]
			return clearNow, x, true
		}
	}
	return none, x, true
}

func derefOr(p *float64, d float64) float64 {
	if p == nil {
		return d
	}
	return *p
}

// appendBounded keeps the first sample (when the condition began) and the
// newest max-1.
func appendBounded(s []Evidence, ev Evidence, max int) []Evidence {
	if max <= 1 {
		return append(s[:0], ev)
	}
	if len(s) < max {
		return append(s, ev)
	}
	copy(s[1:], s[2:])
	s[len(s)-1] = ev
	return s
}

// rateWin estimates the rate of change of a series over a sliding window
// as the least-squares slope of its samples, in bounded memory: samples
// are summed into aligned buckets of window/rateBuckets, and the sums of
// whole buckets are combined. A bucket partly older than the window is
// kept until it is wholly older, so the effective window is between
// Window and Window*(1+1/rateBuckets).
type rateWin struct {
	window, width int64
	b             []bucket
}

const rateBuckets = 32

// bucket holds the sums of its samples, times in seconds from start.
type bucket struct {
	start, minTS, maxTS int64
	n, st, sv, stt, stv float64
}

func newRateWin(window int64) *rateWin {
	w := (window + rateBuckets - 1) / rateBuckets
	if w < 1 {
		w = 1
	}
	return &rateWin{window: window, width: w}
}

func (r *rateWin) add(ts int64, v float64) {
	start := ts - mod(ts, r.width)
	if n := len(r.b); n == 0 || r.b[n-1].start != start {
		r.b = append(r.b, bucket{start: start, minTS: ts})
	}
	b := &r.b[len(r.b)-1]
	t := float64(ts-b.start) / 1000
	b.n++
	b.st += t
	b.sv += v
	b.stt += t * t
	b.stv += t * v
	b.maxTS = ts
	// Drop buckets wholly older than the window.
	i := 0
	for i < len(r.b)-1 && r.b[i].start+r.width <= ts-r.window {
		i++
	}
	if i > 0 {
		r.b = append(r.b[:0], r.b[i:]...)
	}
}

func mod(a, b int64) int64 {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}

// slope returns the least-squares slope per second, once the samples span
// at least half the window.
func (r *rateWin) slope() (float64, bool) {
	if len(r.b) == 0 {
		return 0, false
	}
	first, last := r.b[0], r.b[len(r.b)-1]
	if last.maxTS-first.minTS < r.window/2 || last.maxTS == first.minTS {
		return 0, false
	}
	// Shift every bucket's sums to a common origin (the newest bucket).
	var n, st, sv, stt, stv float64
	for _, b := range r.b {
		d := float64(b.start-last.start) / 1000
		n += b.n
		st += b.st + b.n*d
		sv += b.sv
		stt += b.stt + 2*d*b.st + b.n*d*d
		stv += b.stv + d*b.sv
	}
	den := n*stt - st*st
	if n < 2 || !(den > 0) {
		return 0, false
	}
	s := (n*stv - st*sv) / den
	if math.IsNaN(s) || math.IsInf(s, 0) {
		return 0, false
	}
	return s, true
}
