package audit

import (
	"bytes"
	"testing"
)

// FuzzScan feeds arbitrary bytes to the record decoder: no panic, and the
// records it accepts re-frame to exactly the bytes they came from.
func FuzzScan(f *testing.F) {
	f.Add(frame(frame(nil, []byte(`{"seq":0}`)), []byte(`{"seq":1}`)))
	f.Add([]byte{0, 0, 0, 3, 'a'})
	f.Fuzz(func(t *testing.T, b []byte) {
		var re []byte
		end, _, err := scan(bytes.NewReader(b), func(_ int64, data []byte) error {
			re = frame(re, data)
			return nil
		})
		if err == nil && !bytes.Equal(re, b[:end]) {
			t.Fatalf("records do not re-frame to their bytes")
		}
	})
}

// FuzzCheckpoints: the checkpoints parser never panics and what it parses
// survives a round trip.
func FuzzCheckpoints(f *testing.F) {
	f.Add([]byte(`{"origin":"tsingma-audit/v1","size":3,"root":"AAAA","time":"2026-01-01T00:00:00Z","key_id":"ab","sig":"AA=="}` + "\n"))
	f.Add([]byte("{\"size\":1}\n{\"si"))
	f.Fuzz(func(t *testing.T, b []byte) {
		cps, _, err := parseCheckpoints(b)
		if err != nil {
			return
		}
		for _, c := range cps {
			if c.Verify(make([]byte, 32)) == nil {
				t.Fatal("a fuzzed checkpoint verified under the zero key")
			}
		}
	})
}
