package api

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tsingma/tsingma/internal/auth"
	"github.com/tsingma/tsingma/internal/bus"
	"github.com/tsingma/tsingma/internal/telemetry"
	"github.com/tsingma/tsingma/internal/twin"
)

// streamSample is one sample on the live stream.
type streamSample struct {
	Twin    string  `json:"twin"`
	Channel string  `json:"channel"`
	Type    string  `json:"type"`
	TS      int64   `json:"ts"`
	Value   float64 `json:"value"`
}

// streamRecheck is how often a live stream checks its token again.
const streamRecheck = 5 * time.Second

// getStream serves Server-Sent Events: "samples" (batches of new samples)
// and other kinds published on the bus ("twin", "alert", ...), filtered by
// twin=, type=, bbox= and kinds=. A consumer that falls behind is sent a
// final "overflow" event and cut off; it never slows ingest.
func (s *Server) getStream(w http.ResponseWriter, r *http.Request) error {
	fl, ok := w.(http.Flusher)
	if !ok {
		return errorf("internal", "streaming unsupported by this connection")
	}
	// Every stream costs the publisher a delivery per event and itself a
	// pass over every batch it is sent: 500 streams filtered by a type that
	// matched nothing cut HTTP ingest from 623,000 to 123,000 samples/s
	// (session 11), so there is a ceiling.
	if n := s.streams.Add(1); n > int64(s.cfg.MaxStreams) {
		s.streams.Add(-1)
		return &apiError{code: "unavailable", detail: fmt.Sprintf("%d live streams are open, the most this server serves; retry later", s.cfg.MaxStreams),
			extra: func(p *Problem) { p.RetryAfter = 5 }}
	}
	defer s.streams.Add(-1)
	tenant := tenantOf(r)
	q := r.URL.Query()
	set := func(name string) map[string]bool {
		v := q.Get(name)
		if v == "" {
			return nil
		}
		m := map[string]bool{}
		for _, x := range strings.Split(v, ",") {
			if x != "" {
				m[x] = true
			}
		}
		return m
	}
	twins, types, kinds := set("twin"), set("type"), set("kinds")
	explicit := maps.Clone(twins) // asked for by id: never dropped
	var box *twin.Rect
	if bb := q.Get("bbox"); bb != "" {
		// The twins inside the box when the stream starts; twin events
		// then move twins in and out (a vehicle crossing into the box).
		tq, err := twin.ParseQuery(map[string][]string{"bbox": {bb}, "limit": {"1000"}})
		if err != nil {
			return &apiError{code: "bad-query", detail: err.Error(), cause: err}
		}
		box = tq.BBox
		if twins == nil {
			twins = map[string]bool{}
		}
		for {
			page, err := s.cfg.Twins.Query(r.Context(), tenant, tq)
			if err != nil {
				return err
			}
			for _, tw := range page.Items {
				twins[tw.ID] = true
			}
			if page.Next == "" || len(twins) > 100000 {
				break
			}
			tq.Cursor = page.Next
		}
	}
	sub := s.cfg.Bus.Subscribe(bus.SubscribeOptions{Buffer: 512, CutOff: true, Filter: func(ev bus.Event) bool {
		if ev.Tenant != tenant {
			return false
		}
		if box != nil && ev.Kind == "twin" {
			return true // for the box's membership, asked for or not
		}
		if kinds != nil && !kinds[ev.Kind] {
			return false
		}
		// A batch with none of the asked types never wakes the stream.
		if types != nil && ev.Types != nil {
			for _, t := range ev.Types {
				if types[t] {
					return true
				}
			}
			return false
		}
		return true
	}})
	defer sub.Close()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	w.Write([]byte(": tsingma live stream\nretry: 2000\n\n"))
	fl.Flush()
	heartbeat := time.NewTicker(15 * time.Second)
	defer heartbeat.Stop()
	// The token is checked again while the stream lasts: a stream opened
	// with a token revoked since (or expired) ends with a final event.
	var recheck <-chan time.Time
	p, _ := auth.FromContext(r.Context())
	if s.cfg.Auth != nil && p.TokenID != "" {
		t := time.NewTicker(streamRecheck)
		defer t.Stop()
		recheck = t.C
	}
	enc := json.NewEncoder(w)
	var buf []byte
	for {
		select {
		case <-r.Context().Done():
			return nil
		case <-heartbeat.C:
			w.Write([]byte(": keep-alive\n\n"))
			fl.Flush()
		case <-recheck:
			if s.cfg.Auth.Current(p.TokenID) != nil {
				w.Write([]byte("event: unauthorized\ndata: {\"reason\":\"the token was revoked or has expired\"}\n\n"))
				fl.Flush()
				return nil
			}
		case ev, ok := <-sub.C:
			if !ok {
				if sub.Overflowed() {
					w.Write([]byte("event: overflow\ndata: {\"reason\":\"the client read too slowly and was cut off; reconnect\"}\n\n"))
					fl.Flush()
				}
				return nil
			}
			if ev.Kind == "samples" {
				if twins == nil && types == nil && ev.Shared != nil {
					// Every unfiltered stream sends the same bytes: made
					// once per batch (four consoles cut ingest by a third
					// when each encoded every batch with encoding/json).
					w.Write(ev.Shared.Bytes(func() []byte { return appendSamplesEvent(nil, ev.Samples, nil, nil) }))
				} else {
					buf = appendSamplesEvent(buf[:0], ev.Samples, twins, types)
					if len(buf) == 0 {
						continue
					}
					w.Write(buf)
				}
			} else {
				left := false // a twin event of a twin that has just left the box
				if box != nil && ev.Kind == "twin" {
					if id, _ := eventTwin(ev.Data); !explicit[id] {
						if g, ok := ev.Data.(twinGeometry); ok {
							if geo, isTwin := g.TwinGeometry(); isTwin && geo != nil && geo.IntersectsRect(*box) {
								twins[id] = true
							} else if isTwin {
								left = twins[id]
								delete(twins, id)
							}
						}
					}
					if kinds != nil && !kinds["twin"] {
						continue
					}
				}
				if twins != nil || types != nil {
					if id, typ := eventTwin(ev.Data); (twins != nil && !twins[id] && !left) || (types != nil && !types[typ]) {
						continue
					}
				}
				w.Write([]byte("event: " + ev.Kind + "\ndata: "))
				enc.Encode(ev.Data)
				w.Write([]byte("\n"))
			}
			if len(sub.C) == 0 {
				fl.Flush()
			}
		}
	}
}

// appendSamplesEvent appends a "samples" event of the samples that pass
// the filters (nil: all): the bytes encoding/json writes for []streamSample
// (TestSamplesEventEncoding), framed; nothing when none passes.
func appendSamplesEvent(b []byte, samples []telemetry.Sample, twins, types map[string]bool) []byte {
	n := len(b)
	b = append(b, "event: samples\ndata: ["...)
	first := true
	for i := range samples {
		smp := &samples[i]
		if (twins != nil && !twins[smp.Twin]) || (types != nil && !types[smp.Type]) {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, `{"twin":`...)
		b = appendJSONString(b, smp.Twin)
		b = append(b, `,"channel":`...)
		b = appendJSONString(b, smp.Channel)
		b = append(b, `,"type":`...)
		b = appendJSONString(b, smp.Type)
		b = append(b, `,"ts":`...)
		b = strconv.AppendInt(b, smp.TS, 10)
		b = append(b, `,"value":`...)
		b = appendJSONFloat(b, smp.Value)
		b = append(b, '}')
	}
	if first {
		return b[:n]
	}
	return append(b, "]\n\n"...)
}

// twinGeometry is implemented by registry events: the twin's geometry
// after the change (nil when it has none or was deleted; isTwin false
// for a change of a type).
type twinGeometry interface {
	TwinGeometry() (geo *twin.Geometry, isTwin bool)
}

// twinRef is implemented by events that concern one twin.
type twinRef interface{ TwinRef() (id, typ string) }

func eventTwin(v any) (string, string) {
	if t, ok := v.(twinRef); ok {
		return t.TwinRef()
	}
	return "", ""
}
