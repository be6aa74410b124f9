package landslip

import (
	"bytes"
	"os"
	"testing"
)

func seed(f *testing.F, path string) {
	b, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
}

func FuzzReadHKODaily(f *testing.F) {
	seed(f, "testdata/hko_small.csv")
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ReadHKODaily(bytes.NewReader(b))
		if err != nil {
			return
		}
		for i := 1; i < len(r); i++ {
			if !r[i].Date.After(r[i-1].Date) {
				t.Fatalf("dates not increasing at %d", i)
			}
		}
		for _, d := range r {
			if d.MM < 0 {
				t.Fatalf("negative rainfall %v", d)
			}
		}
	})
}

func FuzzReadIncidents(f *testing.F) {
	seed(f, "testdata/incidents_small.csv")
	f.Fuzz(func(t *testing.T, b []byte) {
		in, err := ReadIncidents(bytes.NewReader(b))
		if err != nil {
			return
		}
		for _, x := range in {
			if x.Undated != x.Date.IsZero() {
				t.Fatalf("undated %v with date %v", x.Undated, x.Date)
			}
		}
	})
}
