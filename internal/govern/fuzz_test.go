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
