package nab

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Result is a per-row results file of a detector, in NAB's format:
// timestamp, value, anomaly_score, label and optionally S(t)_<profile>
// columns, in any order (they are read by name).
type Result struct {
	Timestamps []string
	Values     []float64
	Scores     []float64
	Labels     []int                // nil when the file has no label column
	S          map[string][]float64 // S(t) columns by profile name
}

// ReadResult decodes a per-row results CSV.
func ReadResult(r io.Reader) (*Result, error) {
	cr := csv.NewReader(bufio.NewReader(r))
	cr.ReuseRecord = true
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("read header: %w", err)
	}
	col := map[string]int{}
	for i, h := range head {
		if _, dup := col[h]; dup {
			return nil, fmt.Errorf("header: column %q appears twice", h)
		}
		col[h] = i
	}
	for _, need := range []string{"timestamp", "value", "anomaly_score"} {
		if _, ok := col[need]; !ok {
			return nil, fmt.Errorf("header %q: no %q column", strings.Join(head, ","), need)
		}
	}
	res := &Result{S: map[string][]float64{}}
	sCols := map[string]int{}
	for h, i := range col {
		if p, ok := strings.CutPrefix(h, "S(t)_"); ok {
			sCols[p] = i
		}
	}
	labelCol, hasLabel := col["label"]
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		if _, err := ParseTimestamp(rec[col["timestamp"]]); err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		res.Timestamps = append(res.Timestamps, strings.Clone(rec[col["timestamp"]]))
		v, err := parseValue(rec[col["value"]])
		if err != nil {
			return nil, fmt.Errorf("line %d: value: %w", line, err)
		}
		res.Values = append(res.Values, v)
		sc, err := parseValue(rec[col["anomaly_score"]])
		if err != nil {
			return nil, fmt.Errorf("line %d: anomaly_score: %w", line, err)
		}
		res.Scores = append(res.Scores, sc)
		if hasLabel {
			l, err := strconv.Atoi(rec[labelCol])
			if err != nil || (l != 0 && l != 1) {
				return nil, fmt.Errorf("line %d: label %q: want 0 or 1", line, rec[labelCol])
			}
			res.Labels = append(res.Labels, l)
		}
		for p, i := range sCols {
			x, err := parseValue(rec[i])
			if err != nil {
				return nil, fmt.Errorf("line %d: S(t)_%s: %w", line, p, err)
			}
			res.S[p] = append(res.S[p], x)
		}
	}
	if len(res.Scores) == 0 {
		return nil, errors.New("no rows")
	}
	return res, nil
}

// LoadResults reads the per-row results of detector for every series of c
// from dir (<dir>/<category>/<detector>_<file>.csv) and checks that each has
// the series' rows, timestamp by timestamp.
func LoadResults(dir, detector string, c *Corpus) ([]Scored, []*Result, error) {
	var scored []Scored
	var results []*Result
	for _, s := range c.Series {
		p := ResultPath(dir, detector, s.Name)
		f, err := os.Open(p)
		if err != nil {
			return nil, nil, fmt.Errorf("open results of %s: %w", s.Name, err)
		}
		res, err := ReadResult(f)
		f.Close()
		if err != nil {
			return nil, nil, fmt.Errorf("read %s: %w", p, err)
		}
		if len(res.Scores) != len(s.Values) {
			return nil, nil, fmt.Errorf("%s has %d rows, the data file %s has %d", p, len(res.Scores), s.Name, len(s.Values))
		}
		for i, ts := range res.Timestamps {
			if ts != s.Timestamps[i] {
				return nil, nil, fmt.Errorf("%s row %d: timestamp %s, the data file has %s", p, i+2, ts, s.Timestamps[i])
			}
		}
		scored = append(scored, Scored{Name: s.Name, Category: s.Category(), Scores: res.Scores, Windows: s.Windows})
		results = append(results, res)
	}
	return scored, results, nil
}

// WriteResult writes one series' per-row output in NAB's format (ARTime's
// column order), with the per-row sweep score of every profile.
func WriteResult(w io.Writer, s *Series, scores []float64, profiles []Profile) error {
	if len(scores) != len(s.Values) {
		return fmt.Errorf("write results of %s: %d scores for %d rows", s.Name, len(scores), len(s.Values))
	}
	bw := bufio.NewWriter(w)
	bw.WriteString("timestamp,value,anomaly_score,label")
	rs := make([][]float64, len(profiles))
	for k, p := range profiles {
		bw.WriteString(",S(t)_" + p.Name)
		rs[k] = RowScores(len(scores), s.Windows, p)
	}
	bw.WriteString("\n")
	win := windowIndex(len(scores), s.Windows)
	var buf []byte
	for i := range scores {
		buf = buf[:0]
		buf = append(buf, s.Timestamps[i]...)
		buf = append(buf, ',')
		buf = strconv.AppendFloat(buf, s.Values[i], 'g', -1, 64)
		buf = append(buf, ',')
		buf = strconv.AppendFloat(buf, scores[i], 'g', -1, 64)
		if win[i] >= 0 {
			buf = append(buf, ",1"...)
		} else {
			buf = append(buf, ",0"...)
		}
		for k := range profiles {
			buf = append(buf, ',')
			buf = strconv.AppendFloat(buf, rs[k][i], 'g', -1, 64)
		}
		buf = append(buf, '\n')
		bw.Write(buf)
	}
	return bw.Flush()
}

// WriteResults writes every series' output under dir in NAB's layout.
func WriteResults(dir, detector string, c *Corpus, files []Scored) error {
	for k, s := range c.Series {
		p := ResultPath(dir, detector, s.Name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("write results: %w", err)
		}
		f, err := os.Create(p)
		if err != nil {
			return fmt.Errorf("write results: %w", err)
		}
		err = WriteResult(f, s, files[k].Scores, c.Profiles)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("write %s: %w", p, err)
		}
	}
	return nil
}

// ReadThresholds reads config/thresholds.json and returns the published
// threshold of detector for each profile.
func ReadThresholds(r io.Reader, detector string) (map[string]float64, error) {
	var m map[string]map[string]struct {
		Threshold *float64 `json:"threshold"`
	}
	if err := json.NewDecoder(r).Decode(&m); err != nil {
		return nil, fmt.Errorf("decode thresholds: %w", err)
	}
	d, ok := m[detector]
	if !ok {
		return nil, fmt.Errorf("thresholds: no entry for detector %q", detector)
	}
	out := map[string]float64{}
	for p, v := range d {
		if v.Threshold == nil || math.IsNaN(*v.Threshold) {
			return nil, fmt.Errorf("thresholds: %s/%s has no threshold", detector, p)
		}
		out[p] = *v.Threshold
	}
	return out, nil
}

// ReadThresholdsFile reads thresholds of detector from a file.
func ReadThresholdsFile(p, detector string) (map[string]float64, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("open thresholds: %w", err)
	}
	defer f.Close()
	out, err := ReadThresholds(f, detector)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return out, nil
}
