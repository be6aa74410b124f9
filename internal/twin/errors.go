package twin

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Use errors.Is; the registry wraps them with details.
var (
	// ErrNotFound: the tenant has no type or twin by that name.
	ErrNotFound = errors.New("not found")
	// ErrExists: Create of an id that is already taken.
	ErrExists = errors.New("already exists")
	// ErrConflict: the ifMatch revision does not match the stored one
	// (HTTP 412 Precondition Failed).
	ErrConflict = errors.New("revision mismatch")
	// ErrInvalid: the document is invalid; the chain holds a
	// *ValidationError (errors.As) with the field at fault.
	ErrInvalid = errors.New("invalid")
	// ErrUnknownChannel: the twin's type declares no such telemetry channel.
	ErrUnknownChannel = errors.New("unknown channel")
	// ErrClosed: the registry has been closed.
	ErrClosed = errors.New("registry closed")
)

// ValidationError names the offending field (a JSON-pointer-like path such
// as "properties.height" or "geometry.coordinates[0][3]") and why it was
// refused. It matches ErrInvalid with errors.Is.
type ValidationError struct {
	Field  string
	Reason string
}

func (e *ValidationError) Error() string {
	if e.Field == "" {
		return "invalid: " + e.Reason
	}
	return "invalid " + e.Field + ": " + e.Reason
}

// Is reports ErrInvalid.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

func invalid(field, format string, args ...any) *ValidationError {
	return &ValidationError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// ReferencedError refuses a delete: By lists the twins that still point at
// the twin being deleted (or that use the type being deleted), Types the
// types whose relationships target the type being deleted. Map it to
// HTTP 409.
type ReferencedError struct {
	By    []string
	Types []string
}

func (e *ReferencedError) Error() string {
	var parts []string
	if len(e.By) > 0 {
		parts = append(parts, fmt.Sprintf("by twins %s", list(e.By)))
	}
	if len(e.Types) > 0 {
		parts = append(parts, fmt.Sprintf("by types %s", list(e.Types)))
	}
	return "still referenced " + strings.Join(parts, " and ")
}

// IncompatibleTypeError refuses a type change that would make existing
// twins invalid. Twins[i] failed for Reasons[i]. Map it to HTTP 409.
type IncompatibleTypeError struct {
	Type    string
	Twins   []string
	Reasons []string
}

func (e *IncompatibleTypeError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "type %s change would invalidate %d twin(s)", e.Type, len(e.Twins))
	for i := 0; i < len(e.Twins) && i < 5; i++ {
		fmt.Fprintf(&b, "; %s: %s", e.Twins[i], e.Reasons[i])
	}
	if len(e.Twins) > 5 {
		b.WriteString("; ...")
	}
	return b.String()
}

func list(ids []string) string {
	const max = 10
	if len(ids) <= max {
		return strings.Join(ids, ", ")
	}
	return strings.Join(ids[:max], ", ") + fmt.Sprintf(" and %d more", len(ids)-max)
}
