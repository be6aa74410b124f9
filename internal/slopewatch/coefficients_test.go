package slopewatch

import (
	"context"
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/tsingma/tsingma/internal/eval/landslip"
	"github.com/tsingma/tsingma/internal/testenv"
)

var update = flag.Bool("update", false, "regenerate coefficients.json from ../shared/datasets/hk")

const regenCommand = "go test ./internal/slopewatch -run TestCoefficients -update"

// fitIDF fits the Gumbel relation to the annual maxima of D-day totals of
// the years with at most 5 % of days missing.
func fitIDF(rain []landslip.DailyRain, days []int) IDF {
	byYear := map[int][]landslip.DailyRain{}
	for _, r := range rain {
		byYear[r.Date.Year()] = append(byYear[r.Date.Year()], r)
	}
	var years []int
	for y, rs := range byYear {
		miss := 0
		for _, r := range rs {
			if r.Missing {
				miss++
			}
		}
		if len(rs) >= 360 && float64(miss) <= 0.05*float64(len(rs)) {
			years = append(years, y)
		}
	}
	sort.Ints(years)
	out := IDF{Station: "HKO Headquarters (daily_HKO_RF_ALL)", Method: "annual maxima of D-day totals, Gumbel method of moments, Weiss (1964) n/(n-1/8) fixed-to-sliding correction"}
	if len(years) > 0 {
		out.Years = fmtYears(years)
	}
	for _, D := range days {
		var mx []float64
		for _, y := range years {
			rs := byYear[y]
			best := 0.0
			for i := 0; i+D <= len(rs); i++ {
				s := 0.0
				for _, r := range rs[i : i+D] {
					s += r.MM
				}
				best = math.Max(best, s)
			}
			mx = append(mx, best)
		}
		m, sd := 0.0, 0.0
		for _, v := range mx {
			m += v
		}
		m /= float64(len(mx))
		for _, v := range mx {
			sd += (v - m) * (v - m)
		}
		sd = math.Sqrt(sd / float64(len(mx)-1))
		out.Durations = append(out.Durations, IDFDuration{Days: D, Years: len(mx), Mean: round(m, 1), SD: round(sd, 1)})
	}
	return out
}

func fmtYears(ys []int) string {
	return itoa(ys[0]) + "-" + itoa(ys[len(ys)-1]) + " (" + itoa(len(ys)) + " complete years)"
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

// TestCoefficients regenerates (with -update) or checks the committed
// coefficients against the dataset: the curve and thresholds of
// internal/eval/landslip's protocol, and the IDF relation.
func TestCoefficients(t *testing.T) {
	dir := testenv.Dataset(t, "hk")
	rep, err := landslip.Run(context.Background(), dir, landslip.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, landslip.RainFile))
	if err != nil {
		t.Fatal(err)
	}
	rain, err := landslip.ReadHKODaily(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	var c Coefficients
	c.Provenance = "curve: internal/eval/landslip (Poisson log-linear fit of daily HKO HQ rolling rainfall to GEO/CEDD landslide counts, 1984-2005; thresholds maximise CSI on those years); idf: HKO HQ daily rainfall, ../shared/datasets/hk/" + landslip.RainFile
	c.Command = regenCommand
	for _, w := range rep.Curve.Windows {
		c.Curve.WindowsHours = append(c.Curve.WindowsHours, w.Hours())
	}
	c.Curve.Intercept = round(rep.Curve.Intercept, 6)
	for _, b := range rep.Curve.Coef {
		c.Curve.Coef = append(c.Curve.Coef, round(b, 6))
	}
	for _, s := range rep.Scores {
		switch s.Event {
		case 10:
			c.Curve.Threshold10 = round(s.Threshold, 4)
		case 50:
			c.Curve.Threshold50 = round(s.Threshold, 4)
		}
	}
	c.IDF = fitIDF(rain, []int{1, 2, 3, 4, 5, 7, 10, 15, 30})
	got, err := json.MarshalIndent(c, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	if *update {
		if err := os.WriteFile("coefficients.json", got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if string(got) != string(coefficientsJSON) {
		t.Fatalf("coefficients.json is stale: run %s\ngot:\n%s", regenCommand, got)
	}
}

func TestIDFDepth(t *testing.T) {
	c, err := loadCoefficients()
	if err != nil {
		t.Fatal(err)
	}
	prev := 0.0
	for _, T := range []float64{2, 5, 10, 50, 100} {
		d, err := c.IDF.Depth(T, 1)
		if err != nil {
			t.Fatal(err)
		}
		if !(d > prev) {
			t.Errorf("1-day depth for T=%g is %g, not above %g", T, d, prev)
		}
		prev = d
	}
	if _, err := c.IDF.Depth(10, 6); err == nil {
		t.Error("a 6-day duration not in the relation gave no error")
	}
}
