package store

import (
	"bufio"
	"cmp"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/tsingma/tsingma/internal/pace"
	"github.com/tsingma/tsingma/internal/telemetry"
)

// A block file holds chunks of many series:
//
//	"TSMBLK3\n"
//	chunk bytes (D1 encoding, see dchunk.go), concatenated
//	index: resolution (ms, 0 = raw), replaced block seqs,
//	       per series: ref, tenant, twin, channel, type, n chunks,
//	       per chunk: mint, maxt, samples, offset, length
//	footer: index offset u64, index length u64, CRC-32C of index u32, "TSMEND1\n"
//
// Blocks are written to a temporary file, fsynced and renamed into place,
// so a block exists whole or not at all. A block made by compaction or
// downsampling names the blocks it replaces; if a crash leaves those
// behind, they are deleted on open, so no sample is ever counted twice.

const (
	blockMagic  = "TSMBLK3\n"
	footerMagic = "TSMEND1\n"
	footerSize  = 8 + 8 + 4 + 8
)

type block struct {
	seq        int
	path       string
	f          *os.File
	size       int64
	mint, maxt int64
	series     int
	resolution int64 // ms; 0 for raw samples
	replaces   []int
}

func (b *block) readChunk(off int64, n int) ([]byte, error) {
	buf := make([]byte, n)
	if _, err := b.f.ReadAt(buf, off); err != nil {
		return nil, fmt.Errorf("read block %s at %d: %w", b.path, off, err)
	}
	return buf, nil
}

// readXOR reads a D1 chunk and returns it as an XOR chunk.
func (b *block) readXOR(off int64, n int) ([]byte, error) {
	raw, err := b.readChunk(off, n)
	if err != nil {
		return nil, err
	}
	x, err := xorFromD1(raw)
	if err != nil {
		return nil, fmt.Errorf("block %s at %d: %w", b.path, off, err)
	}
	return x, nil
}

// samples decodes a block chunk.
func (b *block) samples(cm *chunkMeta) ([]int64, []float64, error) {
	raw, err := b.readChunk(cm.off, cm.length)
	if err != nil {
		return nil, nil, err
	}
	ts, vs, err := decodeD1(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("block %s at %d: %w", b.path, cm.off, err)
	}
	return ts, vs, nil
}

func (s *Store) blocksDir() string { return filepath.Join(s.cfg.Dir, "blocks") }

func (s *Store) blockPath(seq int) string {
	return filepath.Join(s.blocksDir(), fmt.Sprintf("%08d.blk", seq))
}

// blockIndex is a parsed block file, before its series join the head.
type blockIndex struct {
	b   *block
	idx []byte // series entries
}

func (s *Store) loadBlocks() error {
	ents, err := os.ReadDir(s.blocksDir())
	if err != nil {
		return fmt.Errorf("read blocks dir: %w", err)
	}
	var seqs []int
	for _, e := range ents {
		name := e.Name()
		if strings.HasSuffix(name, ".tmp") {
			os.Remove(filepath.Join(s.blocksDir(), name)) // an interrupted write
			continue
		}
		if n, err := strconv.Atoi(strings.TrimSuffix(name, ".blk")); err == nil && strings.HasSuffix(name, ".blk") {
			seqs = append(seqs, n)
		}
	}
	sort.Ints(seqs)
	var parsed []blockIndex
	replaced := map[int]bool{}
	for _, seq := range seqs {
		bi, err := s.openBlock(seq)
		if err != nil {
			for _, p := range parsed {
				p.b.f.Close()
			}
			return err
		}
		parsed = append(parsed, bi)
		for _, r := range bi.b.replaces {
			replaced[r] = true
		}
		s.nextBlk = seq + 1
	}
	for _, bi := range parsed {
		if replaced[bi.b.seq] {
			// A compaction finished but crashed before deleting its inputs.
			bi.b.f.Close()
			if err := os.Remove(bi.b.path); err != nil {
				return fmt.Errorf("remove replaced block %s: %w", bi.b.path, err)
			}
			continue
		}
		if err := s.addBlockSeries(bi); err != nil {
			bi.b.f.Close()
			return err
		}
		s.blocks = append(s.blocks, bi.b)
	}
	// Blocks were loaded by sequence number; a compacted block can hold
	// older data than a block flushed before it, so order chunks by time
	// and take each series' newest sample.
	// The spans (ranged deletions) join their series first: the newest
	// sample left may be older than the newest in the blocks, and appends
	// and the WAL's replay go on after it.
	s.attachSpans()
	for _, ser := range s.head.all() {
		ser.mu.Lock()
		if len(ser.chunks) > 0 {
			slices.SortStableFunc(ser.chunks, func(a, b *chunkMeta) int { return cmp.Compare(a.mint, b.mint) })
			if err := ser.loadLastLocked(); err != nil {
				ser.mu.Unlock()
				return err
			}
		}
		dels := len(ser.dels) > 0
		ser.mu.Unlock()
		if dels && ser.lastTS != noTS {
			t, v, err := ser.newestLeft()
			if err != nil {
				return err
			}
			ser.lastTS, ser.lastVal = t, v
		}
		ser.reservedTS, ser.reservedVal = ser.lastTS, ser.lastVal
	}
	return nil
}

func (s *Store) openBlock(seq int) (blockIndex, error) {
	path := s.blockPath(seq)
	f, err := os.Open(path)
	if err != nil {
		return blockIndex{}, fmt.Errorf("open block %s: %w", path, err)
	}
	fail := func(why string) (blockIndex, error) {
		f.Close()
		return blockIndex{}, fmt.Errorf("%w: block %s: %s", ErrCorrupt, path, why)
	}
	st, err := f.Stat()
	if err != nil {
		return fail(err.Error())
	}
	if st.Size() < int64(len(blockMagic)+footerSize) {
		return fail("too short")
	}
	var head [len(blockMagic)]byte
	if _, err := f.ReadAt(head[:], 0); err != nil || string(head[:]) != blockMagic {
		return fail("bad magic (an older or foreign file)")
	}
	var foot [footerSize]byte
	if _, err := f.ReadAt(foot[:], st.Size()-footerSize); err != nil {
		return fail(err.Error())
	}
	if string(foot[20:]) != footerMagic {
		return fail("bad footer")
	}
	ioff := int64(binary.LittleEndian.Uint64(foot[0:]))
	ilen := int64(binary.LittleEndian.Uint64(foot[8:]))
	sum := binary.LittleEndian.Uint32(foot[16:])
	if ioff < int64(len(blockMagic)) || ilen < 0 || ioff+ilen != st.Size()-footerSize {
		return fail("bad index bounds")
	}
	idx := make([]byte, ilen)
	if _, err := f.ReadAt(idx, ioff); err != nil {
		return fail(err.Error())
	}
	if crc32.Checksum(idx, castagnoli) != sum {
		return fail("index checksum mismatch")
	}
	b := &block{seq: seq, path: path, f: f, size: st.Size(), mint: 1<<63 - 1, maxt: noTS}
	d := &decoder{b: idx}
	b.resolution = int64(d.uvarint())
	nr := d.uvarint()
	for i := uint64(0); i < nr && d.err == nil; i++ {
		b.replaces = append(b.replaces, int(d.uvarint()))
	}
	if d.err != nil {
		return fail(d.err.Error())
	}
	return blockIndex{b: b, idx: d.b}, nil
}

// addBlockSeries adds a block's chunks to the head's series.
func (s *Store) addBlockSeries(bi blockIndex) error {
	b := bi.b
	ioff := b.size - footerSize - int64(len(bi.idx)) // chunks lie before the index
	d := &decoder{b: bi.idx}
	for len(d.b) > 0 && d.err == nil {
		ref := d.uvarint()
		k := telemetry.Key{Tenant: d.str(), Twin: d.str(), Channel: d.str()}
		typ := d.str()
		nc := d.uvarint()
		if d.err != nil {
			break
		}
		if s.tombstoned(k, b.seq) {
			// Deleted: its chunks are skipped (and its ref never given
			// again).
			s.head.reserveRef(ref)
			if s.deadRefs == nil {
				s.deadRefs = map[uint64]bool{}
			}
			s.deadRefs[ref] = true
			for i := uint64(0); i < nc && d.err == nil; i++ {
				d.varint()
				d.varint()
				d.uvarint()
				d.uvarint()
				d.uvarint()
			}
			continue
		}
		ser := s.head.add(ref, k, typ)
		b.series++
		for i := uint64(0); i < nc && d.err == nil; i++ {
			cm := &chunkMeta{mint: d.varint(), maxt: d.varint(), n: int(d.uvarint()), blk: b, enc: encD1}
			cm.off = int64(d.uvarint())
			cm.length = int(d.uvarint())
			if d.err != nil {
				break
			}
			if cm.off < int64(len(blockMagic)) || cm.off+int64(cm.length) > ioff || cm.maxt < cm.mint {
				return fmt.Errorf("%w: block %s: chunk out of bounds", ErrCorrupt, b.path)
			}
			ser.mu.Lock()
			ser.chunks = append(ser.chunks, cm)
			ser.mu.Unlock()
			b.mint = min(b.mint, cm.mint)
			b.maxt = max(b.maxt, cm.maxt)
		}
	}
	if d.err != nil {
		return fmt.Errorf("%w: block %s: %v", ErrCorrupt, b.path, d.err)
	}
	return nil
}

// samples decodes a chunk, from its block or from memory.
func (cm *chunkMeta) samples() ([]int64, []float64, error) {
	if cm.blk != nil {
		return cm.blk.samples(cm)
	}
	return xorSamples(cm.data, nil, nil)
}

func (ser *series) loadLastLocked() error {
	cm := ser.chunks[len(ser.chunks)-1]
	for _, c := range ser.chunks {
		if c.maxt > cm.maxt {
			cm = c
		}
	}
	ts, vs, err := cm.samples()
	if err != nil {
		return err
	}
	if n := len(ts); n > 0 && ts[n-1] > ser.lastTS {
		ser.lastTS, ser.lastVal = ts[n-1], vs[n-1]
	}
	return nil
}

func (s *Store) closeBlocks() {
	s.blocksMu.Lock()
	defer s.blocksMu.Unlock()
	for _, b := range s.blocks {
		b.f.Close()
	}
	s.blocks = nil
}

// blockSeries is one series' samples to write into a block.
type blockSeries struct {
	ser *series
	ts  []int64
	vs  []float64
	// xor, when set (a flush), holds the in-memory XOR chunks that ts and
	// vs are decoded from just before the series is written, into one
	// buffer reused series after series: a flush holds one series'
	// samples decoded at a time, not the whole head's.
	xor []*chunkMeta
	// runs, when set (a rewrite), are the ends of the runs of ts: no chunk
	// straddles one, and runChunks (filled by writeBlock) counts the chunks
	// up to the end of each.
	runs      []int
	runChunks []int
	chunks    []*chunkMeta // filled by writeBlock
}

// writeBlock writes a new block atomically and returns it with the chunk
// metas of every series filled in (pointing at it).
func (s *Store) writeBlock(resolution int64, replaces []int, jobs []*blockSeries) (*block, error) {
	s.blocksMu.Lock()
	seq := s.nextBlk
	s.nextBlk++
	s.blocksMu.Unlock()
	path := s.blockPath(seq)
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return nil, fmt.Errorf("create block %s: %w", tmp, err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	off := int64(0)
	var werr error
	write := func(p []byte) {
		if werr == nil {
			n, err := bw.Write(p)
			off += int64(n)
			werr = err
		}
	}
	write([]byte(blockMagic))
	b := &block{seq: seq, path: path, mint: 1<<63 - 1, maxt: noTS, series: len(jobs), resolution: resolution, replaces: replaces}
	idx := binary.AppendUvarint(nil, uint64(resolution))
	idx = binary.AppendUvarint(idx, uint64(len(replaces)))
	for _, r := range replaces {
		idx = binary.AppendUvarint(idx, uint64(r))
	}
	var bufTS []int64
	var bufVS []float64
	// A block write is seconds of a core at the WAL limit; it gives way to
	// ingest while ingest waits for the CPU (package pace).
	p := pace.New(0.5)
	for _, j := range jobs {
		p.Pace()
		if j.xor != nil {
			bufTS, bufVS = bufTS[:0], bufVS[:0]
			for _, cm := range j.xor {
				var err error
				if bufTS, bufVS, err = xorSamples(cm.data, bufTS, bufVS); err != nil {
					werr = fmt.Errorf("series %d: %w", j.ser.ref, err)
					break
				}
			}
			j.ts, j.vs = bufTS, bufVS
		}
		if werr != nil {
			break // the block is discarded below
		}
		j.chunks = j.chunks[:0]
		minDeflate := deflateMin
		if j.xor != nil { // a flush
			minDeflate = flushDeflateMin
		}
		ends := j.runs
		if ends == nil {
			ends = []int{len(j.ts)}
		}
		j.runChunks = j.runChunks[:0]
		start := 0
		for _, end := range ends {
			for lo := start; lo < end; lo += maxD1Chunk {
				hi := min(lo+maxD1Chunk, end)
				data := encodeD1(j.ts[lo:hi], j.vs[lo:hi], minDeflate)
				cm := &chunkMeta{mint: j.ts[lo], maxt: j.ts[hi-1], n: hi - lo, enc: encD1, blk: b, off: off, length: len(data)}
				write(data)
				j.chunks = append(j.chunks, cm)
				b.mint = min(b.mint, cm.mint)
				b.maxt = max(b.maxt, cm.maxt)
			}
			j.runChunks = append(j.runChunks, len(j.chunks))
			start = end
		}
		idx = binary.AppendUvarint(idx, j.ser.ref)
		idx = appendString(idx, j.ser.key.Tenant)
		idx = appendString(idx, j.ser.key.Twin)
		idx = appendString(idx, j.ser.key.Channel)
		idx = appendString(idx, j.ser.typ)
		idx = binary.AppendUvarint(idx, uint64(len(j.chunks)))
		for _, cm := range j.chunks {
			idx = binary.AppendVarint(idx, cm.mint)
			idx = binary.AppendVarint(idx, cm.maxt)
			idx = binary.AppendUvarint(idx, uint64(cm.n))
			idx = binary.AppendUvarint(idx, uint64(cm.off))
			idx = binary.AppendUvarint(idx, uint64(cm.length))
		}
		if j.xor != nil {
			j.ts, j.vs = nil, nil // the buffer is the next series'
		}
	}
	var foot [footerSize]byte
	binary.LittleEndian.PutUint64(foot[0:], uint64(off))
	binary.LittleEndian.PutUint64(foot[8:], uint64(len(idx)))
	binary.LittleEndian.PutUint32(foot[16:], crc32.Checksum(idx, castagnoli))
	copy(foot[20:], footerMagic)
	write(idx)
	write(foot[:])
	if werr == nil {
		werr = bw.Flush()
	}
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		os.Remove(tmp)
		return nil, fmt.Errorf("write block %s: %w", tmp, werr)
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, fmt.Errorf("rename block %s: %w", path, err)
	}
	if err := syncDir(s.blocksDir()); err != nil {
		return nil, err
	}
	if b.f, err = os.Open(path); err != nil {
		return nil, fmt.Errorf("reopen block %s: %w", path, err)
	}
	b.size = off
	return b, nil
}

// flushSnap is what a flush writes: the in-memory chunks of each series
// at the moment the WAL was rotated, and the last segment they cover.
type flushSnap struct {
	cover int
	order []*series
	mems  map[*series][]*chunkMeta
}

type cutResult struct {
	snap flushSnap
	err  error
}

// cut runs on the committer goroutine, between commits: every record in the
// WAL segments up to the current one is applied to the head, so after
// rotating, the cut chunks of every series cover all of them.
func (s *Store) cut() (flushSnap, error) {
	snap := flushSnap{cover: s.seg.seq, mems: map[*series][]*chunkMeta{}}
	if err := s.rotate(); err != nil {
		return snap, err
	}
	// The WAL from here on is what the next flush will cover (counting it
	// from the end of this flush's block write would miss what arrives
	// meanwhile).
	s.walSinceFlush.Store(0)
	for _, ser := range s.head.all() {
		ser.mu.Lock()
		ser.cutLocked()
		var mem []*chunkMeta
		for _, cm := range ser.chunks {
			if cm.blk == nil {
				mem = append(mem, cm)
			}
		}
		ser.mu.Unlock()
		if len(mem) > 0 {
			snap.order = append(snap.order, ser)
			snap.mems[ser] = mem
		}
	}
	return snap, nil
}

// writeFlush writes the snapshot as a block, swaps it in for the in-memory
// chunks, and deletes the WAL segments it covers.
func (s *Store) writeFlush(snap flushSnap) error {
	defer s.background()()
	var jobs []*blockSeries
	for _, ser := range snap.order {
		// Cut chunks never change: writeBlock decodes them without the
		// lock, one series at a time.
		jobs = append(jobs, &blockSeries{ser: ser, xor: snap.mems[ser]})
	}
	if len(jobs) > 0 {
		b, err := s.writeBlock(0, nil, jobs)
		if err != nil {
			return err
		}
		for _, j := range jobs {
			mem := snap.mems[j.ser]
			j.ser.mu.Lock()
			if i := slices.Index(j.ser.chunks, mem[0]); i >= 0 && i+len(mem) <= len(j.ser.chunks) {
				j.ser.chunks = slices.Replace(j.ser.chunks, i, i+len(mem), j.chunks...)
			}
			j.ser.mu.Unlock()
		}
		s.blocksMu.Lock()
		s.blocks = append(s.blocks, b)
		s.blocksMu.Unlock()
	}
	// Every record in segments <= cover is now in a block; a deletion
	// among them lives on in the tombstone file (written if a write
	// failed when the deletion was made).
	if err := s.persistTombstones(); err != nil {
		return err
	}
	seqs, err := listSegments(s.walDir)
	if err != nil {
		return err
	}
	for _, q := range seqs {
		if q <= snap.cover {
			if err := os.Remove(segmentName(s.walDir, q)); err != nil {
				return fmt.Errorf("remove wal segment %d: %w", q, err)
			}
		}
	}
	return syncDir(s.walDir)
}

// rewrite merges blocks into one, keeping only the last sample of each
// resolution-wide interval when resolution > 0 (downsampling, as
// VictoriaMetrics does), then removes them. It runs on the maintenance
// goroutine; queries meanwhile read either the old or the new chunks.
func (s *Store) rewrite(old []*block, resolution int64) error {
	defer s.background()()
	if len(old) == 0 {
		return nil
	}
	in := map[*block]bool{}
	var replaces []int
	for _, b := range old {
		in[b] = true
		replaces = append(replaces, b.seq)
	}
	var jobs []*blockSeries
	for _, ser := range s.head.all() {
		// The series' chunks from the blocks rewritten come in runs of
		// neighbours; a chunk of another block between two runs (a
		// series that started with older samples than others had, or a
		// deleted tail sent again) must stay between them, so each run
		// gets chunks of its own, put where the run was.
		ser.mu.Lock()
		var metas []*chunkMeta
		var spans [][]delSpan
		var runOf []int
		run, prevIn := -1, false
		for _, cm := range ser.chunks {
			isIn := cm.blk != nil && in[cm.blk]
			if isIn {
				if !prevIn {
					run++
				}
				metas = append(metas, cm)
				spans = append(spans, ser.spansFor(cm))
				runOf = append(runOf, run)
			}
			prevIn = isIn
		}
		ser.mu.Unlock()
		if len(metas) == 0 {
			continue
		}
		j := &blockSeries{ser: ser}
		var runTS [][]int64
		var runVS [][]float64
		for i, cm := range metas {
			ts, vs, err := cm.blk.samples(cm)
			if err != nil {
				return err
			}
			// The samples that spans deleted are left out: the new
			// block's number is past every span's bound.
			ts, vs = dropSpans(ts, vs, spans[i])
			if runOf[i] == len(runTS) {
				runTS, runVS = append(runTS, nil), append(runVS, nil)
			}
			r := runOf[i]
			runTS[r], runVS[r] = append(runTS[r], ts...), append(runVS[r], vs...)
		}
		for r := range runTS {
			ts, vs := runTS[r], runVS[r]
			if resolution > 0 {
				ts, vs = downsampleLast(ts, vs, resolution)
			}
			j.ts, j.vs = append(j.ts, ts...), append(j.vs, vs...)
			j.runs = append(j.runs, len(j.ts))
		}
		jobs = append(jobs, j)
	}
	nb, err := s.writeBlock(resolution, replaces, jobs)
	if err != nil {
		return err
	}
	for _, j := range jobs {
		j.ser.mu.Lock()
		kept := make([]*chunkMeta, 0, len(j.ser.chunks)+len(j.chunks))
		run, prevIn, from := 0, false, 0
		for _, cm := range j.ser.chunks {
			isIn := cm.blk != nil && in[cm.blk]
			if isIn && !prevIn && run < len(j.runChunks) {
				// The first chunk of a run: its new chunks go here.
				kept = append(kept, j.chunks[from:j.runChunks[run]]...)
				from = j.runChunks[run]
				run++
			}
			prevIn = isIn
			if !isIn {
				kept = append(kept, cm)
			}
		}
		j.ser.chunks = append(kept, j.chunks[from:]...) // none, unless the chunks changed meanwhile
		j.ser.mu.Unlock()
	}
	s.blocksMu.Lock()
	var keep []*block
	for _, b := range s.blocks {
		if !in[b] {
			keep = append(keep, b)
		}
	}
	s.blocks = append(keep, nb)
	s.blocksMu.Unlock()
	for _, b := range old {
		b.f.Close()
		if err := os.Remove(b.path); err != nil {
			return fmt.Errorf("remove block %s: %w", b.path, err)
		}
	}
	s.log.Info("blocks rewritten", "from", replaces, "to", nb.seq, "resolution_ms", resolution, "bytes", nb.size)
	return nil
}

// downsampleLast keeps the last sample of each [k·res, (k+1)·res) interval.
func downsampleLast(ts []int64, vs []float64, res int64) ([]int64, []float64) {
	n := 0
	for i := range ts {
		if i+1 < len(ts) && floorDiv(ts[i+1], res) == floorDiv(ts[i], res) {
			continue
		}
		ts[n], vs[n] = ts[i], vs[i]
		n++
	}
	return ts[:n], vs[:n]
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// compactBlocks is the maintenance policy: merge small raw blocks
// (CompactBlocks at a time), downsample blocks past a rule's age, and
// apply retention.
func (s *Store) compactBlocks() error {
	now := s.cfg.Now().UnixMilli()
	s.blocksMu.RLock()
	blocks := slices.Clone(s.blocks)
	s.blocksMu.RUnlock()
	slices.SortFunc(blocks, func(a, b *block) int { return cmp.Compare(a.mint, b.mint) })
	// Downsampling, coarsest rule first: rewrite the blocks past its age
	// together with those already at its resolution, so that intervals
	// that straddle block boundaries still end with exactly one sample.
	rules := slices.Clone(s.cfg.Downsample)
	slices.SortFunc(rules, func(a, b DownsampleRule) int { return cmp.Compare(b.Interval, a.Interval) })
	for _, r := range rules {
		res := r.Interval.Milliseconds()
		var due, same []*block
		for _, b := range blocks {
			switch {
			case b.resolution < res && b.maxt < now-r.After.Milliseconds():
				due = append(due, b)
			case b.resolution == res:
				same = append(same, b)
			}
		}
		if len(due) > 0 {
			if err := s.rewrite(append(due, same...), res); err != nil {
				return fmt.Errorf("downsample to %s: %w", r.Interval, err)
			}
			return nil // one rewrite per round keeps the work bounded
		}
	}
	var small []*block
	for _, b := range blocks {
		if b.size < s.cfg.CompactMaxBytes {
			small = append(small, b)
		}
	}
	// Merge runs of blocks at the same resolution.
	byRes := map[int64][]*block{}
	for _, b := range small {
		byRes[b.resolution] = append(byRes[b.resolution], b)
	}
	for res, bs := range byRes {
		if len(bs) >= s.cfg.CompactBlocks {
			return s.rewrite(bs[:s.cfg.CompactBlocks], res)
		}
	}
	return nil
}

// applyRetention deletes blocks whose newest sample is older than the
// retention period.
func (s *Store) applyRetention() error {
	if s.cfg.Retention <= 0 {
		return nil
	}
	cutoff := s.cfg.Now().Add(-s.cfg.Retention).UnixMilli()
	s.blocksMu.Lock()
	var keep, drop []*block
	for _, b := range s.blocks {
		if b.maxt < cutoff {
			drop = append(drop, b)
		} else {
			keep = append(keep, b)
		}
	}
	s.blocks = keep
	s.blocksMu.Unlock()
	if len(drop) == 0 {
		return nil
	}
	dropped := make(map[*block]bool, len(drop))
	for _, b := range drop {
		dropped[b] = true
	}
	for _, ser := range s.head.all() {
		ser.mu.Lock()
		kept := ser.chunks[:0]
		for _, cm := range ser.chunks {
			if cm.blk == nil || !dropped[cm.blk] {
				kept = append(kept, cm)
			}
		}
		for i := len(kept); i < len(ser.chunks); i++ {
			ser.chunks[i] = nil
		}
		ser.chunks = kept
		ser.mu.Unlock()
	}
	for _, b := range drop {
		b.f.Close()
		if err := os.Remove(b.path); err != nil {
			return fmt.Errorf("remove block %s: %w", b.path, err)
		}
		s.log.Info("retention removed block", "block", b.path)
	}
	return nil
}
