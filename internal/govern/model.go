package govern

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/tsingma/tsingma/internal/anomaly"
	"github.com/tsingma/tsingma/internal/telemetry"
)

// Output is what a model says about one sample.
type Output struct {
	Score float64 `json:"score"`
	// Alert: the model would raise (or keep up) an alert at this sample.
	Alert    bool   `json:"alert"`
	Severity string `json:"severity,omitempty"`
}

// History is a model's read access to telemetry. In a replay or a shadow
// it is point-in-time: asking for anything later than the sample being
// scored fails with ErrLookAhead, and the run is rejected.
type History interface {
	Range(k telemetry.Key, mint, maxt int64, fn func(ts int64, v float64) bool) error
}

// Model scores samples in time order. One instance serves one run; it
// need not be safe for concurrent use.
type Model interface {
	Score(s telemetry.Sample, h History) (Output, error)
}

// Factory builds a fresh model from a version's configuration; seed is
// the run's seed (for models with a random element).
type Factory func(config json.RawMessage, seed uint64) (Model, error)

// FamilyAnomaly is the built-in streaming detector family.
const FamilyAnomaly = "anomaly"

// AnomalyConfig configures the anomaly family: the alert threshold and
// learning period of the scoring service, and optional overrides of the
// detector's defaults (anomaly.Config field names).
type AnomalyConfig struct {
	Threshold       float64         `json:"threshold"`
	LearningSamples int             `json:"learning_samples"`
	Detector        json.RawMessage `json:"detector,omitempty"`
}

// DefaultAnomalyConfig is the configuration the scoring service runs.
func DefaultAnomalyConfig() AnomalyConfig {
	return AnomalyConfig{Threshold: 0.261, LearningSamples: 300}
}

func newAnomalyModel(cfg json.RawMessage, _ uint64) (Model, error) {
	c := DefaultAnomalyConfig()
	if len(cfg) > 0 && string(cfg) != "null" {
		d := json.NewDecoder(bytes.NewReader(cfg))
		d.DisallowUnknownFields()
		if err := d.Decode(&c); err != nil {
			return nil, invalid("anomaly config: %v", err)
		}
		if _, err := d.Token(); err != io.EOF {
			return nil, invalid("anomaly config: data after the object")
		}
	}
	if math.IsNaN(c.Threshold) || c.Threshold <= 0 || c.Threshold > 1 {
		return nil, invalid("anomaly config: threshold must be in (0, 1]")
	}
	if c.LearningSamples < 0 || c.LearningSamples > 1_000_000 {
		return nil, invalid("anomaly config: learning_samples must be in [0, 1000000]")
	}
	dc := anomaly.DefaultConfig()
	if len(c.Detector) > 0 {
		d := json.NewDecoder(bytes.NewReader(c.Detector))
		d.DisallowUnknownFields()
		if err := d.Decode(&dc); err != nil {
			return nil, invalid("anomaly config: detector: %v", err)
		}
		if _, err := d.Token(); err != io.EOF {
			return nil, invalid("anomaly config: detector: data after the object")
		}
	}
	if _, err := anomaly.New(dc); err != nil {
		return nil, invalid("anomaly config: detector: %v", err)
	}
	return &anomalyModel{cfg: c, dc: dc, series: map[telemetry.Key]*anomalySeries{}}, nil
}

type anomalySeries struct {
	det    *anomaly.Detector
	n      int
	lastTS int64
}

// anomalyModel runs one detector per series, as the scoring service does.
type anomalyModel struct {
	cfg    AnomalyConfig
	dc     anomaly.Config
	series map[telemetry.Key]*anomalySeries
}

func (m *anomalyModel) Score(s telemetry.Sample, _ History) (Output, error) {
	st := m.series[s.Key()]
	if st == nil {
		d, err := anomaly.New(m.dc)
		if err != nil {
			return Output{}, err
		}
		st = &anomalySeries{det: d, lastTS: math.MinInt64}
		m.series[s.Key()] = st
	}
	if s.TS <= st.lastTS {
		return Output{}, errors.New("sample out of order")
	}
	sc := st.det.Update(s.TS, s.Value)
	st.lastTS = s.TS
	st.n++
	o := Output{Score: sc}
	if sc >= m.cfg.Threshold && st.n > m.cfg.LearningSamples {
		o.Alert, o.Severity = true, "warning"
	}
	return o, nil
}

// newModel builds a model of a family.
func (r *Registry) newModel(family string, cfg json.RawMessage, seed uint64) (Model, error) {
	f := r.families[family]
	if f == nil {
		return nil, invalid("unknown model family %q", family)
	}
	return f(cfg, seed)
}

// NewModel builds a model of a built-in family (for callers without a
// registry, such as the scoring service's own checks).
func NewModel(family string, cfg json.RawMessage, seed uint64) (Model, error) {
	if family != FamilyAnomaly {
		return nil, fmt.Errorf("%w: unknown model family %q", ErrInvalid, family)
	}
	return newAnomalyModel(cfg, seed)
}
