package api

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/tsingma/tsingma/internal/telemetry"
)

// TestAggregationsMatchReference checks every aggregation against a
// direct computation, over a range that starts and ends inside chunks,
// from the head and again after the head is flushed to a block.
func TestAggregationsMatchReference(t *testing.T) {
	f := newFixture(t)
	if code, _, body := f.do(t, "POST", "/api/v1/twins", "application/json", `{"id":"g","type":"rain-gauge"}`); code != 201 {
		t.Fatal(code, body)
	}
	rng := rand.New(rand.NewPCG(7, 7))
	base := f.now.Add(-48*3600e9).UnixMilli() / 1000 * 1000
	var ts []int64
	var vs []float64
	var batch []telemetry.Sample
	t0 := base
	for i := 0; i < 3000; i++ {
		t0 += 1 + rng.Int64N(3000) // irregular, some buckets empty
		v := math.Round(rng.Float64()*1000) / 10
		ts, vs = append(ts, t0), append(vs, v)
		batch = append(batch, telemetry.Sample{Tenant: "default", Twin: "g", Channel: "rainfall", Type: "rain-gauge", TS: t0, Value: v})
	}
	if _, err := f.st.Append(t.Context(), batch); err != nil {
		t.Fatal(err)
	}
	from, to := ts[137]+1, ts[2861]-1
	// 7 s gives a few hundred buckets (one part); 250 ms gives over
	// aggregateParallelBuckets, so the range is cut into parts bucketed
	// concurrently.
	if (to-from)/250 < aggregateParallelBuckets {
		t.Fatalf("range too short to test the parallel path")
	}
	want := func(agg string, step int64) map[int64]float64 {
		buckets := map[int64][]float64{}
		for i, x := range ts {
			if x >= from && x <= to {
				b := x - x%step
				buckets[b] = append(buckets[b], vs[i])
			}
		}
		out := map[int64]float64{}
		for b, xs := range buckets {
			var v float64
			switch agg {
			case "mean", "sum":
				for _, x := range xs {
					v += x
				}
				if agg == "mean" {
					v /= float64(len(xs))
				}
			case "min", "max":
				v = xs[0]
				for _, x := range xs {
					if agg == "min" {
						v = math.Min(v, x)
					} else {
						v = math.Max(v, x)
					}
				}
			case "count":
				v = float64(len(xs))
			case "first":
				v = xs[0]
			case "last":
				v = xs[len(xs)-1]
			case "p95":
				s := append([]float64(nil), xs...)
				sort.Float64s(s)
				v = quantile(s, 0.95)
			}
			out[b] = v
		}
		return out
	}
	var checkStep func(where string, step int64)
	check := func(where string) {
		for _, step := range []int64{7000, 250} {
			checkStep(where, step)
		}
	}
	checkStep = func(where string, step int64) {
		for _, agg := range []string{"mean", "sum", "min", "max", "count", "first", "last", "p95"} {
			code, _, body := f.do(t, "GET", fmt.Sprintf("/api/v1/twins/g/telemetry/rainfall?from=%d&to=%d&step=%dms&agg=%s", from, to, step, agg), "", "")
			if code != 200 {
				t.Fatalf("%s %s: %d %s", where, agg, code, body)
			}
			var got struct {
				Points []struct {
					TS    int64   `json:"ts"`
					Value float64 `json:"value"`
				} `json:"points"`
			}
			if err := json.Unmarshal([]byte(body), &got); err != nil {
				t.Fatal(err)
			}
			w := want(agg, step)
			if len(got.Points) != len(w) {
				t.Fatalf("%s %s: %d buckets, want %d", where, agg, len(got.Points), len(w))
			}
			for _, p := range got.Points {
				if x, ok := w[p.TS]; !ok || math.Abs(x-p.Value) > 1e-9*math.Max(1, math.Abs(x)) {
					t.Fatalf("%s %s: bucket %d = %g, want %g (present %v)", where, agg, p.TS, p.Value, x, ok)
				}
			}
		}
	}
	check("head")
	if err := f.st.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	check("block")
}

// TestAppendJSONString: the hand-written answers quote strings as JSON
// does, hostile ones included.
func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{"", "slope-1", `a"b`, `back\slash`, "nul\x00", "tab\tline\n", "<script>&", "ü/𝄞", "\u2028", "bad\xffutf8"} {
		b := appendJSONString([]byte("x"), s)
		var got string
		if err := json.Unmarshal(b[1:], &got); err != nil {
			t.Fatalf("%q -> %s: %v", s, b[1:], err)
		}
		want, _ := json.Marshal(s)
		var w string
		json.Unmarshal(want, &w)
		if got != w {
			t.Errorf("%q -> %s decodes to %q, want %q", s, b[1:], got, w)
		}
	}
}

// TestLatestOfManyTwins: /api/v1/latest answers every matching twin in id
// order with its channels' newest samples, sorted, filtered by channel.
func TestLatestOfManyTwins(t *testing.T) {
	f := newFixture(t)
	nd := ""
	var samples []telemetry.Sample
	ts := f.now.UnixMilli() - 5000
	for i := 4; i >= 0; i-- { // created out of order
		nd += fmt.Sprintf(`{"id":"inc-%d","type":"inclinometer"}`+"\n", i)
		if i == 2 {
			continue // no data: listed with no channels
		}
		samples = append(samples,
			telemetry.Sample{Tenant: "default", Twin: fmt.Sprintf("inc-%d", i), Channel: "tilt", Type: "inclinometer", TS: ts, Value: float64(i)},
			telemetry.Sample{Tenant: "default", Twin: fmt.Sprintf("inc-%d", i), Channel: "displacement", Type: "inclinometer", TS: ts, Value: 0.5},
			telemetry.Sample{Tenant: "default", Twin: fmt.Sprintf("inc-%d", i), Channel: "tilt", Type: "inclinometer", TS: ts + 1000, Value: float64(10 * i)})
	}
	nd += `{"id":"g","type":"rain-gauge"}` + "\n"
	if code, _, body := f.do(t, "POST", "/api/v1/twins/_bulk", "application/x-ndjson", nd); code != 200 {
		t.Fatal(code, body)
	}
	if _, err := f.st.Append(t.Context(), samples); err != nil {
		t.Fatal(err)
	}
	type item struct {
		Twin     string `json:"twin"`
		Type     string `json:"type"`
		Channels map[string]struct {
			TS    int64   `json:"ts"`
			Value float64 `json:"value"`
		} `json:"channels"`
	}
	get := func(q string) []item {
		code, _, body := f.do(t, "GET", "/api/v1/latest?"+q, "", "")
		if code != 200 {
			t.Fatalf("%s: %d %s", q, code, body)
		}
		var got struct{ Items []item }
		if err := json.Unmarshal([]byte(body), &got); err != nil {
			t.Fatalf("%s: %v in %s", q, err, body)
		}
		return got.Items
	}
	items := get("type=inclinometer")
	if len(items) != 5 {
		t.Fatalf("%d items, want 5: %+v", len(items), items)
	}
	for i, it := range items {
		if it.Twin != fmt.Sprintf("inc-%d", i) || it.Type != "inclinometer" {
			t.Fatalf("item %d is %s/%s", i, it.Twin, it.Type)
		}
		if i == 2 {
			if len(it.Channels) != 0 {
				t.Fatalf("inc-2 has no data, got %+v", it.Channels)
			}
			continue
		}
		if c := it.Channels["tilt"]; c.TS != ts+1000 || c.Value != float64(10*i) || it.Channels["displacement"].Value != 0.5 || len(it.Channels) != 2 {
			t.Fatalf("inc-%d channels %+v", i, it.Channels)
		}
	}
	items = get("type=inclinometer&channel=tilt&limit=2")
	if len(items) != 2 || len(items[1].Channels) != 1 || items[1].Channels["tilt"].Value != 10 {
		t.Fatalf("filtered: %+v", items)
	}
	// A long answer is written in parts, one per core: the same answer.
	nd, samples = "", samples[:0]
	const many = 5*latestPart + 7
	for i := range many {
		nd += fmt.Sprintf(`{"id":"pz-%05d","type":"piezometer"}`+"\n", i)
		samples = append(samples, telemetry.Sample{Tenant: "default", Twin: fmt.Sprintf("pz-%05d", i), Channel: "pore_pressure", Type: "piezometer", TS: ts, Value: float64(i)})
	}
	if code, _, body := f.do(t, "POST", "/api/v1/twins/_bulk", "application/x-ndjson", nd); code != 200 {
		t.Fatal(code, body)
	}
	if _, err := f.st.Append(t.Context(), samples); err != nil {
		t.Fatal(err)
	}
	items = get("type=piezometer")
	if len(items) != many {
		t.Fatalf("%d items, want %d", len(items), many)
	}
	for i, it := range items {
		if it.Twin != fmt.Sprintf("pz-%05d", i) || it.Channels["pore_pressure"].Value != float64(i) {
			t.Fatalf("item %d: %+v", i, it)
		}
	}
}

// TestAppendJSONFloat: the hand-written aggregation answer writes numbers
// exactly as encoding/json does.
func TestAppendJSONFloat(t *testing.T) {
	for _, v := range []float64{0, math.Copysign(0, -1), 1, -1.5, 0.1, 1e-6, 9.99e-7, 1e-9, -3.2e-12, 1e20, 1e21, 1.5e300, math.MaxFloat64, math.SmallestNonzeroFloat64, 123456789.125} {
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendJSONFloat(nil, v); string(got) != string(want) {
			t.Errorf("appendJSONFloat(%g) = %s, want %s", v, got, want)
		}
	}
}
