package sim

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/tsingma/tsingma/internal/app"
)

// TestRunnerFeedsPlatform runs the scenario against a real platform in
// process: twins over HTTP, telemetry over HTTP and MQTT, vehicle
// positions, and an event through the control API.
func TestRunnerFeedsPlatform(t *testing.T) {
	a, err := app.New(app.Config{DataDir: t.TempDir(), HTTPAddr: "127.0.0.1:0", MQTTAddr: "127.0.0.1:0", NoAuth: true})
	if err != nil {
		t.Fatal(err)
	}
	actx, stopApp := context.WithCancel(t.Context())
	appDone := make(chan error, 1)
	go func() { appDone <- a.Run(actx) }()
	defer func() {
		stopApp()
		if err := <-appDone; err != nil {
			t.Errorf("app: %v", err)
		}
	}()
	start := time.Now().Add(-40 * time.Minute).Truncate(10 * time.Minute)
	w, err := Build(syntheticInputs(), Config{Seed: 5, Start: start, Slopes: 200})
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + a.HTTPAddr()
	r, err := NewRunner(RunnerConfig{URL: base, MQTTAddr: a.MQTTAddr(), Speed: MaxSpeed}, w)
	if err != nil {
		t.Fatal(err)
	}
	rctx, stopRunner := context.WithCancel(t.Context())
	runDone := make(chan error, 1)
	go func() { runDone <- r.Run(rctx) }()
	defer func() {
		stopRunner()
		if err := <-runDone; err != nil {
			t.Errorf("runner: %v", err)
		}
	}()
	if err := r.Trigger(EventCoolingFailure); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(90 * time.Second)
	var st Status
	for {
		st = r.Status()
		if st.Ready && st.SimTime >= start.Add(20*time.Minute).UnixMilli() && st.SamplesHTTP > 0 && st.SamplesMQTT > 0 && st.Positions > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no progress: %+v", st)
		}
		time.Sleep(100 * time.Millisecond) // polling with a deadline
	}
	if st.Rejected != 0 || st.LastError != "" {
		t.Errorf("rejected %d samples; last error %q", st.Rejected, st.LastError)
	}
	get := func(path string, v any) {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %s", path, resp.Status)
		}
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatal(err)
		}
	}
	var lat struct {
		Channels map[string]struct{ TS int64 } `json:"channels"`
	}
	for id, ch := range map[string]string{"tm-sg-01": "strain", w.gauges[0].id: "rainfall", "rack-b01": "inletTemperature", "crah-3": "power"} {
		get("/api/v1/twins/"+id+"/latest", &lat)
		if _, ok := lat.Channels[ch]; !ok {
			t.Errorf("%s has no %s sample; latest %v", id, ch, lat.Channels)
		}
	}
	var veh struct {
		Geometry struct{ Coordinates []float64 }
	}
	moved := 0
	for i := 1; i <= 10; i++ {
		get(fmt.Sprintf("/api/v1/twins/veh-%02d", i), &veh)
		if len(veh.Geometry.Coordinates) == 2 && (veh.Geometry.Coordinates[0] != round6(w.depot[0]) || veh.Geometry.Coordinates[1] != round6(w.depot[1])) {
			moved++
		}
	}
	if moved == 0 {
		t.Error("no vehicle left the depot")
	}
	if ev := st.Events[2]; ev.Name != EventCoolingFailure || !ev.Active {
		t.Errorf("cooling failure not active: %+v", ev)
	}
}
