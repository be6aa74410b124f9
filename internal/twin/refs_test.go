package twin

import (
	"fmt"
	"net/url"
	"path/filepath"
	"testing"
)

func TestRefsBeyondPageLimit(t *testing.T) {
	r, err := Open(Config{Path: filepath.Join(t.TempDir(), "t.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var tws []Twin
	for i := 0; i < 2500; i++ {
		tws = append(tws, Twin{ID: fmt.Sprintf("g%04d", i), Type: "rain-gauge"})
	}
	for i, err := range r.BulkUpsert(t.Context(), DefaultTenant, tws) {
		if err != nil {
			t.Fatalf("twin %d: %v", i, err)
		}
	}
	q, err := ParseQuery(url.Values{"type": {"rain-gauge"}, "sort": {"-id"}})
	if err != nil {
		t.Fatal(err)
	}
	refs, err := r.Refs(t.Context(), DefaultTenant, q, 2000)
	if err != nil {
		t.Fatal(err)
	}
	if len(refs) != 2000 || refs[0].ID != "g2499" || refs[1999].ID != "g0500" || refs[0].Type != "rain-gauge" {
		t.Fatalf("got %d refs, first %+v last %+v; want 2000 from g2499 down to g0500", len(refs), refs[0], refs[len(refs)-1])
	}
	if _, err := r.Refs(t.Context(), DefaultTenant, q, 0); err == nil {
		t.Fatal("max 0 accepted")
	}
}
