package govern

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tsingma/tsingma/internal/auth"
	"github.com/tsingma/tsingma/internal/backup"
	"github.com/tsingma/tsingma/internal/bus"
	"github.com/tsingma/tsingma/internal/telemetry"
)

// Drift states (DriftStatus.State).
const (
	DriftNoChampion         = "no-champion"           // the system has no live model
	DriftNoAssessment       = "no-current-assessment" // nothing approved to compare with
	DriftCollectingBaseline = "collecting-baseline"   // approved; waiting for a full baseline window
	DriftCollecting         = "collecting"            // baseline kept; the recent window is not full yet
	DriftStable             = "stable"                // PSI at or below the threshold
	DriftDrifted            = "drift"                 // PSI above the threshold: an incident was recorded
)

// DriftConfig configures a DriftMonitor. Zero values take the defaults.
type DriftConfig struct {
	Registry *Registry // required: assessments are read and incidents recorded here
	Bus      *bus.Bus  // required: score samples are read from the live stream
	// Dir keeps the baselines (drift.json) across restarts; "" keeps them
	// in memory only.
	Dir string
	// Sources maps a system id to the channel suffix of the score series
	// its champion writes ("anomaly" → ".anomaly").
	Sources map[string]string
	// Window is the length, in data time, of the baseline and of the
	// recent window compared with it; default 6h.
	Window time.Duration
	// Bucket is the time resolution of the rolling histogram; default
	// Window/72.
	Bucket time.Duration
	// Min and Max bound the scores (values outside are clamped); default
	// 0 and 1.
	Min, Max float64
	// Threshold on the population stability index above which drift is
	// reported; default 0.25 (the usual "significant shift" level).
	Threshold float64
	// MinSamples in each window before a value is computed; default 2000.
	MinSamples int
	// Every is how often (wall clock) the monitor evaluates; default 15 s
	// (an evaluation reads two registry records and sums the histogram).
	Every  time.Duration
	Logger *slog.Logger
	Now    func() time.Time
}

// Fine histogram: bins on a square-root scale of the score range, so that
// the mass near 0 (most anomaly scores) is resolved finely.
const driftBins = 256

type driftHist [driftBins]uint64

func (h *driftHist) add(o *driftHist) {
	for i := range h {
		h[i] += o[i]
	}
}

func (h *driftHist) total() uint64 {
	var n uint64
	for _, c := range h {
		n += c
	}
	return n
}

// DriftWindow describes a window of scores (data time, ms since 1970).
type DriftWindow struct {
	Count uint64 `json:"count"`
	From  int64  `json:"from,omitempty"`
	To    int64  `json:"to,omitempty"`
}

// DriftBaseline is the score distribution recorded when an assessment was
// approved.
type DriftBaseline struct {
	DriftWindow
	Assessment string    `json:"assessment"`
	Version    string    `json:"version"`
	Recorded   time.Time `json:"recorded"`
	Hist       []uint64  `json:"hist"`
	// Reported: a drift incident was recorded against this baseline.
	Reported bool           `json:"reported,omitempty"`
	Incident *DriftIncident `json:"incident,omitempty"`
}

// DriftIncident is the incident the monitor recorded.
type DriftIncident struct {
	At       time.Time `json:"at"`
	Detail   string    `json:"detail"`
	AuditSeq uint64    `json:"audit_seq"`
}

// DriftStatus is a system's drift as last measured.
type DriftStatus struct {
	System     string  `json:"system"`
	Version    string  `json:"version,omitempty"`
	Assessment string  `json:"assessment,omitempty"`
	State      string  `json:"state"`
	Detail     string  `json:"detail,omitempty"`
	PSI        float64 `json:"psi,omitzero"`
	KS         float64 `json:"ks,omitzero"`
	// Tail: the scores above the lowest bin (for the anomaly model, the
	// scores that are not ~0). TailPSI compares their distribution,
	// baseline against recent, when both windows hold at least 200 of
	// them; TailRate is their share [baseline, recent]. Shown, not used
	// for the decision (see docs/decisions/governance.md).
	TailPSI  float64    `json:"tail_psi,omitzero"`
	TailRate [2]float64 `json:"tail_rate"`
	// Measured: PSI and KS were computed (both windows full).
	Measured   bool           `json:"measured"`
	Threshold  float64        `json:"threshold"`
	Window     string         `json:"window"`
	MinSamples int            `json:"min_samples"`
	Baseline   *DriftWindow   `json:"baseline,omitempty"`
	Recent     *DriftWindow   `json:"recent,omitempty"`
	Incident   *DriftIncident `json:"incident,omitempty"`
	tenant     string
}

// driftSeries is one (tenant, system)'s rolling histogram of recent scores.
type driftSeries struct {
	buckets map[int64]*driftHist // time bucket → histogram
	maxTS   int64
	status  DriftStatus
}

// DriftMonitor measures, for each live champion that writes scores, the
// distribution of its recent scores against the baseline recorded when
// its current assessment was approved, and records a drift incident
// (Registry.ReportIncident: the assessment becomes "re-assessment due",
// and the incident is audit-logged) when the population stability index
// exceeds the threshold. It reads the live stream on its own
// subscription and never blocks it (a full buffer drops batches, counted).
// Start it (or call Observe and Evaluate yourself), Close it.
type DriftMonitor struct {
	cfg      DriftConfig
	log      *slog.Logger
	binScale float64

	mu        sync.Mutex
	series    map[string]*driftSeries // tenant\x00system
	baselines map[string]*DriftBaseline

	observed, incidents atomic.Uint64
	sub                 *bus.Subscription
	stop                chan struct{}
	wg                  sync.WaitGroup
	once                sync.Once
}

// The principal incidents are recorded as.
var driftActor = auth.Principal{Name: "drift-monitor", Role: auth.Admin}

// NewDriftMonitor validates cfg and loads the kept baselines.
func NewDriftMonitor(cfg DriftConfig) (*DriftMonitor, error) {
	if cfg.Registry == nil || cfg.Bus == nil {
		return nil, errors.New("govern: DriftConfig needs Registry and Bus")
	}
	if cfg.Window <= 0 {
		cfg.Window = 6 * time.Hour
	}
	if cfg.Bucket <= 0 {
		cfg.Bucket = cfg.Window / 72
	}
	if cfg.Bucket < time.Millisecond || cfg.Bucket > cfg.Window {
		return nil, invalid("drift bucket must be between 1ms and the window")
	}
	if cfg.Min == 0 && cfg.Max == 0 {
		cfg.Max = 1
	}
	if !(cfg.Max > cfg.Min) || math.IsInf(cfg.Max-cfg.Min, 0) {
		return nil, invalid("drift score range: want min < max")
	}
	if cfg.Threshold == 0 {
		cfg.Threshold = 0.25
	}
	if math.IsNaN(cfg.Threshold) || cfg.Threshold < 0 {
		return nil, invalid("drift threshold must be positive")
	}
	if cfg.MinSamples <= 0 {
		cfg.MinSamples = 2000
	}
	if cfg.Every <= 0 {
		cfg.Every = 15 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	m := &DriftMonitor{cfg: cfg, log: cfg.Logger.With("component", "drift"), binScale: driftBins,
		series: map[string]*driftSeries{}, baselines: map[string]*DriftBaseline{}, stop: make(chan struct{})}
	if cfg.Dir != "" {
		b, err := os.ReadFile(filepath.Join(cfg.Dir, "drift.json"))
		switch {
		case errors.Is(err, os.ErrNotExist):
		case err != nil:
			return nil, fmt.Errorf("read drift baselines: %w", err)
		default:
			if m.baselines, err = decodeBaselines(b); err != nil {
				return nil, fmt.Errorf("read drift baselines %s: %w", filepath.Join(cfg.Dir, "drift.json"), err)
			}
		}
	}
	return m, nil
}

// decodeBaselines reads drift.json. A baseline of another binning or
// whose counts do not add up is left out (the next approval check records
// a new one).
func decodeBaselines(b []byte) (map[string]*DriftBaseline, error) {
	var bs map[string]*DriftBaseline
	if err := json.Unmarshal(b, &bs); err != nil {
		return nil, err
	}
	for k, bl := range bs {
		if bl == nil || len(bl.Hist) != driftBins || !strings.Contains(k, "\x00") {
			delete(bs, k)
			continue
		}
		var n uint64
		for _, c := range bl.Hist {
			n += c
		}
		if n != bl.Count {
			delete(bs, k)
		}
	}
	if bs == nil {
		bs = map[string]*DriftBaseline{}
	}
	return bs, nil
}

// Start subscribes to the live stream and evaluates every cfg.Every.
func (m *DriftMonitor) Start() {
	m.sub = m.cfg.Bus.Subscribe(bus.SubscribeOptions{Buffer: 4096, Filter: func(ev bus.Event) bool {
		// Scores travel in batches of their own (see scoring): a batch
		// whose first sample is no score is raw telemetry, which would
		// cost a string test a sample to skip here.
		return ev.Kind == "samples" && len(ev.Samples) > 0 && m.isScore(ev.Samples[0].Channel)
	}})
	m.wg.Add(2)
	go func() {
		defer m.wg.Done()
		for ev := range m.sub.C {
			m.Observe(ev.Samples)
		}
	}()
	go func() {
		defer m.wg.Done()
		t := time.NewTicker(m.cfg.Every)
		defer t.Stop()
		for {
			select {
			case <-m.stop:
				return
			case <-t.C:
				ctx, cancel := context.WithTimeout(context.Background(), m.cfg.Every)
				m.Evaluate(ctx)
				cancel()
			}
		}
	}()
}

func (m *DriftMonitor) isScore(channel string) bool {
	for _, suffix := range m.cfg.Sources {
		if strings.HasSuffix(channel, suffix) {
			return true
		}
	}
	return false
}

// Close stops the monitor and waits for its goroutines. Idempotent.
func (m *DriftMonitor) Close() {
	m.once.Do(func() {
		close(m.stop)
		if m.sub != nil {
			m.sub.Close()
		}
		m.wg.Wait()
	})
}

func (m *DriftMonitor) bin(v float64) int {
	x := (v - m.cfg.Min) / (m.cfg.Max - m.cfg.Min)
	if !(x > 0) { // also NaN
		return 0
	}
	if x >= 1 {
		return driftBins - 1
	}
	return min(int(math.Sqrt(x)*m.binScale), driftBins-1)
}

// Observe adds the score samples among samples (channels ending in a
// source's suffix) to the rolling histograms. Safe for concurrent use.
func (m *DriftMonitor) Observe(samples []telemetry.Sample) {
	bucket := m.cfg.Bucket.Milliseconds()
	window := m.cfg.Window.Milliseconds()
	m.mu.Lock()
	defer m.mu.Unlock()
	// A batch usually holds one source's scores of one tenant and data
	// hour: the series and bucket found for one sample serve the next.
	var (
		lastTenant, lastSys string
		ds                  *driftSeries
		h                   *driftHist
		hb                  int64
		n                   uint64
	)
	for _, s := range samples {
		for sys, suffix := range m.cfg.Sources {
			if !strings.HasSuffix(s.Channel, suffix) {
				continue
			}
			if ds == nil || s.Tenant != lastTenant || sys != lastSys {
				k := s.Tenant + "\x00" + sys
				ds = m.series[k]
				if ds == nil {
					ds = &driftSeries{buckets: map[int64]*driftHist{}}
					m.series[k] = ds
				}
				lastTenant, lastSys, h = s.Tenant, sys, nil
			}
			if s.TS < ds.maxTS-window {
				continue // older than the recent window
			}
			bi := s.TS / bucket
			if h == nil || bi != hb {
				h = ds.buckets[bi]
				if h == nil {
					h = &driftHist{}
					ds.buckets[bi] = h
				}
				hb = bi
			}
			h[m.bin(s.Value)]++
			if s.TS > ds.maxTS {
				ds.maxTS = s.TS
				if len(ds.buckets) > int(window/bucket)+2 {
					for b := range ds.buckets {
						if b < (ds.maxTS-window)/bucket {
							delete(ds.buckets, b)
						}
					}
					h = nil
				}
			}
			n++
		}
	}
	m.observed.Add(n)
}

// recent sums the buckets of the last Window of data time.
func (m *DriftMonitor) recent(ds *driftSeries) (driftHist, DriftWindow) {
	bucket := m.cfg.Bucket.Milliseconds()
	first := (ds.maxTS - m.cfg.Window.Milliseconds()) / bucket
	var h driftHist
	w := DriftWindow{}
	for b, bh := range ds.buckets {
		if b <= first {
			continue
		}
		h.add(bh)
		if w.From == 0 || b*bucket < w.From {
			w.From = b * bucket
		}
	}
	w.Count = h.total()
	if w.Count > 0 {
		w.To = ds.maxTS
	}
	return h, w
}

// Evaluate measures every source system of every tenant that has sent
// scores: it records a baseline for a newly approved assessment and
// reports drift beyond the threshold (once per baseline).
func (m *DriftMonitor) Evaluate(ctx context.Context) {
	m.mu.Lock()
	keys := make([]string, 0, len(m.series))
	for k := range m.series {
		keys = append(keys, k)
	}
	m.mu.Unlock()
	sort.Strings(keys)
	for _, k := range keys {
		tenant, sys, _ := strings.Cut(k, "\x00")
		if err := m.evaluate(ctx, tenant, sys); err != nil {
			m.log.WarnContext(ctx, "drift evaluation", "tenant", tenant, "system", sys, "err", err)
		}
	}
}

// currentAssessment returns the approved, current assessment of version.
func (m *DriftMonitor) currentAssessment(tenant, system, version string) (*Assessment, *Assessment, error) {
	as, err := m.cfg.Registry.Assessments(tenant, system)
	if err != nil {
		return nil, nil, err
	}
	now := m.cfg.Registry.now()
	var cur, last *Assessment
	for i := range as {
		a := &as[i]
		if a.Version != version {
			continue
		}
		last = a
		if a.current(now) {
			cur = a
		}
	}
	return cur, last, nil
}

func (m *DriftMonitor) evaluate(ctx context.Context, tenant, system string) error {
	k := tenant + "\x00" + system
	st := DriftStatus{System: system, Threshold: m.cfg.Threshold, Window: m.cfg.Window.String(), MinSamples: m.cfg.MinSamples, tenant: tenant}
	defer func() {
		m.mu.Lock()
		if ds := m.series[k]; ds != nil {
			ds.status = st
		}
		m.mu.Unlock()
	}()
	s, err := m.cfg.Registry.GetSystem(tenant, system)
	if errors.Is(err, ErrNotFound) {
		st.State, st.Detail = DriftNoChampion, "the system is not registered in this tenant"
		return nil
	}
	if err != nil {
		return err
	}
	st.Version = s.Aliases[Champion]
	if st.Version == "" {
		st.State = DriftNoChampion
		return nil
	}
	m.mu.Lock()
	ds := m.series[k]
	hist, win := m.recent(ds)
	bl := m.baselines[k]
	m.mu.Unlock()
	st.Recent = &win
	cur, last, err := m.currentAssessment(tenant, system, st.Version)
	if err != nil {
		return err
	}
	if bl != nil && (last == nil || bl.Assessment == last.ID) {
		// Keep showing the baseline (and the incident) of the assessment
		// the drift sent back, until a new one is approved.
		st.Baseline = &bl.DriftWindow
		st.Assessment = bl.Assessment
	}
	if cur == nil {
		st.State = DriftNoAssessment
		if last != nil {
			st.Assessment = last.ID
			st.Detail = fmt.Sprintf("assessment %s of %s is %s", last.ID, st.Version, last.State)
			if last.Invalidated != "" {
				st.Detail += " (" + last.Invalidated + ")"
			}
		} else {
			st.Detail = "no assessment of " + st.Version + ": nothing approved to compare with"
		}
		if bl != nil && bl.Assessment == st.Assessment && st.Baseline != nil {
			m.measure(&st, bl, &hist)
			if bl.Reported {
				st.State, st.Incident = DriftDrifted, bl.Incident
			}
		}
		return nil
	}
	st.Assessment = cur.ID
	if bl == nil || bl.Assessment != cur.ID {
		// A newly approved assessment: its baseline is the window of
		// scores up to now.
		if win.Count < uint64(m.cfg.MinSamples) {
			st.State = DriftCollectingBaseline
			st.Detail = fmt.Sprintf("%d of %d scores for the baseline", win.Count, m.cfg.MinSamples)
			st.Baseline = nil
			return nil
		}
		bl = &DriftBaseline{DriftWindow: win, Assessment: cur.ID, Version: st.Version, Recorded: m.cfg.Now().UTC(), Hist: hist[:]}
		m.mu.Lock()
		m.baselines[k] = bl
		err := m.saveLocked()
		m.mu.Unlock()
		if err != nil {
			return err
		}
		m.log.InfoContext(ctx, "drift baseline recorded", "tenant", tenant, "system", system, "assessment", cur.ID, "scores", win.Count)
	}
	st.Baseline = &bl.DriftWindow
	if !m.measure(&st, bl, &hist) {
		st.State = DriftCollecting
		st.Detail = fmt.Sprintf("%d of %d scores in the recent window", win.Count, m.cfg.MinSamples)
		return nil
	}
	if st.PSI <= m.cfg.Threshold {
		st.State = DriftStable
		return nil
	}
	st.State = DriftDrifted
	if bl.Reported {
		st.Incident = bl.Incident
		return nil
	}
	detail := fmt.Sprintf("score distribution of %s shifted: PSI %.3f > %.3f (KS %.3f) over the last %s (%d scores) against the baseline of %s (%d scores)",
		st.Version, st.PSI, m.cfg.Threshold, st.KS, m.cfg.Window, win.Count, cur.ID, bl.Count)
	in, err := m.cfg.Registry.ReportIncident(ctx, driftActor, tenant, system, Incident{Kind: "drift", Detail: detail})
	if err != nil {
		return fmt.Errorf("record drift incident: %w", err)
	}
	m.incidents.Add(1)
	st.Incident = &DriftIncident{At: in.At, Detail: detail, AuditSeq: in.AuditSeq}
	m.mu.Lock()
	nb := *bl
	nb.Reported, nb.Incident = true, st.Incident
	m.baselines[k] = &nb
	err = m.saveLocked()
	m.mu.Unlock()
	m.log.WarnContext(ctx, "drift incident recorded", "tenant", tenant, "system", system, "psi", st.PSI, "assessment", cur.ID)
	return err
}

// measure fills PSI and KS when both windows are full enough.
func (m *DriftMonitor) measure(st *DriftStatus, bl *DriftBaseline, recent *driftHist) bool {
	if bl.Count < uint64(m.cfg.MinSamples) || recent.total() < uint64(m.cfg.MinSamples) {
		return false
	}
	st.PSI, st.KS = PSI(bl.Hist, recent[:]), KS(bl.Hist, recent[:])
	st.Measured = true
	var tb, tr uint64
	for i := 1; i < driftBins; i++ {
		tb += bl.Hist[i]
		tr += recent[i]
	}
	st.TailRate = [2]float64{float64(tb) / float64(bl.Count), float64(tr) / float64(recent.total())}
	if tb >= 200 && tr >= 200 {
		st.TailPSI = PSI(bl.Hist[1:], recent[1:])
	}
	return true
}

// saveLocked writes the baselines (m.mu held).
func (m *DriftMonitor) saveLocked() error {
	if m.cfg.Dir == "" {
		return nil
	}
	b, err := json.Marshal(m.baselines)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(m.cfg.Dir, 0o755); err != nil {
		return fmt.Errorf("save drift baselines: %w", err)
	}
	p := filepath.Join(m.cfg.Dir, "drift.json")
	tmp := p + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("save drift baselines: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("save drift baselines: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("save drift baselines: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("save drift baselines: %w", err)
	}
	if err := os.Rename(tmp, p); err != nil {
		return fmt.Errorf("save drift baselines: %w", err)
	}
	return nil
}

// Status lists the drift of every source system registered in tenant, as
// of the last evaluation (systems without scores yet included).
func (m *DriftMonitor) Status(tenant string) []DriftStatus {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []DriftStatus
	for sys := range m.cfg.Sources {
		if ds := m.series[tenant+"\x00"+sys]; ds != nil && ds.status.State != "" {
			out = append(out, ds.status)
			continue
		}
		if _, err := m.cfg.Registry.GetSystem(tenant, sys); err != nil {
			continue
		}
		out = append(out, DriftStatus{System: sys, State: DriftCollecting, Detail: "no scores received yet", Threshold: m.cfg.Threshold,
			Window: m.cfg.Window.String(), MinSamples: m.cfg.MinSamples})
	}
	slices.SortFunc(out, func(a, b DriftStatus) int { return strings.Compare(a.System, b.System) })
	return out
}

// WriteMetrics writes the current PSI per system and the counters in the
// Prometheus text format.
func (m *DriftMonitor) WriteMetrics(w interface{ Write([]byte) (int, error) }) {
	m.mu.Lock()
	var rows []DriftStatus
	for _, ds := range m.series {
		if ds.status.Measured {
			rows = append(rows, ds.status)
		}
	}
	m.mu.Unlock()
	slices.SortFunc(rows, func(a, b DriftStatus) int { return strings.Compare(a.tenant+a.System, b.tenant+b.System) })
	fmt.Fprintf(w, "# HELP tsingma_model_drift_psi Population stability index of a live model's recent scores against its approval baseline.\n# TYPE tsingma_model_drift_psi gauge\n")
	for _, r := range rows {
		fmt.Fprintf(w, "tsingma_model_drift_psi{tenant=%q,system=%q} %g\n", r.tenant, r.System, r.PSI)
	}
	fmt.Fprintf(w, "# HELP tsingma_model_drift_scores_total Score samples the drift monitor counted.\n# TYPE tsingma_model_drift_scores_total counter\ntsingma_model_drift_scores_total %d\n", m.observed.Load())
	fmt.Fprintf(w, "# HELP tsingma_model_drift_incidents_total Drift incidents the monitor recorded.\n# TYPE tsingma_model_drift_incidents_total counter\ntsingma_model_drift_incidents_total %d\n", m.incidents.Load())
	var dropped uint64
	if m.sub != nil {
		dropped = m.sub.Dropped()
	}
	fmt.Fprintf(w, "# HELP tsingma_model_drift_dropped_total Stream batches the drift monitor lost to a full buffer.\n# TYPE tsingma_model_drift_dropped_total counter\ntsingma_model_drift_dropped_total %d\n", dropped)
}

// Observed returns how many score samples were counted.
func (m *DriftMonitor) Observed() uint64 { return m.observed.Load() }

// groups merges the fine bins into about 10 groups of equal baseline mass
// (deciles of the baseline, as PSI is usually computed), plus the empty
// tail; it returns the upper bin index (exclusive) of each group.
func groups(base []uint64) []int {
	var n uint64
	for _, c := range base {
		n += c
	}
	const k = 10
	var cuts []int
	var cum uint64
	next := 1
	for i, c := range base {
		cum += c
		if next < k && cum*k >= uint64(next)*n && cum > 0 {
			cuts = append(cuts, i+1)
			for next < k && cum*k >= uint64(next)*n {
				next++
			}
		}
	}
	// The bins past the last cut form a group of their own even when the
	// baseline has nothing there: scores moving into them is a shift.
	if len(cuts) == 0 || cuts[len(cuts)-1] != len(base) {
		cuts = append(cuts, len(base))
	}
	return cuts
}

// PSI is the population stability index of recent against base (two
// histograms over the same bins): Σ (r−b)·ln(r/b) over about ten groups
// of equal baseline mass, with proportions smoothed by half a count per
// group so that an empty group does not give infinity.
func PSI(base, recent []uint64) float64 {
	cuts := groups(base)
	nb, nr := totals(base, recent)
	if nb == 0 || nr == 0 {
		return 0
	}
	k := float64(len(cuts))
	psi := 0.0
	lo := 0
	for _, hi := range cuts {
		var cb, cr float64
		for i := lo; i < hi; i++ {
			cb += float64(base[i])
			cr += float64(recent[i])
		}
		b := (cb + 0.5) / (nb + 0.5*k)
		r := (cr + 0.5) / (nr + 0.5*k)
		psi += (r - b) * math.Log(r/b)
		lo = hi
	}
	return psi
}

// totals returns the counts of two histograms over the same bins.
func totals(base, recent []uint64) (nb, nr float64) {
	for i := range base {
		nb += float64(base[i])
		nr += float64(recent[i])
	}
	return nb, nr
}

// KS is the two-sample Kolmogorov-Smirnov statistic of two histograms
// over the same bins: the largest distance between their cumulative
// distributions at a bin edge.
func KS(base, recent []uint64) float64 {
	nb, nr := totals(base, recent)
	if nb == 0 || nr == 0 {
		return 0
	}
	var cb, cr, d float64
	for i := range base {
		cb += float64(base[i])
		cr += float64(recent[i])
		d = max(d, math.Abs(cb/nb-cr/nr))
	}
	return d
}

// Backup adds the approval baselines under dir (the file is replaced
// whole by rename, so it is copied as it was when opened).
func (m *DriftMonitor) Backup(sink backup.Sink, dir string) error {
	return backup.File(sink, dir+"/drift.json", filepath.Join(m.cfg.Dir, "drift.json"))
}
