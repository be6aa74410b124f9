package telemetry

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// DecodeCSV decodes telemetry as CSV with a header row (RFC 4180, as
// data loggers and spreadsheets write it). The columns, by name in any
// order and case: twin, channel, value, a time (ts: milliseconds since
// 1970 or RFC 3339; ts_ms: milliseconds; time: RFC 3339; ts_ms is taken
// when there are several), and optionally unit; other columns are
// ignored. twin and channel may instead be given for every row (the
// query's twin= and channel=), so that a channel's CSV export
// (time,ts_ms,value) goes back in as it is. Each data row is one sample,
// indexed from 0; a row that cannot be one (a field missing, a value that
// is not a finite number, a bad id or time) is rejected with its reason,
// the others are kept. A body that is not CSV, or whose header lacks a
// column it needs, is ErrMalformed.
func (d *Decoder) DecodeCSV(dst []Item, body []byte, twin, channel string) ([]Item, error) {
	for _, x := range []struct{ name, v string }{{"twin", twin}, {"channel", channel}} {
		if x.v != "" && !validName([]byte(x.v)) {
			return dst, fmt.Errorf("%w: %s %q: 1-128 URL-safe characters", ErrMalformed, x.name, truncate(x.v, 40))
		}
	}
	r := csv.NewReader(bytes.NewReader(body))
	r.FieldsPerRecord = -1 // checked here, per row
	r.ReuseRecord = true
	r.TrimLeadingSpace = true
	head, err := r.Read()
	if err == io.EOF {
		return dst, nil
	}
	if err != nil {
		return dst, fmt.Errorf("%w: CSV header: %v", ErrMalformed, err)
	}
	col := map[string]int{}
	for i, h := range head {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))) // a spreadsheet's byte-order mark
		if _, dup := col[h]; !dup {
			col[h] = i
		}
	}
	need := func(name, given string) (int, error) {
		if i, ok := col[name]; ok {
			return i, nil
		}
		if given != "" {
			return -1, nil
		}
		return 0, fmt.Errorf("%w: the CSV header has no %q column (and no %s= was given)", ErrMalformed, name, name)
	}
	twinCol, err := need("twin", twin)
	if err != nil {
		return dst, err
	}
	chanCol, err := need("channel", channel)
	if err != nil {
		return dst, err
	}
	valueCol, ok := col["value"]
	if !ok {
		return dst, fmt.Errorf("%w: the CSV header has no \"value\" column", ErrMalformed)
	}
	tsCol, tsKind := -1, ""
	for _, k := range []string{"ts_ms", "ts", "time"} {
		if i, ok := col[k]; ok {
			tsCol, tsKind = i, k
			break
		}
	}
	if tsCol < 0 {
		return dst, fmt.Errorf("%w: the CSV header has no time column (ts, ts_ms or time)", ErrMalformed)
	}
	unitCol, hasUnit := col["unit"]
	if twin != "" {
		twin = d.str([]byte(twin))
	}
	if channel != "" {
		channel = d.str([]byte(channel))
	}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return dst, nil
		}
		if err != nil && !errors.Is(err, csv.ErrFieldCount) {
			return dst, fmt.Errorf("%w: CSV: %v", ErrMalformed, err)
		}
		line, _ := r.FieldPos(0)
		it := Item{Index: len(dst)}
		it.Sample.Tenant, it.Sample.Twin, it.Sample.Channel = DefaultTenant, twin, channel
		if len(rec) != len(head) {
			it.Reason, it.Detail = ReasonMissingField, fmt.Sprintf("line %d has %d fields, the header %d", line, len(rec), len(head))
			dst = append(dst, it)
			continue
		}
		it.Reason, it.Detail = d.csvRow(&it, rec, twinCol, chanCol, valueCol, tsCol, tsKind)
		if it.Reason == "" && hasUnit {
			if u := strings.TrimSpace(rec[unitCol]); u != "" {
				if len(u) > 64 {
					it.Reason, it.Detail = ReasonWrongUnit, "a unit is a UCUM code such as \"mm\" or \"kPa\", a string of 1-64 bytes"
				} else {
					it.Unit = d.str([]byte(u))
				}
			}
		}
		if it.Reason != "" {
			it.Detail = fmt.Sprintf("line %d: %s", line, it.Detail)
		}
		dst = append(dst, it)
	}
}

// csvName reads a twin id or channel name field: trimmed, not empty, and
// URL-safe like a JSON sample's (field and noun name it in the refusal).
func (d *Decoder) csvName(v, field, noun string) (string, Reason, string) {
	b := []byte(strings.TrimSpace(v))
	if len(b) == 0 {
		return "", ReasonMissingField, field + " is empty"
	}
	if !validName(b) {
		return "", ReasonBadID, noun + " must be 1-128 URL-safe characters"
	}
	return d.str(b), "", ""
}

// csvRow fills it from one row's fields (a column index of -1 keeps the
// value given for every row).
func (d *Decoder) csvRow(it *Item, rec []string, twinCol, chanCol, valueCol, tsCol int, tsKind string) (Reason, string) {
	if twinCol >= 0 {
		var r Reason
		var detail string
		if it.Sample.Twin, r, detail = d.csvName(rec[twinCol], "twin", "twin id"); r != "" {
			return r, detail
		}
	}
	if chanCol >= 0 {
		var r Reason
		var detail string
		if it.Sample.Channel, r, detail = d.csvName(rec[chanCol], "channel", "channel name"); r != "" {
			return r, detail
		}
	}
	ts := strings.TrimSpace(rec[tsCol])
	if ts == "" {
		return ReasonBadTimestamp, tsKind + " is empty"
	}
	if n, err := strconv.ParseInt(ts, 10, 64); err == nil && tsKind != "time" {
		if n < 0 || n > 1e15 {
			return ReasonBadTimestamp, tsKind + " must be milliseconds since 1970"
		}
		it.Sample.TS = n
	} else if tsKind == "ts_ms" {
		return ReasonBadTimestamp, "ts_ms must be whole milliseconds since 1970"
	} else {
		t, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil {
			return ReasonBadTimestamp, tsKind + " is not RFC 3339: " + strconv.Quote(truncate(ts, 40))
		}
		if it.Sample.TS = t.UnixMilli(); it.Sample.TS < 0 {
			return ReasonBadTimestamp, tsKind + " is before 1970"
		}
	}
	v := strings.TrimSpace(rec[valueCol])
	f, err := strconv.ParseFloat(v, 64)
	switch {
	case v == "":
		return ReasonMissingField, "value is empty"
	case err != nil && !errors.Is(err, strconv.ErrRange):
		return ReasonBadValue, "value must be a number: " + strconv.Quote(truncate(v, 40))
	case math.IsNaN(f) || math.IsInf(f, 0):
		return ReasonNotFinite, "value must be finite"
	}
	it.Sample.Value = f
	return "", ""
}
