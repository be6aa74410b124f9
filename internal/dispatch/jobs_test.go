package dispatch

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/tsingma/tsingma/internal/route"
	"github.com/tsingma/tsingma/internal/telemetry"
	"github.com/tsingma/tsingma/internal/twin"
)

func small() Definition {
	return Definition{DepotLocation: &Point{Lon: 114.1, Lat: 22.5}, TimeLimitS: 0.3, Seed: 3,
		Stops:    []StopSpec{{ID: "a", Lon: 114.11, Lat: 22.5, Demand: 10}, {ID: "b", Lon: 114.12, Lat: 22.51, Demand: 10, ServiceS: 60}},
		Vehicles: []VehicleSpec{{ID: "v", Capacity: 100, ShiftEndS: 3600}}}
}

func TestJobsPersistAcrossRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "routing.db")
	s, err := Open(Config{Path: path, Twins: &fakeTwins{}})
	if err != nil {
		t.Fatal(err)
	}
	j, err := s.Submit(t.Context(), telemetry.DefaultTenant, small())
	if err != nil {
		t.Fatal(err)
	}
	done, err := s.Wait(t.Context(), telemetry.DefaultTenant, j.ID)
	if err != nil || done.State != StateDone || done.Plan == nil || len(done.Plan.Routes) != 1 {
		t.Fatalf("got %+v, %v; want done with one route", done, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Submit(t.Context(), telemetry.DefaultTenant, small()); !errors.Is(err, ErrClosed) {
		t.Fatalf("submit after close: got %v, want ErrClosed", err)
	}
	s, err = Open(Config{Path: path, Twins: &fakeTwins{}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	again, err := s.Get(telemetry.DefaultTenant, j.ID)
	if err != nil || again.Plan == nil || again.Plan.DistanceKM != done.Plan.DistanceKM {
		t.Fatalf("got %+v, %v after a restart", again, err)
	}
	if _, err := s.Get("other-tenant", j.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("another tenant sees the job: %v", err)
	}
	l, err := s.List(telemetry.DefaultTenant)
	if err != nil || len(l) != 1 || l[0].ID != j.ID {
		t.Fatalf("got %+v, %v", l, err)
	}
}

// FuzzDefinition: any JSON body either decodes into a definition that is
// refused with a typed error or builds a problem the validator accepts;
// nothing panics.
func FuzzDefinition(f *testing.F) {
	seed, _ := json.Marshal(small())
	f.Add(seed)
	f.Add([]byte(`{"distance":[[0,1],[1,0]],"stops":[{"id":"a","demand":1}],"vehicles":[{"id":"v","capacity":1,"shift_end_s":10}]}`))
	f.Add([]byte(`{"depot_location":{"lon":200,"lat":0},"stops":[{"id":"@x","demand":-1}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		var d Definition
		if dec.Decode(&d) != nil || len(d.Stops) > 50 || len(d.Distance) > 51 {
			return
		}
		p, err := d.Problem()
		if err != nil {
			var se *route.StopError
			if !errors.Is(err, ErrInvalid) && !errors.As(err, &se) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		_ = p.Validate()
	})
}

func TestDepotShift(t *testing.T) {
	at := func(h, m int) time.Time { return time.Date(2026, 11, 2, h, m, 0, 0, hongKong) }
	dep := func(o, c string) twin.Twin { return twin.Twin{Properties: map[string]any{"opens": o, "closes": c}} }
	for _, tc := range []struct {
		name     string
		dep      twin.Twin
		now      time.Time
		from, to float64
	}{
		{"round the clock", dep("00:00", "23:59"), at(23, 30), 0, DefaultShift.Seconds()},
		{"no hours", twin.Twin{}, at(3, 0), 0, DefaultShift.Seconds()},
		{"before opening", dep("08:00", "18:00"), at(7, 0), 3600, 11 * 3600},
		{"open", dep("08:00", "18:00"), at(10, 0), 0, 8 * 3600},
		{"after closing: tomorrow", dep("08:00", "18:00"), at(19, 0), 13 * 3600, 23 * 3600},
	} {
		from, to := depotShift(tc.dep, tc.now)
		if from != tc.from || to != tc.to {
			t.Errorf("%s: got [%g, %g], want [%g, %g]", tc.name, from, to, tc.from, tc.to)
		}
	}
}

// TestAFinishedJobThatCannotBeStoredIsAFailure: a plan that cannot be
// encoded (an infinite number) is stored as a failure, not left "running"
// in storage for ever (a plan with times of 1e308 was, session 11).
func TestAFinishedJobThatCannotBeStoredIsAFailure(t *testing.T) {
	path := filepath.Join(t.TempDir(), "routing.db")
	s, err := Open(Config{Path: path, Twins: &fakeTwins{}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	j := &Job{ID: "rj-x", Tenant: telemetry.DefaultTenant, State: StateRunning}
	if err := s.put(j); err != nil {
		t.Fatal(err)
	}
	j.State, j.Plan = StateDone, &Plan{DistanceKM: math.Inf(1)}
	s.mu.Lock()
	s.finish(string(key(j.Tenant, j.ID)), j)
	s.mu.Unlock()
	got, err := s.Get(telemetry.DefaultTenant, "rj-x")
	if err != nil || got.State != StateFailed || got.Plan != nil || got.Error == "" {
		t.Fatalf("got %+v, %v; want a stored failure", got, err)
	}
}

// TestTimeLimitIsCapped: a time limit beyond the service's maximum is the
// maximum (1e300 s overflowed into a negative limit).
func TestTimeLimitIsCapped(t *testing.T) {
	s, err := Open(Config{Path: filepath.Join(t.TempDir(), "routing.db"), Twins: &fakeTwins{}, MaxTime: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	d := small()
	d.TimeLimitS = 1e300
	j, err := s.Submit(t.Context(), telemetry.DefaultTenant, d)
	if err != nil {
		t.Fatal(err)
	}
	if j.TimeLimitS != 2 {
		t.Fatalf("time limit %g s, want the maximum, 2", j.TimeLimitS)
	}
	if _, err := s.Wait(t.Context(), telemetry.DefaultTenant, j.ID); err != nil {
		t.Fatal(err)
	}
}
