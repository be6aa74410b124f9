package telemetry

import (
	"context"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
)

// rainGauge has one channel, rainfall in mm, valid from 0 to 500.
type rainGauge struct{}

func (rainGauge) Channel(_, twin, channel string) (ChannelInfo, error) {
	if channel != "rainfall" {
		return ChannelInfo{}, ErrUnknownChannel
	}
	return ChannelInfo{Type: "rain-gauge", Unit: "mm", Min: 0, Max: 500}, nil
}

type keepAppender struct{ got []Sample }

func (a *keepAppender) AppendStatus(_ context.Context, samples []Sample, st []Status) error {
	a.got = append(a.got, samples...)
	for i := range st {
		st[i] = Accepted
	}
	return nil
}

// TestDeclaredUnits: a sample may say its unit ("unit", or "units" in the
// per-twin and MQTT forms). A commensurable unit is converted to the
// channel's before the range check; one that is not, or is not a unit,
// rejects the sample as wrong_unit. Before session 12 the field was
// ignored: inches went into a millimetre channel as millimetres.
func TestDeclaredUnits(t *testing.T) {
	app := &keepAppender{}
	in, err := NewIngester(IngesterConfig{}, rainGauge{}, app, nil)
	if err != nil {
		t.Fatal(err)
	}
	ts := time.Now().UnixMilli() - 1000
	dec := NewDecoder(time.Now)
	items, err := dec.DecodeJSON(nil, []byte(unitBody(ts)))
	if err != nil {
		t.Fatal(err)
	}
	res, err := in.Ingest(t.Context(), items)
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{50.8, 3, 40}
	if res.Accepted != len(want) || len(app.got) != len(want) {
		t.Fatalf("accepted %d (%+v), want %d", res.Accepted, res, len(want))
	}
	for i, w := range want {
		if math.Abs(app.got[i].Value-w) > 1e-9 {
			t.Errorf("sample %d stored as %g mm, want %g", i, app.got[i].Value, w)
		}
	}
	reasons := map[int]Reason{}
	for _, e := range res.Errors {
		reasons[e.Index] = e.Reason
	}
	for idx, r := range map[int]Reason{3: ReasonWrongUnit, 4: ReasonWrongUnit, 5: ReasonWrongUnit, 6: ReasonOutOfRange, 7: ReasonWrongUnit} {
		if reasons[idx] != r {
			t.Errorf("sample %d: %q, want %q (%+v)", idx, reasons[idx], r, res.Errors)
		}
	}
	// The per-twin form and MQTT's, with "units".
	app.got = nil
	items, err = dec.DecodeMQTT(nil, "g", []byte(`{"ts":`+itoa(ts+100)+`,"values":{"rainfall":1},"units":{"rainfall":"[in_i]"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if res, err := in.Ingest(t.Context(), items); err != nil || res.Accepted != 1 || app.got[0].Value != 25.4 {
		t.Fatalf("MQTT with units: %+v %v %+v", res, err, app.got)
	}
	items, err = dec.DecodeMQTT(nil, "g", []byte(`{"ts":`+itoa(ts+200)+`,"values":{"rainfall":1},"units":["mm"]}`))
	if err != nil {
		t.Fatal(err)
	}
	if res, _ := in.Ingest(t.Context(), items); res.Accepted != 0 || len(res.Errors) != 1 || res.Errors[0].Reason != ReasonWrongUnit {
		t.Fatalf("units not an object: %+v", res)
	}
}

func unitBody(ts int64) string {
	var b strings.Builder
	b.WriteString(`{"samples":[`)
	for i, s := range []string{
		`"value":2,"unit":"[in_i]"`, `"value":3,"unit":"mm"`, `"value":4,"unit":"cm"`, `"value":5,"unit":"kPa"`,
		`"value":6,"unit":"furlongs"`, `"value":7,"unit":3`, `"value":30,"unit":"[in_i]"`, `"value":1e306,"unit":"km"`,
	} {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"twin":"g","channel":"rainfall","ts":` + itoa(ts+int64(i)) + `,` + s + `}`)
	}
	b.WriteString(`]}`)
	return b.String()
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }
