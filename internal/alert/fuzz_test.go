package alert

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzDecodeRule: no input panics; an error is ErrMalformed or ErrInvalid
// (or a read error); an accepted rule is valid, round-trips through JSON
// unchanged, and its compiled condition never both raises and clears.
// Seeds: testdata/fuzz/FuzzDecodeRule and the rules below.
func FuzzDecodeRule(f *testing.F) {
	for _, ru := range DefaultRules() {
		b, err := json.Marshal(ru)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"twin":"x","channel":"c","op":"inside","low":-1,"high":1,"hysteresis":0.5,"severity":"info","clearFor":"1m"}`))
	f.Add([]byte(`{"type":"t","channel":"c","op":"<=","value":-3,"rate":{"window":"90s","per":"1m"},"severity":"warning"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ru, err := DecodeRule(bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrInvalid) {
				t.Fatalf("error matches neither ErrMalformed nor ErrInvalid: %v", err)
			}
			return
		}
		if err := ru.Validate(); err != nil {
			t.Fatalf("accepted rule does not validate: %v", err)
		}
		b, err := json.Marshal(ru)
		if err != nil {
			t.Fatalf("marshal accepted rule: %v", err)
		}
		again, err := DecodeRule(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("re-decode %s: %v", b, err)
		}
		if diff := cmp.Diff(ru, again); diff != "" {
			t.Fatalf("round trip changed the rule (-first +second):\n%s", diff)
		}
		c := compileCond(&ru)
		for _, x := range []float64{c.v, c.v - c.hyst, c.v + c.hyst, c.lo, c.hi, c.lo + c.hyst, c.hi - c.hyst, c.lo - c.hyst, c.hi + c.hyst, 0} {
			if c.raise(x) && c.clear(x) {
				t.Fatalf("%s: value %g both raises and clears", ru.Describe(), x)
			}
		}
		_ = ru.Describe()
	})
}
