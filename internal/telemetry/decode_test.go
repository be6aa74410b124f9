package telemetry

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

var fixedNow = time.Date(2026, 6, 7, 12, 0, 0, 0, time.UTC)

func newDec() *Decoder { return NewDecoder(func() time.Time { return fixedNow }) }

func TestDecodeForms(t *testing.T) {
	now := fixedNow.UnixMilli()
	cases := []struct {
		name, body string
		nd         bool
		want       string // item summaries
		err        bool
	}{
		{name: "batch", body: `{"samples":[{"twin":"a","channel":"x","ts":1000,"value":1.5},{"twin":"b","channel":"y","ts":"1970-01-01T00:00:02Z","value":2}]}`,
			want: "a/x@1000=1.5 b/y@2000=2"},
		{name: "per twin", body: `{"twin":"a","ts":5,"values":{"x":1,"y":true}}`, want: "a/x@5=1 a/y@5=1"},
		{name: "default ts", body: `{"twin":"a","values":{"x":1}}`, want: fmt.Sprintf("a/x@%d=1", now)},
		{name: "array of per twin", body: `[{"twin":"a","ts":1,"values":{"x":1}},{"twin":"b","ts":2,"values":{"y":2}}]`, want: "a/x@1=1 b/y@2=2"},
		{name: "per-sample reasons", body: `{"samples":[{"channel":"x","value":1},{"twin":"a","value":1},{"twin":"a","channel":"x","value":"s"},{"twin":"a","channel":"x","ts":-5,"value":1},{"twin":"a b","channel":"x","value":1},{"twin":"a","channel":"x","value":"NaN"},{"twin":"a","channel":"x","ts":1.5,"value":1}]}`,
			want: "!missing_field !missing_field !bad_value !bad_timestamp !bad_id !not_finite !bad_timestamp"},
		{name: "ndjson", nd: true, body: "{\"twin\":\"a\",\"channel\":\"x\",\"ts\":1,\"value\":1}\n\n{\"twin\":\"b\",\"ts\":2,\"values\":{\"y\":3}}\r\n", want: "a/x@1=1 b/y@2=3"},
		{name: "not json", body: `{"samples":`, err: true},
		{name: "scalar", body: `42`, err: true},
		{name: "samples not array", body: `{"samples":{}}`, err: true},
		{name: "no known member", body: `{"foo":1}`, err: true},
		{name: "ndjson bad line", nd: true, body: "{\"twin\":\"a\",\"channel\":\"x\",\"value\":1}\n{oops\n", err: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := newDec()
			var items []Item
			var err error
			if c.nd {
				items, err = d.DecodeNDJSON(nil, []byte(c.body))
			} else {
				items, err = d.DecodeJSON(nil, []byte(c.body))
			}
			if c.err {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("got err %v, want ErrMalformed", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := summary(items); got != c.want {
				t.Fatalf("got  %s\nwant %s", got, c.want)
			}
		})
	}
}

func TestDecodeMQTT(t *testing.T) {
	d := newDec()
	items, err := d.DecodeMQTT(nil, "g1", []byte(`{"ts":10,"values":{"rain":1.25}}`))
	if err != nil || summary(items) != "g1/rain@10=1.25" {
		t.Fatalf("got %s %v", summary(items), err)
	}
	items, err = d.DecodeMQTT(nil, "g1", []byte(`{"samples":[{"channel":"rain","ts":1,"value":2},{"twin":"other","channel":"rain","ts":1,"value":2}]}`))
	if err != nil || summary(items) != "g1/rain@1=2 !bad_id" {
		t.Fatalf("got %s %v", summary(items), err)
	}
}

func summary(items []Item) string {
	var parts []string
	for i, it := range items {
		if it.Index != i {
			return fmt.Sprintf("item %d has index %d", i, it.Index)
		}
		if it.Reason != "" {
			parts = append(parts, "!"+string(it.Reason))
			continue
		}
		parts = append(parts, fmt.Sprintf("%s/%s@%d=%g", it.Sample.Twin, it.Sample.Channel, it.Sample.TS, it.Sample.Value))
	}
	return strings.Join(parts, " ")
}

// encode writes accepted items back in the batch form.
func encode(items []Item) []byte {
	type s struct {
		Twin    string  `json:"twin"`
		Channel string  `json:"channel"`
		TS      int64   `json:"ts"`
		Value   float64 `json:"value"`
	}
	var out struct {
		Samples []s `json:"samples"`
	}
	out.Samples = []s{}
	for _, it := range items {
		if it.Reason == "" {
			out.Samples = append(out.Samples, s{it.Sample.Twin, it.Sample.Channel, it.Sample.TS, it.Sample.Value})
		}
	}
	b, _ := json.Marshal(out)
	return b
}

func checkRoundTrip(t *testing.T, items []Item) {
	for _, it := range items {
		if it.Reason != "" {
			continue
		}
		if math.IsNaN(it.Sample.Value) || math.IsInf(it.Sample.Value, 0) {
			t.Fatalf("accepted a non-finite value: %+v", it)
		}
		if !ValidID(it.Sample.Twin) || !ValidID(it.Sample.Channel) {
			t.Fatalf("accepted a bad id: %+v", it)
		}
	}
	again, err := newDec().DecodeJSON(nil, encode(items))
	if err != nil {
		t.Fatalf("re-decoding accepted samples: %v", err)
	}
	var want []Sample
	for _, it := range items {
		if it.Reason == "" {
			want = append(want, it.Sample)
		}
	}
	if len(again) != len(want) {
		t.Fatalf("round trip: %d samples, want %d", len(again), len(want))
	}
	for i := range want {
		if again[i].Reason != "" || again[i].Sample != want[i] {
			t.Fatalf("round trip sample %d: got %+v, want %+v", i, again[i], want[i])
		}
	}
}

func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{
		`{"samples":[{"twin":"a","channel":"x","ts":1000,"value":1.5}]}`,
		`{"twin":"a","ts":"2026-01-01T00:00:00Z","values":{"x":1,"y":-2e10}}`,
		`[{"twin":"a","values":{"x":1}}]`, `{"samples":[{"value":"NaN"}]}`, `{}`, `[]`, `null`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		items, err := newDec().DecodeJSON(nil, b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error is not ErrMalformed: %v", err)
			}
			return
		}
		checkRoundTrip(t, items)
	})
}

func FuzzDecodeNDJSON(f *testing.F) {
	f.Add([]byte("{\"twin\":\"a\",\"channel\":\"x\",\"ts\":1,\"value\":1}\n{\"twin\":\"b\",\"values\":{\"y\":3}}\n"))
	f.Add([]byte("\n\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		items, err := newDec().DecodeNDJSON(nil, b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error is not ErrMalformed: %v", err)
			}
			return
		}
		checkRoundTrip(t, items)
	})
}

func FuzzDecodeMQTT(f *testing.F) {
	f.Add("g1", []byte(`{"ts":10,"values":{"rain":1.25}}`))
	f.Add("g1", []byte(`[{"ts":10,"values":{"rain":1.25}},{"values":{"x":0}}]`))
	f.Add("g1", []byte(`{"samples":[{"channel":"rain","ts":1,"value":2}]}`))
	f.Fuzz(func(t *testing.T, twin string, b []byte) {
		if !ValidID(twin) {
			return // the broker only decodes payloads of valid topics
		}
		items, err := newDec().DecodeMQTT(nil, twin, b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error is not ErrMalformed: %v", err)
			}
			return
		}
		for _, it := range items {
			if it.Reason == "" && it.Sample.Twin != twin {
				t.Fatalf("sample for twin %q on the topic of %q", it.Sample.Twin, twin)
			}
		}
		checkRoundTrip(t, items)
	})
}

// FuzzFastPathAgrees: the fast path answers exactly what the general
// decoder answers (same items, same indexes, same error or none), for the
// JSON, NDJSON and MQTT forms; the first byte picks the form.
func FuzzFastPathAgrees(f *testing.F) {
	for _, s := range []string{
		"j" + `{"samples":[{"twin":"a","channel":"x","ts":1000,"value":1.5},{"value":-2e-7,"ts":0,"channel":"y","twin":"a"}]}`,
		"j" + ` { "samples" : [ ] } `,
		"j" + `{"samples":[{"twin":"a","channel":"x","ts":1000,"value":1e400}]}`,
		"j" + `{"samples":[{"twin":"a","channel":"x","ts":1000,"value":01}]}`,
		"j" + `{"samples":[{"twin":"a","channel":"x","ts":1000,"value":1,"value":2}]}`,
		"j" + `{"samples":[{"twin":"a\u0062","channel":"x","ts":1000.0,"value":1}]}`,
		"j" + `{"samples":[{"twin":"a","channel":"x","ts":1000000000000001,"value":1}]}`,
		"n" + "{\"twin\":\"a\",\"channel\":\"x\",\"ts\":1,\"value\":1}\n{\"twin\":\"b\",\"values\":{\"y\":3}}\n",
		"m" + `{"ts":10,"values":{"rain":1.25,"x":-0,"rain":2}}`,
		"m" + `{"values":{},"ts":10}`,
		"m" + `{"values":{"a":true},"ts":10}`,
		"m" + `{"ts":10,"values":{"a":1},"twin":"g1"}`,
		"j" + `{"samples":[{"twin":"a","channel":"x","ts":1000,"value":0.000123},{"twin":"a","channel":"x","ts":0,"value":-0.0}]}`,
		"j" + `{"samples":[{"twin":"a","channel":"x","ts":1,"value":123456789012345.6},{"twin":"a","channel":"x","ts":2,"value":9007199254740993}]}`,
		"j" + `{"samples":[{"twin":"a","channel":"x","ts":01,"value":1},{"twin":"a","channel":"x" ,"ts":1,"value":1}]}`,
		"j" + `{"samples":[{"twin":"a","channel":"x","ts":1,"value":1.},{"twin":"a","channel":"x","ts":-1,"value":1}]}`,
		"j" + `{"samples":[{"twin":"a","channel":"x","ts":1,"value":0.1e1}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) == 0 {
			return
		}
		mode, body := b[0], b[1:]
		var fast, general []Item
		var ferr, gerr error
		switch mode % 3 {
		case 0:
			fast, ferr = newDec().DecodeJSON(nil, body)
			general, gerr = newDec().generalJSON(nil, body)
		case 1:
			fast, ferr = newDec().DecodeNDJSON(nil, body)
			general, gerr = newDec().decodeNDJSON(nil, body, false)
		case 2:
			fast, ferr = newDec().DecodeMQTT(nil, "g1", body)
			general, gerr = newDec().generalMQTT(nil, "g1", body)
		}
		if (ferr == nil) != (gerr == nil) || ferr != nil && ferr.Error() != gerr.Error() {
			t.Fatalf("errors differ: fast %v, general %v", ferr, gerr)
		}
		if !reflect.DeepEqual(fast, general) {
			t.Fatalf("items differ:\nfast    %+v\ngeneral %+v", fast, general)
		}
	})
}

// TestValueBits: the scanner's numbers have the bits strconv gives, on
// both of its ways (decimals converted in the scan, the rest by fastfloat).
func TestValueBits(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	texts := []string{"0", "-0", "0.0", "-0.0", "1", "0.1", "0.3", "123456789012345", "1234567890123456", "0.000000000000000000001",
		"99999999999999.9", "4503599627370497.5", "1e5", "1.5E-3", "-2.5e+10", "9007199254740993", "0.30000000000000004"}
	for range 200_000 {
		digits := 1 + rng.IntN(17)
		m := rng.Int64N(int64(math.Pow10(min(digits, 18))))
		txt := strconv.FormatInt(m, 10)
		if p := rng.IntN(len(txt) + 1); p > 0 && p <= len(txt) && rng.IntN(4) > 0 {
			txt = txt[:len(txt)-p] + "." + txt[len(txt)-p:]
			if txt[0] == '.' {
				txt = "0" + txt
			}
		}
		if rng.IntN(2) == 0 {
			txt = "-" + txt
		}
		texts = append(texts, txt)
	}
	for _, txt := range texts {
		want, err := strconv.ParseFloat(txt, 64)
		if err != nil {
			t.Fatal(err)
		}
		s := scanner{b: []byte(txt + ",")}
		got, ok := s.value()
		if !ok || math.Float64bits(got) != math.Float64bits(want) || s.i != len(txt) {
			t.Fatalf("value(%q) = %v (bits %x), %v, at %d; want %v (bits %x)", txt, got, math.Float64bits(got), ok, s.i, want, math.Float64bits(want))
		}
	}
}
