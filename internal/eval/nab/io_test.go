package nab

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func TestReadSeries(t *testing.T) {
	in := "timestamp,value\r\n2014-01-01 00:00:00,1.5\r\n2014-01-01 00:05:00,-2\r\n2014-01-01 00:05:00,3e2"
	s, err := ReadSeries(strings.NewReader(in), "c/f.csv")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s.Values, []float64{1.5, -2, 300}) || s.Millis[1] != s.Millis[2] || s.Millis[1]-s.Millis[0] != 300_000 {
		t.Errorf("got %+v", s)
	}
	if s.Category() != "c" {
		t.Errorf("category %q", s.Category())
	}
	for name, bad := range map[string]string{
		"empty":     "",
		"header":    "time,value\n2014-01-01 00:00:00,1\n",
		"no rows":   "timestamp,value\n",
		"bad ts":    "timestamp,value\n2014-13-01 00:00:00,1\n",
		"bad value": "timestamp,value\n2014-01-01 00:00:00,abc\n",
		"nan":       "timestamp,value\n2014-01-01 00:00:00,NaN\n",
		"fields":    "timestamp,value\n2014-01-01 00:00:00,1,2\n",
	} {
		if _, err := ReadSeries(strings.NewReader(bad), "x"); err == nil {
			t.Errorf("%s: accepted %q", name, bad)
		}
	}
}

func TestLocate(t *testing.T) {
	s := &Series{Name: "c/f.csv"}
	for i, m := range []int{0, 1, 2, 2, 3, 1, 4} { // repeats and a step back
		ts := fmt.Sprintf("2014-01-01 00:%02d:00", m)
		ms, _ := ParseTimestamp(ts)
		s.Timestamps = append(s.Timestamps, ts)
		s.Millis = append(s.Millis, ms)
		s.Values = append(s.Values, float64(i))
	}
	got, err := Locate(s, [][2]string{{"2014-01-01 00:01:00.000000", "2014-01-01 00:02:00.000000"}, {"2014-01-01 00:03:00.000000", "2014-01-01 00:04:00.000000"}})
	if err != nil {
		t.Fatal(err)
	}
	if want := []Window{{1, 2}, {4, 6}}; !reflect.DeepEqual(got, want) {
		t.Errorf("windows %v, want %v (first occurrence of each timestamp)", got, want)
	}
	for name, raw := range map[string][][2]string{
		"missing ts": {{"2014-01-01 00:09:00", "2014-01-01 00:10:00"}},
		"reversed":   {{"2014-01-01 00:03:00", "2014-01-01 00:01:00"}},
		"width 1":    {{"2014-01-01 00:03:00", "2014-01-01 00:03:00"}},
		"overlap":    {{"2014-01-01 00:00:00", "2014-01-01 00:02:00"}, {"2014-01-01 00:01:00", "2014-01-01 00:03:00"}},
	} {
		if _, err := Locate(s, raw); err == nil {
			t.Errorf("%s: accepted %v", name, raw)
		}
	}
}

// TestRunWriteLoad runs a detector over a small in-memory corpus, writes
// the per-row outputs in NAB's layout, reads them back and scores them.
func TestRunWriteLoad(t *testing.T) {
	c := &Corpus{Profiles: DefaultProfiles()}
	for k := range 3 {
		s := &Series{Name: fmt.Sprintf("cat%d/s%d.csv", k%2, k), Windows: []Window{{300, 340}}}
		for i := range 500 {
			ts := fmt.Sprintf("2015-02-%02d %02d:%02d:00", 1+i/288, i%288/12, i%12*5)
			ms, _ := ParseTimestamp(ts)
			s.Timestamps, s.Millis = append(s.Timestamps, ts), append(s.Millis, ms)
			v := math.Sin(float64(i) / 10)
			if i == 310 {
				v += 50
			}
			s.Values = append(s.Values, v)
		}
		c.Series = append(c.Series, s)
	}
	mk, err := NewDetector(DefaultDetector, 1)
	if err != nil {
		t.Fatal(err)
	}
	var calls int
	files, err := RunDetector(t.Context(), c, mk, 2, func(done, total int) { calls++ })
	if err != nil {
		t.Fatal(err)
	}
	if calls != 3 {
		t.Errorf("progress called %d times, want 3", calls)
	}
	dir := filepath.Join(t.TempDir(), DefaultDetector)
	if err := WriteResults(dir, DefaultDetector, c, files); err != nil {
		t.Fatal(err)
	}
	back, res, err := LoadResults(dir, DefaultDetector, c)
	if err != nil {
		t.Fatal(err)
	}
	for k := range files {
		if !reflect.DeepEqual(files[k].Scores, back[k].Scores) {
			t.Fatalf("%s: scores differ after a write and read", files[k].Name)
		}
		rs := RowScores(500, c.Series[k].Windows, c.Profiles[0])
		if !reflect.DeepEqual(res[k].S[Standard], rs) {
			t.Fatalf("%s: S(t) column differs from RowScores", files[k].Name)
		}
	}
	rep, err := Evaluate(DefaultDetector, c.Profiles, back, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range rep.Profiles {
		hit := 0
		for _, f := range p.Files {
			hit += f.WindowsHit
		}
		if hit != 3 {
			t.Errorf("%s: %d of 3 windows hit, want all (a 50σ spike in each)", p.Profile.Name, hit)
		}
	}
	var buf bytes.Buffer
	if err := rep.WriteTable(&buf); err != nil || !strings.Contains(buf.String(), "cat1") {
		t.Errorf("table %q, err %v", buf.String(), err)
	}
	if !strings.HasPrefix(rep.Summary(), "nab standard=") {
		t.Errorf("summary %q", rep.Summary())
	}
}

func TestReadThresholds(t *testing.T) {
	in := `{"d": {"standard": {"score": 1, "threshold": 0.5}}, "e": {}}`
	th, err := ReadThresholds(strings.NewReader(in), "d")
	if err != nil || th[Standard] != 0.5 {
		t.Errorf("got %v, %v", th, err)
	}
	if _, err := ReadThresholds(strings.NewReader(in), "zz"); err == nil {
		t.Error("accepted an unknown detector")
	}
}

// FuzzReadSeries: no panic; an accepted file round-trips through a
// re-encoding.
func FuzzReadSeries(f *testing.F) {
	f.Add([]byte("timestamp,value\n2014-01-01 00:00:00,1\n2014-01-01 00:05:00,2.5\n"))
	f.Add([]byte("timestamp,value\r\n2014-01-01 00:00:00,-1e3\r\n"))
	f.Add([]byte("timestamp,value\n2014-01-01 00:00:00,\"1\"\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ReadSeries(bytes.NewReader(b), "c/f.csv")
		if err != nil {
			return
		}
		var out bytes.Buffer
		out.WriteString("timestamp,value\n")
		for i := range s.Values {
			fmt.Fprintf(&out, "%s,%s\n", s.Timestamps[i], strconv.FormatFloat(s.Values[i], 'g', -1, 64))
		}
		s2, err := ReadSeries(&out, "c/f.csv")
		if err != nil {
			t.Fatalf("re-encoded series rejected: %v", err)
		}
		if !reflect.DeepEqual(s.Values, s2.Values) || !reflect.DeepEqual(s.Millis, s2.Millis) {
			t.Fatal("series changed in a round trip")
		}
	})
}

// FuzzReadWindows: no panic; an accepted document round-trips through JSON.
func FuzzReadWindows(f *testing.F) {
	f.Add([]byte(`{"a/b.csv": [["2014-01-01 00:00:00.000000", "2014-01-02 00:00:00.000000"]], "a/c.csv": []}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"x": [["1"]]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		w, err := ReadWindows(bytes.NewReader(b))
		if err != nil {
			return
		}
		enc, err := json.Marshal(w)
		if err != nil {
			t.Fatal(err)
		}
		w2, err := ReadWindows(bytes.NewReader(enc))
		if err != nil || !reflect.DeepEqual(w, w2) {
			t.Fatalf("round trip: %v", err)
		}
	})
}

// FuzzReadResult: no panic on any per-row results file.
func FuzzReadResult(f *testing.F) {
	f.Add([]byte("timestamp,value,anomaly_score,label,S(t)_standard\n2014-01-01 00:00:00,1,0.5,0,-0.11\n"))
	f.Add([]byte("anomaly_score,value,timestamp\n0,1,2014-01-01 00:00:00\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ReadResult(bytes.NewReader(b))
		if err != nil {
			return
		}
		if len(r.Scores) != len(r.Timestamps) || len(r.Values) != len(r.Scores) {
			t.Fatal("columns of different lengths")
		}
	})
}
