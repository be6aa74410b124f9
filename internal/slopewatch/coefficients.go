package slopewatch

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/tsingma/tsingma/internal/landslide"
)

// coefficientsJSON holds the territory curve fitted by internal/eval/landslip
// on the 1984–2005 Hong Kong records and the IDF relation fitted on the HKO
// Headquarters daily rainfall, with their provenance and the command that
// regenerates them (TestCoefficients -update). Nothing reads a dataset at
// run time.
//
//go:embed coefficients.json
var coefficientsJSON []byte

// Coefficients is the committed, reproducible model data.
type Coefficients struct {
	Provenance string `json:"provenance"`
	Command    string `json:"command"`
	Curve      struct {
		WindowsHours []float64 `json:"windows_hours"`
		Intercept    float64   `json:"intercept"`
		Coef         []float64 `json:"coef"`
		// Thresholds chosen on the training years (max CSI) for days with
		// at least 10 and at least 50 reported landslides.
		Threshold10 float64 `json:"threshold_10"`
		Threshold50 float64 `json:"threshold_50"`
	} `json:"curve"`
	IDF IDF `json:"idf"`
}

// IDF is a Gumbel (EV1) intensity–duration–frequency relation for whole
// days: the depth for return period T over D days is
// Weiss(D)·(mean_D + K_T·sd_D), K_T = −(√6/π)(γ + ln ln(T/(T−1))), fitted by
// the method of moments to the annual maxima of D-day totals.
type IDF struct {
	Station   string        `json:"station"`
	Years     string        `json:"years"`
	Method    string        `json:"method"`
	Durations []IDFDuration `json:"durations"`
}

// IDFDuration is the fitted annual-maximum distribution of D-day totals.
type IDFDuration struct {
	Days  int     `json:"days"`
	Years int     `json:"years"`
	Mean  float64 `json:"mean_mm"`
	SD    float64 `json:"sd_mm"`
}

func loadCoefficients() (Coefficients, error) {
	var c Coefficients
	if err := json.Unmarshal(coefficientsJSON, &c); err != nil {
		return c, fmt.Errorf("slopewatch: embedded coefficients: %w", err)
	}
	if len(c.Curve.WindowsHours) != len(c.Curve.Coef) || len(c.Curve.Coef) == 0 || !(c.Curve.Threshold10 > 0) {
		return c, fmt.Errorf("slopewatch: embedded coefficients: bad curve")
	}
	return c, nil
}

// curve returns the landslide.Curve.
func (c Coefficients) curve() landslide.Curve {
	cv := landslide.Curve{Intercept: c.Curve.Intercept, Coef: append([]float64(nil), c.Curve.Coef...)}
	for _, h := range c.Curve.WindowsHours {
		cv.Windows = append(cv.Windows, time.Duration(h*float64(time.Hour)))
	}
	return cv
}

// weiss converts a fixed-interval (calendar-day) maximum to a true
// sliding-window maximum (Weiss 1964: n/(n − 1/8) for n sampling units).
func weiss(days int) float64 { return float64(days) / (float64(days) - 0.125) }

// gumbelK is the frequency factor of the EV1 distribution for return period T.
func gumbelK(T float64) float64 {
	return -math.Sqrt(6) / math.Pi * (0.5772156649 + math.Log(math.Log(T/(T-1))))
}

// Depth returns the design rainfall depth (mm) for a return period of T
// years over a whole number of days present in the relation.
func (f IDF) Depth(T float64, days int) (float64, error) {
	for _, d := range f.Durations {
		if d.Days == days {
			return weiss(days) * (d.Mean + gumbelK(T)*d.SD), nil
		}
	}
	return 0, fmt.Errorf("no IDF relation for %d days", days)
}

// Days lists the durations the relation covers.
func (f IDF) Days() []int {
	var out []int
	for _, d := range f.Durations {
		out = append(out, d.Days)
	}
	return out
}
