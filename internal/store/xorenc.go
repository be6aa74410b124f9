package store

import (
	"encoding/binary"
	"math"
	"math/bits"
)

// xorEnc writes a chunk in Prometheus's XOR format (Gorilla's encoding
// with millisecond buckets), byte for byte what chunkenc's XOR appender
// writes (TestXOREncMatchesChunkenc, FuzzXOREnc): the chunks are read by
// chunkenc's iterators and stored in blocks as before. It is our own
// writer because the appender sets bits one at a time and touches the
// chunk's header on every sample; this one gathers bits in a 64-bit word
// and keeps the count in the struct, so that the head's open chunk costs
// a fraction of the CPU (BenchmarkXOREnc). The zero value is an empty
// chunk.
type xorEnc struct {
	b    []byte // the chunk's header (filled by bytes) and its whole words
	acc  uint64 // bits not yet in b, from the most significant
	nacc uint   // how many
	n    int    // samples

	t                 int64
	v                 float64
	tDelta            uint64
	leading, trailing uint8
}

// put appends the low nbits bits of u (1 <= nbits <= 64), most
// significant first.
func (e *xorEnc) put(u uint64, nbits uint) {
	u &= uint64(1)<<nbits - 1 // all ones for 64
	free := 64 - e.nacc       // never 0: a full word is written out at once
	if nbits < free {
		e.acc |= u << (free - nbits)
		e.nacc += nbits
		return
	}
	rest := nbits - free
	e.b = binary.BigEndian.AppendUint64(e.b, e.acc|u>>rest)
	e.acc, e.nacc = 0, rest
	if rest > 0 {
		e.acc = u << (64 - rest)
	}
}

// start begins an empty chunk whose bytes will need about hint bytes (the
// size of the series' last chunk, 0 if unknown), so that it seldom grows.
func (e *xorEnc) start(hint int) {
	c := 128 // as chunkenc allocates a chunk
	if hint > 0 {
		c = hint + hint/16 + 8
	}
	e.b = make([]byte, 2, c)
	e.leading = 0xff
}

// append adds a sample (the caller keeps timestamps increasing).
func (e *xorEnc) append(t int64, v float64) {
	if e.b == nil {
		e.start(0)
	}
	var tDelta uint64
	switch e.n {
	case 0:
		var buf [binary.MaxVarintLen64]byte
		for _, c := range buf[:binary.PutVarint(buf[:], t)] {
			e.put(uint64(c), 8)
		}
		e.put(math.Float64bits(v), 64)
	case 1:
		tDelta = uint64(t - e.t)
		var buf [binary.MaxVarintLen64]byte
		for _, c := range buf[:binary.PutUvarint(buf[:], tDelta)] {
			e.put(uint64(c), 8)
		}
		e.putValue(v)
	default:
		tDelta = uint64(t - e.t)
		dod := int64(tDelta - e.tDelta)
		switch {
		case dod == 0:
			e.put(0, 1)
		case bitRange(dod, 14):
			e.put(0b10, 2)
			e.put(uint64(dod), 14)
		case bitRange(dod, 17):
			e.put(0b110, 3)
			e.put(uint64(dod), 17)
		case bitRange(dod, 20):
			e.put(0b1110, 4)
			e.put(uint64(dod), 20)
		default:
			e.put(0b1111, 4)
			e.put(uint64(dod), 64)
		}
		e.putValue(v)
	}
	e.t, e.v, e.tDelta = t, v, tDelta
	e.n++
}

// bitRange reports whether x fits in nbits bits of the dod buckets.
func bitRange(x int64, nbits uint8) bool {
	return -((1<<(nbits-1))-1) <= x && x <= 1<<(nbits-1)
}

// putValue writes v as its XOR with the previous value.
func (e *xorEnc) putValue(v float64) {
	delta := math.Float64bits(v) ^ math.Float64bits(e.v)
	if delta == 0 {
		e.put(0, 1)
		return
	}
	leading := uint8(bits.LeadingZeros64(delta))
	trailing := uint8(bits.TrailingZeros64(delta))
	if leading >= 32 {
		leading = 31 // it has five bits
	}
	if e.leading != 0xff && leading >= e.leading && trailing >= e.trailing {
		e.put(0b10, 2)
		e.put(delta>>e.trailing, uint(64-e.leading-e.trailing))
		return
	}
	e.leading, e.trailing = leading, trailing
	e.put(0b11, 2)
	e.put(uint64(leading), 5)
	sig := 64 - leading - trailing // 64 is written as 0 in six bits
	e.put(uint64(sig), 6)
	e.put(delta>>trailing, uint(sig))
}

// size is the length of the chunk's bytes.
func (e *xorEnc) size() int {
	if e.b == nil {
		return 2
	}
	return len(e.b) + int(e.nacc+7)/8
}

// finish returns the chunk's bytes and leaves the encoder to be dropped:
// its own array when that wastes at most an eighth of the size (the
// usual case for a chunk started with its series' last size), else an
// exact copy.
func (e *xorEnc) finish() []byte {
	size := e.size()
	if e.b == nil || cap(e.b)-size > size/8 {
		return e.bytes()
	}
	dst := e.appendTail(e.b)
	e.b = nil
	return dst[:size:size]
}

// appendTail completes dst, which holds the chunk's header and words: it
// sets the sample count and appends the pending bits, padded with zeros
// to a byte.
func (e *xorEnc) appendTail(dst []byte) []byte {
	binary.BigEndian.PutUint16(dst, uint16(e.n))
	acc := e.acc
	for k := uint(0); k < e.nacc; k += 8 {
		dst = append(dst, byte(acc>>56))
		acc <<= 8
	}
	return dst
}

// bytes returns a copy of the chunk's bytes, of exactly its size: the
// sample count, the words written, and the pending bits padded with zeros
// to a byte.
func (e *xorEnc) bytes() []byte {
	dst := make([]byte, 0, e.size())
	if e.b == nil {
		return append(dst, 0, 0) // no samples
	}
	return e.appendTail(append(dst, e.b...))
}
