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
	only := func(views uint32) func() anomaly.Config {
		return func() anomaly.Config { c := anomaly.DefaultConfig(); c.Views = views; return c }
	}
	return map[string]func() anomaly.Config{
		"tsingma": anomaly.DefaultConfig,
		"tsingma-nofilter": func() anomaly.Config {
			c := anomaly.DefaultConfig()
			c.NoEventFilter = true
			return c
		},
		"tsingma-spike":  only(anomaly.ViewSpike),
		"tsingma-step":   only(anomaly.ViewStep),
		"tsingma-shift":  only(anomaly.ViewShift),
		"tsingma-vol":    only(anomaly.ViewVol),
		"tsingma-season": only(anomaly.ViewSeason),
	}
}

// DetectorNames lists the names NewDetector accepts.
func DetectorNames() []string {
	var out []string
	for k := range detectorConfigs() {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// NewDetector returns a constructor of fresh detectors of the named kind.
func NewDetector(name string, seed int64) (func() (Detector, error), error) {
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
