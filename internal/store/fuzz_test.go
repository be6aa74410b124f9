package store

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/tsingma/tsingma/internal/telemetry"
)

// FuzzReplayRecord: any WAL record payload is applied or refused as
// corrupt, never a panic, after the records a store would have replayed
// before it (a series, its samples, a deletion).
func FuzzReplayRecord(f *testing.F) {
	seriesRec := appendString(appendString(appendString(appendString([]byte{recSeries, 1}, "default"), "g1"), "rain"), "rain-gauge")
	samples := []byte{recSamples, 1, 2, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f}
	del := appendString(appendString(appendString([]byte{recDelete}, "default"), "g1"), "")
	f.Add(seriesRec)
	f.Add(samples)
	f.Add(del)
	f.Add([]byte{recDelete, 200})
	f.Add([]byte{9})
	// A ranged delete: before 0, from -1 (zigzag 1), one series: ref 1, to 4.
	f.Add([]byte{recDeleteRange, 0, 1, 1, 1, 8})
	f.Add([]byte{recDeleteRange, 0, 1, 1, 7, 8})
	f.Add([]byte{recDeleteRange, 0, 8, 1, 1, 1})
	f.Fuzz(func(t *testing.T, rec []byte) {
		s := &Store{head: newHead(), deadRefs: map[uint64]bool{7: true}}
		for _, p := range [][]byte{seriesRec, samples} {
			if _, err := s.replayRecord(p); err != nil {
				t.Fatal(err)
			}
		}
		s.replayRecord(rec)
		// The head is still usable, and its samples in order.
		s.head.resolve([]telemetry.Sample{{Tenant: "default", Twin: "g1", Channel: "rain"}}, make([]*series, 1))
		if ser := s.head.get(telemetry.Key{Tenant: "default", Twin: "g1", Channel: "rain"}); ser != nil {
			chunks, err := ser.snapshot(math.MinInt64, math.MaxInt64)
			if err != nil {
				t.Fatal(err)
			}
			last := int64(math.MinInt64)
			for _, c := range chunks {
				ts, _, err := xorSamples(c, nil, nil)
				if err != nil {
					t.Fatal(err)
				}
				for _, x := range ts {
					if x <= last {
						t.Fatalf("samples out of order: %d after %d", x, last)
					}
					last = x
				}
			}
		}
	})
}

// FuzzLoadTombstones: any tombstone or span file is read or refused as
// corrupt, and no span loaded lacks a channel or ends before it starts.
func FuzzLoadTombstones(f *testing.F) {
	f.Add([]byte(`[{"tenant":"default","twin":"g1","channel":"rain","before":3}]`))
	f.Add([]byte(`[{"tenant":"default","twin":"g1","before":-1}]`))
	f.Add([]byte(`{`))
	f.Add([]byte(`[{"tenant":"default","twin":"g1","channel":"rain","before":3,"from":10,"to":20}]`))
	f.Add([]byte(`[{"tenant":"default","twin":"g1","before":3,"from":10,"to":20}]`))
	f.Add([]byte(`[{"tenant":"default","twin":"g1","channel":"rain","before":3,"from":20,"to":10}]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		dir := t.TempDir()
		// The same bytes as tombstones and as spans.
		for _, name := range []string{tombstoneFile, spanFile} {
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		s := &Store{cfg: Config{Dir: dir}}
		if err := s.loadTombstones(); err != nil {
			return
		}
		s.tombstoned(telemetry.Key{Tenant: "default", Twin: "g1", Channel: "rain"}, 1)
		for _, sp := range s.spans {
			if sp.key.Channel == "" || sp.span.from > sp.span.to {
				t.Fatalf("span loaded: %+v", sp)
			}
		}
	})
}
