package nab

import (
	"context"
	"fmt"
	"io"
	"math"
	"sort"
	"sync"
	"text/tabwriter"
)

// ProfileReport is the outcome of one profile: the threshold used, the
// corpus raw score, its normalised value and the per-file results.
type ProfileReport struct {
	Profile   Profile
	Threshold float64
	Swept     bool // the threshold was found by the sweep
	Raw       float64
	Score     float64 // normalised, 0 = null detector, 100 = perfect
	Files     []FileResult
}

// Report is the outcome of scoring one detector on the corpus.
type Report struct {
	Detector string
	Windows  int
	Profiles []ProfileReport
}

// Evaluate scores files for every profile. With thresholds nil each
// profile's threshold is found by the sweep; otherwise thresholds must hold
// one per profile name. As NAB does, the reported raw score is the sum of the
// per-file scores at the chosen threshold.
func Evaluate(detector string, profiles []Profile, files []Scored, thresholds map[string]float64) (Report, error) {
	rep := Report{Detector: detector}
	for _, f := range files {
		rep.Windows += len(f.Windows)
	}
	for _, p := range profiles {
		pr := ProfileReport{Profile: p}
		if thresholds == nil {
			pr.Threshold, _ = Sweep(files, p)
			pr.Swept = true
		} else {
			th, ok := thresholds[p.Name]
			if !ok {
				return Report{}, fmt.Errorf("no threshold for profile %s", p.Name)
			}
			pr.Threshold = th
		}
		for _, f := range files {
			r := ScoreAt(f, p, pr.Threshold)
			pr.Raw += r.Raw
			pr.Files = append(pr.Files, r)
		}
		pr.Score = Normalize(pr.Raw, rep.Windows, p)
		rep.Profiles = append(rep.Profiles, pr)
	}
	return rep, nil
}

// Summary is the one-line headline: "nab standard=S low_fp=F low_fn=N".
func (r Report) Summary() string {
	get := func(name string) float64 {
		for _, p := range r.Profiles {
			if p.Profile.Name == name {
				return p.Score
			}
		}
		return math.NaN()
	}
	return fmt.Sprintf("nab standard=%.2f low_fp=%.2f low_fn=%.2f", get(Standard), get(LowFP), get(LowFN))
}

// WriteTable prints one table per profile: the threshold and score, then
// per category the raw score, the score normalised within the category
// (blank when it has no windows), the windows detected and the false
// positive detections.
func (r Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	for _, p := range r.Profiles {
		how := "published"
		if p.Swept {
			how = "swept"
		}
		fmt.Fprintf(tw, "\n%s  profile %s (A_TP=%g A_FP=%g A_FN=%g)  threshold %.6g (%s)\n",
			r.Detector, p.Profile.Name, p.Profile.TP, p.Profile.FP, p.Profile.FN, p.Threshold, how)
		fmt.Fprintln(tw, "category\tfiles\traw\tscore\twindows hit\tFP rows\t")
		type agg struct {
			files, wins, hit, fp int
			raw                  float64
		}
		cats := map[string]*agg{}
		var names []string
		for _, f := range p.Files {
			a := cats[f.Category]
			if a == nil {
				a = &agg{}
				cats[f.Category] = a
				names = append(names, f.Category)
			}
			a.files++
			a.wins += f.Windows
			a.hit += f.WindowsHit
			a.fp += f.FP
			a.raw += f.Raw
		}
		sort.Strings(names)
		var tot agg
		for _, c := range names {
			a := cats[c]
			fmt.Fprintf(tw, "%s\t%d\t%.3f\t%s\t%d/%d\t%d\t\n", c, a.files, a.raw, fmtScore(Normalize(a.raw, a.wins, p.Profile)), a.hit, a.wins, a.fp)
			tot.files += a.files
			tot.wins += a.wins
			tot.hit += a.hit
			tot.fp += a.fp
			tot.raw += a.raw
		}
		fmt.Fprintf(tw, "total\t%d\t%.3f\t%s\t%d/%d\t%d\t\n", tot.files, tot.raw, fmtScore(p.Score), tot.hit, tot.wins, tot.fp)
	}
	return tw.Flush()
}

func fmtScore(x float64) string {
	if math.IsNaN(x) {
		return "-"
	}
	return fmt.Sprintf("%.2f", x)
}

// Detector is what RunDetector needs of a streaming detector: one update per
// row, returning an anomaly score.
type Detector interface {
	Update(tsMillis int64, v float64) float64
}

// RunDetector feeds every series of c, row by row in file order, to a fresh
// detector made by newDet, and returns the scores. Series run on up to
// workers goroutines, all finished before it returns; progress (may be nil)
// is called after each series from one goroutine at a time.
func RunDetector(ctx context.Context, c *Corpus, newDet func() (Detector, error), workers int, progress func(done, total int)) ([]Scored, error) {
	out := make([]Scored, len(c.Series))
	errs := make([]error, len(c.Series))
	jobs := make(chan int)
	var mu sync.Mutex
	done := 0
	var wg sync.WaitGroup
	for range max(workers, 1) {
		wg.Go(func() {
			for k := range jobs {
				s := c.Series[k]
				d, err := newDet()
				if err != nil {
					errs[k] = err
					continue
				}
				sc := make([]float64, len(s.Values))
				for i, v := range s.Values {
					sc[i] = d.Update(s.Millis[i], v)
				}
				out[k] = Scored{Name: s.Name, Category: s.Category(), Scores: sc, Windows: s.Windows}
				mu.Lock()
				done++
				if progress != nil {
					progress(done, len(c.Series))
				}
				mu.Unlock()
			}
		})
	}
	var ctxErr error
feed:
	for k := range c.Series {
		if ctxErr = ctx.Err(); ctxErr != nil {
			break
		}
		select {
		case jobs <- k:
		case <-ctx.Done():
			ctxErr = ctx.Err()
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if ctxErr != nil {
		return nil, ctxErr
	}
	for k, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("detector on %s: %w", c.Series[k].Name, err)
		}
	}
	return out, nil
}
