package app

import (
	"strconv"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// TestMQTTOverWebSocket: browser clients speak MQTT over a WebSocket at
// /mqtt on the HTTP port, with the same tokens, ACL and durable PUBACK as
// over TCP.
func TestMQTTOverWebSocket(t *testing.T) {
	r := start(t)
	if code, body, _ := r.do(t, r.toks["a-engineer"], "PUT", "/api/v1/twins/g1", `{"type":"rain-gauge","geometry":{"type":"Point","coordinates":[114.17,22.3]}}`); code != 201 {
		t.Fatal(code, body)
	}
	ws := func(id, tok string) (paho.Client, error) {
		c := paho.NewClient(paho.NewClientOptions().AddBroker("ws://" + r.a.HTTPAddr() + "/mqtt").SetClientID(id).
			SetUsername("x").SetPassword(tok).SetAutoReconnect(false).SetConnectTimeout(5 * time.Second))
		tok2 := c.Connect()
		if !tok2.WaitTimeout(5 * time.Second) {
			return nil, tok2.Error()
		}
		return c, tok2.Error()
	}
	if c, err := ws("anon", "not-a-token"); err == nil {
		c.Disconnect(0)
		t.Fatal("connected over websocket without a valid token")
	}
	viewer, err := ws("viewer", r.toks["a-viewer"])
	if err != nil {
		t.Fatal(err)
	}
	defer viewer.Disconnect(0)
	got := make(chan string, 4)
	if tok := viewer.Subscribe("tsingma/v1/twins/+/telemetry", 1, func(_ paho.Client, m paho.Message) { got <- string(m.Payload()) }); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil || granted(tok) >= 0x80 {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	op, err := ws("op", r.toks["a-operator"])
	if err != nil {
		t.Fatal(err)
	}
	defer op.Disconnect(0)
	ts := strconv.FormatInt(time.Now().UnixMilli()-1000, 10)
	publish(t, op, "tsingma/v1/twins/g1/telemetry", `{"ts":`+ts+`,"values":{"rainfall":12.5}}`)
	if m := recvTopic(t, got); !strings.Contains(m, "12.5") {
		t.Fatalf("subscriber got %q", m)
	}
	// Acknowledged means stored.
	if _, body, _ := r.do(t, r.toks["a-viewer"], "GET", "/api/v1/twins/g1/latest", ""); !strings.Contains(body, `"value":12.5`) {
		t.Fatalf("latest after the PUBACK: %s", body)
	}
	// The ACL holds: a viewer's telemetry is not stored.
	publishQoS0 := viewer.Publish("tsingma/v1/twins/g1/telemetry", 0, false, `{"values":{"rainfall":99}}`)
	publishQoS0.WaitTimeout(time.Second)
	time.Sleep(100 * time.Millisecond)
	if _, body, _ := r.do(t, r.toks["a-viewer"], "GET", "/api/v1/twins/g1/latest", ""); strings.Contains(body, `"value":99`) {
		t.Fatalf("a viewer's sample was stored: %s", body)
	}
}
