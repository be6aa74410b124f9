package govern

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

// FuzzLoadCatalogue: no panic; an accepted catalogue has unique ids and
// survives a round trip.
func FuzzLoadCatalogue(f *testing.F) {
	f.Add(principlesJSON)
	f.Add([]byte(`{"version":"1","principles":[{"id":"a","criteria":[{"id":"b"}]}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := LoadCatalogue(b)
		if err != nil {
			return
		}
		out, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		c2, err := LoadCatalogue(out)
		if err != nil || len(c2.Principles) != len(c.Principles) {
			t.Fatalf("round trip: %v", err)
		}
	})
}

// FuzzDriftBaselines: drift.json either loads (every kept baseline with
// the right binning and consistent counts, and a round trip keeps them)
// or is refused, never a panic.
func FuzzDriftBaselines(f *testing.F) {
	hist := make([]uint64, driftBins)
	hist[0], hist[10] = 3, 4
	good, _ := json.Marshal(map[string]*DriftBaseline{"default\x00anomaly": {DriftWindow: DriftWindow{Count: 7, From: 1, To: 2}, Assessment: "aia-1", Version: "v1", Hist: hist}})
	f.Add(good)
	f.Add([]byte(`{"default\u0000anomaly":{"count":1,"hist":[1]}}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, b []byte) {
		bs, err := decodeBaselines(b)
		if err != nil {
			return
		}
		for k, bl := range bs {
			if len(bl.Hist) != driftBins {
				t.Fatalf("%q kept with %d bins", k, len(bl.Hist))
			}
		}
		out, err := json.Marshal(bs)
		if err != nil {
			t.Fatal(err)
		}
		bs2, err := decodeBaselines(out)
		if err != nil || len(bs2) != len(bs) {
			t.Fatalf("round trip: %d → %d baselines, %v", len(bs), len(bs2), err)
		}
	})
}

// FuzzAnomalyConfig: a version's configuration either builds a model or
// is refused as invalid, never a panic; its hash is stable.
func FuzzAnomalyConfig(f *testing.F) {
	f.Add([]byte(`{"threshold":0.3,"learning_samples":100}`))
	f.Add([]byte(`{"threshold":0.3,"detector":{"Warmup":10,"On":2}}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := newAnomalyModel(b, 0); err != nil {
			return
		}
		h1, err1 := ConfigHash(b)
		h2, err2 := ConfigHash(b)
		if err1 != nil || err2 != nil || h1 != h2 {
			t.Fatalf("hash of an accepted config: %v %v", err1, err2)
		}
	})
}

// TestImportBoundaries keeps govern off the transports and the root.
func TestImportBoundaries(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not found")
	}
	for _, pkg := range []string{"govern", "audit", "auth"} {
		out, err := exec.Command(gobin, "list", "-deps", "github.com/tsingma/tsingma/internal/"+pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list: %v\n%s", err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, banned := range []string{"/internal/api", "/internal/broker", "/internal/app", "/internal/cli", "/internal/sim"} {
				if strings.HasPrefix(dep, "github.com/tsingma/tsingma"+banned) {
					t.Errorf("%s depends on %s", pkg, dep)
				}
			}
			if dep == "testing" {
				t.Errorf("%s's non-test build depends on testing", pkg)
			}
		}
	}
}
