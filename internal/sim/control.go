package sim

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
)

// Handlers of the scenario control API. They are mounted by the demo:
//
//	GET  /api/v1/scenario         Status
//	POST /api/v1/scenario/events  {"event":"black-rainstorm"} -> 202 Status
//	POST /api/v1/scenario/speed   {"speed":60}                -> 200 Status
//
// Errors are problem+json documents (urn:tsingma:problem:<code>).

// HandleStatus serves GET /api/v1/scenario.
func (r *Runner) HandleStatus(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, r.Status())
}

// HandleEvent serves POST /api/v1/scenario/events.
func (r *Runner) HandleEvent(w http.ResponseWriter, req *http.Request) {
	var body struct {
		Event string `json:"event"`
	}
	if err := decodeBody(w, req, &body); err != nil {
		problem(w, http.StatusBadRequest, "malformed-body", err.Error())
		return
	}
	if err := r.Trigger(body.Event); err != nil {
		problem(w, http.StatusUnprocessableEntity, "invalid", err.Error())
		return
	}
	writeJSON(w, http.StatusAccepted, r.Status())
}

// HandleSpeed serves POST /api/v1/scenario/speed.
func (r *Runner) HandleSpeed(w http.ResponseWriter, req *http.Request) {
	var body struct {
		Speed *float64 `json:"speed"`
	}
	if err := decodeBody(w, req, &body); err != nil {
		problem(w, http.StatusBadRequest, "malformed-body", err.Error())
		return
	}
	if body.Speed == nil {
		problem(w, http.StatusUnprocessableEntity, "invalid", `want {"speed": N}`)
		return
	}
	if err := r.SetSpeed(*body.Speed); err != nil {
		problem(w, http.StatusUnprocessableEntity, "invalid", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, r.Status())
}

func decodeBody(w http.ResponseWriter, req *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, req.Body, 4096))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("decode body: %w", err)
	}
	if dec.More() {
		return errors.New("decode body: more than one JSON document")
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

var titles = map[string]string{"malformed-body": "The request body could not be decoded", "invalid": "The document is not valid"}

func problem(w http.ResponseWriter, status int, code, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"type": "urn:tsingma:problem:" + code, "title": titles[code], "status": status, "detail": detail})
}

func sortedStrings(s []string) []string { slices.Sort(s); return s }
