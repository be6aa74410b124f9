package nab

// Oracle is a diagnostic of how much of a detector's NAB score depends on
// NAB's one global threshold per profile. It gives the normalised score
// with the global threshold found by the sweep (the NAB score), with one
// threshold per category and with one threshold per file, each chosen in
// hindsight by the same sweep on the labels. The last two are not NAB
// scores (NAB allows one threshold per detector and profile) and no
// streaming detector can reach them: they bound what a per-channel
// recalibration of the scores could gain, and the gap between them shows
// how much of that bound is hindsight about where each file's windows lie.
type Oracle struct {
	Global, PerCategory, PerFile float64
}

// ThresholdOracle computes the Oracle of files for profile p.
func ThresholdOracle(files []Scored, p Profile) Oracle {
	windows := 0
	byCat := map[string][]Scored{}
	var perFile float64
	for _, f := range files {
		windows += len(f.Windows)
		byCat[f.Category] = append(byCat[f.Category], f)
		_, raw := Sweep([]Scored{f}, p)
		perFile += raw
	}
	var perCat float64
	for _, fs := range byCat {
		_, raw := Sweep(fs, p)
		perCat += raw
	}
	_, global := Sweep(files, p)
	return Oracle{
		Global:      Normalize(global, windows, p),
		PerCategory: Normalize(perCat, windows, p),
		PerFile:     Normalize(perFile, windows, p),
	}
}
