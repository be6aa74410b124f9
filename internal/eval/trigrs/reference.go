package trigrs

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
)

// ProfileRow is one row of profiles.csv (the 10-digit _hp values).
type ProfileRow struct {
	Case            string
	Cell, OutIndex  int
	Time            float64
	Z, P, FS, Theta float64 // Theta is NaN when absent
	PZero, PTran    float64 // NaN when absent
}

// CellRow is one row of cells.csv (the 10-digit _hp values). Rows without
// grid values (cases that wrote no grids) are skipped by ReadCells.
type CellRow struct {
	Case           string
	Cell, OutIndex int
	Time           float64
	FSMin, ZAtMin  float64
	PAtMin         float64
}

// ErrCSV marks a malformed reference CSV.
var ErrCSV = errors.New("trigrs: bad reference CSV")

type csvCols map[string]int

func header(r *csv.Reader, need ...string) (csvCols, error) {
	h, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrCSV, err)
	}
	m := csvCols{}
	for i, k := range h {
		m[k] = i
	}
	for _, k := range need {
		if _, ok := m[k]; !ok {
			return nil, fmt.Errorf("%w: missing column %q", ErrCSV, k)
		}
	}
	return m, nil
}

func (m csvCols) num(rec []string, k string, line int, optional bool) (float64, error) {
	s := rec[m[k]]
	if s == "" && optional {
		return math.NaN(), nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%w: line %d column %s: %q", ErrCSV, line, k, s)
	}
	return v, nil
}

func (m csvCols) int(rec []string, k string, line int) (int, error) {
	v, err := strconv.Atoi(rec[m[k]])
	if err != nil {
		return 0, fmt.Errorf("%w: line %d column %s: %q", ErrCSV, line, k, rec[m[k]])
	}
	return v, nil
}

// readRows reads a CSV with the needed columns, one value per record from
// row; row reports keep=false for a record to skip.
func readRows[T any](rd io.Reader, need []string, row func(m csvCols, rec []string, line int) (v T, keep bool, err error)) ([]T, error) {
	r := csv.NewReader(rd)
	m, err := header(r, need...)
	if err != nil {
		return nil, err
	}
	var out []T
	for line := 2; ; line++ {
		rec, err := r.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrCSV, err)
		}
		v, keep, err := row(m, rec, line)
		if err != nil {
			return nil, err
		}
		if keep {
			out = append(out, v)
		}
	}
}

// key reads the columns every reference row starts with.
func (m csvCols) key(rec []string, line int) (c string, cell, outIndex int, err error) {
	if cell, err = m.int(rec, "cell", line); err != nil {
		return "", 0, 0, err
	}
	if outIndex, err = m.int(rec, "out_index", line); err != nil {
		return "", 0, 0, err
	}
	return rec[m["case"]], cell, outIndex, nil
}

// ReadProfiles reads profiles.csv.
func ReadProfiles(rd io.Reader) ([]ProfileRow, error) {
	need := []string{"case", "cell", "out_index", "time_s", "z_m_hp", "p_m_hp", "fs_hp", "theta_hp", "pzero_m_hp", "ptran_m_hp"}
	return readRows(rd, need, func(m csvCols, rec []string, line int) (p ProfileRow, _ bool, err error) {
		if p.Case, p.Cell, p.OutIndex, err = m.key(rec, line); err != nil {
			return p, false, err
		}
		for _, f := range []struct {
			k   string
			dst *float64
			opt bool
		}{{"time_s", &p.Time, false}, {"z_m_hp", &p.Z, false}, {"p_m_hp", &p.P, false}, {"fs_hp", &p.FS, false},
			{"theta_hp", &p.Theta, true}, {"pzero_m_hp", &p.PZero, true}, {"ptran_m_hp", &p.PTran, true}} {
			if *f.dst, err = m.num(rec, f.k, line, f.opt); err != nil {
				return p, false, err
			}
		}
		return p, true, nil
	})
}

// ReadCells reads cells.csv.
func ReadCells(rd io.Reader) ([]CellRow, error) {
	need := []string{"case", "cell", "out_index", "time_s", "fs_min_hp", "z_at_fs_min_m_hp", "p_at_fs_min_m_hp"}
	return readRows(rd, need, func(m csvCols, rec []string, line int) (c CellRow, _ bool, err error) {
		if c.Case, c.Cell, c.OutIndex, err = m.key(rec, line); err != nil {
			return c, false, err
		}
		for _, f := range []struct {
			k   string
			dst *float64
		}{{"time_s", &c.Time}, {"fs_min_hp", &c.FSMin}, {"z_at_fs_min_m_hp", &c.ZAtMin}, {"p_at_fs_min_m_hp", &c.PAtMin}} {
			if *f.dst, err = m.num(rec, f.k, line, f.k != "time_s"); err != nil {
				return c, false, err
			}
		}
		// A case that wrote no grids (the upstream examples) has no minimum.
		keep := !math.IsNaN(c.FSMin) && !math.IsNaN(c.ZAtMin) && !math.IsNaN(c.PAtMin)
		return c, keep, nil
	})
}
