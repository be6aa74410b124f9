package trigrs

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"

	"github.com/tsingma/tsingma/internal/landslide"
)

// Excluded counts reference nodes compared separately because TRIGRS is
// known to compute them differently from the published equations.
type Excluded struct {
	Reason           string
	Nodes            int
	MaxFSErr, MaxPsi float64
}

// CaseResult is the comparison for one TRIGRS case.
type CaseResult struct {
	Name, Model       string
	Cells, Nodes      int
	MaxFSErr, MaxPsi  float64 // over every compared profile node
	WorstFS, WorstPsi string  // where the largest differences are
	MaxFSMinErr       float64 // cells.csv fs_min
	MaxZMinErr        float64 // cells.csv depth of fs_min
	MaxPMinErr        float64 // cells.csv pressure head at fs_min
	Unsaturated       bool
	Excluded          []Excluded
	CellsCompared     int
}

// Report is the result of Run.
type Report struct {
	Cases []CaseResult
}

// Totals returns the largest differences over all cases.
func (r *Report) Totals() (fs, psi float64) {
	for _, c := range r.Cases {
		fs = math.Max(fs, c.MaxFSErr)
		psi = math.Max(psi, c.MaxPsi)
	}
	return fs, psi
}

// Write prints one line per case, a summary per model family and, last,
// "trigrs cases=N max_fs_err=E max_psi_err=P".
func (r *Report) Write(w io.Writer) {
	var satFS, satPsi, unsFS, unsPsi float64
	for _, c := range r.Cases {
		fmt.Fprintf(w, "%-30s %-26s cells=%-4d nodes=%-6d max_fs_err=%.3g max_psi_err=%.3g fs_min_err=%.3g z_min_err=%.3g p_min_err=%.3g\n",
			c.Name, c.Model, c.Cells, c.Nodes, c.MaxFSErr, c.MaxPsi, c.MaxFSMinErr, c.MaxZMinErr, c.MaxPMinErr)
		if c.MaxPsi > 1e-6 || c.MaxFSErr > 1e-6 {
			fmt.Fprintf(w, "    worst psi at %s; worst fs at %s\n", c.WorstPsi, c.WorstFS)
		}
		for _, e := range c.Excluded {
			fmt.Fprintf(w, "    reported separately: %d nodes (%s): max_fs_err=%.3g max_psi_err=%.3g\n", e.Nodes, e.Reason, e.MaxFSErr, e.MaxPsi)
		}
		if c.Unsaturated {
			unsFS, unsPsi = math.Max(unsFS, c.MaxFSErr), math.Max(unsPsi, c.MaxPsi)
		} else {
			satFS, satPsi = math.Max(satFS, c.MaxFSErr), math.Max(satPsi, c.MaxPsi)
		}
	}
	fmt.Fprintf(w, "saturated models:   max_fs_err=%.3g max_psi_err=%.3g\n", satFS, satPsi)
	fmt.Fprintf(w, "unsaturated models: max_fs_err=%.3g max_psi_err=%.3g\n", unsFS, unsPsi)
	var ex Excluded
	for _, c := range r.Cases {
		for _, e := range c.Excluded {
			ex.Nodes += e.Nodes
			ex.MaxPsi, ex.MaxFSErr = math.Max(ex.MaxPsi, e.MaxPsi), math.Max(ex.MaxFSErr, e.MaxFSErr)
		}
	}
	fmt.Fprintf(w, "reported separately (documented TRIGRS defect): nodes=%d max_fs_err=%.3g max_psi_err=%.3g\n", ex.Nodes, ex.MaxFSErr, ex.MaxPsi)
	fs, psi := r.Totals()
	fmt.Fprintf(w, "trigrs cases=%d max_fs_err=%.3g max_psi_err=%.3g\n", len(r.Cases), fs, psi)
}

// Run compares every case under dir/cases and dir/upstream_examples.
func Run(ctx context.Context, dir string) (*Report, error) {
	prof, cells, err := loadReference(dir)
	if err != nil {
		return nil, fmt.Errorf("%w (is %s the staged trigrs dataset?)", err, dir)
	}
	var caseDirs []string
	for _, sub := range []string{"cases", "upstream_examples"} {
		m, _ := filepath.Glob(filepath.Join(dir, sub, "*", "tr_in.txt"))
		sort.Strings(m)
		for _, f := range m {
			caseDirs = append(caseDirs, filepath.Dir(f))
		}
	}
	if len(caseDirs) == 0 {
		return nil, fmt.Errorf("no TRIGRS cases (*/tr_in.txt) under %s/cases or %s/upstream_examples", dir, dir)
	}
	rep := &Report{}
	for _, cd := range caseDirs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		name := filepath.Base(cd)
		res, err := RunCase(cd, prof[name], cells[name])
		if err != nil {
			return nil, fmt.Errorf("case %s: %w", name, err)
		}
		rep.Cases = append(rep.Cases, *res)
	}
	return rep, nil
}

func loadReference(dir string) (map[string][]ProfileRow, map[string][]CellRow, error) {
	f, err := os.Open(filepath.Join(dir, "profiles.csv"))
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	pr, err := ReadProfiles(f)
	if err != nil {
		return nil, nil, fmt.Errorf("profiles.csv: %w", err)
	}
	g, err := os.Open(filepath.Join(dir, "cells.csv"))
	if err != nil {
		return nil, nil, err
	}
	defer g.Close()
	cr, err := ReadCells(g)
	if err != nil {
		return nil, nil, fmt.Errorf("cells.csv: %w", err)
	}
	prof := map[string][]ProfileRow{}
	for _, p := range pr {
		prof[p.Case] = append(prof[p.Case], p)
	}
	cells := map[string][]CellRow{}
	for _, c := range cr {
		cells[c.Case] = append(cells[c.Case], c)
	}
	return prof, cells, nil
}

// f32 rounds through single precision: TRIGRS reads its inputs into
// REAL (4-byte) variables.
func f32(x float64) float64 { return float64(float32(x)) }

func readGridFile(caseDir, name string) (*Grid, error) {
	f, err := os.Open(filepath.Join(caseDir, name))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	g, err := ReadGrid(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return g, nil
}

// cellInput is what one data cell of a case needs.
type cellInput struct {
	params       landslide.Params
	rain         landslide.Rainfall
	slopeDeg     float64
	zmin         float64
	skipped      bool
	unsatZone    bool
	zmaxS, zminS float32
	rizero, ks   float64
}

// loadCase reads the configuration and grids of a case and returns the
// inputs of every data cell in TRIGRS's numbering (row-major, NODATA cells
// skipped).
func loadCase(caseDir string) (*Config, []cellInput, error) {
	f, err := os.Open(filepath.Join(caseDir, "tr_in.txt"))
	if err != nil {
		return nil, nil, err
	}
	cfg, err := ParseConfig(f)
	f.Close()
	if err != nil {
		return nil, nil, err
	}
	slope, err := readGridFile(caseDir, cfg.SlopeFile)
	if err != nil {
		return nil, nil, err
	}
	opt := func(v float64, file string) (*Grid, error) {
		if v >= 0 {
			return nil, nil
		}
		g, err := readGridFile(caseDir, file)
		if err != nil {
			return nil, err
		}
		if g.NCols != slope.NCols || g.NRows != slope.NRows {
			return nil, fmt.Errorf("%s: grid %dx%d, slope grid %dx%d", file, g.NCols, g.NRows, slope.NCols, slope.NRows)
		}
		return g, nil
	}
	zmaxG, err := opt(cfg.ZMax, cfg.ZMaxFile)
	if err != nil {
		return nil, nil, err
	}
	depG, err := opt(cfg.Depth, cfg.DepthFile)
	if err != nil {
		return nil, nil, err
	}
	rizG, err := opt(cfg.RiZero, cfg.RiZeroFile)
	if err != nil {
		return nil, nil, err
	}
	zoneG := (*Grid)(nil)
	if cfg.NZones > 1 {
		if zoneG, err = opt(-1, cfg.ZoneFile); err != nil {
			return nil, nil, err
		}
	}
	rainG := make([]*Grid, cfg.NPer)
	for k, v := range cfg.Rain {
		if rainG[k], err = opt(v, cfg.RainFiles[k]); err != nil {
			return nil, nil, err
		}
	}
	flow := landslide.FlowGeneral
	switch cfg.FlowDir {
	case "slope":
		flow = landslide.FlowSlopeParallel
	case "hydro":
		flow = landslide.FlowHydrostatic
	}
	unsatRun := false
	for _, z := range cfg.Zones {
		if (landslide.Soil{Alpha: z.Alpha, ThetaSat: z.ThetaSat, ThetaRes: z.ThetaRes}).Unsaturated() {
			unsatRun = true
		}
	}
	// data cells
	var idx []int
	for i, v := range slope.Values {
		if v != slope.NoData {
			idx = append(idx, i)
		}
	}
	val := func(g *Grid, scalar float64, i int) float64 {
		if g == nil {
			return f32(scalar)
		}
		return f32(g.Values[i])
	}
	// TRIGRS resets zmin to 0 if it exceeds the smallest zmax or depth.
	zmin := f32(cfg.ZMin)
	for _, i := range idx {
		if zmin > val(zmaxG, cfg.ZMax, i) || zmin > val(depG, cfg.Depth, i) {
			zmin = 0
		}
	}
	out := make([]cellInput, len(idx))
	for n, i := range idx {
		zone := 1
		if zoneG != nil {
			zone = int(zoneG.Values[i])
		}
		if zone < 1 || zone > len(cfg.Zones) {
			return nil, nil, fmt.Errorf("cell %d: zone %d outside 1..%d", n+1, zone, len(cfg.Zones))
		}
		z := cfg.Zones[zone-1]
		soil := landslide.Soil{
			Cohesion: f32(z.Cohesion), FrictionDeg: f32(z.Phi), UnitWeight: f32(z.UnitWeight),
			Ksat: f32(z.Ks), Diffusivity: f32(z.Diffusivity),
			ThetaSat: f32(z.ThetaSat), ThetaRes: f32(z.ThetaRes), Alpha: f32(z.Alpha),
		}
		c := cellInput{slopeDeg: f32(slope.Values[i]), zmin: zmin, unsatZone: soil.Unsaturated(), ks: soil.Ksat}
		c.params = landslide.Params{
			SlopeDeg:               c.slopeDeg,
			DepthToBase:            val(zmaxG, cfg.ZMax, i),
			WaterTableDepth:        val(depG, cfg.Depth, i),
			SteadyFlux:             val(rizG, cfg.RiZero, i),
			Soil:                   soil,
			UnitWeightWater:        f32(cfg.UWW),
			Flow:                   flow,
			FiniteDepth:            cfg.MMax > 0,
			IgnoreNegativePressure: cfg.LPGE0,
			WaterTableRise:         cfg.LLus,
			BackgroundFlux:         cfg.BkgrOf,
			AnalyticFillable:       cfg.LAny,
			PsiZeroAirEntry:        cfg.LPs0,
			MaxTerms:               cfg.MMax,
		}
		if cfg.MMax <= 0 {
			c.params.MaxTerms = 0
		}
		if unsatRun && cfg.NMax > 0 {
			// Unsaturated runs: TRIGRS sums nmax eigenvalues; our
			// finite-depth series need far fewer terms than either bound.
			c.params.MaxTerms = cfg.NMax
		}
		c.rizero = c.params.SteadyFlux
		c.zmaxS, c.zminS = float32(c.params.DepthToBase), float32(zmin)
		for k := 0; k < cfg.NPer; k++ {
			c.rain = append(c.rain, landslide.Period{Start: cfg.Capt[k], End: cfg.Capt[k+1], Rate: val(rainG[k], cfg.Rain[k], i)})
		}
		if c.slopeDeg < f32(cfg.SlopeMin) || c.slopeDeg > f32(cfg.SlopeMax) || c.params.DepthToBase <= 1e-4 {
			c.skipped = true
		}
		out[n] = c
	}
	return cfg, out, nil
}

// nodes returns TRIGRS's node depths: zinc = (zmax − zmin)/nzs with the
// difference taken in single precision, accumulated in double.
func (c *cellInput) nodes(nzs int) []float64 {
	return landslide.Depths(float64(c.zminS), float64(c.zminS)+float64(c.zmaxS-c.zminS), nzs)
}

type key struct{ cell, out int }

// RunCase compares one case with its reference rows.
func RunCase(caseDir string, prof []ProfileRow, cells []CellRow) (*CaseResult, error) {
	cfg, in, err := loadCase(caseDir)
	if err != nil {
		return nil, err
	}
	if len(prof) == 0 && len(cells) == 0 {
		return nil, fmt.Errorf("no reference rows in profiles.csv or cells.csv")
	}
	res := &CaseResult{Name: filepath.Base(caseDir), Cells: len(in)}
	unsat := false
	for _, z := range cfg.Zones {
		if (landslide.Soil{Alpha: z.Alpha, ThetaSat: z.ThetaSat, ThetaRes: z.ThetaRes}).Unsaturated() {
			unsat = true
		}
	}
	res.Unsaturated = unsat
	depth := "infinite"
	if cfg.MMax > 0 {
		depth = "finite"
	}
	res.Model = "saturated-" + depth
	if unsat {
		res.Model = "unsaturated-" + depth
	}
	// reference rows by (cell, output)
	refP := map[key][]ProfileRow{}
	times := map[int]float64{}
	for _, p := range prof {
		refP[key{p.Cell, p.OutIndex}] = append(refP[key{p.Cell, p.OutIndex}], p)
		times[p.OutIndex] = p.Time
	}
	refC := map[key]CellRow{}
	for _, c := range cells {
		refC[key{c.Cell, c.OutIndex}] = c
		if _, ok := times[c.OutIndex]; !ok {
			times[c.OutIndex] = c.Time
		}
	}
	outs := make([]int, 0, len(times))
	for k := range times {
		outs = append(outs, k)
	}
	sort.Ints(outs)
	var grid *landslide.TimeGrid
	if unsat {
		g := unsatTimeGrid(cfg)
		grid = &g
	}
	for ci := range in {
		c := &in[ci]
		cell := ci + 1
		z := c.nodes(cfg.NZs)
		profiles := make(map[int]landslide.Profile, len(outs))
		if !c.skipped {
			if unsat {
				steps := make([]int, len(outs))
				for k, o := range outs {
					steps[k] = int(math.Round(times[o] / grid.Step))
				}
				ps, err := landslide.UnsaturatedProfiles(c.params, c.rain, *grid, steps, float64(c.zminS), cfg.NZs)
				if err != nil {
					return nil, fmt.Errorf("cell %d: %w", cell, err)
				}
				for k, o := range outs {
					profiles[o] = ps[k]
				}
			} else {
				for _, o := range outs {
					p, err := landslide.SaturatedProfile(c.params, c.rain, times[o], z)
					if err != nil {
						return nil, fmt.Errorf("cell %d: %w", cell, err)
					}
					profiles[o] = p
				}
			}
		}
		for _, o := range outs {
			rows := refP[key{cell, o}]
			if len(rows) != 0 && len(rows) != len(z) {
				return nil, fmt.Errorf("cell %d output %d: %d reference nodes, model has %d", cell, o, len(rows), len(z))
			}
			pr := profiles[o]
			defect := !c.skipped && lateSeriesDefect(c, times[o])
			for j, r := range rows {
				var psi, fs float64
				if !c.skipped {
					psi, fs = pr.Nodes[j].Psi, pr.Nodes[j].FS
				}
				dp, df := math.Abs(psi-r.P), math.Abs(fs-r.FS)
				if defect {
					res.addExcluded(defectReason, dp, df)
					continue
				}
				res.Nodes++
				where := fmt.Sprintf("cell %d t=%gs z=%.4g (ours %.10g/%.10g, TRIGRS %.10g/%.10g)", cell, r.Time, r.Z, psi, fs, r.P, r.FS)
				if dp > res.MaxPsi {
					res.MaxPsi, res.WorstPsi = dp, where
				}
				if df > res.MaxFSErr {
					res.MaxFSErr, res.WorstFS = df, where
				}
			}
			if cr, ok := refC[key{cell, o}]; ok {
				fsm, zm, pm := 11.0, c.params.DepthToBase, 0.0
				if !c.skipped {
					fsm, zm, pm = pr.MinFS, pr.ZAtMinFS, pr.PsiAtMinFS
				}
				res.CellsCompared++
				res.MaxFSMinErr = math.Max(res.MaxFSMinErr, math.Abs(fsm-cr.FSMin))
				res.MaxZMinErr = math.Max(res.MaxZMinErr, math.Abs(zm-cr.ZAtMin))
				res.MaxPMinErr = math.Max(res.MaxPMinErr, math.Abs(pm-cr.PAtMin))
			}
		}
	}
	return res, nil
}

// defectReason names the documented TRIGRS defect (README caveat 3).
const defectReason = "TRIGRS late-time finite-depth series uses float(-1**n) = -1 for (-1)^n; we use (-1)^n; effect < exp(-5π²)"

// lateSeriesDefect reports whether TRIGRS computed this cell at time t
// with its late-time finite-depth series (svgstp/savage: D1·τ/L² > 5 for a
// rainfall period), where the documented float(-1**n) defect sits.
func lateSeriesDefect(c *cellInput, t float64) bool {
	p := &c.params
	if !p.FiniteDepth || (p.Soil.Unsaturated() && p.WaterTableDepth-1/p.Soil.Alpha > 0) {
		return false
	}
	cd := math.Cos(p.SlopeDeg * math.Pi / 180)
	d1 := p.Soil.Diffusivity / (cd * cd)
	for _, q := range c.rain {
		if tau := t - q.Start; tau > 0 && tau*d1/(p.DepthToBase*p.DepthToBase) > 5 {
			return true
		}
	}
	return false
}

func (r *CaseResult) addExcluded(reason string, dp, df float64) {
	for i := range r.Excluded {
		if r.Excluded[i].Reason == reason {
			e := &r.Excluded[i]
			e.Nodes++
			e.MaxPsi, e.MaxFSErr = math.Max(e.MaxPsi, dp), math.Max(e.MaxFSErr, df)
			return
		}
	}
	r.Excluded = append(r.Excluded, Excluded{Reason: reason, Nodes: 1, MaxPsi: dp, MaxFSErr: df})
}

// unsatTimeGrid reproduces TRIGRS's time stepping for unsaturated runs:
// nts = kper·tx uniform steps from 0 to t, with tx raised until a step is
// no longer than the shortest gap between output times.
func unsatTimeGrid(cfg *Config) landslide.TimeGrid {
	kper := cfg.NPer
	if cfg.T > cfg.Capt[cfg.NPer] {
		kper = cfg.NPer + 1
	} else {
		for k := 0; k < cfg.NPer; k++ {
			if cfg.T >= cfg.Capt[k] && cfg.T <= cfg.Capt[k+1] {
				kper = k + 1
			}
		}
	}
	tx := cfg.TX
	if tx < 1 {
		tx = 1
	}
	nts := kper * tx
	tinc := cfg.T / float64(nts)
	minGap := cfg.T
	for k := 0; k+1 < len(cfg.TOut); k++ {
		if g := cfg.TOut[k+1] - cfg.TOut[k]; g < minGap {
			minGap = g
		}
	}
	for tinc > minGap && minGap > 0 {
		tx++
		nts = kper * tx
		tinc = cfg.T / float64(nts)
	}
	return landslide.TimeGrid{Step: tinc, Steps: nts}
}
