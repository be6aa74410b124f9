package telemetry

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

func TestDecodeCSV(t *testing.T) {
	d := NewDecoder(func() time.Time { return time.UnixMilli(5000) })
	body := "\ufeffTwin, channel,ts,value,unit,quality\n" +
		"g1,rainfall,1000,2.5,,good\n" +
		"g1,rainfall,2026-01-01T00:00:00Z,3,[in_i],good\n" +
		`"g2","level",3000,"-1e3",,` + "\n" +
		"g1,rainfall,4000,NaN,,\n" +
		"g1,rainfall,,1,,\n" +
		"g1,rainfall,5000,abc,,\n" +
		"bad id,rainfall,6000,1,,\n" +
		"g1,rainfall,7000\n" +
		"g1,rainfall,1e400,1,,\n"
	items, err := d.DecodeCSV(nil, []byte(body), "", "")
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		twin, ch, unit string
		ts             int64
		v              float64
		r              Reason
	}{
		{"g1", "rainfall", "", 1000, 2.5, ""},
		{"g1", "rainfall", "[in_i]", 1767225600000, 3, ""},
		{"g2", "level", "", 3000, -1000, ""},
		{r: ReasonNotFinite},
		{r: ReasonBadTimestamp},
		{r: ReasonBadValue},
		{r: ReasonBadID},
		{r: ReasonMissingField},
		{r: ReasonBadTimestamp},
	}
	if len(items) != len(want) {
		t.Fatalf("%d items, want %d: %+v", len(items), len(want), items)
	}
	for i, w := range want {
		it := items[i]
		if it.Index != i || it.Reason != w.r {
			t.Errorf("row %d: %+v, want reason %q", i, it, w.r)
			continue
		}
		if w.r == "" && (it.Sample.Twin != w.twin || it.Sample.Channel != w.ch || it.Sample.TS != w.ts || it.Sample.Value != w.v || it.Unit != w.unit) {
			t.Errorf("row %d: %+v, want %+v", i, it, w)
		}
		if w.r != "" && !strings.HasPrefix(it.Detail, "line ") {
			t.Errorf("row %d: detail %q does not name the line", i, it.Detail)
		}
	}
	// A channel's export, with the twin and channel given for every row.
	export := "time,ts_ms,value\n2026-01-01T00:00:00Z,1767225600000,1.5\n2026-01-01T00:00:01Z,1767225601000,2\n"
	items, err = d.DecodeCSV(nil, []byte(export), "g1", "rainfall")
	if err != nil || len(items) != 2 || items[1].Sample.TS != 1767225601000 || items[1].Sample.Twin != "g1" || items[1].Sample.Channel != "rainfall" || items[1].Reason != "" {
		t.Fatalf("export: %+v %v", items, err)
	}
	for _, bad := range []struct{ body, twin, ch string }{
		{"twin,channel,value\ng1,c,1\n", "", ""},        // no time column
		{"twin,ts,value\ng1,1,1\n", "", ""},             // no channel
		{"twin,channel,ts\ng1,c,1\n", "", ""},           // no value
		{"twin,channel,ts,value\n\"g1,c,1,1\n", "", ""}, // a quote never closed
		{"ts,value\n1,1\n", "bad id", "c"},              // a bad twin= id
	} {
		if _, err := d.DecodeCSV(nil, []byte(bad.body), bad.twin, bad.ch); !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: %v, want ErrMalformed", bad.body, err)
		}
	}
	if items, err := d.DecodeCSV(nil, nil, "", ""); err != nil || len(items) != 0 {
		t.Fatalf("empty body: %v %v", items, err)
	}
}

// FuzzDecodeCSV: any body decodes or is refused as malformed; a sample
// kept has a valid twin and channel, a finite value and a time after 1970.
func FuzzDecodeCSV(f *testing.F) {
	f.Add([]byte("twin,channel,ts,value,unit\ng1,rainfall,1000,2.5,mm\n"), "", "")
	f.Add([]byte("time,ts_ms,value\n2026-01-01T00:00:00Z,1767225600000,1.5\n"), "g1", "rainfall")
	f.Add([]byte("ts,value\n\"1\",\"x\"\n,,\n"), "g1", "c")
	f.Fuzz(func(t *testing.T, body []byte, twin, ch string) {
		d := NewDecoder(func() time.Time { return time.UnixMilli(0) })
		items, err := d.DecodeCSV(nil, body, twin, ch)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			return
		}
		for i, it := range items {
			if it.Index != i {
				t.Fatalf("item %d has index %d", i, it.Index)
			}
			if it.Reason != "" {
				continue
			}
			if !ValidID(it.Sample.Twin) || !ValidID(it.Sample.Channel) || math.IsNaN(it.Sample.Value) || math.IsInf(it.Sample.Value, 0) || it.Sample.TS < 0 {
				t.Fatalf("item %d kept: %+v", i, it)
			}
		}
	})
}
