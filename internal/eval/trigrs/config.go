// Package trigrs compares tsingma's slope-stability model with the outputs
// of the USGS program TRIGRS 2.1 staged in ../shared/datasets/trigrs: it
// reads TRIGRS's own input files (tr_in.txt, ESRI ASCII grids), runs
// internal/landslide on every cell and compares pressure head and factor of
// safety node by node with the 10-digit (_hp) columns of profiles.csv and
// cells.csv.
package trigrs

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Zone is one property zone of tr_in.txt.
type Zone struct {
	Cohesion, Phi, UnitWeight, Diffusivity, Ks, ThetaSat, ThetaRes, Alpha float64
}

// Config is the content of a TRIGRS 2.1 initialization file (tr_in.txt).
// Negative ZMax, Depth, RiZero or rainfall values mean "read the grid".
type Config struct {
	Title                  string
	TX, NMax, MMax, NZones int
	NZs                    int
	ZMin, UWW              float64
	NPer                   int
	T                      float64
	ZMax, Depth, RiZero    float64
	SlopeMin, SlopeMax     float64
	Zones                  []Zone
	Rain                   []float64 // cri, m/s; < 0: read RainFiles[k]
	Capt                   []float64 // nper+1 period boundaries, s
	SlopeFile, ElevFile    string
	ZoneFile, ZMaxFile     string
	DepthFile, RiZeroFile  string
	RainFiles              []string
	Folder, Suffix         string
	Flag                   int
	TOut                   []float64
	Skip, LAny, LLus, LPs0 bool
	FlowDir                string
	BkgrOf, LPGE0          bool
}

// ErrConfig marks a malformed tr_in.txt.
var ErrConfig = errors.New("trigrs: bad tr_in.txt")

type lineReader struct {
	sc   *bufio.Scanner
	line int
}

func (r *lineReader) next() (string, error) {
	if !r.sc.Scan() {
		if err := r.sc.Err(); err != nil {
			return "", err
		}
		return "", fmt.Errorf("%w: unexpected end of file after line %d", ErrConfig, r.line)
	}
	r.line++
	return strings.TrimRight(r.sc.Text(), "\r"), nil
}

// values reads n list-directed values, continuing on following lines as
// Fortran's read(u,*) does.
func (r *lineReader) values(n int) ([]string, error) {
	var out []string
	for len(out) < n {
		l, err := r.next()
		if err != nil {
			return nil, err
		}
		f := strings.FieldsFunc(l, func(c rune) bool { return c == ',' || c == ' ' || c == '\t' })
		out = append(out, f...)
	}
	return out[:n], nil
}

func fnum(s string) (float64, error) {
	s = strings.NewReplacer("d", "e", "D", "e").Replace(strings.TrimSpace(s))
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: number %q", ErrConfig, s)
	}
	return v, nil
}

func inum(s string) (int, error) {
	v, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("%w: integer %q", ErrConfig, s)
	}
	return v, nil
}

func flogical(s string) (bool, error) {
	s = strings.ToLower(strings.Trim(strings.TrimSpace(s), "."))
	switch {
	case strings.HasPrefix(s, "t"):
		return true, nil
	case strings.HasPrefix(s, "f"):
		return false, nil
	}
	return false, fmt.Errorf("%w: logical %q", ErrConfig, s)
}

// ParseConfig reads a TRIGRS 2.1 tr_in.txt.
func ParseConfig(rd io.Reader) (*Config, error) {
	sc := bufio.NewScanner(rd)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	r := &lineReader{sc: sc}
	c := &Config{}
	var err error
	fail := func(what string, e error) (*Config, error) {
		return nil, fmt.Errorf("line %d (%s): %w", r.line, what, e)
	}
	hdr := func() error { _, e := r.next(); return e }
	nums := func(what string, dst ...*float64) error {
		if e := hdr(); e != nil {
			return e
		}
		v, e := r.values(len(dst))
		if e != nil {
			return e
		}
		for i, d := range dst {
			if *d, e = fnum(v[i]); e != nil {
				return fmt.Errorf("%s: %w", what, e)
			}
		}
		return nil
	}
	str := func() (string, error) {
		if e := hdr(); e != nil {
			return "", e
		}
		l, e := r.next()
		return strings.TrimSpace(l), e
	}
	logical := func() (bool, error) {
		if e := hdr(); e != nil {
			return false, e
		}
		v, e := r.values(1)
		if e != nil {
			return false, e
		}
		return flogical(v[0])
	}
	if c.Title, err = str(); err != nil {
		return fail("title", err)
	}
	var tx, nmax, mmax, nz, nzs, nper float64
	if err = nums("tx,nmax,mmax,zones", &tx, &nmax, &mmax, &nz); err != nil {
		return fail("tx", err)
	}
	if err = nums("nzs,zmin,uww,nper,t", &nzs, &c.ZMin, &c.UWW, &nper, &c.T); err != nil {
		return fail("nzs", err)
	}
	c.TX, c.NMax, c.MMax, c.NZones, c.NZs, c.NPer = int(tx), int(nmax), int(mmax), int(nz), int(nzs), int(nper)
	if c.NZones < 1 || c.NZones > 1000 || c.NPer < 1 || c.NPer > 10000 || c.NZs < 1 || c.NZs > 100000 || c.TX < 0 || c.TX > 1e6 {
		return fail("sizes", fmt.Errorf("%w: zones %d, periods %d, nzs %d, tx %d out of range", ErrConfig, c.NZones, c.NPer, c.NZs, c.TX))
	}
	if err = nums("zmax,depth,rizero,slomin,slomax", &c.ZMax, &c.Depth, &c.RiZero, &c.SlopeMin, &c.SlopeMax); err != nil {
		return fail("zmax", err)
	}
	for k := 0; k < c.NZones; k++ {
		if err = hdr(); err != nil { // "zone, k"
			return fail("zone", err)
		}
		var z Zone
		if err = nums("zone properties", &z.Cohesion, &z.Phi, &z.UnitWeight, &z.Diffusivity, &z.Ks, &z.ThetaSat, &z.ThetaRes, &z.Alpha); err != nil {
			return fail("zone", err)
		}
		c.Zones = append(c.Zones, z)
	}
	c.Rain = make([]float64, c.NPer)
	ptrs := make([]*float64, c.NPer)
	for k := range ptrs {
		ptrs[k] = &c.Rain[k]
	}
	if err = nums("cri", ptrs...); err != nil {
		return fail("cri", err)
	}
	c.Capt = make([]float64, c.NPer+1)
	ptrs = make([]*float64, c.NPer+1)
	for k := range ptrs {
		ptrs[k] = &c.Capt[k]
	}
	if err = nums("capt", ptrs...); err != nil {
		return fail("capt", err)
	}
	for _, dst := range []*string{&c.SlopeFile, &c.ElevFile, &c.ZoneFile, &c.ZMaxFile, &c.DepthFile, &c.RiZeroFile} {
		if *dst, err = str(); err != nil {
			return fail("file name", err)
		}
	}
	if err = hdr(); err != nil {
		return fail("rifil", err)
	}
	for k := 0; k < c.NPer; k++ {
		l, e := r.next()
		if e != nil {
			return fail("rifil", e)
		}
		c.RainFiles = append(c.RainFiles, strings.TrimSpace(l))
	}
	for k := 0; k < 4; k++ { // runoff routing files
		if _, err = str(); err != nil {
			return fail("routing file", err)
		}
	}
	if c.Folder, err = str(); err != nil {
		return fail("folder", err)
	}
	if c.Suffix, err = str(); err != nil {
		return fail("suffix", err)
	}
	for k := 0; k < 7; k++ { // output switches
		if _, err = logical(); err != nil {
			return fail("output switch", err)
		}
	}
	if err = hdr(); err != nil {
		return fail("flag", err)
	}
	v, err := r.values(1)
	if err != nil {
		return fail("flag", err)
	}
	if c.Flag, err = inum(v[0]); err != nil {
		return fail("flag", err)
	}
	var nout float64
	if err = nums("nout", &nout); err != nil {
		return fail("nout", err)
	}
	if nout < 1 || nout > 100000 {
		return fail("nout", fmt.Errorf("%w: nout %g", ErrConfig, nout))
	}
	c.TOut = make([]float64, int(nout))
	ptrs = make([]*float64, len(c.TOut))
	for k := range ptrs {
		ptrs[k] = &c.TOut[k]
	}
	if err = nums("tout", ptrs...); err != nil {
		return fail("tout", err)
	}
	for _, dst := range []*bool{&c.Skip, &c.LAny, &c.LLus, &c.LPs0, new(bool)} {
		if *dst, err = logical(); err != nil {
			return fail("option", err)
		}
	}
	if c.FlowDir, err = str(); err != nil {
		return fail("flowdir", err)
	}
	c.FlowDir = strings.ToLower(strings.Trim(c.FlowDir, "'\" "))
	if c.BkgrOf, err = logical(); err != nil {
		return fail("bkgrof", err)
	}
	if _, err = logical(); err != nil { // file extension
		return fail("extension", err)
	}
	if c.LPGE0, err = logical(); err != nil {
		return fail("lpge0", err)
	}
	return c, nil
}
