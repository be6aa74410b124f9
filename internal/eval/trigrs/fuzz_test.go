package trigrs

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func addSeeds(f *testing.F, pattern string) {
	m, _ := filepath.Glob(filepath.Join("testdata", pattern))
	for _, p := range m {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

func FuzzParseConfig(f *testing.F) {
	addSeeds(f, "tr_in_*.txt")
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseConfig(bytes.NewReader(b))
		if err != nil {
			return
		}
		if len(c.Zones) != c.NZones || len(c.Rain) != c.NPer || len(c.Capt) != c.NPer+1 || len(c.RainFiles) != c.NPer {
			t.Fatalf("inconsistent config: %d zones of %d, %d rain of %d", len(c.Zones), c.NZones, len(c.Rain), c.NPer)
		}
	})
}

func FuzzReadGrid(f *testing.F) {
	addSeeds(f, "*.asc")
	f.Fuzz(func(t *testing.T, b []byte) {
		g, err := ReadGrid(bytes.NewReader(b))
		if err != nil {
			return
		}
		if len(g.Values) != g.NCols*g.NRows {
			t.Fatalf("%d values for %dx%d", len(g.Values), g.NCols, g.NRows)
		}
	})
}

func FuzzReadProfiles(f *testing.F) {
	addSeeds(f, "profiles_*.csv")
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = ReadProfiles(bytes.NewReader(b))
	})
}

func FuzzReadCells(f *testing.F) {
	addSeeds(f, "cells_*.csv")
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = ReadCells(bytes.NewReader(b))
	})
}
