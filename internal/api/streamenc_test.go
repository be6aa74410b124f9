package api

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/tsingma/tsingma/internal/telemetry"
)

// TestSamplesEventEncoding: the hand-written samples event is byte for
// byte what encoding/json wrote for []streamSample, filtered alike.
func TestSamplesEventEncoding(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	names := []string{"g1", "slope-11SW-A/F12", `a"b`, "<tag>&", "滑坡", "x\u2028y", "tab\there"}
	floats := []float64{0, math.Copysign(0, -1), 1, -2.5, 1e-7, 1e21, 123456.789, 1e-300, -1e300, 0.1}
	for round := range 200 {
		var samples []telemetry.Sample
		for range rng.IntN(20) {
			v := floats[rng.IntN(len(floats))]
			if rng.IntN(2) == 0 {
				v = rng.NormFloat64() * math.Pow(10, float64(rng.IntN(40)-20))
			}
			samples = append(samples, telemetry.Sample{Twin: names[rng.IntN(len(names))], Channel: names[rng.IntN(len(names))],
				Type: names[rng.IntN(3)], TS: rng.Int64N(1 << 45), Value: v})
		}
		var twins, types map[string]bool
		if round%3 == 1 {
			twins = map[string]bool{"g1": true, `a"b`: true}
		}
		if round%4 == 2 {
			types = map[string]bool{"slope-11SW-A/F12": true}
		}
		var want []byte
		var batch []streamSample
		for _, s := range samples {
			if (twins == nil || twins[s.Twin]) && (types == nil || types[s.Type]) {
				batch = append(batch, streamSample{s.Twin, s.Channel, s.Type, s.TS, s.Value})
			}
		}
		if len(batch) > 0 {
			js, err := json.Marshal(batch)
			if err != nil {
				t.Fatal(err)
			}
			want = append(append([]byte("event: samples\ndata: "), js...), "\n\n"...)
		}
		got := appendSamplesEvent([]byte("kept"), samples, twins, types)
		if string(got) != "kept"+string(want) {
			t.Fatalf("round %d:\n got %q\nwant %q", round, got, "kept"+string(want))
		}
	}
}
