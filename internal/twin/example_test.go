package twin_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/tsingma/tsingma/internal/twin"
)

func Example() {
	dir, _ := os.MkdirTemp("", "twin-example")
	defer os.RemoveAll(dir)
	r, err := twin.Open(twin.Config{Path: filepath.Join(dir, "twins.db")})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer r.Close()
	ctx := context.Background()

	// Ids are URL-safe ([A-Za-z0-9._~-]): "11SW-A/C55" would be refused.
	s, err := twin.DecodeTwin(strings.NewReader(`{"id":"11SW-A-C55","type":"slope","name":"Po Shan Road",
		"geometry":{"type":"Polygon","coordinates":[[[114.14,22.27],[114.15,22.27],[114.15,22.28],[114.14,22.27]]]},
		"properties":{"height":30,"cohesion":5,"frictionAngle":35}}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	if _, err := r.Create(ctx, twin.DefaultTenant, s); err != nil {
		fmt.Println(err)
		return
	}
	p := twin.Twin{ID: "PZ-1", Type: "piezometer", Geometry: &twin.Geometry{Type: twin.KindPoint, Point: twin.Position{114.145, 22.275}},
		Relationships: map[string][]string{"on": {"11SW-A-C55"}}}
	if _, err := r.Create(ctx, twin.DefaultTenant, p); err != nil {
		fmt.Println(err)
		return
	}

	// Telemetry validation.
	ci, _ := r.Channel(twin.DefaultTenant, "PZ-1", "porePressure")
	fmt.Println(ci.Type, ci.Unit, ci.Min, ci.Max, ci.Interval)

	// A query from URL parameters.
	q, _ := twin.ParseQuery(url.Values{"near": {"114.145,22.275,50"}, "sort": {"-name"}})
	page, _ := r.Query(ctx, twin.DefaultTenant, q)
	for _, tw := range page.Items {
		fmt.Println(tw.ID, tw.Type, tw.Revision)
	}

	// The slope cannot go while the piezometer points at it.
	var ref *twin.ReferencedError
	if err := r.Delete(ctx, twin.DefaultTenant, "11SW-A-C55", false, 0); errors.As(err, &ref) {
		fmt.Println("referenced by", ref.By)
	}
	// Output:
	// piezometer kPa -100 2000 5m0s
	// 11SW-A-C55 slope 1
	// PZ-1 piezometer 1
	// referenced by [PZ-1]
}
