// Package landslip fits and scores the territory-wide landslip warning of
// internal/landslide on Hong Kong records: HKO daily rainfall at the
// Observatory headquarters and the GEO/CEDD landslide incident table. It
// fits the rainfall-to-landslides curve on 1984–2005 only and scores
// 2006–2020 day by day.
package landslip

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// DailyRain is one day of the HKO daily-rainfall file.
type DailyRain struct {
	Date    time.Time // UTC midnight of the (Hong Kong) calendar day
	MM      float64
	Trace   bool // "Trace": under 0.05 mm, MM = 0
	Missing bool // "***": unavailable
}

// ErrData marks a malformed input file.
var ErrData = errors.New("landslip: bad data file")

// day returns the date y-m-d; ok is false for impossible dates and years
// outside 1800–2200 (no rainfall or incident record lies there).
func day(y, m, d int) (time.Time, bool) {
	if y < 1800 || y > 2200 {
		return time.Time{}, false
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	return t, t.Year() == y && int(t.Month()) == m && t.Day() == d
}

// ReadHKODaily reads HKO's "Daily Total Rainfall" CSV (daily_HKO_RF_ALL.csv):
// optional UTF-8 BOM, header lines, then Year,Month,Day,Value,Completeness
// rows; lines whose first field is not a year (headers, footers, blank)
// are skipped. Values are mm, "Trace" or "***".
func ReadHKODaily(rd io.Reader) ([]DailyRain, error) {
	sc := bufio.NewScanner(rd)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	var out []DailyRain
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimPrefix(sc.Bytes(), []byte("\xef\xbb\xbf"))
		f := strings.Split(strings.TrimSpace(string(b)), ",")
		if len(f) < 4 {
			continue
		}
		y, err := strconv.Atoi(strings.TrimSpace(f[0]))
		if err != nil {
			continue // header or footer
		}
		m, err1 := strconv.Atoi(strings.TrimSpace(f[1]))
		d, err2 := strconv.Atoi(strings.TrimSpace(f[2]))
		t, ok := day(y, m, d)
		if ok2 := err1 == nil && err2 == nil; ok2 && !ok && strings.TrimSpace(f[3]) == "***" {
			continue // impossible date carrying no value (the file has 1900-02-29 as "***")
		}
		if err1 != nil || err2 != nil || !ok {
			return nil, fmt.Errorf("%w: line %d: bad date %q", ErrData, line, strings.Join(f[:3], ","))
		}
		r := DailyRain{Date: t}
		switch v := strings.TrimSpace(f[3]); v {
		case "Trace":
			r.Trace = true
		case "***":
			r.Missing = true
		default:
			mm, err := strconv.ParseFloat(v, 64)
			if err != nil || mm < 0 || mm > 5000 {
				return nil, fmt.Errorf("%w: line %d: rainfall %q", ErrData, line, v)
			}
			r.MM = mm
		}
		if n := len(out); n > 0 && !r.Date.After(out[n-1].Date) {
			return nil, fmt.Errorf("%w: line %d: %s not after %s", ErrData, line, r.Date.Format(time.DateOnly), out[n-1].Date.Format(time.DateOnly))
		}
		out = append(out, r)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read HKO daily rainfall: %w", err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no data rows", ErrData)
	}
	return out, nil
}

// Incident is one GEO/CEDD landslide record, reduced to what the warning
// needs.
type Incident struct {
	ID       string
	Date     time.Time // failure date, or the call date when it is unknown
	FromCall bool      // Date is the call date
	// Undated: neither date has a day (e.g. "04/2000"); Date is zero and
	// the record cannot be placed on a day.
	Undated bool
}

func parseDMY(s string) (time.Time, bool) {
	p := strings.Split(strings.TrimSpace(s), "/")
	if len(p) != 3 {
		return time.Time{}, false
	}
	d, e1 := strconv.Atoi(p[0])
	m, e2 := strconv.Atoi(p[1])
	y, e3 := strconv.Atoi(p[2])
	if e1 != nil || e2 != nil || e3 != nil {
		return time.Time{}, false
	}
	t, ok := day(y, m, d)
	if !ok {
		return time.Time{}, false
	}
	return t, true
}

// ReadIncidents reads the CEDD incident CSV (columns INCID, CALLDATE,
// FAILDATE in dd/mm/yyyy, "-" when unknown). Records with no day-resolution
// date are kept with Undated set.
func ReadIncidents(rd io.Reader) ([]Incident, error) {
	r := csv.NewReader(rd)
	r.FieldsPerRecord = -1
	h, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrData, err)
	}
	col := map[string]int{}
	for i, k := range h {
		col[strings.TrimPrefix(strings.TrimSpace(k), "\ufeff")] = i
	}
	for _, k := range []string{"INCID", "CALLDATE", "FAILDATE"} {
		if _, ok := col[k]; !ok {
			return nil, fmt.Errorf("%w: missing column %s", ErrData, k)
		}
	}
	need := max(col["INCID"], col["CALLDATE"], col["FAILDATE"])
	var out []Incident
	for line := 2; ; line++ {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrData, err)
		}
		if len(rec) <= need {
			return nil, fmt.Errorf("%w: line %d: %d fields", ErrData, line, len(rec))
		}
		in := Incident{ID: rec[col["INCID"]]}
		var ok bool
		if in.Date, ok = parseDMY(rec[col["FAILDATE"]]); !ok {
			if in.Date, ok = parseDMY(rec[col["CALLDATE"]]); ok {
				in.FromCall = true
			} else {
				in.Undated = true
			}
		}
		out = append(out, in)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no incidents", ErrData)
	}
	return out, nil
}
