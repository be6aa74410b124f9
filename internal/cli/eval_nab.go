package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/tsingma/tsingma/internal/eval/nab"
)

// runEvalNAB scores anomaly detectors on the Numenta Anomaly Benchmark:
// either a directory of per-row outputs in NAB's format (--results), or a
// tsingma detector run over the corpus (--detector). The last line is
// "nab standard=S low_fp=F low_fn=N".
func runEvalNAB(ctx context.Context, e *env, args []string) int {
	const prog = "tsingma eval nab"
	fs := flag.NewFlagSet(prog, flag.ContinueOnError)
	data := fs.String("data", "../shared/datasets/nab", "NAB folder (data/, labels/, config/)")
	results := fs.String("results", "", "score this directory of per-row results `DIR` (<DIR>/<category>/<detector>_<file>.csv; the detector is the folder's name)")
	useTh := fs.Bool("thresholds", false, "score at the detector's thresholds in <data>/config/thresholds.json instead of sweeping")
	detector := fs.String("detector", nab.DefaultDetector, "tsingma detector to run: "+strings.Join(nab.DetectorNames(), ", "))
	out := fs.String("out", "", "write the detector's per-row outputs in NAB's format under `DIR`/<detector> (default: a new temporary directory)")
	seed := fs.Int64("seed", 1, "detector seed (recorded in the configuration; the method has no random element, so scores do not depend on it)")
	workers := fs.Int("workers", 2, "series scored in parallel")
	half := fs.String("half", "", "score only one half of the fixed held-out split: a (the half the detector's settings were chosen on) or b (held out); the default is the whole corpus")
	if code, ok := parseFlags(fs, e, args); !ok {
		return code
	}
	resultsSet, detectorSet := false, false
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "results":
			resultsSet = true
		case "detector", "out", "seed", "workers":
			detectorSet = true
		}
	})
	if resultsSet && detectorSet {
		return fail(e, prog, errors.New("--results scores existing outputs; it cannot be combined with --detector, --out, --seed or --workers"))
	}
	if resultsSet && *results == "" {
		return fail(e, prog, errors.New("--results needs a directory"))
	}
	if *half != "" && *half != "a" && *half != "b" {
		return fail(e, prog, fmt.Errorf("--half %q: want a or b", *half))
	}
	if *workers < 1 {
		return fail(e, prog, fmt.Errorf("--workers %d: want at least 1", *workers))
	}
	corpus, err := nab.LoadCorpus(*data)
	if err != nil {
		return fail(e, prog, err)
	}
	corpus = corpus.SelectHalf(*half)

	name := *detector
	if resultsSet {
		name = filepath.Base(filepath.Clean(*results))
	}
	var th map[string]float64
	if *useTh {
		if th, err = nab.ReadThresholdsFile(filepath.Join(*data, "config", "thresholds.json"), name); err != nil {
			return fail(e, prog, err)
		}
	}
	var files []nab.Scored
	if resultsSet {
		dir := filepath.Clean(*results)
		if files, _, err = nab.LoadResults(dir, name, corpus); err != nil {
			return fail(e, prog, err)
		}
	} else {
		mk, err := nab.NewDetector(name, *seed)
		if err != nil {
			return fail(e, prog, err)
		}
		var progress func(done, total int)
		if nabIsTerminal(e.stderr) {
			progress = func(done, total int) {
				const width = 40
				bar := strings.Repeat("#", done*width/total) + strings.Repeat(".", width-done*width/total)
				fmt.Fprintf(e.stderr, "\r%s [%s] %d/%d series", name, bar, done, total)
				if done == total {
					fmt.Fprintln(e.stderr)
				}
			}
		}
		if files, err = nab.RunDetector(ctx, corpus, mk, *workers, progress); err != nil {
			return fail(e, prog, err)
		}
		dir := *out
		if dir == "" {
			if dir, err = os.MkdirTemp("", "tsingma-nab-"); err != nil {
				return fail(e, prog, err)
			}
		}
		dir = filepath.Join(dir, name)
		if err := nab.WriteResults(dir, name, corpus, files); err != nil {
			return fail(e, prog, err)
		}
		fmt.Fprintf(e.stdout, "per-row outputs: %s (score them again with --results %s)\n", dir, dir)
	}

	rep, err := nab.Evaluate(name, corpus.Profiles, files, th)
	if err != nil {
		return fail(e, prog, err)
	}
	if err := rep.WriteTable(e.stdout); err != nil {
		return fail(e, prog, err)
	}
	fmt.Fprintln(e.stdout)
	fmt.Fprintln(e.stdout, rep.Summary())
	return 0
}

// nabIsTerminal reports whether w is a character device (a terminal).
func nabIsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
