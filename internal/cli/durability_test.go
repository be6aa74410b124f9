package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// server is a tsingma subprocess.
type server struct {
	cmd        *exec.Cmd
	http, mqtt string
	stderr     *bytes.Buffer
}

func startServer(t *testing.T, dir string, extra ...string) *server {
	t.Helper()
	args := append([]string{"serve", "--no-auth", "--data", dir, "--http", "127.0.0.1:0", "--mqtt", "127.0.0.1:0", "--log-level", "warn"}, extra...)
	s, out := launch(t, args)
	go io.Copy(io.Discard, out)
	return s
}

// launch starts this test binary as tsingma with args and reads the
// addresses from its first line; the rest of its stdout is for the caller
// to read (or discard: it must be drained).
func launch(t *testing.T, args []string) (*server, *bufio.Reader) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "TSINGMA_TEST_MAIN=1")
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	out := bufio.NewReader(pipe)
	line, err := out.ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("server did not start: %v; stderr:\n%s", err, stderr.String())
	}
	s := &server{cmd: cmd, stderr: &stderr}
	for _, f := range strings.Fields(line) {
		if v, ok := strings.CutPrefix(f, "http="); ok {
			s.http = strings.TrimPrefix(v, "http://")
		}
		if v, ok := strings.CutPrefix(f, "mqtt="); ok {
			s.mqtt = v
		}
	}
	if s.http == "" || s.mqtt == "" {
		t.Fatalf("no addresses in first line %q", line)
	}
	return s, out
}

func (s *server) kill(t *testing.T) {
	t.Helper()
	s.cmd.Process.Signal(syscall.SIGKILL)
	s.cmd.Wait()
}

func putTwin(c *http.Client, base, id, body string) (int, error) {
	req, _ := http.NewRequest("PUT", base+"/api/v1/twins/"+id, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// TestKill9LosesNothingAcknowledged writes twins and telemetry over HTTP and
// MQTT concurrently, kills the server with SIGKILL at random moments, and
// checks after each restart that every acknowledged write is there exactly
// once and that nothing stored is corrupt.
func TestKill9LosesNothingAcknowledged(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills a server 20 times")
	}
	dir := filepath.Join(t.TempDir(), "data")
	rng := rand.New(rand.NewPCG(1, 2))
	const httpWriters, mqttWriters, rounds = 4, 4, 20
	// acked[w] holds the sequence numbers acknowledged for writer w (a
	// batch cut off by the kill leaves a gap); sent[w] is the highest sent. Writer w writes twin dw-w, channel rainfall,
	// ts = base + seq*1000, value = seq % 200.
	acked := make([]map[int]bool, httpWriters+mqttWriters)
	for w := range acked {
		acked[w] = map[int]bool{}
	}
	sent := make([]int, httpWriters+mqttWriters)
	twinRev := map[string]bool{} // acknowledged extra twins
	del := &deleter{epoch: map[int]bool{}, next: 1}
	killedInPrealloc := 0
	base := time.Now().Add(-60 * 24 * time.Hour).UnixMilli()
	client := &http.Client{Timeout: 5 * time.Second}
	for round := 0; round < rounds; round++ {
		// Small WAL segments: the rounds write into zero-filled segments
		// and rotate often, so kills land in both kinds and at rotations.
		srv := startServer(t, dir, "--wal-segment-size", "262144")
		url := "http://" + srv.http
		if round == 0 {
			for _, id := range []string{"dw-0", "dw-1", "dw-2", "dw-3", "dw-4", "dw-5", "dw-6", "dw-7", "dd"} {
				if code, err := putTwin(client, url, id, `{"type":"rain-gauge","geometry":{"type":"Point","coordinates":[114.1,22.3]}}`); err != nil || code/100 != 2 {
					t.Fatalf("create twin: %d %v", code, err)
				}
			}
		}
		// Verify everything acknowledged so far survived.
		verify(t, client, url, acked, sent, base, twinRev)
		del.verify(t, client, url, base)

		var mu sync.Mutex
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for w := 0; w < httpWriters; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					mu.Lock()
					from := sent[w] + 1
					n := 1 + rng.IntN(50)
					sent[w] = from + n - 1
					mu.Unlock()
					var b strings.Builder
					b.WriteString(`{"samples":[`)
					for k := from; k < from+n; k++ {
						if k > from {
							b.WriteByte(',')
						}
						fmt.Fprintf(&b, `{"twin":"dw-%d","channel":"rainfall","ts":%d,"value":%d}`, w, base+int64(k)*1000, k%200)
					}
					b.WriteString(`]}`)
					resp, err := client.Post(url+"/api/v1/telemetry", "application/json", strings.NewReader(b.String()))
					if err != nil {
						return // killed
					}
					rb, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if !bytes.Contains(rb, []byte(fmt.Sprintf(`"accepted":%d,`, n))) {
						t.Logf("writer %d batch %d..%d: %d %s", w, from, from+n-1, resp.StatusCode, rb)
					}
					if resp.StatusCode != 200 {
						if resp.StatusCode == 429 {
							continue
						}
						t.Errorf("writer %d: status %d", w, resp.StatusCode)
						return
					}
					mu.Lock()
					for k := from; k < from+n; k++ {
						acked[w][k] = true
					}
					mu.Unlock()
				}
			}(w)
		}
		for m := 0; m < mqttWriters; m++ {
			w := httpWriters + m
			opts := paho.NewClientOptions().AddBroker("tcp://" + srv.mqtt).SetClientID(fmt.Sprintf("dw-%d-r%d", w, round)).
				SetAutoReconnect(false).SetConnectRetry(false).SetWriteTimeout(2 * time.Second)
			c := paho.NewClient(opts)
			if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
				t.Fatalf("mqtt connect: %v", tok.Error())
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Disconnect(0)
				for {
					select {
					case <-stop:
						return
					default:
					}
					mu.Lock()
					sent[w]++
					k := sent[w]
					mu.Unlock()
					payload := fmt.Sprintf(`{"ts":%d,"values":{"rainfall":%d}}`, base+int64(k)*1000, k%200)
					tok := c.Publish(fmt.Sprintf("tsingma/v1/twins/dw-%d/telemetry", w), 1, false, payload)
					if !tok.WaitTimeout(3*time.Second) || tok.Error() != nil {
						return // killed
					}
					mu.Lock()
					acked[w][k] = true
					mu.Unlock()
				}
			}()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			del.run(t, client, url, base, rand.New(rand.NewPCG(3, uint64(round))), stop)
		}()
		wg.Add(1)
		go func() { // twin writes
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				id := fmt.Sprintf("r%d-t%d", round, i)
				code, err := putTwin(client, url, id, `{"type":"rain-gauge","labels":{"round":"x"},"geometry":{"type":"Point","coordinates":[114.2,22.4]}}`)
				if err != nil {
					return
				}
				if code/100 == 2 {
					mu.Lock()
					twinRev[id] = true
					mu.Unlock()
				}
			}
		}()
		mu.Lock()
		pause := time.Duration(100+rng.IntN(400)) * time.Millisecond
		mu.Unlock()
		time.Sleep(pause)
		srv.kill(t)
		close(stop)
		wg.Wait()
		// A segment of exactly the segment size is a zero-filled one the
		// kill left in use (a closed one is cut to its records).
		if ents, err := os.ReadDir(filepath.Join(dir, "telemetry", "wal")); err == nil {
			for _, e := range ents {
				if fi, err := e.Info(); err == nil && e.Name() != "spare.tmp" && fi.Size() == 262144 {
					killedInPrealloc++
				}
			}
		}
		if t.Failed() {
			t.Fatalf("round %d failed; server stderr:\n%s", round, srv.stderr.String())
		}
	}
	srv := startServer(t, dir)
	defer srv.kill(t)
	verify(t, client, "http://"+srv.http, acked, sent, base, twinRev)
	del.verify(t, client, "http://"+srv.http, base)
	if del.deletes == 0 {
		t.Error("no deletion was acknowledged: the test no longer covers them")
	}
	total := 0
	for _, a := range acked {
		total += len(a)
	}
	t.Logf("%d rounds, %d acknowledged samples and %d twins all present; %d deletions of telemetry held; %d kills left a zero-filled segment in use", rounds, total, len(twinRev), del.deletes, killedInPrealloc)
	if killedInPrealloc == 0 {
		t.Errorf("no kill hit a zero-filled WAL segment: the test no longer covers them")
	}
}

func verify(t *testing.T, c *http.Client, url string, acked []map[int]bool, sent []int, base int64, twins map[string]bool) {
	t.Helper()
	for w := range acked {
		got := rainfall(t, c, url, fmt.Sprintf("dw-%d", w), base, base+int64(sent[w]+1)*1000)
		// Every stored sample is one that was sent, stored once, in order,
		// and every acknowledged one is stored.
		seen := map[int]bool{}
		prev := int64(-1)
		for _, p := range got.Points {
			k := int((p.TS - base) / 1000)
			if (p.TS-base)%1000 != 0 || k < 1 || k > sent[w] || p.Value != float64(k%200) {
				t.Fatalf("writer %d: corrupt sample ts=%d value=%g", w, p.TS, p.Value)
			}
			if p.TS <= prev {
				t.Fatalf("writer %d: sample ts=%d stored twice or out of order", w, p.TS)
			}
			prev = p.TS
			seen[k] = true
		}
		var missing []int
		for k := range acked[w] {
			if !seen[k] {
				missing = append(missing, k)
			}
		}
		if len(missing) > 0 {
			sort.Ints(missing)
			t.Fatalf("writer %d: %d acknowledged samples (of %d) missing after kill -9, first %v, stored %d", w, len(missing), len(acked[w]), missing[:min(10, len(missing))], len(got.Points))
		}
	}
	for id := range twins {
		resp, err := c.Get(url + "/api/v1/twins/" + id)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("acknowledged twin %s missing after kill -9: status %d", id, resp.StatusCode)
		}
	}
}

// deleter writes the samples of twin dd and deletes them now and then, one
// request at a time, so that it knows what a restart may show: the samples
// acknowledged since the last acknowledged deletion, and the batch or the
// deletion a kill cut off, either wholly durable or not at all. After a
// deletion the numbers (and timestamps) start again from 1: older than
// the deleted ones.
type deleter struct {
	epoch       map[int]bool // acknowledged since the last acknowledged deletion
	next        int          // the next sample number
	inflight    []int        // a batch sent and not acknowledged
	delInflight bool         // a deletion sent and not acknowledged
	deletes     int          // deletions acknowledged
}

func (d *deleter) run(t *testing.T, c *http.Client, url string, base int64, rng *rand.Rand, stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		default:
		}
		if rng.IntN(5) == 0 {
			d.delInflight = true
			req, _ := http.NewRequest("DELETE", url+"/api/v1/twins/dd/telemetry/rainfall", nil)
			resp, err := c.Do(req)
			if err != nil {
				return // killed
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Errorf("delete: status %d", resp.StatusCode)
				return
			}
			d.delInflight, d.epoch, d.next = false, map[int]bool{}, 1
			d.deletes++
			continue
		}
		n := 1 + rng.IntN(20)
		d.inflight = d.inflight[:0]
		var b strings.Builder
		b.WriteString(`{"samples":[`)
		for k := d.next; k < d.next+n; k++ {
			if k > d.next {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"twin":"dd","channel":"rainfall","ts":%d,"value":%d}`, base+int64(k)*1000, k%200)
			d.inflight = append(d.inflight, k)
		}
		b.WriteString(`]}`)
		d.next += n
		resp, err := c.Post(url+"/api/v1/telemetry", "application/json", strings.NewReader(b.String()))
		if err != nil {
			return // killed
		}
		rb, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 429 {
			continue
		}
		if resp.StatusCode != 200 || !bytes.Contains(rb, []byte(fmt.Sprintf(`"accepted":%d,`, n))) {
			t.Errorf("dd batch: %d %s", resp.StatusCode, rb)
			return
		}
		for _, k := range d.inflight {
			d.epoch[k] = true
		}
		d.inflight = d.inflight[:0]
	}
}

// points is a stored series as the API answers it.
type points struct {
	Points []struct {
		TS    int64   `json:"ts"`
		Value float64 `json:"value"`
	} `json:"points"`
}

// rainfall reads a twin's rainfall samples in [from, to] (ms).
func rainfall(t *testing.T, c *http.Client, url, twin string, from, to int64) points {
	t.Helper()
	resp, err := c.Get(fmt.Sprintf("%s/api/v1/twins/%s/telemetry/rainfall?from=%d&to=%d", url, twin, from, to))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got points
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	return got
}

// verify checks dd's samples after a restart against what may be there.
func (d *deleter) verify(t *testing.T, c *http.Client, url string, base int64) {
	t.Helper()
	got := rainfall(t, c, url, "dd", base, base+int64(d.next+1)*1000)
	have := map[int]bool{}
	for _, p := range got.Points {
		k := int((p.TS - base) / 1000)
		if (p.TS-base)%1000 != 0 || k < 1 || p.Value != float64(k%200) || have[k] {
			t.Fatalf("dd: corrupt or repeated sample ts=%d value=%g", p.TS, p.Value)
		}
		have[k] = true
	}
	same := func(want map[int]bool, extra []int) bool {
		if len(have) != len(want)+len(extra) {
			return false
		}
		for k := range want {
			if !have[k] {
				return false
			}
		}
		for _, k := range extra {
			if !have[k] {
				return false
			}
		}
		return true
	}
	switch {
	case same(d.epoch, nil):
	case len(d.inflight) > 0 && same(d.epoch, d.inflight):
		for _, k := range d.inflight {
			d.epoch[k] = true
		}
	case d.delInflight && len(have) == 0: // the cut-off deletion was durable
		d.epoch, d.next = map[int]bool{}, 1
	default:
		t.Fatalf("dd after kill -9: %d samples stored; acknowledged since the last deletion %d, cut-off batch %v, cut-off deletion %v", len(have), len(d.epoch), d.inflight, d.delInflight)
	}
	d.inflight, d.delInflight = d.inflight[:0], false
}
