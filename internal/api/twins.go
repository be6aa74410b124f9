package api

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/tsingma/tsingma/internal/twin"
)

func (s *Server) listTypes(w http.ResponseWriter, r *http.Request) error {
	ts := s.cfg.Twins.ListTypes(r.Context(), tenantOf(r))
	if ts == nil {
		ts = []twin.Type{}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"items": ts})
}

func (s *Server) getType(w http.ResponseWriter, r *http.Request) error {
	t, err := s.cfg.Twins.GetType(r.Context(), tenantOf(r), r.PathValue("name"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, t)
}

// putType creates or changes a type (POST /types with the name in the
// document, or PUT /types/{name}).
func (s *Server) putType(w http.ResponseWriter, r *http.Request) error {
	t, err := twin.DecodeType(r.Body)
	if err != nil {
		return decodeErr(err)
	}
	if name := r.PathValue("name"); name != "" {
		if t.Name == "" {
			t.Name = name
		} else if t.Name != name {
			return errorf("invalid", "the document's name %q differs from the path's %q", clip(t.Name), clip(name))
		}
	}
	_, existed := s.cfg.Twins.GetType(r.Context(), tenantOf(r), t.Name)
	out, err := s.cfg.Twins.PutType(r.Context(), tenantOf(r), t)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if existed != nil {
		status = http.StatusCreated
		w.Header().Set("Location", "/api/v1/types/"+out.Name)
	}
	return writeJSON(w, status, out)
}

func (s *Server) deleteType(w http.ResponseWriter, r *http.Request) error {
	if err := s.cfg.Twins.DeleteType(r.Context(), tenantOf(r), r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// decodeErr keeps a decoder's message (it is about the caller's document)
// but classifies it as a bad document.
func decodeErr(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return err
	}
	var ve *twin.ValidationError
	if errors.As(err, &ve) || errors.Is(err, twin.ErrInvalid) {
		return err
	}
	return &apiError{code: "malformed-body", detail: err.Error(), cause: err}
}

func writeTwin(w http.ResponseWriter, status int, tw twin.Twin) error {
	w.Header().Set("ETag", etag(tw.Revision))
	return writeJSON(w, status, tw)
}

func (s *Server) createTwin(w http.ResponseWriter, r *http.Request) error {
	tw, err := twin.DecodeTwin(r.Body)
	if err != nil {
		return decodeErr(err)
	}
	out, err := s.cfg.Twins.Create(r.Context(), tenantOf(r), tw)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/twins/"+out.ID)
	return writeTwin(w, http.StatusCreated, out)
}

func (s *Server) getTwin(w http.ResponseWriter, r *http.Request) error {
	tw, err := s.cfg.Twins.Get(r.Context(), tenantOf(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	if inm := r.Header.Get("If-None-Match"); inm != "" && inm == etag(tw.Revision) {
		w.Header().Set("ETag", etag(tw.Revision))
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	return writeTwin(w, http.StatusOK, tw)
}

func (s *Server) putTwin(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	match, create, err := putPrecondition(r, func() (uint64, bool) {
		tw, err := s.cfg.Twins.Get(r.Context(), tenantOf(r), id)
		return tw.Revision, err == nil
	})
	if err != nil {
		return err
	}
	body, err := withID(r.Body, id)
	if err != nil {
		return err
	}
	tw, err := twin.DecodeTwin(bytes.NewReader(body))
	if err != nil {
		return decodeErr(err)
	}
	if tw.ID != id {
		return errorf("invalid", "the document's id %q differs from the path's %q", clip(tw.ID), clip(id))
	}
	var out twin.Twin
	created := create
	if create {
		out, err = s.cfg.Twins.Create(r.Context(), tenantOf(r), tw)
		if errors.Is(err, twin.ErrExists) {
			return errorf("precondition-failed", "If-None-Match: *, and twin %s exists", clip(id))
		}
	} else {
		out, created, err = s.cfg.Twins.Put(r.Context(), tenantOf(r), tw, match)
	}
	if err != nil {
		return err
	}
	if created {
		w.Header().Set("Location", "/api/v1/twins/"+out.ID)
		return writeTwin(w, http.StatusCreated, out)
	}
	return writeTwin(w, http.StatusOK, out)
}

func (s *Server) patchTwin(w http.ResponseWriter, r *http.Request) error {
	match, err := ifMatch(r)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	out, err := s.cfg.Twins.Patch(r.Context(), tenantOf(r), r.PathValue("id"), body, match)
	if err != nil {
		return err
	}
	return writeTwin(w, http.StatusOK, out)
}

func (s *Server) deleteTwin(w http.ResponseWriter, r *http.Request) error {
	match, err := ifMatch(r)
	if err != nil {
		return err
	}
	cascade := false
	if v := r.URL.Query().Get("cascade"); v != "" {
		if cascade, err = strconv.ParseBool(v); err != nil {
			return errorf("bad-request", "cascade must be true or false")
		}
	}
	id := r.PathValue("id")
	if err := s.cfg.Twins.Delete(r.Context(), tenantOf(r), id, cascade, match); err != nil {
		return err
	}
	// Its telemetry goes with it: a twin made again with the same id
	// starts with none (and may send any timestamps again); its open
	// alerts are cleared (nothing else would ever clear them).
	if _, _, err := s.purgeTelemetry(r, id, "", nil); err != nil {
		return err
	}
	if s.cfg.Alerts != nil {
		if _, err := s.cfg.Alerts.TwinDeleted(r.Context(), tenantOf(r), id); err != nil {
			return fmt.Errorf("clear the alerts of deleted twin %s: %w", id, err)
		}
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// queryTwins lists twins matching the query parameters (type, label,
// prop, bbox, within, near, from/rel/dir/depth, sort, limit, cursor).
func (s *Server) queryTwins(w http.ResponseWriter, r *http.Request) error {
	q, err := twin.ParseQuery(r.URL.Query())
	if err != nil {
		return &apiError{code: "bad-query", detail: err.Error(), cause: err}
	}
	page, err := s.cfg.Twins.Query(r.Context(), tenantOf(r), q)
	if err != nil {
		return err
	}
	if page.Items == nil {
		page.Items = []twin.Twin{}
	}
	return writeJSON(w, http.StatusOK, page)
}

type bulkResult struct {
	Line   int      `json:"line"`
	ID     string   `json:"id,omitempty"`
	Status int      `json:"status"`
	Error  *Problem `json:"error,omitempty"`
}

// bulkTwins upserts twins from NDJSON, one document a line, in chunks of
// up to 1,000 per registry transaction. The response lists a result per
// line; a bad line does not stop the others.
func (s *Server) bulkTwins(w http.ResponseWriter, r *http.Request) error {
	tenant := tenantOf(r)
	sc := bufio.NewScanner(r.Body)
	sc.Buffer(make([]byte, 64<<10), int(twin.MaxTwinBytes)+1)
	var results []bulkResult
	var batch []twin.Twin
	var lines []int
	ok, failed := 0, 0
	flush := func() {
		if len(batch) == 0 {
			return
		}
		errs := s.cfg.Twins.BulkUpsert(r.Context(), tenant, batch)
		for i, tw := range batch {
			res := bulkResult{Line: lines[i], ID: tw.ID, Status: http.StatusOK}
			if i < len(errs) && errs[i] != nil {
				p := problemFor(errs[i])
				res.Status, res.Error = p.Status, &p
				failed++
			} else {
				ok++
			}
			results = append(results, res)
		}
		batch, lines = batch[:0], lines[:0]
	}
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		tw, err := twin.DecodeTwin(bytes.NewReader(b))
		if err != nil {
			p := problemFor(decodeErr(err))
			results = append(results, bulkResult{Line: line, Status: p.Status, Error: &p})
			failed++
			continue
		}
		batch = append(batch, tw)
		lines = append(lines, line)
		if len(batch) == 1000 {
			flush()
		}
	}
	if err := sc.Err(); err != nil {
		flush()
		if errors.Is(err, bufio.ErrTooLong) {
			return errorf("too-large", "line %d is longer than %d bytes; %d twins before it were written", line+1, twin.MaxTwinBytes, ok)
		}
		return err
	}
	flush()
	return writeJSON(w, http.StatusOK, map[string]any{"upserted": ok, "failed": failed, "results": results})
}

// withID returns the body with "id" set to id when the document has none,
// so that PUT /twins/{id} need not repeat it.
func withID(r io.Reader, id string) ([]byte, error) {
	body, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil || m == nil {
		return body, nil // let the decoder explain what is wrong (null too)
	}
	if _, ok := m["id"]; ok {
		return body, nil
	}
	idJSON, _ := json.Marshal(id)
	m["id"] = idJSON
	return json.Marshal(m)
}
