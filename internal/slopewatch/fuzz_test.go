package slopewatch

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/tsingma/tsingma/internal/bus"
)

// FuzzStorm: any what-if request body either is refused with a FieldError
// naming a field, or yields a valid hyetograph (positive 5-minute blocks,
// bounded intensity and length). Seeds in testdata/fuzz/FuzzStorm.
func FuzzStorm(f *testing.F) {
	for _, s := range []string{
		`{"hyetograph":[{"hours":1,"mm_per_h":20},{"hours":3,"mm_per_h":90}]}`,
		`{"return_period_years":100,"duration_hours":72}`,
		`{"return_period_years":2,"duration_hours":24,"fs_cov":0.2,"after_hours":6,"limit":5}`,
		`{"hyetograph":[{"hours":0.0833333333333,"mm_per_h":500}]}`,
		`{}`,
	} {
		f.Add([]byte(s))
	}
	s, err := New(Config{Twins: emptyCatalog{}, Bus: bus.New(), Store: &fakeStore{}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var st Storm
		if json.Unmarshal(b, &st) != nil {
			return
		}
		blocks, _, err := s.Design(st)
		if err != nil {
			if fe, ok := err.(*FieldError); !ok || fe.Field == "" {
				t.Fatalf("error %v is not a FieldError naming a field", err)
			}
			return
		}
		total := 0.0
		for _, bl := range blocks {
			if !(bl.Hours > 0) || !(bl.MMPerH >= 0) || bl.MMPerH > MaxIntensity || math.Round(bl.Hours*12) < 1 || math.Abs(bl.Hours*12-math.Round(bl.Hours*12)) > 1e-6 {
				t.Fatalf("invalid block %+v accepted", bl)
			}
			total += bl.Hours
		}
		if total > MaxStormHours || len(blocks) == 0 {
			t.Fatalf("storm of %g hours in %d blocks accepted", total, len(blocks))
		}
	})
}
