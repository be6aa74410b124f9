// Package broker embeds an MQTT 3.1.1 and 5 broker (mochi-mqtt) and turns
// publishes on tsingma/v1/twins/{twin}/telemetry into stored samples. The
// broker's PUBACK is sent only after the samples are durable: the hook runs
// on the client's read loop before mochi writes the PUBACK, and it waits
// for the group commit. Under overload it waits (no PUBACK) until the store
// has room. Ordinary pub/sub between clients works as in any broker.
package broker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/tsingma/tsingma/internal/store"
	"github.com/tsingma/tsingma/internal/telemetry"
)

// Ingester is what the broker needs of the telemetry path.
type Ingester interface {
	Ingest(ctx context.Context, items []telemetry.Item) (telemetry.Result, error)
}

// Config configures a Broker.
type Config struct {
	Listener net.Listener // required; the broker owns and closes it
	Ingester Ingester     // required
	Logger   *slog.Logger
	Now      func() time.Time
}

// Broker is the embedded MQTT broker. Start serves; Close stops it.
type Broker struct {
	srv  *mqtt.Server
	cfg  Config
	log  *slog.Logger
	hook *hook
	ctx  context.Context
	stop context.CancelFunc
	once sync.Once
}

const (
	topicPrefix = "tsingma/v1/twins/"
	topicSuffix = "/telemetry"
)

// New builds the broker; it does not accept connections until Start.
func New(cfg Config) (*Broker, error) {
	if cfg.Listener == nil || cfg.Ingester == nil {
		return nil, errors.New("broker: Config needs a Listener and an Ingester")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Logger.With("component", "mqtt")
	srv := mqtt.New(&mqtt.Options{InlineClient: true, Logger: log})
	srv.Options.Capabilities.MaximumClientWritesPending = 8192
	b := &Broker{srv: srv, cfg: cfg, log: log}
	b.ctx, b.stop = context.WithCancel(context.Background())
	b.hook = &hook{b: b, dec: sync.Pool{New: func() any { return telemetry.NewDecoder(cfg.Now) }}}
	if err := srv.AddHook(b.hook, nil); err != nil {
		return nil, fmt.Errorf("add mqtt hook: %w", err)
	}
	if err := srv.AddListener(listeners.NewNet("tcp", cfg.Listener)); err != nil {
		return nil, fmt.Errorf("add mqtt listener: %w", err)
	}
	return b, nil
}

// Start begins serving in the background (mochi owns its goroutines,
// stopped by Close).
func (b *Broker) Start() error {
	if err := b.srv.Serve(); err != nil {
		return fmt.Errorf("serve mqtt: %w", err)
	}
	return nil
}

// Close disconnects clients, stops the listener, and cancels waits for
// durability in progress (those publishes are not acknowledged). Idempotent.
func (b *Broker) Close() error {
	var err error
	b.once.Do(func() {
		b.stop()
		err = b.srv.Close()
	})
	return err
}

// Stats are broker counters for /metrics.
type Stats struct {
	Clients, Messages, Samples, Rejected, Waits int64
}

// Stats returns counters.
func (b *Broker) Stats() Stats {
	return Stats{
		Clients:  atomic.LoadInt64(&b.srv.Info.ClientsConnected),
		Messages: b.hook.messages.Load(),
		Samples:  b.hook.samples.Load(),
		Rejected: b.hook.rejected.Load(),
		Waits:    b.hook.waits.Load(),
	}
}

// TwinOfTopic returns the twin id of a telemetry topic.
func TwinOfTopic(topic string) (string, bool) {
	if !strings.HasPrefix(topic, topicPrefix) || !strings.HasSuffix(topic, topicSuffix) {
		return "", false
	}
	id := topic[len(topicPrefix) : len(topic)-len(topicSuffix)]
	if !telemetry.ValidID(id) {
		return "", false
	}
	return id, true
}

type hook struct {
	mqtt.HookBase
	b        *Broker
	dec      sync.Pool
	messages atomic.Int64
	samples  atomic.Int64
	rejected atomic.Int64
	waits    atomic.Int64
}

func (h *hook) ID() string { return "tsingma-telemetry" }

func (h *hook) Provides(b byte) bool {
	return bytes.Contains([]byte{mqtt.OnConnectAuthenticate, mqtt.OnACLCheck, mqtt.OnPublish}, []byte{b})
}

// Authentication and ACLs arrive with access control; until then every
// client may connect and publish, as with --no-auth.
func (h *hook) OnConnectAuthenticate(*mqtt.Client, packets.Packet) bool { return true }
func (h *hook) OnACLCheck(*mqtt.Client, string, bool) bool              { return true }

type errorReport struct {
	Topic    string                `json:"topic"`
	PacketID uint16                `json:"packet_id,omitempty"`
	Error    string                `json:"error,omitempty"`
	Accepted int                   `json:"accepted"`
	Rejected int                   `json:"rejected"`
	Errors   []telemetry.Rejection `json:"errors,omitempty"`
}

// OnPublish stores telemetry publishes before mochi sends the PUBACK.
func (h *hook) OnPublish(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	if cl.Net.Inline {
		return pk, nil
	}
	twin, ok := TwinOfTopic(pk.TopicName)
	if !ok {
		return pk, nil // ordinary pub/sub
	}
	h.messages.Add(1)
	dec := h.dec.Get().(*telemetry.Decoder)
	items, err := dec.DecodeMQTT(nil, twin, pk.Payload)
	h.dec.Put(dec)
	if err != nil {
		h.rejected.Add(1)
		h.report(twin, errorReport{Topic: pk.TopicName, PacketID: pk.PacketID, Error: err.Error()})
		return pk, packets.ErrPayloadFormatInvalid // MQTT 5: PUBACK with reason 0x99; 3.1.1: PUBACK, error on the errors topic
	}
	var res telemetry.Result
	for {
		res, err = h.b.cfg.Ingester.Ingest(h.b.ctx, items)
		if !errors.Is(err, store.ErrBusy) {
			break
		}
		// Withhold the PUBACK until the store has room.
		h.waits.Add(1)
		select {
		case <-h.b.ctx.Done():
			return pk, packets.ErrRejectPacket // shutting down: no PUBACK
		case <-time.After(5 * time.Millisecond):
		}
	}
	if err != nil {
		h.b.log.Error("mqtt ingest failed", "twin", twin, "err", err)
		return pk, packets.ErrRejectPacket // not durable: no PUBACK; the client resends
	}
	h.samples.Add(int64(res.Accepted))
	if res.Rejected > 0 {
		h.rejected.Add(int64(res.Rejected))
		h.report(twin, errorReport{Topic: pk.TopicName, PacketID: pk.PacketID, Accepted: res.Accepted, Rejected: res.Rejected, Errors: res.Errors})
		if res.Accepted == 0 {
			return pk, packets.ErrPayloadFormatInvalid
		}
	}
	return pk, nil
}

func (h *hook) report(twin string, r errorReport) {
	b, err := json.Marshal(r)
	if err != nil {
		return
	}
	if err := h.b.srv.Publish(topicPrefix+twin+"/errors", b, false, 0); err != nil {
		h.b.log.Debug("publish error report", "err", err)
	}
}
