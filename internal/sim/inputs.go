package sim

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// Inputs is the real Hong Kong geography the scenario is placed on. It is
// read once from the staged dataset directory (see LoadInputs) and then
// used read-only by Build.
type Inputs struct {
	Slopes      []SlopeSite
	Stations    []Place // HKO weather stations (rain gauge sites)
	PostOffices []Place
	Bridge      []LonLat // Tsing Ma alignment, Ma Wan end first
	Towers      [2]LonLat
	Cyberport   LonLat
	SanTin      [][]LonLat // schematic polygon (outer ring first)
	Land        *Land      // HK land, for on-land checks
}

// LonLat is a WGS84 position [lon, lat].
type LonLat [2]float64

// Place is a named point.
type Place struct {
	Name     string
	District string
	Pos      LonLat
	Elev     float64
}

// SlopeSite is one registered slope with landslide history.
type SlopeSite struct {
	SlopeNo     string
	FeatureType string
	Incidents   int
	MaxScale    float64
	Deaths      int
	Last        string
	Pos         LonLat
}

// Files the scenario reads, relative to the hk dataset directory.
var inputFiles = struct{ slopes, stations, posts, landmarks, land string }{
	"slopes/slopes-with-landslide-history.geojson",
	"weather/hko-weather-stations.geojson",
	"logistics/hongkongpost-post-offices.geojson",
	"landmarks/hk-landmarks.geojson",
	"basemap/hk-land.geojson",
}

type fc struct {
	Features []struct {
		Properties map[string]any `json:"properties"`
		Geometry   struct {
			Type        string          `json:"type"`
			Coordinates json.RawMessage `json:"coordinates"`
		} `json:"geometry"`
	} `json:"features"`
}

func readFC(dir, name string) (*fc, error) {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w (is --datasets pointing at the staged datasets directory?)", name, err)
	}
	var f fc
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("decode %s: %w", name, err)
	}
	if len(f.Features) == 0 {
		return nil, fmt.Errorf("%s: no features", name)
	}
	return &f, nil
}

func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

func num(m map[string]any, k string) float64 {
	f, _ := m[k].(float64)
	return f
}

// LoadInputs reads the staged Hong Kong data from dir (the "hk" dataset
// directory, e.g. ../shared/datasets/hk).
func LoadInputs(dir string) (*Inputs, error) {
	in := &Inputs{}
	f, err := readFC(dir, inputFiles.slopes)
	if err != nil {
		return nil, err
	}
	for _, ft := range f.Features {
		var p LonLat
		if ft.Geometry.Type != "Point" || json.Unmarshal(ft.Geometry.Coordinates, &p) != nil {
			continue
		}
		in.Slopes = append(in.Slopes, SlopeSite{
			SlopeNo: str(ft.Properties, "slope_no"), FeatureType: str(ft.Properties, "feature_type"),
			Incidents: int(num(ft.Properties, "n_incidents")), MaxScale: num(ft.Properties, "max_scale_m3"),
			Deaths: int(num(ft.Properties, "deaths")), Last: str(ft.Properties, "last_incident"), Pos: p,
		})
	}
	if f, err = readFC(dir, inputFiles.stations); err != nil {
		return nil, err
	}
	for _, ft := range f.Features {
		var p LonLat
		if json.Unmarshal(ft.Geometry.Coordinates, &p) != nil {
			continue
		}
		in.Stations = append(in.Stations, Place{Name: str(ft.Properties, "name_en"), Pos: p, Elev: num(ft.Properties, "elevation_m")})
	}
	if f, err = readFC(dir, inputFiles.posts); err != nil {
		return nil, err
	}
	for _, ft := range f.Features {
		var p LonLat
		if json.Unmarshal(ft.Geometry.Coordinates, &p) != nil {
			continue
		}
		in.PostOffices = append(in.PostOffices, Place{Name: str(ft.Properties, "name_en"), District: str(ft.Properties, "district"), Pos: p})
	}
	if f, err = readFC(dir, inputFiles.landmarks); err != nil {
		return nil, err
	}
	found := 0
	for _, ft := range f.Features {
		c := ft.Geometry.Coordinates
		var err error
		switch str(ft.Properties, "id") {
		case "tsing-ma-bridge":
			err = json.Unmarshal(c, &in.Bridge)
		case "tsing-ma-tower-ma-wan":
			err = json.Unmarshal(c, &in.Towers[0])
		case "tsing-ma-tower-tsing-yi":
			err = json.Unmarshal(c, &in.Towers[1])
		case "cyberport":
			err = json.Unmarshal(c, &in.Cyberport)
		case "san-tin-technopole-schematic":
			err = json.Unmarshal(c, &in.SanTin)
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", inputFiles.landmarks, str(ft.Properties, "id"), err)
		}
		found++
	}
	if found != 5 || len(in.Bridge) < 2 || len(in.SanTin) == 0 {
		return nil, fmt.Errorf("%s: want the Tsing Ma alignment, both towers, Cyberport and San Tin", inputFiles.landmarks)
	}
	if f, err = readFC(dir, inputFiles.land); err != nil {
		return nil, err
	}
	in.Land = &Land{}
	for _, ft := range f.Features {
		var mp [][][]LonLat
		switch ft.Geometry.Type {
		case "MultiPolygon":
			err = json.Unmarshal(ft.Geometry.Coordinates, &mp)
		case "Polygon":
			var p [][]LonLat
			err = json.Unmarshal(ft.Geometry.Coordinates, &p)
			mp = [][][]LonLat{p}
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", inputFiles.land, err)
		}
		for _, p := range mp {
			in.Land.add(p)
		}
	}
	sort.SliceStable(in.Stations, func(i, j int) bool { return in.Stations[i].Name < in.Stations[j].Name })
	sort.SliceStable(in.PostOffices, func(i, j int) bool { return in.PostOffices[i].Name < in.PostOffices[j].Name })
	sort.SliceStable(in.Slopes, func(i, j int) bool { return in.Slopes[i].SlopeNo < in.Slopes[j].SlopeNo })
	return in, nil
}

// Land answers point-in-land queries against polygons with holes.
type Land struct {
	polys []landPoly
}

type landPoly struct {
	bbox  [4]float64
	rings [][]LonLat
}

func (l *Land) add(rings [][]LonLat) {
	if len(rings) == 0 || len(rings[0]) < 3 {
		return
	}
	b := [4]float64{rings[0][0][0], rings[0][0][1], rings[0][0][0], rings[0][0][1]}
	for _, p := range rings[0] {
		b[0], b[1] = min(b[0], p[0]), min(b[1], p[1])
		b[2], b[3] = max(b[2], p[0]), max(b[3], p[1])
	}
	l.polys = append(l.polys, landPoly{b, rings})
}

// Contains reports whether p is on land (inside an outer ring and outside
// its holes). A nil Land contains everything.
func (l *Land) Contains(p LonLat) bool {
	if l == nil {
		return true
	}
	for _, pg := range l.polys {
		if p[0] < pg.bbox[0] || p[0] > pg.bbox[2] || p[1] < pg.bbox[1] || p[1] > pg.bbox[3] {
			continue
		}
		in := false
		for i, r := range pg.rings {
			if inRing(r, p) {
				if i == 0 {
					in = true
				} else {
					in = false
					break
				}
			} else if i == 0 {
				break
			}
		}
		if in {
			return true
		}
	}
	return false
}

func inRing(r []LonLat, p LonLat) bool {
	in := false
	for i, j := 0, len(r)-1; i < len(r); j, i = i, i+1 {
		a, b := r[i], r[j]
		if (a[1] > p[1]) != (b[1] > p[1]) && p[0] < (b[0]-a[0])*(p[1]-a[1])/(b[1]-a[1])+a[0] {
			in = !in
		}
	}
	return in
}
