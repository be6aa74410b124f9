package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/tsingma/tsingma/internal/api"
	"github.com/tsingma/tsingma/internal/auth"
	"github.com/tsingma/tsingma/internal/testenv"
)

func TestMain(m *testing.M) { testenv.MainWithLeakCheck(m) }

type running struct {
	a    *App
	base string
	toks map[string]string // name → secret
}

func start(t *testing.T) *running {
	t.Helper()
	return startWith(t, nil)
}

// startWith is start with the Config changed by mod first.
func startWith(t *testing.T, mod func(*Config)) *running {
	t.Helper()
	cfg := Config{DataDir: t.TempDir(), HTTPAddr: "127.0.0.1:0", MQTTAddr: "127.0.0.1:0"}
	if mod != nil {
		mod(&cfg)
	}
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	r := &running{a: a, base: "http://" + a.HTTPAddr(), toks: map[string]string{}}
	if a.BootstrapToken == "" {
		t.Fatal("no bootstrap token on first start")
	}
	for _, tk := range []struct {
		name   string
		role   auth.Role
		tenant string
	}{
		{"a-viewer", auth.Viewer, "default"}, {"a-operator", auth.Operator, "default"}, {"a-engineer", auth.Engineer, "default"},
		{"b-engineer", auth.Engineer, "tenant-b"}, {"b-operator", auth.Operator, "tenant-b"}, {"b-admin", auth.Admin, "tenant-b"},
	} {
		_, secret, err := a.Tokens.Create(t.Context(), "test", auth.NewToken{Name: tk.name, Role: tk.role, Tenant: tk.tenant})
		if err != nil {
			t.Fatal(err)
		}
		r.toks[tk.name] = secret
	}
	r.toks["admin"] = a.BootstrapToken
	return r
}

func (r *running) do(t *testing.T, tok, method, path, body string) (int, string, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(method, r.base+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(b), resp.Header
}

var param = regexp.MustCompile(`\{[a-z]+(\.\.\.)?\}`)

// TestEveryRouteRefusesWithoutAValidToken tries every route with no token
// and with a wrong one: 401 problem+json that says nothing else.
func TestEveryRouteRefusesWithoutAValidToken(t *testing.T) {
	r := start(t)
	for _, rt := range r.a.API.Routes() {
		path := param.ReplaceAllString(rt.Pattern, "x1")
		if path == "/healthz" || path == "/readyz" || !isAPI(path) {
			continue
		}
		for _, tok := range []string{"", "not-a-token", r.toks["a-viewer"] + "x"} {
			code, body, hdr := r.do(t, tok, rt.Method, path, "{}")
			if code != 401 || hdr.Get("Content-Type") != "application/problem+json" {
				t.Fatalf("%s %s with token %q: got %d %s, want 401 problem+json", rt.Method, path, tok, code, body)
			}
			if strings.Contains(body, "x1") && !strings.Contains(body, `"instance"`) {
				t.Fatalf("%s %s: the refusal says more than it should: %s", rt.Method, path, body)
			}
		}
	}
	if code, _, _ := r.do(t, "", "GET", "/healthz", ""); code != 200 {
		t.Fatalf("/healthz without a token: %d", code)
	}
}

// TestRolesAndTenants: a viewer cannot write, an operator cannot change
// twins, and nothing crosses tenants: not a twin, a list, a query or a
// live sample.
func TestRolesAndTenants(t *testing.T) {
	r := start(t)
	gauge := `{"type":"rain-gauge","geometry":{"type":"Point","coordinates":[114.17,22.3]}}`
	for _, c := range []struct {
		tok, method, path, body string
		want                    int
	}{
		{"a-viewer", "PUT", "/api/v1/twins/g1", gauge, 403},
		{"a-operator", "PUT", "/api/v1/twins/g1", gauge, 403},
		{"a-engineer", "PUT", "/api/v1/twins/g1", gauge, 201},
		{"b-engineer", "PUT", "/api/v1/twins/g1", gauge, 201}, // the same id, another tenant: another twin
		{"a-viewer", "POST", "/api/v1/telemetry", `{"twin":"g1","values":{"rainfall":1}}`, 403},
		{"a-operator", "POST", "/api/v1/telemetry", `{"twin":"g1","values":{"rainfall":1}}`, 200},
		{"a-viewer", "GET", "/api/v1/twins/g1", "", 200},
		{"a-viewer", "POST", "/api/v1/tokens", `{"name":"x","role":"admin","tenant":"default"}`, 403},
		{"b-admin", "GET", "/api/v1/twins/g1/latest", "", 200},
	} {
		code, body, _ := r.do(t, r.toks[c.tok], c.method, c.path, c.body)
		if code != c.want {
			t.Fatalf("%s %s %s: got %d %s, want %d", c.tok, c.method, c.path, code, body, c.want)
		}
	}
	// Tenant B sees its own g1 with no telemetry, and no trace of A's.
	_, body, _ := r.do(t, r.toks["b-admin"], "GET", "/api/v1/twins/g1/latest", "")
	if strings.Contains(body, "rainfall") {
		t.Fatalf("tenant B sees tenant A's telemetry: %s", body)
	}
	_, body, _ = r.do(t, r.toks["b-admin"], "GET", "/api/v1/query?query=count(rainfall%7Btype%3D%22rain-gauge%22%7D)", "")
	var pr struct {
		Data struct {
			Result []any `json:"result"`
		} `json:"data"`
	}
	json.Unmarshal([]byte(body), &pr)
	if len(pr.Data.Result) != 0 {
		t.Fatalf("tenant B's PromQL counts tenant A's series: %s", body)
	}
	_, body, _ = r.do(t, r.toks["a-viewer"], "GET", "/api/v1/query?query=count(rainfall%7Btype%3D%22rain-gauge%22%7D)", "")
	if !strings.Contains(body, `"1"]`) {
		t.Fatalf("tenant A's own PromQL: %s", body)
	}
	code, _, _ := r.do(t, r.toks["b-admin"], "DELETE", "/api/v1/twins/g1", "")
	if code != 204 {
		t.Fatalf("tenant B deleting its own g1: %d", code)
	}
	if code, _, _ := r.do(t, r.toks["a-viewer"], "GET", "/api/v1/twins/g1", ""); code != 200 {
		t.Fatalf("tenant A's g1 is gone after tenant B deleted its own: %d", code)
	}
}

// isAPI tells the API's routes (/api/..., and the Prometheus API under
// its prefix) from the console's files.
func isAPI(pattern string) bool {
	return strings.HasPrefix(pattern, "/api/") || strings.HasPrefix(pattern, api.PromPrefix+"/api/")
}

func mqttConnect(addr, id, password string) (paho.Client, error) {
	opts := paho.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(id).SetAutoReconnect(false).SetConnectRetry(false).SetConnectTimeout(5 * time.Second)
	if password != "" {
		opts.SetUsername(id).SetPassword(password)
	}
	c := paho.NewClient(opts)
	tok := c.Connect()
	if !tok.WaitTimeout(5 * time.Second) {
		return nil, fmt.Errorf("connect timeout")
	}
	return c, tok.Error()
}

func TestMQTTTokensRolesAndTenants(t *testing.T) {
	r := start(t)
	addr := r.a.MQTTAddr()
	gauge := `{"type":"rain-gauge","geometry":{"type":"Point","coordinates":[114.17,22.3]}}`
	r.do(t, r.toks["a-engineer"], "PUT", "/api/v1/twins/g1", gauge)
	r.do(t, r.toks["b-engineer"], "PUT", "/api/v1/twins/g1", gauge)
	for _, pw := range []string{"", "garbage"} {
		if c, err := mqttConnect(addr, "anon", pw); err == nil {
			c.Disconnect(0)
			t.Fatalf("connected with password %q", pw)
		}
	}
	// A viewer may connect but not publish telemetry (the broker drops it).
	v, err := mqttConnect(addr, "viewer", r.toks["a-viewer"])
	if err != nil {
		t.Fatal(err)
	}
	v.Publish("tsingma/v1/twins/g1/telemetry", 1, false, `{"ts":1000,"values":{"rainfall":5}}`).WaitTimeout(2 * time.Second)
	v.Disconnect(0)
	// Tenant B's operator: its own namespace works; the default tenant's does not.
	b, err := mqttConnect(addr, "b-op", r.toks["b-operator"])
	if err != nil {
		t.Fatal(err)
	}
	defer b.Disconnect(0)
	if tok := b.Subscribe("#", 0, nil); tok.WaitTimeout(5*time.Second) && tok.Error() == nil {
		if st := tok.(*paho.SubscribeToken).Result()["#"]; st != 0x80 {
			t.Fatalf("tenant B subscribed to # (granted %d)", st)
		}
	}
	tok := b.Publish("tsingma/v1/tenants/tenant-b/twins/g1/telemetry", 1, false, `{"ts":2000,"values":{"rainfall":7}}`)
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("tenant B publishing in its namespace: %v", tok.Error())
	}
	_, body, _ := r.do(t, r.toks["b-admin"], "GET", "/api/v1/twins/g1/latest", "")
	if !strings.Contains(body, `"rainfall":{"ts":2000,"value":7}`) {
		t.Fatalf("tenant B's sample not stored under tenant B: %s", body)
	}
	_, body, _ = r.do(t, r.toks["a-viewer"], "GET", "/api/v1/twins/g1/latest", "")
	if strings.Contains(body, "rainfall") {
		t.Fatalf("tenant A got a sample from the viewer or from tenant B: %s", body)
	}
}

// TestMQTTTopicSeesTwinChanges: a session keeps its topics' channel tables
// (telemetry.Route); a twin deleted and made again with another type must
// be validated against the new type on the same connection and topic.
func TestMQTTTopicSeesTwinChanges(t *testing.T) {
	r := start(t)
	admin := r.toks["admin"]
	if code, body, _ := r.do(t, admin, "PUT", "/api/v1/twins/g9", `{"type":"rain-gauge","geometry":{"type":"Point","coordinates":[114.17,22.3]}}`); code >= 300 {
		t.Fatalf("create gauge: %d %s", code, body)
	}
	c, err := mqttConnect(r.a.MQTTAddr(), "route-test", admin)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Disconnect(0)
	errs := make(chan string, 16)
	if tok := c.Subscribe("tsingma/v1/twins/g9/errors", 1, func(_ paho.Client, m paho.Message) { errs <- string(m.Payload()) }); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	publish := func(payload string) {
		t.Helper()
		if tok := c.Publish("tsingma/v1/twins/g9/telemetry", 1, false, payload); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatalf("publish %s: %v", payload, tok.Error())
		}
	}
	now := time.Now().UnixMilli()
	publish(fmt.Sprintf(`{"ts":%d,"values":{"rainfall":5}}`, now-3000))
	if _, body, _ := r.do(t, admin, "GET", "/api/v1/twins/g9/latest", ""); !strings.Contains(body, `"rainfall"`) {
		t.Fatalf("rainfall not stored: %s", body)
	}
	if code, body, _ := r.do(t, admin, "DELETE", "/api/v1/twins/g9", ""); code >= 300 {
		t.Fatalf("delete: %d %s", code, body)
	}
	if code, body, _ := r.do(t, admin, "PUT", "/api/v1/twins/g9", `{"type":"piezometer","geometry":{"type":"Point","coordinates":[114.17,22.3]}}`); code >= 300 {
		t.Fatalf("create piezometer: %d %s", code, body)
	}
	publish(fmt.Sprintf(`{"ts":%d,"values":{"rainfall":6,"porePressure":12}}`, now-2000))
	select {
	case e := <-errs:
		if !strings.Contains(e, "rainfall") || !strings.Contains(e, "unknown_channel") {
			t.Fatalf("error report %s; want rainfall refused as an unknown channel", e)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no error report for a channel the twin's new type does not have")
	}
	_, body, _ := r.do(t, admin, "GET", "/api/v1/twins/g9/latest", "")
	if !strings.Contains(body, `"porePressure":{"ts":`) {
		t.Fatalf("the new type's channel not stored: %s", body)
	}
}

// TestMQTTWillIsChecked: a will is published by the broker on the client's
// behalf, past the ACL, so the CONNECT is refused when the will's topic is
// one the token may not publish to (a viewer's will reached any topic,
// tenant B's included) or a telemetry topic; a tenant-B subscriber never
// sees it.
func TestMQTTWillIsChecked(t *testing.T) {
	r := start(t)
	addr := r.a.MQTTAddr()
	b, err := mqttConnect(addr, "b-admin", r.toks["b-admin"])
	if err != nil {
		t.Fatal(err)
	}
	defer b.Disconnect(0)
	got := make(chan string, 4)
	if tok := b.Subscribe("tsingma/v1/tenants/tenant-b/#", 1, func(_ paho.Client, m paho.Message) { got <- m.Topic() }); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	for _, tc := range []struct{ tok, topic string }{
		{"a-viewer", "tsingma/v1/tenants/tenant-b/twins/g1/telemetry"},
		{"a-viewer", "tsingma/v1/tenants/tenant-b/status"},
		{"a-operator", "tsingma/v1/twins/g1/telemetry"},
	} {
		opts := paho.NewClientOptions().AddBroker("tcp://"+addr).SetClientID("willer").SetAutoReconnect(false).
			SetUsername("x").SetPassword(r.toks[tc.tok]).SetWill(tc.topic, `{"ts":1,"values":{"rainfall":9}}`, 1, false)
		c := paho.NewClient(opts)
		if tok := c.Connect(); tok.WaitTimeout(5*time.Second) && tok.Error() == nil {
			c.Disconnect(0)
			t.Fatalf("%s connected with a will on %s", tc.tok, tc.topic)
		}
	}
	select {
	case topic := <-got:
		t.Fatalf("tenant B's subscriber got a message on %s", topic)
	case <-time.After(200 * time.Millisecond):
	}
}

// TestSharedSubscriptions: an MQTT 5 shared subscription
// ($share/{group}/{filter}) is checked as its filter, so a group of
// consumers can split a tenant's telemetry between them, and the tenant
// boundary holds for it as for a plain subscription.
func TestSharedSubscriptions(t *testing.T) {
	r := start(t)
	addr := r.a.MQTTAddr()
	gauge := `{"type":"rain-gauge","geometry":{"type":"Point","coordinates":[114.17,22.3]}}`
	r.do(t, r.toks["a-engineer"], "PUT", "/api/v1/twins/g1", gauge)
	got := make(chan string, 16)
	for i, tk := range []string{"a-viewer", "admin"} {
		c, err := mqttConnect(addr, fmt.Sprintf("share-%d", i), r.toks[tk])
		if err != nil {
			t.Fatal(err)
		}
		defer c.Disconnect(0)
		f := "$share/workers/tsingma/v1/twins/+/telemetry"
		tok := c.Subscribe(f, 1, func(_ paho.Client, m paho.Message) { got <- m.Topic() })
		if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatal(tok.Error())
		}
		if st := granted(tok); st >= 0x80 {
			t.Fatalf("%s: shared subscription refused (%#x)", tk, st)
		}
	}
	for _, tc := range []struct{ tok, filter string }{
		{"a-viewer", "$share/workers/tsingma/v1/tenants/tenant-b/#"},
		{"a-viewer", "$share/workers/#"},
		{"a-viewer", "$share/workers/+/v1/twins/g1/telemetry"},
		{"b-admin", "$share/workers/tsingma/v1/twins/#"},
		{"b-admin", "$share//tsingma/v1/tenants/tenant-b/#"}, // an empty group
		{"a-viewer", "$share/tsingma/v1/twins/#"},            // the group is "tsingma": not telemetry
	} {
		c, err := mqttConnect(addr, "outsider", r.toks[tc.tok])
		if err != nil {
			t.Fatal(err)
		}
		tok := c.Subscribe(tc.filter, 0, nil)
		if tok.WaitTimeout(5*time.Second) && tok.Error() == nil {
			if st := granted(tok); st < 0x80 {
				t.Errorf("%s subscribed to %s (granted %d)", tc.tok, tc.filter, st)
			}
		}
		c.Disconnect(0)
	}
	publish(t, operator(t, r), "tsingma/v1/twins/g1/telemetry", `{"ts":1000,"values":{"rainfall":5}}`)
	// One member of the group gets it, and only one.
	if topic := recvTopic(t, got); topic != "tsingma/v1/twins/g1/telemetry" {
		t.Fatalf("got %s", topic)
	}
	nothingMore(t, got)
}

// operator connects an MQTT client with tenant A's operator token.
func operator(t *testing.T, r *running) paho.Client {
	t.Helper()
	op, err := mqttConnect(r.a.MQTTAddr(), "op", r.toks["a-operator"])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { op.Disconnect(0) })
	return op
}

// publish publishes at QoS 1 and waits for the PUBACK.
func publish(t *testing.T, c paho.Client, topic, payload string) {
	t.Helper()
	if tok := c.Publish(topic, 1, false, payload); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("publish to %s: %v", topic, tok.Error())
	}
}

// nothingMore fails if anything more arrives on got soon.
func nothingMore(t *testing.T, got <-chan string) {
	t.Helper()
	select {
	case m := <-got:
		t.Fatalf("and then %q", m)
	case <-time.After(300 * time.Millisecond):
	}
}

// granted is the SUBACK's code for a token's one filter (paho keys a
// shared subscription's code by the filter without its $share prefix).
func granted(tok paho.Token) byte {
	for _, c := range tok.(*paho.SubscribeToken).Result() {
		return c
	}
	return 0x80
}

func recvTopic(t *testing.T, ch <-chan string) string {
	t.Helper()
	select {
	case s := <-ch:
		return s
	case <-time.After(5 * time.Second):
		t.Fatal("nothing received")
		return ""
	}
}

// TestMQTTClientIDsDoNotCrossTokens: mochi keys sessions by the client id
// alone, so a client connecting with another's id took its session over:
// its subscriptions (and queued messages) passed to the newcomer,
// whichever token it had. A tenant B token could read tenant A's
// telemetry by reusing the id of one of A's subscribers, and kick A's
// clients off. Sessions are now the token's.
func TestMQTTClientIDsDoNotCrossTokens(t *testing.T) {
	r := start(t)
	addr := r.a.MQTTAddr()
	gauge := `{"type":"rain-gauge","geometry":{"type":"Point","coordinates":[114.17,22.3]}}`
	r.do(t, r.toks["a-engineer"], "PUT", "/api/v1/twins/g1", gauge)
	persistent := func(id, tok string, got chan<- string) paho.Client {
		t.Helper()
		opts := paho.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(id).SetAutoReconnect(false).
			SetCleanSession(false).SetUsername("x").SetPassword(r.toks[tok]).
			SetDefaultPublishHandler(func(_ paho.Client, m paho.Message) { got <- tok + " " + m.Topic() })
		c := paho.NewClient(opts)
		if ct := c.Connect(); !ct.WaitTimeout(5*time.Second) || ct.Error() != nil {
			t.Fatalf("%s: %v", tok, ct.Error())
		}
		return c
	}
	got := make(chan string, 16)
	a := persistent("station-7", "a-viewer", got)
	if tok := a.Subscribe("tsingma/v1/twins/#", 1, nil); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil || granted(tok) >= 0x80 {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	b := persistent("station-7", "b-operator", got)
	defer b.Disconnect(0)
	if !a.IsConnectionOpen() {
		t.Fatal("tenant B's client with the same id disconnected tenant A's")
	}
	op := operator(t, r)
	publish(t, op, "tsingma/v1/twins/g1/telemetry", `{"ts":1000,"values":{"rainfall":5}}`)
	if m := recvTopic(t, got); m != "a-viewer tsingma/v1/twins/g1/telemetry" {
		t.Fatalf("got %q", m)
	}
	nothingMore(t, got)
	// The same token resumes its own session, with what was published
	// while it was away.
	a.Disconnect(0)
	publish(t, op, "tsingma/v1/twins/g1/telemetry", `{"ts":2000,"values":{"rainfall":6}}`)
	a = persistent("station-7", "a-viewer", got)
	defer a.Disconnect(0)
	if m := recvTopic(t, got); m != "a-viewer tsingma/v1/twins/g1/telemetry" {
		t.Fatalf("after resuming: got %q", m)
	}
	publish(t, op, "tsingma/v1/twins/g1/telemetry", `{"ts":3000,"values":{"rainfall":7}}`)
	if m := recvTopic(t, got); m != "a-viewer tsingma/v1/twins/g1/telemetry" {
		t.Fatalf("after resuming, live: got %q", m)
	}
}

// TestRevokedTokenEndsConnections: revoking a token ends what it opened
// before, not only what it asks next: its MQTT clients are disconnected
// and its live streams end with a final event, within the recheck time.
// (Until session 12 both went on for as long as they stayed open.)
func TestRevokedTokenEndsConnections(t *testing.T) {
	r := start(t)
	tk, secret, err := r.a.Tokens.Create(t.Context(), "test", auth.NewToken{Name: "victim", Role: auth.Viewer, Tenant: "default"})
	if err != nil {
		t.Fatal(err)
	}
	lost := make(chan error, 1)
	opts := paho.NewClientOptions().AddBroker("tcp://" + r.a.MQTTAddr()).SetClientID("victim").SetAutoReconnect(false).
		SetUsername("x").SetPassword(secret).SetConnectionLostHandler(func(_ paho.Client, err error) { lost <- err })
	c := paho.NewClient(opts)
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer c.Disconnect(0)
	req, _ := http.NewRequestWithContext(t.Context(), "GET", r.base+"/api/v1/stream", nil)
	req.Header.Set("Authorization", "Bearer "+secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("stream: %v %v", resp, err)
	}
	defer resp.Body.Close()
	ended := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(resp.Body) // until the server ends the stream
		ended <- string(b)
	}()
	select {
	case err := <-lost:
		t.Fatalf("connection lost before the revocation: %v", err)
	case body := <-ended:
		t.Fatalf("stream ended before the revocation: %q", body)
	case <-time.After(200 * time.Millisecond):
	}
	if code, body, _ := r.do(t, r.toks["admin"], "DELETE", "/api/v1/tokens/"+tk.ID, ""); code != 200 && code != 204 {
		t.Fatalf("revoke: %d %s", code, body)
	}
	timeout := time.After(15 * time.Second)
	select {
	case <-lost:
	case <-timeout:
		t.Fatal("the MQTT client of a revoked token is still connected")
	}
	select {
	case body := <-ended:
		if !strings.Contains(body, "event: unauthorized") {
			t.Fatalf("stream ended without saying why: %q", body)
		}
	case <-timeout:
		t.Fatal("the live stream of a revoked token still runs")
	}
	if c2, err := mqttConnect(r.a.MQTTAddr(), "victim", secret); err == nil {
		c2.Disconnect(0)
		t.Fatal("a revoked token connected again")
	}
}
