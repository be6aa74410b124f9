package store

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/tsingma/tsingma/internal/telemetry"
)

// A block file holds closed chunks of every series at the time of a flush:
//
//	"TSMBLK2\n"
//	chunk bytes (D1 encoding, see dchunk.go), concatenated
//	series index: per series: ref, tenant, twin, channel, type, n chunks,
//	              per chunk: mint, maxt, samples, offset, length
//	footer: index offset u64, index length u64, CRC-32C of index u32, "TSMEND1\n"
//
// Blocks are written to a temporary file, fsynced and renamed into place,
// so a block either exists whole or not at all.

const (
	blockMagic  = "TSMBLK2\n"
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

func (s *Store) blocksDir() string { return filepath.Join(s.cfg.Dir, "blocks") }

func (s *Store) loadBlocks() error {
	ents, err := os.ReadDir(s.blocksDir())
	if err != nil {
		return fmt.Errorf("read blocks dir: %w", err)
	}
	var seqs []int
	for _, e := range ents {
		name := e.Name()
		if strings.HasSuffix(name, ".tmp") {
			os.Remove(filepath.Join(s.blocksDir(), name)) // an interrupted flush
			continue
		}
		if n, err := strconv.Atoi(strings.TrimSuffix(name, ".blk")); err == nil && strings.HasSuffix(name, ".blk") {
			seqs = append(seqs, n)
		}
	}
	sort.Ints(seqs)
	for _, seq := range seqs {
		if err := s.loadBlock(seq); err != nil {
			return err
		}
		s.nextBlk = seq + 1
	}
	return nil
}

func (s *Store) loadBlock(seq int) error {
	path := filepath.Join(s.blocksDir(), fmt.Sprintf("%08d.blk", seq))
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open block %s: %w", path, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("stat block %s: %w", path, err)
	}
	b := &block{seq: seq, path: path, f: f, size: st.Size(), mint: 1<<63 - 1, maxt: noTS}
	fail := func(why string) error {
		f.Close()
		return fmt.Errorf("%w: block %s: %s", ErrCorrupt, path, why)
	}
	if st.Size() < int64(len(blockMagic)+footerSize) {
		return fail("too short")
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
	d := &decoder{b: idx}
	for len(d.b) > 0 && d.err == nil {
		ref := d.uvarint()
		k := telemetry.Key{Tenant: d.str(), Twin: d.str(), Channel: d.str()}
		typ := d.str()
		nc := d.uvarint()
		if d.err != nil {
			break
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
				return fail("chunk out of bounds")
			}
			ser.mu.Lock()
			ser.chunks = append(ser.chunks, cm)
			if cm.maxt > ser.lastTS {
				ser.lastTS = cm.maxt
			}
			ser.mu.Unlock()
			b.mint = min(b.mint, cm.mint)
			b.maxt = max(b.maxt, cm.maxt)
		}
	}
	if d.err != nil {
		return fail(d.err.Error())
	}
	// The last value of each series lives in its newest chunk.
	for _, ser := range s.head.all() {
		ser.mu.Lock()
		if n := len(ser.chunks); n > 0 && ser.chunks[n-1].blk == b {
			if err := ser.loadLastLocked(); err != nil {
				ser.mu.Unlock()
				return fail(err.Error())
			}
		}
		ser.reservedTS, ser.reservedVal = ser.lastTS, ser.lastVal
		ser.mu.Unlock()
	}
	s.blocks = append(s.blocks, b)
	return nil
}

func (ser *series) loadLastLocked() error {
	cm := ser.chunks[len(ser.chunks)-1]
	data, err := cm.xorBytes()
	if err != nil {
		return err
	}
	it := xorIterator(data)
	for it.Next() != 0 {
		ser.lastTS, ser.lastVal = it.At()
	}
	return it.Err()
}

func (s *Store) closeBlocks() {
	s.blocksMu.Lock()
	defer s.blocksMu.Unlock()
	for _, b := range s.blocks {
		b.f.Close()
	}
	s.blocks = nil
}

// flush runs on the committer goroutine: everything in the WAL segments up
// to the current one is applied to the head, so after rotating, a block of
// every series' chunks covers all of them and those segments can go.
func (s *Store) flush() error {
	cover := s.seg.seq
	if err := s.rotate(); err != nil {
		return err
	}
	type job struct {
		ser    *series
		mem    []*chunkMeta // the in-memory chunks this block replaces
		chunks []*chunkMeta // their D1 re-encoding
		data   [][]byte
	}
	var jobs []job
	var ts []int64
	var vs []float64
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
		if len(mem) == 0 {
			continue
		}
		// In-memory chunk data never changes once cut: decode outside the lock.
		ts, vs = ts[:0], vs[:0]
		for _, cm := range mem {
			var err error
			if ts, vs, err = xorSamples(cm.data, ts, vs); err != nil {
				return fmt.Errorf("flush series %d: %w", ser.ref, err)
			}
		}
		j := job{ser: ser, mem: mem}
		for lo := 0; lo < len(ts); lo += maxD1Chunk {
			hi := min(lo+maxD1Chunk, len(ts))
			j.chunks = append(j.chunks, &chunkMeta{mint: ts[lo], maxt: ts[hi-1], n: hi - lo, enc: encD1})
			j.data = append(j.data, encodeD1(ts[lo:hi], vs[lo:hi]))
		}
		jobs = append(jobs, j)
	}
	if len(jobs) > 0 {
		seq := s.nextBlk
		path := filepath.Join(s.blocksDir(), fmt.Sprintf("%08d.blk", seq))
		tmp := path + ".tmp"
		f, err := os.Create(tmp)
		if err != nil {
			return fmt.Errorf("create block %s: %w", tmp, err)
		}
		bw := bufio.NewWriterSize(f, 1<<20)
		off := int64(0)
		write := func(p []byte) error {
			n, err := bw.Write(p)
			off += int64(n)
			return err
		}
		if err := write([]byte(blockMagic)); err != nil {
			f.Close()
			return fmt.Errorf("write block: %w", err)
		}
		for _, j := range jobs {
			for k, cm := range j.chunks {
				cm.off, cm.length = off, len(j.data[k])
				if err := write(j.data[k]); err != nil {
					f.Close()
					return fmt.Errorf("write block: %w", err)
				}
			}
		}
		var idx []byte
		for _, j := range jobs {
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
		}
		ioff := off
		var foot [footerSize]byte
		binary.LittleEndian.PutUint64(foot[0:], uint64(ioff))
		binary.LittleEndian.PutUint64(foot[8:], uint64(len(idx)))
		binary.LittleEndian.PutUint32(foot[16:], crc32.Checksum(idx, castagnoli))
		copy(foot[20:], footerMagic)
		err = write(idx)
		if err == nil {
			err = write(foot[:])
		}
		if err == nil {
			err = bw.Flush()
		}
		if err != nil {
			f.Close()
			return fmt.Errorf("write block %s: %w", tmp, err)
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return fmt.Errorf("fsync block %s: %w", tmp, err)
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("close block %s: %w", tmp, err)
		}
		if err := os.Rename(tmp, path); err != nil {
			return fmt.Errorf("rename block %s: %w", path, err)
		}
		if err := syncDir(s.blocksDir()); err != nil {
			return err
		}
		rf, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("reopen block %s: %w", path, err)
		}
		b := &block{seq: seq, path: path, f: rf, size: off, mint: 1<<63 - 1, maxt: noTS, series: len(jobs)}
		for _, j := range jobs {
			for _, cm := range j.chunks {
				cm.blk = b
				b.mint = min(b.mint, cm.mint)
				b.maxt = max(b.maxt, cm.maxt)
			}
			// Replace the in-memory chunks (a contiguous run) by the block's.
			j.ser.mu.Lock()
			i := slices.Index(j.ser.chunks, j.mem[0])
			if i >= 0 && i+len(j.mem) <= len(j.ser.chunks) {
				j.ser.chunks = slices.Replace(j.ser.chunks, i, i+len(j.mem), j.chunks...)
			}
			j.ser.mu.Unlock()
		}
		s.blocksMu.Lock()
		s.blocks = append(s.blocks, b)
		s.nextBlk = seq + 1
		s.blocksMu.Unlock()
	}
	// Every record in segments <= cover is now in a block.
	seqs, err := listSegments(s.walDir)
	if err != nil {
		return err
	}
	for _, q := range seqs {
		if q <= cover {
			if err := os.Remove(segmentName(s.walDir, q)); err != nil {
				return fmt.Errorf("remove wal segment %d: %w", q, err)
			}
		}
	}
	s.walSinceFlush.Store(0)
	return syncDir(s.walDir)
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
