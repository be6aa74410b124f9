package landslide

import (
	"bufio"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The risk scenarios in testdata/scenarios are reviewable expectations:
// one line per assessment, "key=value ... => level [capped] [reasons=a,b]".
// Keys: rain (ratio to the criterion), fs (minimum FS), ttf (hours from now
// to the forecast's early bound; implies an accelerating forecast), jump
// (the forecast flagged a sensor jump), quality (comma-separated flags).
func TestRiskScenarios(t *testing.T) {
	files, _ := filepath.Glob("testdata/scenarios/*.txt")
	if len(files) == 0 {
		t.Fatal("no scenarios")
	}
	flags := map[string]Quality{}
	for q := GaugeStuck; q <= ModelInputSuspect; q <<= 1 {
		flags[q.String()] = q
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			f, err := os.Open(file)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			sc := bufio.NewScanner(f)
			for line := 1; sc.Scan(); line++ {
				text := strings.TrimSpace(sc.Text())
				if text == "" || strings.HasPrefix(text, "#") {
					continue
				}
				lhs, rhs, ok := strings.Cut(text, "=>")
				if !ok {
					t.Fatalf("line %d: no =>", line)
				}
				ev := Evidence{RainRatio: math.NaN(), MinFS: math.NaN(), RainCriterion: "24h"}
				for _, kv := range strings.Fields(lhs) {
					k, v, _ := strings.Cut(kv, "=")
					num := func() float64 {
						x, err := strconv.ParseFloat(v, 64)
						if err != nil {
							t.Fatalf("line %d: %s: %v", line, kv, err)
						}
						return x
					}
					switch k {
					case "rain":
						ev.RainRatio = num()
					case "fs":
						ev.MinFS = num()
					case "ttf":
						lo := t0.Add(time.Duration(num() * float64(time.Hour)))
						if ev.Forecast == nil {
							ev.Forecast = &Forecast{}
						}
						ev.Forecast.Accelerating, ev.Forecast.Lower, ev.Forecast.FailureTime = true, lo, lo.Add(time.Hour)
					case "jump":
						if ev.Forecast == nil {
							ev.Forecast = &Forecast{}
						}
						ev.Forecast.Jump = v == "true"
					case "quality":
						for _, name := range strings.Split(v, ",") {
							q, ok := flags[name]
							if !ok {
								t.Fatalf("line %d: unknown flag %q", line, name)
							}
							ev.Quality |= q
						}
					default:
						t.Fatalf("line %d: unknown key %q", line, k)
					}
				}
				want := strings.Fields(rhs)
				a := Assess(DefaultRiskConfig(), ev, t0)
				if a.Level.String() != want[0] {
					t.Errorf("line %d %q: level %v, want %s (reasons %+v)", line, text, a.Level, want[0], a.Reasons)
				}
				capped := false
				var got []string
				for _, r := range a.Reasons {
					capped = capped || r.Capped
					got = append(got, r.Evidence)
				}
				for _, w := range want[1:] {
					switch {
					case w == "capped":
						if !capped {
							t.Errorf("line %d: no reason capped", line)
						}
					case strings.HasPrefix(w, "reasons="):
						if g := strings.Join(got, ","); g != strings.TrimPrefix(w, "reasons=") {
							t.Errorf("line %d: reasons %s, want %s", line, g, strings.TrimPrefix(w, "reasons="))
						}
					default:
						t.Fatalf("line %d: unknown expectation %q", line, w)
					}
				}
			}
			if err := sc.Err(); err != nil {
				t.Fatal(err)
			}
		})
	}
}
