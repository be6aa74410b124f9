package trigrs

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Grid is an ESRI ASCII grid; Values are row-major from the top-left
// (north-west) corner.
type Grid struct {
	NCols, NRows int
	NoData       float64
	Values       []float64
}

// ErrGrid marks a malformed ASCII grid.
var ErrGrid = errors.New("trigrs: bad ASCII grid")

// maxGridCells bounds what ReadGrid allocates from a header.
const maxGridCells = 1 << 26

// ReadGrid reads an ESRI ASCII grid (header keys in any case, NODATA_value
// optional, default −9999).
func ReadGrid(rd io.Reader) (*Grid, error) {
	sc := bufio.NewScanner(rd)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<24)
	sc.Split(bufio.ScanWords)
	g := &Grid{NoData: -9999}
	var pending []string
	keys := 0
	for keys < 6 && sc.Scan() {
		k := strings.ToLower(sc.Text())
		if _, err := strconv.ParseFloat(k, 64); err == nil {
			pending = append(pending, k)
			break
		}
		if !sc.Scan() {
			return nil, fmt.Errorf("%w: header key %q without value", ErrGrid, k)
		}
		v := sc.Text()
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: header %s=%q", ErrGrid, k, v)
		}
		switch k {
		case "ncols":
			g.NCols = int(f)
		case "nrows":
			g.NRows = int(f)
		case "nodata_value":
			g.NoData = f
		case "xllcorner", "yllcorner", "xllcenter", "yllcenter", "cellsize", "dx", "dy":
		default:
			return nil, fmt.Errorf("%w: unknown header key %q", ErrGrid, k)
		}
		keys++
	}
	if g.NCols <= 0 || g.NRows <= 0 || g.NCols*g.NRows > maxGridCells || g.NCols > maxGridCells || g.NRows > maxGridCells {
		return nil, fmt.Errorf("%w: size %d x %d", ErrGrid, g.NCols, g.NRows)
	}
	n := g.NCols * g.NRows
	g.Values = make([]float64, 0, n)
	add := func(s string) error {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return fmt.Errorf("%w: value %d %q", ErrGrid, len(g.Values)+1, s)
		}
		g.Values = append(g.Values, f)
		return nil
	}
	for _, s := range pending {
		if err := add(s); err != nil {
			return nil, err
		}
	}
	for len(g.Values) < n && sc.Scan() {
		if err := add(sc.Text()); err != nil {
			return nil, err
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read grid: %w", err)
	}
	if len(g.Values) != n {
		return nil, fmt.Errorf("%w: %d values, want %d", ErrGrid, len(g.Values), n)
	}
	return g, nil
}
