package store

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"slices"
	"sync"

	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

// Block chunks are re-encoded at flush for size on disk ("D1"): sensor
// values are usually decimals with few digits, so they are stored as
// integer mantissas with a shared decimal exponent, delta-encoded;
// timestamps as delta-of-deltas; both as zigzag varints, then DEFLATE.
// Values that are not short decimals fall back to XOR of float bits. The
// in-memory head keeps Prometheus's XOR chunks; queries turn D1 chunks
// back into XOR chunks.
//
//	uvarint n, varint t0, byte mode (0..9 = decimal exponent, 255 = float)
//	n-1 timestamp delta-of-deltas (zigzag), first one relative to 0
//	n values: decimal: zigzag deltas of mantissas; float: uvarint of bits XOR previous bits
//	... all of it DEFLATE-compressed after the first byte (the encoding).

const (
	encXOR   byte = 1
	encD1    byte = 2 // DEFLATE-compressed payload
	encD1Raw byte = 3 // the same payload, stored: small chunks, where DEFLATE costs more than it saves

	floatMode   = 255
	maxD1Chunk  = 1 << 15 // samples per D1 chunk
	maxExponent = 9
)

var pow10 = [...]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9}

// decimalExponent returns the smallest e such that every value is an
// exact decimal with e digits after the point, or floatMode.
func decimalExponent(vs []float64) byte {
	for _, v := range vs {
		if v == 0 && math.Signbit(v) {
			return floatMode // -0 has no decimal mantissa
		}
	}
	for e := 0; e <= maxExponent; e++ {
		ok := true
		for _, v := range vs {
			x := math.Round(v * pow10[e])
			if math.Abs(x) >= 1<<53 || x/pow10[e] != v {
				ok = false
				break
			}
		}
		if ok {
			return byte(e)
		}
	}
	return floatMode
}

// flatePool holds BestSpeed writers: on D1's varint streams BestSpeed
// compresses as well as level 6 (0.869 vs 0.870 B/sample at 120 samples a
// chunk, 0.562 vs 0.572 at 7,200) and resets without clearing level 6's
// 640 KB of hash chains, which cost 12% of append CPU per chunk written.
var flatePool = sync.Pool{New: func() any {
	w, _ := flate.NewWriter(nil, flate.BestSpeed)
	return w
}}

func zigzag(v int64) uint64   { return uint64(v<<1) ^ uint64(v>>63) }
func unzigzag(u uint64) int64 { return int64(u>>1) ^ -int64(u&1) }

// Below these sizes of payload a chunk is stored raw (encD1Raw). DEFLATE
// has a fixed cost of about 12 us a chunk (its Huffman tables): on a 1 Hz
// random walk it adds 90 ns a sample at 130 samples, 33 at 500 and 16 at
// 7,200 to the 17 ns of the encoding itself (BenchmarkEncodeD1). A flush
// writes one chunk per series of what arrived since the last flush: with
// 100,000 channels (and their 100,000 score series) that is a few dozen
// samples a chunk, and DEFLATE was 9% of all the CPU of a
// `bench ingest --twins 10000` run. A flush stores such chunks raw;
// compaction compresses them when it merges the flushed blocks
// (CompactBlocks at a time) into chunks several times longer.
const (
	deflateMin      = 128  // compaction, downsampling
	flushDeflateMin = 1024 // a flush of the head
)

// encodeD1 encodes samples (len(ts) == len(vs) > 0, ts strictly
// increasing), compressed if the payload has at least minDeflate bytes.
func encodeD1(ts []int64, vs []float64, minDeflate int) []byte {
	raw := make([]byte, 0, 8+len(ts)*3)
	raw = binary.AppendUvarint(raw, uint64(len(ts)))
	raw = binary.AppendVarint(raw, ts[0])
	mode := decimalExponent(vs)
	raw = append(raw, mode)
	var prevDelta int64
	for i := 1; i < len(ts); i++ {
		d := ts[i] - ts[i-1]
		raw = binary.AppendUvarint(raw, zigzag(d-prevDelta))
		prevDelta = d
	}
	if mode == floatMode {
		var prev uint64
		for _, v := range vs {
			b := math.Float64bits(v)
			raw = binary.AppendUvarint(raw, b^prev)
			prev = b
		}
	} else {
		var prev int64
		for _, v := range vs {
			x := int64(math.Round(v * pow10[mode]))
			raw = binary.AppendUvarint(raw, zigzag(x-prev))
			prev = x
		}
	}
	if len(raw) < minDeflate {
		return append([]byte{encD1Raw}, raw...)
	}
	var buf bytes.Buffer
	buf.WriteByte(encD1)
	w := flatePool.Get().(*flate.Writer)
	w.Reset(&buf)
	w.Write(raw)
	w.Close()
	flatePool.Put(w)
	return buf.Bytes()
}

// decodeD1 decodes a chunk written by encodeD1 (including its first byte).
func decodeD1(b []byte) ([]int64, []float64, error) {
	return decodeD1Into(b, nil, nil)
}

// inflater is a reusable DEFLATE reader with its output buffer.
type inflater struct {
	r   io.ReadCloser // implements flate.Resetter
	src bytes.Reader
	out bytes.Buffer
}

var inflaters = sync.Pool{New: func() any { return &inflater{} }}

// decodeD1Into is decodeD1 appending to ts[:0] and vs[:0], so that a
// reader of many chunks reuses its slices.
func decodeD1Into(b []byte, ts []int64, vs []float64) ([]int64, []float64, error) {
	var raw []byte
	switch {
	case len(b) > 0 && b[0] == encD1Raw:
		raw = b[1:]
	case len(b) > 0 && b[0] == encD1:
		inf := inflaters.Get().(*inflater)
		defer inflaters.Put(inf)
		inf.src.Reset(b[1:])
		if inf.r == nil {
			inf.r = flate.NewReader(&inf.src)
		} else if err := inf.r.(flate.Resetter).Reset(&inf.src, nil); err != nil {
			return nil, nil, fmt.Errorf("%w: inflate chunk: %v", ErrCorrupt, err)
		}
		inf.out.Reset()
		if _, err := inf.out.ReadFrom(io.LimitReader(inf.r, 64<<20)); err != nil {
			return nil, nil, fmt.Errorf("%w: inflate chunk: %v", ErrCorrupt, err)
		}
		raw = inf.out.Bytes() // valid until inf is reused: after this call
	default:
		return nil, nil, fmt.Errorf("%w: not a D1 chunk", ErrCorrupt)
	}
	// The varints are read in place (p indexes raw): this is the inner
	// loop of every query over blocks.
	bad := func(what string) ([]int64, []float64, error) {
		return nil, nil, fmt.Errorf("%w: %s in D1 chunk", ErrCorrupt, what)
	}
	n, k := binary.Uvarint(raw)
	if k <= 0 || n == 0 || n > maxD1Chunk || n > uint64(len(raw)) {
		return bad("bad sample count")
	}
	p := k
	t0, k := binary.Varint(raw[p:])
	if k <= 0 || p+k >= len(raw) {
		return bad("short chunk")
	}
	p += k
	mode := raw[p]
	p++
	if mode > maxExponent && mode != floatMode {
		return bad(fmt.Sprintf("bad mode %d", mode))
	}
	ts, vs = slices.Grow(ts[:0], int(n))[:n], slices.Grow(vs[:0], int(n))[:n]
	ts[0] = t0
	var delta int64
	for i := 1; i < len(ts); i++ {
		u, k := binary.Uvarint(raw[p:])
		if k <= 0 {
			return bad("bad uvarint")
		}
		p += k
		delta += unzigzag(u)
		if delta <= 0 {
			return bad("timestamps not increasing")
		}
		ts[i] = ts[i-1] + delta
	}
	if mode == floatMode {
		var prev uint64
		for i := range vs {
			u, k := binary.Uvarint(raw[p:])
			if k <= 0 {
				return bad("bad uvarint")
			}
			p += k
			prev ^= u
			vs[i] = math.Float64frombits(prev)
		}
	} else {
		var x int64
		scale := pow10[mode]
		for i := range vs {
			u, k := binary.Uvarint(raw[p:])
			if k <= 0 {
				return bad("bad uvarint")
			}
			p += k
			x += unzigzag(u)
			vs[i] = float64(x) / scale
		}
	}
	if p != len(raw) {
		return bad("trailing bytes")
	}
	return ts, vs, nil
}

// xorFromD1 turns a D1 chunk into a Prometheus XOR chunk for iteration.
func xorFromD1(b []byte) ([]byte, error) {
	ts, vs, err := decodeD1(b)
	if err != nil {
		return nil, err
	}
	c := chunkenc.NewXORChunk()
	app, err := c.Appender()
	if err != nil {
		return nil, err
	}
	for i := range ts {
		app.Append(0, ts[i], vs[i])
	}
	return c.Bytes(), nil
}

// xorSamples decodes an XOR chunk.
func xorSamples(data []byte, ts []int64, vs []float64) ([]int64, []float64, error) {
	it := xorIterator(data)
	for it.Next() != chunkenc.ValNone {
		t, v := it.At()
		ts = append(ts, t)
		vs = append(vs, v)
	}
	return ts, vs, it.Err()
}
