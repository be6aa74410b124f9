// Package nab reads the Numenta Anomaly Benchmark (NAB v1.1) corpus and
// scores per-row anomaly scores the way NAB's scorer does: probationary
// period, labelled anomaly windows, the scaled sigmoid relative to the
// windows, one global threshold per detector and profile found by an
// exhaustive sweep, and normalisation between the null and the perfect
// detector. It also runs a streaming detector over the corpus and writes
// per-row outputs in NAB's results format.
//
// Nothing in this package keeps global state; every function is safe to call
// from several goroutines on distinct values.
package nab

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Window is a labelled anomaly window: the closed row range [Start, End]
// (0-based row indices, both inclusive).
type Window struct {
	Start, End int
}

// Width is the number of rows in the window.
func (w Window) Width() int { return w.End - w.Start + 1 }

// Series is one NAB data file in file order. Rows are never sorted or
// de-duplicated: windows are positional.
type Series struct {
	Name       string    // "<category>/<file>.csv", the key used by the labels
	Timestamps []string  // as written in the file
	Millis     []int64   // Timestamps parsed as UTC, in Unix milliseconds
	Values     []float64 // the value column
	Windows    []Window  // labelled windows, sorted, non-overlapping
}

// Category is the folder part of the series name.
func (s *Series) Category() string {
	if i := strings.IndexByte(s.Name, '/'); i >= 0 {
		return s.Name[:i]
	}
	return ""
}

// Corpus is the whole benchmark: the series in name order and the profiles.
type Corpus struct {
	Series   []*Series
	Profiles []Profile
}

// NumWindows is the number of labelled windows over all series.
func (c *Corpus) NumWindows() int {
	n := 0
	for _, s := range c.Series {
		n += len(s.Windows)
	}
	return n
}

const (
	tsLayout     = "2006-01-02 15:04:05"
	labelLayout  = "2006-01-02 15:04:05.999999"
	maxFieldSize = 64
)

// ParseTimestamp parses a NAB timestamp ("YYYY-MM-DD HH:MM:SS", optionally
// with fractional seconds) as UTC and returns Unix milliseconds.
func ParseTimestamp(s string) (int64, error) {
	t, err := time.Parse(labelLayout, s)
	if err != nil {
		return 0, fmt.Errorf("bad timestamp %q: want YYYY-MM-DD HH:MM:SS", s)
	}
	return t.UnixMilli(), nil
}

// ReadSeries reads a NAB data file with the header "timestamp,value".
// name is the label key, "<category>/<file>.csv".
func ReadSeries(r io.Reader, name string) (*Series, error) {
	cr := csv.NewReader(bufio.NewReader(r))
	cr.ReuseRecord = true
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("read header: %w", err)
	}
	if len(head) != 2 || head[0] != "timestamp" || head[1] != "value" {
		return nil, fmt.Errorf("header %q: want \"timestamp,value\"", strings.Join(head, ","))
	}
	s := &Series{Name: name}
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		ms, err := ParseTimestamp(rec[0])
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		v, err := parseValue(rec[1])
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		s.Timestamps = append(s.Timestamps, strings.Clone(rec[0]))
		s.Millis = append(s.Millis, ms)
		s.Values = append(s.Values, v)
	}
	if len(s.Values) == 0 {
		return nil, errors.New("no rows")
	}
	return s, nil
}

func parseValue(f string) (float64, error) {
	if len(f) > maxFieldSize {
		return 0, fmt.Errorf("value field longer than %d bytes", maxFieldSize)
	}
	v, err := strconv.ParseFloat(f, 64)
	if err != nil {
		return 0, fmt.Errorf("bad value %q", f)
	}
	if v != v || v > 1e300 || v < -1e300 {
		return 0, fmt.Errorf("value %q is not a finite number", f)
	}
	return v, nil
}

// RawWindows is the content of labels/combined_windows.json: for each series
// name, a list of [start, end] timestamps.
type RawWindows map[string][][2]string

// ReadWindows decodes a combined_windows.json document.
func ReadWindows(r io.Reader) (RawWindows, error) {
	dec := json.NewDecoder(r)
	var m map[string][][]string
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("decode windows: %w", err)
	}
	if dec.More() {
		return nil, errors.New("decode windows: trailing data after the JSON object")
	}
	out := make(RawWindows, len(m))
	for name, ws := range m {
		pairs := make([][2]string, 0, len(ws))
		for i, w := range ws {
			if len(w) != 2 {
				return nil, fmt.Errorf("windows of %s: entry %d has %d timestamps, want 2", name, i, len(w))
			}
			pairs = append(pairs, [2]string{w[0], w[1]})
		}
		out[name] = pairs
	}
	return out, nil
}

// Locate turns timestamped windows into row windows for s. A window starts at
// the first row whose timestamp equals its start and ends at the first row
// whose timestamp equals its end, as NAB does. The windows must be in order
// and must not overlap.
func Locate(s *Series, raw [][2]string) ([]Window, error) {
	first := make(map[int64]int, len(s.Millis))
	for i, ms := range s.Millis {
		if _, ok := first[ms]; !ok {
			first[ms] = i
		}
	}
	var out []Window
	for k, p := range raw {
		var idx [2]int
		for j, ts := range p {
			ms, err := ParseTimestamp(ts)
			if err != nil {
				return nil, fmt.Errorf("window %d of %s: %w", k, s.Name, err)
			}
			i, ok := first[ms]
			if !ok {
				return nil, fmt.Errorf("window %d of %s: timestamp %s is not a row of the file", k, s.Name, ts)
			}
			idx[j] = i
		}
		w := Window{Start: idx[0], End: idx[1]}
		if w.End < w.Start+1 {
			return nil, fmt.Errorf("window %d of %s: end row %d must come after start row %d (width at least 2)", k, s.Name, w.End, w.Start)
		}
		if len(out) > 0 && w.Start <= out[len(out)-1].End {
			return nil, fmt.Errorf("window %d of %s overlaps or precedes the previous one", k, s.Name)
		}
		out = append(out, w)
	}
	return out, nil
}

// LoadCorpus reads the NAB tree at dir: data/<category>/*.csv,
// labels/combined_windows.json and config/profiles.json. Every data file
// must have an entry in the windows file and every entry must name a file.
func LoadCorpus(dir string) (*Corpus, error) {
	dataDir := filepath.Join(dir, "data")
	var names []string
	err := filepath.WalkDir(dataDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(p, ".csv") {
			return nil
		}
		rel, err := filepath.Rel(dataDir, p)
		if err != nil {
			return err
		}
		names = append(names, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list NAB data in %s: %w (is --data the NAB folder?)", dataDir, err)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("no CSV files under %s (is --data the NAB folder?)", dataDir)
	}
	sort.Strings(names)
	wpath := filepath.Join(dir, "labels", "combined_windows.json")
	raw, err := readWindowsFile(wpath)
	if err != nil {
		return nil, err
	}
	profiles, err := ReadProfilesFile(filepath.Join(dir, "config", "profiles.json"))
	if err != nil {
		return nil, err
	}
	c := &Corpus{Profiles: profiles}
	for _, name := range names {
		s, err := readSeriesFile(filepath.Join(dataDir, filepath.FromSlash(name)), name)
		if err != nil {
			return nil, err
		}
		ws, ok := raw[name]
		if !ok {
			return nil, fmt.Errorf("%s has no entry in %s", name, wpath)
		}
		if s.Windows, err = Locate(s, ws); err != nil {
			return nil, err
		}
		c.Series = append(c.Series, s)
	}
	if len(raw) != len(names) {
		for k := range raw {
			if sort.SearchStrings(names, k) == len(names) || names[sort.SearchStrings(names, k)] != k {
				return nil, fmt.Errorf("%s names %s, which is not a data file", wpath, k)
			}
		}
	}
	return c, nil
}

func readWindowsFile(p string) (RawWindows, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("open windows: %w", err)
	}
	defer f.Close()
	raw, err := ReadWindows(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return raw, nil
}

func readSeriesFile(p, name string) (*Series, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("open series: %w", err)
	}
	defer f.Close()
	s, err := ReadSeries(f, name)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	return s, nil
}

// ResultPath is where NAB keeps a detector's per-row output for a series:
// <dir>/<category>/<detector>_<file>.csv.
func ResultPath(dir, detector, series string) string {
	cat, file := path.Split(series)
	return filepath.Join(dir, filepath.FromSlash(cat), detector+"_"+file)
}
