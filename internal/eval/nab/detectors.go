package nab

import (
	"fmt"
	"sort"

	"github.com/tsingma/tsingma/internal/anomaly"
)

// DefaultDetector is the detector `tsingma eval nab` runs by default.
const DefaultDetector = "tsingma"

// detectorConfigs are the named tsingma detectors: the default and its
// ablations, each one global configuration for all series.
func detectorConfigs() map[string]func() anomaly.Config {
	with := func(f func(*anomaly.Config)) func() anomaly.Config {
		return func() anomaly.Config { c := anomaly.DefaultConfig(); f(&c); return c }
	}
	return map[string]func() anomaly.Config{
		"tsingma":          anomaly.DefaultConfig,
		"tsingma-raw":      with(func(c *anomaly.Config) { c.Raw = true }),
		"tsingma-max":      with(func(c *anomaly.Config) { c.MaxCombine = true }),
		"tsingma-nocusum":  with(func(c *anomaly.Config) { c.CusumH = 0 }),
		"tsingma-allviews": with(func(c *anomaly.Config) { c.Views = 0 }),
		"tsingma-shift":    with(func(c *anomaly.Config) { c.Views = anomaly.ViewShift }),
		"tsingma-level":    with(func(c *anomaly.Config) { c.Views = anomaly.ViewLevel }),
		"tsingma-season":   with(func(c *anomaly.Config) { c.Views = anomaly.ViewSeason }),
		// The default of tsingma-anomaly/1.0: the slow level view instead
		// of the hour-of-day profile.
		"tsingma-1.0": with(func(c *anomaly.Config) {
			c.Views = anomaly.ViewShift | anomaly.ViewLevel | anomaly.ViewRange
			c.LevelUntilSeason = false
			c.CombinedCusum = true
			c.RereportWeakOnly = false
		}),
		// The previous default (tsingma-anomaly/1.2): any report, however
		// strong, re-reported when a sample within its refractory period
		// beats it by Step.
		"tsingma-1.2": with(func(c *anomaly.Config) { c.RereportWeakOnly = false }),
		// tsingma-anomaly/1.1: one CUSUM after Fisher's combination.
		"tsingma-combinedcusum": with(func(c *anomaly.Config) { c.CombinedCusum = true; c.RereportWeakOnly = false }),
		"tsingma-nolevel":       with(func(c *anomaly.Config) { c.Views &^= anomaly.ViewLevel }),
		"tsingma-seasonnow":     with(func(c *anomaly.Config) { c.SeasonDays = 0 }),
		"tsingma-range":         with(func(c *anomaly.Config) { c.Views = anomaly.ViewRange }),
	}
}

// recalibratedConfigs are the 1.2 detector followed by one of the
// per-channel recalibration stages (ablations of session 3, measured on
// 1.2; none is the default).
func recalibratedConfigs() map[string]anomaly.RecalConfig {
	reportOnly := func(rc anomaly.RecalConfig) anomaly.RecalConfig { rc.ReportOnly = true; return rc }
	return map[string]anomaly.RecalConfig{
		"tsingma-likelihood":        anomaly.DefaultRecalConfig(anomaly.RecalLikelihood),
		"tsingma-likelihood-report": reportOnly(anomaly.DefaultRecalConfig(anomaly.RecalLikelihood)),
		"tsingma-rank":              anomaly.DefaultRecalConfig(anomaly.RecalRank),
		"tsingma-rank-report":       reportOnly(anomaly.DefaultRecalConfig(anomaly.RecalRank)),
		"tsingma-budget":            anomaly.DefaultRecalConfig(anomaly.RecalBudget),
	}
}

// DetectorNames lists the names NewDetector accepts.
func DetectorNames() []string {
	var out []string
	for k := range detectorConfigs() {
		out = append(out, k)
	}
	for k := range recalibratedConfigs() {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// NewDetector returns a constructor of fresh detectors of the named kind.
func NewDetector(name string, seed int64) (func() (Detector, error), error) {
	if rc, ok := recalibratedConfigs()[name]; ok {
		cfg := anomaly.DefaultConfig()
		cfg.Seed = seed
		cfg.RereportWeakOnly = false // as measured (session 3)
		if _, err := anomaly.NewRecalibrated(cfg, rc); err != nil {
			return nil, err
		}
		return func() (Detector, error) { return anomaly.NewRecalibrated(cfg, rc) }, nil
	}
	mk, ok := detectorConfigs()[name]
	if !ok {
		return nil, fmt.Errorf("unknown detector %q (known: %v)", name, DetectorNames())
	}
	cfg := mk()
	cfg.Seed = seed
	if _, err := anomaly.New(cfg); err != nil {
		return nil, err
	}
	return func() (Detector, error) { return anomaly.New(cfg) }, nil
}
