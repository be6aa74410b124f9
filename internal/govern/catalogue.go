package govern

import (
	_ "embed"
	"encoding/json"
	"fmt"
)

// Catalogue is the Ethical AI Framework as data: principles with their
// criteria and the lifecycle stages. It is versioned; an assessment
// records the version it answered.
type Catalogue struct {
	ID         string      `json:"id"`
	Version    string      `json:"version"`
	Source     string      `json:"source"`
	Stages     []Stage     `json:"stages"`
	Principles []Principle `json:"principles"`
}

// Stage is a lifecycle stage.
type Stage struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Principle is one of the framework's principles.
type Principle struct {
	ID       string      `json:"id"`
	Name     string      `json:"name"`
	Group    string      `json:"group"` // performance or general
	Summary  string      `json:"summary"`
	Criteria []Criterion `json:"criteria"`
}

// Criterion is one question an assessment answers. Evidence marks the
// criteria whose answer needs a platform measurement attached.
type Criterion struct {
	ID       string `json:"id"`
	Text     string `json:"text"`
	Evidence bool   `json:"evidence,omitempty"`
}

//go:embed principles.json
var principlesJSON []byte

// LoadCatalogue parses a catalogue and checks it: unique ids, every
// principle with criteria.
func LoadCatalogue(b []byte) (*Catalogue, error) {
	var c Catalogue
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("principles catalogue: %w", err)
	}
	if c.Version == "" || len(c.Principles) == 0 {
		return nil, fmt.Errorf("principles catalogue: version and principles are required")
	}
	seen := map[string]bool{}
	for _, p := range c.Principles {
		if p.ID == "" || len(p.Criteria) == 0 || seen[p.ID] {
			return nil, fmt.Errorf("principles catalogue: principle %q needs a unique id and criteria", p.ID)
		}
		seen[p.ID] = true
		for _, k := range p.Criteria {
			if k.ID == "" || seen[k.ID] {
				return nil, fmt.Errorf("principles catalogue: criterion %q of %s needs a unique id", k.ID, p.ID)
			}
			seen[k.ID] = true
		}
	}
	return &c, nil
}

// DefaultCatalogue is the embedded catalogue (principles.json).
func DefaultCatalogue() *Catalogue {
	c, err := LoadCatalogue(principlesJSON)
	if err != nil {
		panic(err) // the embedded file is checked by a test
	}
	return c
}

// Criterion returns a criterion by id.
func (c *Catalogue) Criterion(id string) (Criterion, bool) {
	for _, p := range c.Principles {
		for _, k := range p.Criteria {
			if k.ID == id {
				return k, true
			}
		}
	}
	return Criterion{}, false
}

// ValidStage reports whether id is a lifecycle stage.
func (c *Catalogue) ValidStage(id string) bool {
	for _, s := range c.Stages {
		if s.ID == id {
			return true
		}
	}
	return false
}
