package twin

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
)

//go:embed builtin/types.json
var builtinJSON []byte

// BuiltinTypes returns the types every tenant starts with (a fresh copy on
// each call), in dependency order: a type's relationship targets come
// before it.
func BuiltinTypes() ([]Type, error) {
	var raw []json.RawMessage
	if err := json.Unmarshal(builtinJSON, &raw); err != nil {
		return nil, fmt.Errorf("builtin types: %w", err)
	}
	out := make([]Type, 0, len(raw))
	seen := map[string]bool{}
	for i, r := range raw {
		t, err := DecodeType(bytes.NewReader(r))
		if err != nil {
			return nil, fmt.Errorf("builtin type %d: %w", i, err)
		}
		for name, rel := range t.Relationships {
			if !seen[rel.Target] && rel.Target != t.Name {
				return nil, fmt.Errorf("builtin type %s: relationship %s targets %s, not defined before it", t.Name, name, rel.Target)
			}
		}
		seen[t.Name] = true
		out = append(out, t)
	}
	return out, nil
}
