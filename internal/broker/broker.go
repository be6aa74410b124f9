// Package broker embeds an MQTT 3.1.1 and 5 broker (mochi-mqtt) and turns
// publishes on tsingma/v1/twins/{twin}/telemetry into stored samples.
// Telemetry publishes are taken from the client's connection before mochi
// reads them (claimConn), or from mochi's hooks (OnPacketRead, OnPublish),
// and queued for a worker that stores many clients' messages in one group
// commit; the PUBACK is written only after the samples are durable. Under
// overload the queues fill and the clients' reads stop (no PUBACK) until
// the store has room. Ordinary pub/sub between clients works as in any
// broker.
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
	"unique"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/tsingma/tsingma/internal/auth"
	"github.com/tsingma/tsingma/internal/store"
	"github.com/tsingma/tsingma/internal/telemetry"
)

// Ingester is what the broker needs of the telemetry path.
type Ingester interface {
	Ingest(ctx context.Context, items []telemetry.Item) (telemetry.Result, error)
}

// asyncIngester is an Ingester that can store a batch without waiting for
// it to be durable (telemetry.Ingester): the workers then decode and store
// the next batch while one commits.
type asyncIngester interface {
	IngestAsync(ctx context.Context, items []telemetry.Item) (*telemetry.Pending, error)
}

// Authenticator turns an MQTT CONNECT's credentials into a principal
// (auth.Store implements it).
type Authenticator interface {
	MQTT(username string, password []byte) (auth.Principal, error)
	// Current reports whether a token still grants access (nil) or was
	// revoked or has expired since: its clients are then disconnected.
	Current(tokenID string) error
}

// Config configures a Broker.
type Config struct {
	Listener net.Listener // required; the broker owns and closes it
	Ingester Ingester     // required
	// Auth checks the CONNECT password (a token). nil: development mode,
	// every client acts as an admin of the default tenant.
	Auth   Authenticator
	Logger *slog.Logger
	Now    func() time.Time
	// MaxPacket bounds an MQTT packet in bytes; default 4 MiB. A larger
	// one is refused before it is read: the client is disconnected
	// ([MQTT-3.2.2-15]; MQTT 5 clients are told the limit in CONNACK and
	// get reason code 0x95, packet too large).
	MaxPacket uint32
	// Recheck is how often connected clients' tokens are checked again;
	// default 5 s. A client whose token was revoked or has expired is
	// disconnected (MQTT 5: reason 0x87, not authorized).
	Recheck time.Duration
	// ConnectTimeout bounds the time from accepting a connection to its
	// CONNECT (and TLS handshake); default 30 s. Mochi set none: a
	// connection that never sent one stayed open for ever.
	ConnectTimeout time.Duration
	// MaxClients bounds the connected clients; default 10,000. The next
	// is refused (MQTT 3.1.1: 0x03 server unavailable; 5: 0x89 server
	// busy).
	MaxClients int
	// MaxClientsPerToken bounds the clients connected with one token;
	// default 1,000 (so that one leaked sensor token cannot take them
	// all). The next is refused as not authorized (mochi lets the
	// authentication hook say only that).
	MaxClientsPerToken int
	// MaxConnections bounds the open connections, connected or not yet
	// (a connection has ConnectTimeout to send its CONNECT); default
	// MaxClients + 1,024. A connection past it is closed at once.
	MaxConnections int
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

	// Open connections (TCP and WebSocket; MaxConnections), and when the
	// last refusal was logged.
	conns, connWarned atomic.Int64

	// MQTT over WebSocket connections (ServeWebSocket), ended by Close.
	wsMu     sync.Mutex
	ws       map[*wsConn]struct{}
	wsClosed bool
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
	srv := mqtt.New(&mqtt.Options{InlineClient: true, Logger: slog.New(quietClosed{log.Handler(), new(atomic.Int64)})})
	srv.Options.Capabilities.MaximumClientWritesPending = 8192
	// A disconnected client's session (its subscriptions and up to 8,192
	// QoS 1 messages queued for it) is kept at most a day; mochi's default
	// kept an MQTT 3.1.1 clean-session=false session for ever, so every
	// client id that subscribed once and went away held its queue.
	srv.Options.Capabilities.MaximumSessionExpiryInterval = 24 * 60 * 60
	// ... and holds at most MaxOfflineQueue of them (mochi's default,
	// 8,192 a session, let one token hold gigabytes with a thousand
	// client ids subscribed and gone).
	srv.Options.Capabilities.MaximumInflight = MaxOfflineQueue
	if cfg.MaxPacket == 0 {
		cfg.MaxPacket = 4 << 20
	}
	if cfg.Recheck <= 0 {
		cfg.Recheck = 5 * time.Second
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = 30 * time.Second
	}
	if cfg.MaxClients <= 0 {
		cfg.MaxClients = 10_000
	}
	if cfg.MaxClientsPerToken <= 0 {
		cfg.MaxClientsPerToken = 1_000
	}
	if cfg.MaxConnections <= 0 {
		cfg.MaxConnections = cfg.MaxClients + 1024
	}
	srv.Options.Capabilities.MaximumClients = int64(cfg.MaxClients)
	srv.Options.Capabilities.MaximumPacketSize = cfg.MaxPacket
	b := &Broker{srv: srv, cfg: cfg, log: log}
	b.ctx, b.stop = context.WithCancel(context.Background())
	b.hook = newHook(b, cfg.Now)
	if err := srv.AddHook(b.hook, nil); err != nil {
		return nil, fmt.Errorf("add mqtt hook: %w", err)
	}
	if err := srv.AddListener(listeners.NewNet("tcp", claimListener{Listener: cfg.Listener, b: b})); err != nil {
		return nil, fmt.Errorf("add mqtt listener: %w", err)
	}
	return b, nil
}

// Start begins serving in the background (mochi owns its goroutines,
// stopped by Close).
func (b *Broker) Start() error {
	b.hook.start()
	if err := b.srv.Serve(); err != nil {
		return fmt.Errorf("serve mqtt: %w", err)
	}
	return nil
}

// Close disconnects clients, stops the listener, then stops the workers:
// messages already queued are stored if the store has room, but their
// PUBACKs cannot reach the disconnected clients. Idempotent.
func (b *Broker) Close() error {
	var err error
	b.once.Do(func() {
		b.closeWS()
		err = b.srv.Close()
		b.stop()
		b.hook.stop()
	})
	return err
}

// MaxSubscriptions bounds the filters one client holds.
const MaxSubscriptions = 1024

// MaxOfflineQueue bounds the QoS 1 and 2 messages a session holds for its
// client (in flight, or queued while it is away); past it new messages
// for the session are dropped and counted. Mosquitto's default
// (max_queued_messages) is 1,000.
const MaxOfflineQueue = 1024

// Stats are broker counters for /metrics.
type Stats struct {
	Clients, Messages, Samples, Rejected, Waits int64
	// Dropped counts messages not queued for a session that was full.
	Dropped int64
	// Connections open; refused past MaxConnections, and clients
	// refused past MaxClientsPerToken (mochi refuses those past
	// MaxClients before any hook sees them).
	Connections, RefusedConnections, RefusedPerToken int64
}

// Stats returns counters.
func (b *Broker) Stats() Stats {
	return Stats{
		Clients:  atomic.LoadInt64(&b.srv.Info.ClientsConnected),
		Messages: b.hook.messages.Load(),
		Samples:  b.hook.samples.Load(),
		Rejected: b.hook.rejected.Load(),
		Waits:    b.hook.waits.Load(),
		Dropped:  atomic.LoadInt64(&b.srv.Info.InflightDropped),

		Connections:        b.conns.Load(),
		RefusedConnections: b.hook.refusedConns.Load(),
		RefusedPerToken:    b.hook.refusedQuota.Load(),
	}
}

// Topics: the default tenant's twins live under tsingma/v1/twins/{id}/...,
// another tenant's under tsingma/v1/tenants/{tenant}/twins/{id}/..., so
// that tenants never share a topic.

// Namespace returns the topic prefix of a tenant's twins.
func Namespace(tenant string) string {
	if tenant == "" || tenant == telemetry.DefaultTenant {
		return topicPrefix
	}
	return "tsingma/v1/tenants/" + tenant + "/twins/"
}

// TwinOfTopic returns the twin id of a telemetry topic of the default tenant.
func TwinOfTopic(topic string) (string, bool) {
	return TwinOfTenantTopic(telemetry.DefaultTenant, topic)
}

// TwinOfTenantTopic returns the twin id of a telemetry topic in tenant's
// namespace, as written: an id that is not valid (telemetry.ValidID) is
// refused when the message is processed, with an error report, not passed
// on as ordinary pub/sub (until session 11 a sensor whose topic had a
// space or a slash in its id got its PUBACK and its samples were dropped
// without a word).
func TwinOfTenantTopic(tenant, topic string) (string, bool) {
	ns := Namespace(tenant)
	if !strings.HasPrefix(topic, ns) || !strings.HasSuffix(topic, topicSuffix) || len(topic) < len(ns)+len(topicSuffix) {
		return "", false
	}
	return topic[len(ns) : len(topic)-len(topicSuffix)], true
}

// errTopicTwin refuses a telemetry message whose topic's twin id is not
// valid.
var errTopicTwin = fmt.Errorf("the topic's twin id is not valid: 1-%d bytes of letters, digits, '.', '_', '~' and '-', not starting with '_'", telemetry.MaxIDLen)

// decodeMessage decodes one telemetry message for twin into dst.
func decodeMessage(dec *telemetry.Decoder, dst []telemetry.Item, twin string, payload []byte) ([]telemetry.Item, error) {
	if !telemetry.ValidID(twin) {
		return dst, errTopicTwin
	}
	return dec.DecodeMQTT(dst, twin, payload)
}

// refusal is the MQTT 5 reason code of a message refused whole.
func refusal(err error) packets.Code {
	if errors.Is(err, errTopicTwin) {
		return packets.ErrTopicNameInvalid
	}
	return packets.ErrPayloadFormatInvalid
}

type hook struct {
	mqtt.HookBase
	b        *Broker
	now      func() time.Time
	messages atomic.Int64
	samples  atomic.Int64
	rejected atomic.Int64
	waits    atomic.Int64
	// Connections refused: a token over MaxClientsPerToken, and any past
	// MaxConnections.
	refusedQuota, refusedConns atomic.Int64

	// principals holds a *session per connected client: read on every
	// publish by the clients' read loops, written at connect and
	// disconnect (a sync.Map: no lock shared by the read loops); changed
	// only through addSession and dropSession, which keep perToken.
	principals sync.Map
	tokenMu    sync.Mutex
	perToken   map[string]int // connected clients by token id
	// closedSeen: clients found closed but still in principals by the
	// last sweep (housekeep).
	closedSeen map[*mqtt.Client]bool
	// away holds an *awaySession per persistent session whose client is
	// disconnected, by client id: mochi checks the ACL when it queues a
	// message for such a session, and until session 12 the principal
	// was gone with the connection, so nothing was ever queued.
	away      sync.Map
	nextQueue atomic.Uint64 // the queue the next client connecting is given
	// subGen changes with every change to the subscriptions (mochi calls
	// OnSubscribed before it sends the SUBACK): the workers keep, per
	// topic, whether anyone subscribes to it while it stays.
	subGen atomic.Uint64

	// Telemetry publishes go to one of a few queues, each with a worker
	// that takes everything queued so far and stores it with one Ingest
	// call (one WAL record and one group commit for many clients'
	// messages), then sends the PUBACKs. A client's messages all go to the
	// same queue, so they are stored and acknowledged in the order they
	// arrived ([MQTT-4.6.0-2]; and a twin's samples are not reordered
	// into out-of-order rejections); the queues store in parallel.
	queues  [workers]*msgQueue
	started sync.Once
	wg      sync.WaitGroup
}

// awaySession is the principal of a persistent session whose client is
// away, and the client object mochi keeps for it.
type awaySession struct {
	cl *mqtt.Client
	p  auth.Principal
}

// session is what the hook keeps of a connected client.
type session struct {
	p     auth.Principal
	queue *msgQueue
	// The telemetry topics the client published to: the twin of each and
	// whether the client may publish there, so that a topic's parse and
	// ACL check happen once. Only the client's read loop (OnPacketRead)
	// uses it.
	topics map[string]topicInfo
}

type topicInfo struct {
	topic   string
	twin    string // canonical (unique)
	allowed bool
	// route keeps the twin's channel table between the topic's messages
	// (telemetry.Route); only the session's worker uses it.
	route *telemetry.Route
}

// maxTopics bounds a session's topic cache (telemetry topics only, each at
// most about 160 bytes, so about 10 KiB a client); past it, it starts again.
const maxTopics = 64

// msgQueue is one worker's queue of inbound telemetry messages.
type msgQueue struct {
	mu       sync.Mutex
	notEmpty sync.Cond // on mu: a message was queued, or stop
	notFull  sync.Cond // on mu: a batch was taken, or stop
	queued   []inbound
	bytes    int // payload bytes queued
	stopped  bool
}

func newMsgQueue() *msgQueue {
	q := &msgQueue{}
	q.notEmpty.L, q.notFull.L = &q.mu, &q.mu
	return q
}

// put queues m, waiting while the queue is full; false once stopped.
func (q *msgQueue) put(m inbound) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	for (len(q.queued) >= maxQueued || q.bytes >= maxQueuedBytes) && !q.stopped {
		q.notFull.Wait()
	}
	if q.stopped {
		return false
	}
	q.queued = append(q.queued, m)
	q.bytes += len(m.payload)
	q.notEmpty.Signal()
	return true
}

// take waits for queued messages and takes up to maxBatch of them into
// buf; ok is false once stopped and drained.
func (q *msgQueue) take(buf []inbound) (batch []inbound, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.queued) == 0 && !q.stopped {
		q.notEmpty.Wait()
	}
	if len(q.queued) == 0 {
		return buf, false
	}
	n := min(len(q.queued), maxBatch)
	batch = append(buf[:0], q.queued[:n]...)
	for _, m := range batch {
		q.bytes -= len(m.payload)
	}
	clear(q.queued[:n])
	q.queued = append(q.queued[:0], q.queued[n:]...)
	q.notFull.Broadcast()
	return batch, true
}

func (q *msgQueue) stop() {
	q.mu.Lock()
	q.stopped = true
	q.notEmpty.Broadcast()
	q.notFull.Broadcast()
	q.mu.Unlock()
}

// inbound is a telemetry publish waiting for its worker: what the worker
// needs of the packet (not the packet, which is large); the worker decodes
// the payload.
type inbound struct {
	cl      *mqtt.Client
	tenant  string
	twin    string
	topic   string
	route   *telemetry.Route // nil: no route kept for the topic
	payload []byte
	id      uint16 // packet id
	qos     byte
	retain  bool
}

const (
	// maxQueued bounds the messages queued on one queue; past it the read
	// loops of its clients block, so the broker stops reading from them
	// (back-pressure; PUBACKs are withheld).
	maxQueued = 8192
	// maxQueuedBytes bounds the payload bytes queued on one queue the same
	// way (a message is queued whole, so a queue holds at most this plus
	// one packet).
	maxQueuedBytes = 64 << 20
	// maxBatch bounds the messages one Ingest call takes.
	maxBatch = 4096
	// workers is the number of queues, each with a worker storing in
	// parallel with the others.
	workers = 2
)

func newHook(b *Broker, now func() time.Time) *hook {
	h := &hook{b: b, now: now}
	for i := range h.queues {
		h.queues[i] = newMsgQueue()
	}
	return h
}

// start starts the workers; stop ends them.
func (h *hook) start() {
	h.started.Do(func() {
		for _, q := range h.queues {
			h.wg.Add(1)
			go h.work(q)
		}
		h.wg.Add(1)
		go h.housekeep()
	})
}

// housekeep runs every Config.Recheck until the broker closes: it
// disconnects the clients whose token was revoked or has expired since
// they connected, and forgets clients that closed without mochi calling
// OnDisconnect (it does not when the CONNACK or a resent message cannot be
// written after authentication: each such client stayed in principals,
// and counted against its token, for ever).
func (h *hook) housekeep() {
	defer h.wg.Done()
	t := time.NewTicker(h.b.cfg.Recheck)
	defer t.Stop()
	for {
		select {
		case <-h.b.ctx.Done():
			return
		case <-t.C:
		}
		if h.b.cfg.Auth != nil {
			h.recheck()
		}
		h.sweep()
	}
}

// sweep drops the sessions of clients closed at two sweeps in a row (a
// client closed at one may still be on its way to OnDisconnect, which
// keeps a persistent session's principal; by the next it has been).
func (h *hook) sweep() {
	seen := map[*mqtt.Client]bool{}
	h.principals.Range(func(k, _ any) bool {
		cl := k.(*mqtt.Client)
		if cl.Closed() {
			if h.closedSeen[cl] {
				h.b.log.Debug("mqtt client closed without a disconnect: forgotten", "client", cl.ID)
				h.dropSession(cl)
			} else {
				seen[cl] = true
			}
		}
		return true
	})
	h.closedSeen = seen
}

// addSession records a connected client's session, unless its token has
// MaxClientsPerToken clients connected already.
func (h *hook) addSession(cl *mqtt.Client, s *session) bool {
	h.tokenMu.Lock()
	defer h.tokenMu.Unlock()
	if h.perToken[s.p.TokenID] >= h.b.cfg.MaxClientsPerToken {
		return false
	}
	if h.perToken == nil {
		h.perToken = map[string]int{}
	}
	h.perToken[s.p.TokenID]++
	h.principals.Store(cl, s)
	return true
}

// dropSession forgets a client's session (once).
func (h *hook) dropSession(cl *mqtt.Client) {
	v, ok := h.principals.LoadAndDelete(cl)
	if !ok {
		return
	}
	tok := v.(*session).p.TokenID
	h.tokenMu.Lock()
	if h.perToken[tok]--; h.perToken[tok] <= 0 {
		delete(h.perToken, tok)
	}
	h.tokenMu.Unlock()
}

// recheck disconnects the clients whose token was revoked or has expired
// since they connected.
func (h *hook) recheck() {
	h.principals.Range(func(k, v any) bool {
		p := v.(*session).p
		if err := h.b.cfg.Auth.Current(p.TokenID); err != nil {
			cl := k.(*mqtt.Client)
			h.b.log.Info("mqtt client disconnected: its token was revoked or has expired", "client", cl.ID, "token", p.TokenID)
			h.b.srv.DisconnectClient(cl, packets.ErrNotAuthorized)
		}
		return true
	})
	// An away session of such a token queues nothing more.
	h.away.Range(func(k, v any) bool {
		if h.b.cfg.Auth.Current(v.(*awaySession).p.TokenID) != nil {
			h.away.CompareAndDelete(k, v)
		}
		return true
	})
}

func (h *hook) ID() string { return "tsingma-telemetry" }

func (h *hook) Provides(b byte) bool {
	switch b {
	case mqtt.OnConnectAuthenticate, mqtt.OnACLCheck, mqtt.OnPacketRead, mqtt.OnPublish, mqtt.OnDisconnect,
		mqtt.OnSubscribe, mqtt.OnSubscribed, mqtt.OnUnsubscribed, mqtt.OnSessionEstablished, mqtt.OnClientExpired:
		return true
	}
	return false
}

// devPrincipal is every client's identity without Auth (--no-auth).
var devPrincipal = auth.Principal{Name: "dev (--no-auth)", Role: auth.Admin, Tenant: telemetry.DefaultTenant}

// OnConnectAuthenticate checks the token given as the CONNECT password.
func (h *hook) OnConnectAuthenticate(cl *mqtt.Client, pk packets.Packet) bool {
	p := devPrincipal
	if h.b.cfg.Auth != nil {
		var err error
		p, err = h.b.cfg.Auth.MQTT(string(pk.Connect.Username), pk.Connect.Password)
		if err != nil {
			h.b.log.Info("mqtt connect refused", "client", cl.ID, "remote", cl.Net.Remote)
			return false
		}
	}
	// Mochi publishes a will straight to the subscribers, past the ACL
	// and this hook's OnPublish: until session 11 a viewer's will reached
	// any topic, another tenant's included, and a will on a telemetry
	// topic was forwarded as telemetry without being validated or stored.
	// A will must be one the principal may publish, and not telemetry.
	if pk.Connect.WillFlag {
		_, tele := TwinOfTenantTopic(p.Tenant, pk.Connect.WillTopic)
		if tele || !permitted(p, pk.Connect.WillTopic, true) {
			h.b.log.Info("mqtt connect refused: the will's topic is telemetry or not one this token may publish to", "client", cl.ID, "topic", pk.Connect.WillTopic)
			return false
		}
	}
	if p.TokenID != "" {
		// Mochi keys sessions by the client id alone: a client connecting
		// with another's id takes its session over, subscriptions and
		// queued messages included, whoever it is. Until session 12 a
		// tenant B token could so read tenant A's telemetry, or disconnect
		// A's clients. A session is the token's: the id is kept per token
		// (the client still sees its own id; mochi copied an assigned one
		// for the CONNACK already).
		cl.ID = p.TokenID + "/" + cl.ID
	}
	if !h.addSession(cl, &session{p: p, queue: h.queues[(h.nextQueue.Add(1)-1)%workers]}) {
		h.refusedQuota.Add(1)
		h.b.log.Info("mqtt connect refused: the token has its most clients connected", "client", cl.ID, "token", p.TokenID, "max", h.b.cfg.MaxClientsPerToken)
		return false
	}
	return true
}

func (h *hook) principal(cl *mqtt.Client) (auth.Principal, bool) {
	s, ok := h.session(cl)
	return s.p, ok
}

func (h *hook) session(cl *mqtt.Client) (*session, bool) {
	s, ok := h.principals.Load(cl)
	if !ok {
		return &session{}, false
	}
	return s.(*session), true
}

// OnSubscribe refuses the new filters of a client past MaxSubscriptions
// (mochi has no bound: one client could fill the broker's memory with
// millions of distinct filters). A refused filter is replaced by one
// that is not valid, which mochi refuses with reason 0x8F (0x80 in MQTT
// 3.1.1); a filter the client holds already may be subscribed again.
// (The ACL hook cannot do it: mochi also asks it at every delivery.)
func (h *hook) OnSubscribe(cl *mqtt.Client, pk packets.Packet) packets.Packet {
	n := cl.State.Subscriptions.Len()
	for i, f := range pk.Filters {
		if _, held := cl.State.Subscriptions.Get(f.Filter); held {
			continue
		}
		if n >= MaxSubscriptions {
			pk.Filters[i].Filter = tooManyFilters
			continue
		}
		n++
	}
	return pk
}

// tooManyFilters is not a valid filter ('#' must come last).
const tooManyFilters = "#/past-the-subscription-bound"

// OnSubscribed, OnUnsubscribed and OnSessionEstablished (a resumed
// session brings its subscriptions back) mark a change of subscriptions.
func (h *hook) OnSubscribed(*mqtt.Client, packets.Packet, []byte) { h.subGen.Add(1) }

func (h *hook) OnUnsubscribed(*mqtt.Client, packets.Packet) { h.subGen.Add(1) }

// OnSessionEstablished also lets the client's connection claim its
// telemetry publishes from now on (see claimConn): mochi calls it on the
// goroutine that then reads the client's packets.
func (h *hook) OnSessionEstablished(cl *mqtt.Client, _ packets.Packet) {
	h.subGen.Add(1)
	h.away.Delete(cl.ID) // the session's client is back
	c, ok := cl.Net.Conn.(*claimConn)
	if !ok || cl.Net.Inline {
		return
	}
	if sess, ok := h.session(cl); ok {
		c.claim = &connClaimer{h: h, cl: cl, sess: sess, v5: cl.Properties.ProtocolVersion == 5}
	}
}

// OnACLCheck keeps each client inside its tenant's namespace and applies
// the role policy: telemetry may be published by operators and engineers,
// every role may subscribe within its namespace, other topics are the
// admin's.
func (h *hook) OnACLCheck(cl *mqtt.Client, topic string, write bool) bool {
	if cl.Net.Inline {
		return true
	}

	p, ok := h.principal(cl)
	if !ok {
		// A message queued for a persistent session whose client is away.
		a, found := h.away.Load(cl.ID)
		if !found || a.(*awaySession).cl != cl || write {
			return false
		}
		p = a.(*awaySession).p
	}
	return permitted(p, topic, write)
}

// permitted is the ACL of OnACLCheck for a known client's principal. A
// shared subscription ($share/{group}/{filter}, MQTT 5 section 4.8.2) is
// permitted when its filter is.
func permitted(p auth.Principal, topic string, write bool) bool {
	if !write {
		if f, ok := sharedFilter(topic); ok {
			topic = f // otherwise a $ topic, refused below
		}
	}
	ns := Namespace(p.Tenant)
	if !strings.HasPrefix(topic, "tsingma/") && !strings.HasPrefix(topic, "$") && !strings.HasPrefix(topic, "+") && !strings.HasPrefix(topic, "#") {
		return p.Role == auth.Admin // ordinary pub/sub outside tsingma's tree
	}
	if !strings.HasPrefix(topic, ns) {
		return false // another tenant's namespace, or a wildcard over all of them
	}
	action := auth.Subscribe
	if write {
		action = auth.Publish
	}
	// PermittedMQTT knows the default namespace's shape; map ours onto it.
	return auth.PermittedMQTT(p.Role, action, topicPrefix+strings.TrimPrefix(topic, ns))
}

// sharedFilter returns the filter of a shared subscription
// "$share/{group}/{filter}": the prefix matched without regard to case,
// as mochi matches it, the group without wildcards and both not empty.
func sharedFilter(topic string) (string, bool) {
	prefix, rest, ok := strings.Cut(topic, "/")
	if !ok || !strings.EqualFold(prefix, mqtt.SharePrefix) {
		return "", false
	}
	group, filter, ok := strings.Cut(rest, "/")
	if !ok || group == "" || filter == "" || strings.ContainsAny(group, "+#") {
		return "", false
	}
	return filter, true
}

// OnDisconnect forgets the client. Its queued messages are still stored
// (their PUBACKs cannot be sent; the client resends them, and the store
// counts the copies as duplicates).
func (h *hook) OnDisconnect(cl *mqtt.Client, _ error, expire bool) {
	// Away first, then not connected: a message for the session in
	// between finds the principal in one or the other.
	if s, ok := h.principals.Load(cl); ok && !expire && !cl.IsTakenOver() {
		h.away.Store(cl.ID, &awaySession{cl: cl, p: s.(*session).p})
	}
	h.dropSession(cl)
	h.subGen.Add(1)
}

// OnClientExpired forgets an away session mochi deletes.
func (h *hook) OnClientExpired(cl *mqtt.Client) {
	if a, ok := h.away.Load(cl.ID); ok && a.(*awaySession).cl == cl {
		h.away.CompareAndDelete(cl.ID, a)
	}
}

type errorReport struct {
	Topic    string                `json:"topic"`
	PacketID uint16                `json:"packet_id,omitempty"`
	Error    string                `json:"error,omitempty"`
	Accepted int                   `json:"accepted"`
	Rejected int                   `json:"rejected"`
	Errors   []telemetry.Rejection `json:"errors,omitempty"`
}

// dropTopic is the topic OnPacketRead gives a publish it has claimed: a
// broker drops a client's publish to $SYS without an answer (MQTT 4.7.2;
// mochi's processPublish returns at its first check, IsValidFilter), so
// the claimed packet costs mochi nothing more.
const dropTopic = "$SYS/tsingma/claimed"

// OnPacketRead claims telemetry publishes (QoS 0 and 1) as soon as mochi
// has read them, before its publish processing (receive quota, ACL hook,
// inflight lookup, hooks and their logging, which cost as much as the
// rest of the message's handling): the packet goes to the client's worker,
// which stores it and then acknowledges and forwards it, and mochi is left
// a publish it drops. Anything else, and any publish that mochi must
// refuse (protocol errors, ACL), goes on to mochi unchanged; so do QoS 2
// and topic aliases, which OnPublish takes after mochi has resolved them.
func (h *hook) OnPacketRead(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	if pk.FixedHeader.Type != packets.Publish || cl.Net.Inline ||
		pk.PublishValidate(h.b.srv.Options.Capabilities.TopicAliasMaximum) != packets.CodeSuccess {
		return pk, nil
	}
	if pk.Properties.TopicAliasFlag || pk.Properties.TopicAlias != 0 {
		if pk.TopicName == "" && pk.Properties.TopicAlias != 0 {
			// Mochi checks the ACL before it resolves an alias, so a
			// publish by the alias alone was checked as the empty topic
			// (admins only): name the alias's topic here. Every mapping
			// was set by a publish that passed the ACL; an alias never
			// set stays empty and is refused as before.
			pk.TopicName = cl.State.TopicAliases.Inbound.Set(pk.Properties.TopicAlias, "")
		}
		return pk, nil
	}
	if pk.FixedHeader.Qos > 1 {
		return pk, nil
	}
	sess, ok := h.session(cl)
	if !ok {
		return pk, nil
	}
	ti, ok := telemetryTopic(sess, pk.TopicName)
	if !ok {
		return pk, nil // ordinary pub/sub, or refused: mochi answers
	}
	h.queue(cl, sess, inbound{topic: ti.topic, twin: ti.twin, route: ti.route, payload: pk.Payload, id: pk.PacketID, qos: pk.FixedHeader.Qos, retain: pk.FixedHeader.Retain})
	pk.TopicName = dropTopic
	return pk, nil
}

// OnPublish takes the telemetry publishes that OnPacketRead left to mochi
// (QoS 2, topic aliases): QoS 2 is stored before mochi's PUBREC; the others
// go to the client's worker, and mochi is told not to acknowledge or
// forward them. Other topics pass through untouched.
func (h *hook) OnPublish(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	if cl.Net.Inline {
		return pk, nil
	}
	sess, ok := h.session(cl)
	if !ok {
		return pk, packets.ErrRejectPacket
	}
	twin, ok := TwinOfTenantTopic(sess.p.Tenant, pk.TopicName)
	if !ok {
		return pk, nil // ordinary pub/sub
	}
	if pk.FixedHeader.Qos > 1 {
		return h.publishSync(cl, sess.p.Tenant, pk, twin)
	}
	h.queue(cl, sess, inbound{topic: pk.TopicName, twin: twin, payload: pk.Payload, id: pk.PacketID, qos: pk.FixedHeader.Qos, retain: pk.FixedHeader.Retain})
	return pk, packets.ErrRejectPacket
}

// queue hands a QoS 0 or 1 telemetry publish to the client's worker; it
// waits while the worker's queue is full (back-pressure: the client's
// read loop stops). At shutdown the publish is dropped unacknowledged.
func (h *hook) queue(cl *mqtt.Client, sess *session, m inbound) {
	h.messages.Add(1)
	m.cl, m.tenant = cl, sess.p.Tenant
	sess.queue.put(m)
}

// telemetryTopic looks a topic up in the session's cache (learning it on a
// miss): true for a telemetry topic the client may publish to. The topic
// is a string (mochi's packet) or the packet's bytes (claimConn), looked
// up without a copy.
func telemetryTopic[T string | []byte](s *session, topic T) (topicInfo, bool) {
	ti, ok := s.topics[string(topic)]
	if !ok {
		if ti, ok = s.learn(string(topic)); !ok {
			return topicInfo{}, false
		}
	}
	return ti, ti.allowed
}

// learn adds a telemetry topic to the session's cache: its twin and
// whether the client may publish there; false for other topics (ordinary
// pub/sub, not cached, so that a client's many topics cost no memory).
func (s *session) learn(topic string) (topicInfo, bool) {
	twin, ok := TwinOfTenantTopic(s.p.Tenant, topic)
	if !ok {
		return topicInfo{}, false
	}
	// The canonical copy of the id (unique): the maps that the samples
	// meet on the way (catalog, head) hold the same one, so their key
	// comparisons stop at the pointers.
	ti := topicInfo{topic: topic, twin: unique.Make(twin).Value(), allowed: permitted(s.p, topic, true), route: new(telemetry.Route)}
	if s.topics == nil || len(s.topics) >= maxTopics {
		s.topics = map[string]topicInfo{}
	}
	s.topics[topic] = ti
	return ti, true
}

// connClaimer claims a client's telemetry publishes from its connection
// (claimConn), before mochi reads them: the QoS 0 and 1 publishes, without
// MQTT 5 properties, to a telemetry topic the client may publish to, that
// mochi would accept. It runs on the client's read goroutine, like
// OnPacketRead, and shares its session's topic cache.
type connClaimer struct {
	h    *hook
	cl   *mqtt.Client
	sess *session
	v5   bool
}

func (c *connClaimer) claimPacket(pkt []byte, hdr int) bool {
	qos := pkt[0] >> 1 & 3
	if qos > 1 || uint32(len(pkt)-hdr+1) > c.h.b.cfg.MaxPacket {
		return false
	}
	v := pkt[hdr:]
	if len(v) < 2 {
		return false
	}
	n := int(v[0])<<8 | int(v[1])
	if len(v) < 2+n {
		return false
	}
	topic := v[2 : 2+n]
	v = v[2+n:]
	var id uint16
	if qos == 1 {
		if len(v) < 2 {
			return false
		}
		if id, v = uint16(v[0])<<8|uint16(v[1]), v[2:]; id == 0 {
			return false // mochi refuses it: [MQTT-2.2.1-3]
		}
	}
	if c.v5 {
		if len(v) == 0 || v[0] != 0 {
			return false // properties (an alias, say): mochi decodes them
		}
		v = v[1:]
	}
	ti, ok := telemetryTopic(c.sess, topic)
	if !ok {
		return false
	}
	c.h.queue(c.cl, c.sess, inbound{topic: ti.topic, twin: ti.twin, route: ti.route, payload: bytes.Clone(v), id: id, qos: qos, retain: pkt[0]&1 != 0})
	return true
}

func (c *connClaimer) counted(n, size int64) {
	info := c.h.b.srv.Info
	atomic.AddInt64(&info.PacketsReceived, n)
	atomic.AddInt64(&info.MessagesReceived, n)
	atomic.AddInt64(&info.BytesReceived, size)
}

// claimListener gives each accepted connection a claimConn.
// claimListener wraps accepted connections in a claimConn, each with a
// deadline for its CONNECT (mochi replaces it by the keepalive's once
// the client is connected), and closes those past MaxConnections at once.
type claimListener struct {
	net.Listener
	b *Broker
}

func (l claimListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if !l.b.openConn() {
			c.Close()
			continue
		}
		c.SetDeadline(time.Now().Add(l.b.cfg.ConnectTimeout))
		cc := newClaimConn(c)
		cc.onClose = l.b.closeConn
		return cc, nil
	}
}

// openConn counts a new connection, or refuses it past MaxConnections
// (logged at most every 10 s).
func (b *Broker) openConn() bool {
	if b.conns.Add(1) <= int64(b.cfg.MaxConnections) {
		return true
	}
	b.conns.Add(-1)
	b.hook.refusedConns.Add(1)
	if now := time.Now().UnixNano(); now-b.connWarned.Load() > int64(10*time.Second) {
		b.connWarned.Store(now)
		b.log.Warn("mqtt connection refused: the broker has its most connections open", "max", b.cfg.MaxConnections)
	}
	return false
}

func (b *Broker) closeConn() { b.conns.Add(-1) }

// stop ends the workers after they have drained their queues; called by
// Close.
func (h *hook) stop() {
	for _, q := range h.queues {
		q.stop()
	}
	h.wg.Wait()
}

// work stores a queue's messages in two stages, so that decoding and
// validating the messages queued since the last batch overlaps that
// batch's commit: this goroutine takes a batch, decodes it and hands its
// samples to the store (Ingester.IngestAsync), and passes it on; a second
// one waits for each batch to be durable, in order, and acknowledges it.
// Waiting for the commit before taking the next batch, as until session
// 14, kept a message queued for a whole commit cycle before it was even
// read.
func (h *hook) work(q *msgQueue) {
	defer h.wg.Done()
	dec := telemetry.NewDecoder(h.now)
	stored := make(chan *flight, maxInFlight)
	free := make(chan *flight, maxInFlight+1)
	for range maxInFlight + 1 {
		free <- &flight{}
	}
	acked := make(chan struct{})
	go func() {
		defer close(acked)
		ws := &worker{}
		for f := range stored {
			h.acknowledge(ws, f)
			free <- f
		}
	}()
	defer func() {
		close(stored)
		<-acked
	}()
	for {
		f := <-free
		var ok bool
		if f.batch, ok = q.take(f.batch); !ok {
			return
		}
		h.store(dec, f)
		stored <- f
	}
}

// maxInFlight bounds the batches a queue's worker has stored but not yet
// acknowledged.
const maxInFlight = 4

// flight is one batch on its way through a worker's two stages.
type flight struct {
	batch []inbound
	items []telemetry.Item
	// Per message: where its items start (and, at len(batch), where they
	// end), and its decoding error.
	start []int
	errs  []error
	pend  *telemetry.Pending // to wait for; nil: res and err are final
	res   telemetry.Result
	err   error // the store refused: no PUBACKs
}

// worker is what a queue's acknowledging stage keeps between batches.
type worker struct {
	w ackWriter
	// Per message of a batch: its rejected samples, whether it is
	// forwarded.
	rej [][]telemetry.Rejection
	ok  []bool
	// Whether a topic has subscribers, as of subscription generation gen.
	subs map[string]bool
	gen  uint64
}

// maxSubsCached bounds a worker's topic cache; past it, it starts again.
const maxSubsCached = 1 << 16

// ackWriter gathers a batch's PUBACKs per client, so that each client
// gets one write.
type ackWriter struct {
	order []*mqtt.Client
	bufs  map[*mqtt.Client]*bytes.Buffer
	free  []*bytes.Buffer
}

func (w *ackWriter) buf(cl *mqtt.Client) *bytes.Buffer {
	if b := w.bufs[cl]; b != nil {
		return b
	}
	if w.bufs == nil {
		w.bufs = map[*mqtt.Client]*bytes.Buffer{}
	}
	var b *bytes.Buffer
	if n := len(w.free); n > 0 {
		b, w.free = w.free[n-1], w.free[:n-1]
	} else {
		b = new(bytes.Buffer)
	}
	w.bufs[cl] = b
	w.order = append(w.order, cl)
	return b
}

func (w *ackWriter) flush(log *slog.Logger) {
	for _, cl := range w.order {
		b := w.bufs[cl]
		if err := writeRaw(cl, b.Bytes()); err != nil {
			log.Debug("write puback", "client", cl.ID, "err", err)
		}
		b.Reset()
		w.free = append(w.free, b)
	}
	clear(w.bufs)
	clear(w.order)
	w.order = w.order[:0]
}

// store decodes a batch of messages (of any of the queue's clients) and
// hands their samples to the store with one IngestAsync call.
func (h *hook) store(dec *telemetry.Decoder, f *flight) {
	items := f.items[:0]
	f.start = resize(f.start, len(f.batch)+1)
	f.errs = resize(f.errs, len(f.batch))
	f.pend, f.res, f.err = nil, telemetry.Result{}, nil
	for i, m := range f.batch {
		f.start[i] = len(items)
		var err error
		if items, err = decodeMessage(dec, items, m.twin, m.payload); err != nil {
			items, f.errs[i] = items[:f.start[i]], err
			continue
		}
		for j := f.start[i]; j < len(items); j++ {
			items[j].Index = j
			items[j].Sample.Tenant = m.tenant
			items[j].Route = m.route
		}
	}
	f.start[len(f.batch)] = len(items)
	f.items = items
	async, _ := h.b.cfg.Ingester.(asyncIngester)
	for len(items) > 0 {
		if async != nil {
			f.pend, f.err = async.IngestAsync(h.b.ctx, items)
		} else {
			f.res, f.err = h.b.cfg.Ingester.Ingest(h.b.ctx, items)
		}
		if !errors.Is(f.err, store.ErrBusy) {
			break
		}
		h.waits.Add(1) // the PUBACKs wait until the store has room
		select {
		case <-h.b.ctx.Done():
			f.err = h.b.ctx.Err()
			return
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// acknowledge waits until a stored batch is durable, then acknowledges its
// messages, reports their rejections and forwards them to subscribers.
func (h *hook) acknowledge(ws *worker, f *flight) {
	batch, start, errs, w := f.batch, f.start, f.errs, &ws.w
	rej := resize(ws.rej, len(batch))
	ok := resize(ws.ok, len(batch))
	defer func() {
		clear(errs)
		clear(rej)
		clear(f.items)
		clear(batch)
		ws.rej, ws.ok = rej, ok
		f.items, f.pend = f.items[:0], nil
	}()
	res, err := f.res, f.err
	if err == nil && f.pend != nil {
		res, err = f.pend.Wait(h.b.ctx)
	}
	if err != nil {
		// Not durable: no PUBACK, so the client resends after reconnecting.
		if h.b.ctx.Err() != nil {
			h.b.log.Debug("mqtt publish not acknowledged: shutting down", "err", err)
		} else {
			h.b.log.Error("mqtt ingest failed", "err", err)
		}
		return
	}
	h.samples.Add(int64(res.Accepted))
	// Rejections per message, by index range.
	mi := 0
	for _, e := range res.Errors {
		for mi < len(batch)-1 && e.Index >= start[mi+1] {
			mi++
		}
		e.Index -= start[mi]
		rej[mi] = append(rej[mi], e)
	}
	// The messages are forwarded to ordinary subscribers, then each
	// client's PUBACKs go out in one write (mochi writes each packet with a
	// syscall of its own). Forwarding first, as mochi does, means that a
	// subscription made after a PUBACK never gets that message.
	for i, m := range batch {
		n := start[i+1] - start[i]
		code := packets.CodeSuccess
		switch {
		case errs[i] != nil:
			h.rejected.Add(1)
			h.report(m.tenant, m.twin, errorReport{Topic: m.topic, PacketID: m.id, Error: errs[i].Error()})
			code = refusal(errs[i])
		case len(rej[i]) > 0:
			h.rejected.Add(int64(len(rej[i])))
			h.report(m.tenant, m.twin, errorReport{Topic: m.topic, PacketID: m.id, Accepted: n - len(rej[i]), Rejected: len(rej[i]), Errors: rej[i]})
			if len(rej[i]) == n {
				code = packets.ErrPayloadFormatInvalid
			}
		}
		if m.qos == 1 {
			if err := appendPuback(w.buf(m.cl), m.id, m.cl.Properties.ProtocolVersion, code); err != nil {
				h.b.log.Debug("encode puback", "client", m.cl.ID, "err", err)
			}
		}
		ok[i] = code == packets.CodeSuccess
	}
	if g := h.subGen.Load(); g != ws.gen || ws.subs == nil || len(ws.subs) >= maxSubsCached {
		ws.subs, ws.gen = map[string]bool{}, g
	}
	for i, m := range batch {
		if !ok[i] {
			continue
		}
		subscribed, known := ws.subs[m.topic]
		if !known {
			subscribed = h.subscribed(m.topic)
			ws.subs[m.topic] = subscribed
		}
		if m.retain || subscribed {
			// Forward to ordinary subscribers, as the broker would have.
			if err := h.b.srv.Publish(m.topic, m.payload, m.retain, m.qos); err != nil {
				h.b.log.Debug("forward telemetry", "err", err)
			}
		}
	}
	w.flush(h.b.log)
}

// appendPuback encodes a PUBACK for packet id. A successful one is the
// same four bytes in MQTT 3.1.1 and 5 (MQTT 5 leaves out a success reason
// code without properties), written here directly; an MQTT 5 refusal
// (0x99, payload format invalid, when nothing was stored) is encoded by
// mochi.
func appendPuback(b *bytes.Buffer, id uint16, version byte, code packets.Code) error {
	if version != 5 || code == packets.CodeSuccess {
		b.Write([]byte{packets.Puback << 4, 2, byte(id >> 8), byte(id)})
		return nil
	}
	ack := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Puback}, PacketID: id, ProtocolVersion: version, ReasonCode: code.Code}
	return ack.PubackEncode(b)
}

// resize returns s with length n, reusing its array when it is large
// enough; the elements are not cleared.
func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// subscribed tells whether anyone subscribes to a topic: a stored
// telemetry message goes through the broker only then, or when it is
// retained. Mostly nobody does, and a publish through mochi costs as much
// as the rest of the message's handling.
func (h *hook) subscribed(topic string) bool {
	subs := h.b.srv.Topics.Subscribers(topic)
	return len(subs.Subscriptions) > 0 || len(subs.Shared) > 0 || len(subs.InlineSubscriptions) > 0
}

// quietClosed lowers to debug the broker library's warnings about reads
// on connections that were closed (every connection open at shutdown
// logs one, with an empty message).
// It also logs mochi's warning for a message dropped from a full
// session at most once per quotaLogEvery (mochi logs every message; the
// drops are counted in Stats).
type quietClosed struct {
	slog.Handler
	lastQuota *atomic.Int64 // unix nanoseconds of the last quota warning
}

const quotaLogEvery = 10 * time.Second

func (h quietClosed) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelWarn && r.Message == "client store quota reached" {
		last, now := h.lastQuota.Load(), r.Time.UnixNano()
		if now-last < int64(quotaLogEvery) || !h.lastQuota.CompareAndSwap(last, now) {
			return nil
		}
		r.AddAttrs(slog.String("note", "a session for an absent or slow client is full; further drops are counted (tsingma_mqtt_queue_dropped_total) and logged at most every 10 s"))
	}
	if r.Level >= slog.LevelWarn {
		closed := false
		r.Attrs(func(a slog.Attr) bool {
			closed = a.Key == "error" && strings.Contains(a.Value.String(), "use of closed network connection")
			return !closed
		})
		if closed {
			if !h.Handler.Enabled(ctx, slog.LevelDebug) {
				return nil
			}
			r = slog.NewRecord(r.Time, slog.LevelDebug, r.Message, r.PC)
			r.AddAttrs(slog.String("note", "connection closed"))
		}
	}
	return h.Handler.Handle(ctx, r)
}

func (h quietClosed) WithAttrs(as []slog.Attr) slog.Handler {
	return quietClosed{h.Handler.WithAttrs(as), h.lastQuota}
}

func (h quietClosed) WithGroup(name string) slog.Handler {
	return quietClosed{h.Handler.WithGroup(name), h.lastQuota}
}

// writeRaw writes encoded packets to a client's connection under the
// client's lock, which mochi's own writes take too.
func writeRaw(cl *mqtt.Client, b []byte) error {
	if cl.Closed() {
		return mqtt.ErrConnectionClosed
	}
	if cl.Net.Conn == nil {
		return nil
	}
	cl.Lock()
	defer cl.Unlock()
	_, err := cl.Net.Conn.Write(b)
	return err
}

// publishSync stores a QoS 2 publish before mochi sends its PUBREC.
func (h *hook) publishSync(cl *mqtt.Client, tenant string, pk packets.Packet, twin string) (packets.Packet, error) {
	h.messages.Add(1)
	items, err := decodeMessage(telemetry.NewDecoder(h.now), nil, twin, pk.Payload)
	for i := range items {
		items[i].Sample.Tenant = tenant
	}
	if err != nil {
		h.rejected.Add(1)
		h.report(tenant, twin, errorReport{Topic: pk.TopicName, PacketID: pk.PacketID, Error: err.Error()})
		return refuseQoS2(cl, pk, refusal(err))
	}
	var res telemetry.Result
	for {
		res, err = h.b.cfg.Ingester.Ingest(h.b.ctx, items)
		if !errors.Is(err, store.ErrBusy) {
			break
		}
		h.waits.Add(1)
		select {
		case <-h.b.ctx.Done():
			return pk, packets.ErrRejectPacket
		case <-time.After(5 * time.Millisecond):
		}
	}
	if err != nil {
		return pk, packets.ErrRejectPacket
	}
	h.samples.Add(int64(res.Accepted))
	if res.Rejected > 0 {
		h.rejected.Add(int64(res.Rejected))
		h.report(tenant, twin, errorReport{Topic: pk.TopicName, PacketID: pk.PacketID, Accepted: res.Accepted, Rejected: res.Rejected, Errors: res.Errors})
		if res.Accepted == 0 {
			return refuseQoS2(cl, pk, packets.ErrPayloadFormatInvalid)
		}
	}
	return pk, nil
}

// refuseQoS2 answers a QoS 2 publish of which nothing was stored. An MQTT
// 5 client gets a PUBREC with the reason code, which ends the exchange;
// an MQTT 3.1.1 client, which has no reason codes, gets mochi's ordinary
// PUBREC, and the message is not forwarded (CodeSuccessIgnore). Given
// the code, mochi answered an MQTT 5 client with a PUBACK, a protocol
// error that dropped the connection, and forwarded the refused message to
// MQTT 3.1.1 subscribers (session 11).
func refuseQoS2(cl *mqtt.Client, pk packets.Packet, code packets.Code) (packets.Packet, error) {
	if cl.Properties.ProtocolVersion != 5 {
		return pk, packets.CodeSuccessIgnore
	}
	var b bytes.Buffer
	rec := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Pubrec}, PacketID: pk.PacketID, ProtocolVersion: 5, ReasonCode: code.Code}
	if err := rec.PubrecEncode(&b); err != nil {
		return pk, err
	}
	if err := writeRaw(cl, b.Bytes()); err != nil {
		return pk, err
	}
	return pk, packets.ErrRejectPacket
}

func (h *hook) report(tenant, twin string, r errorReport) {
	b, err := json.Marshal(r)
	if err != nil {
		return
	}
	if err := h.b.srv.Publish(Namespace(tenant)+twin+"/errors", b, false, 0); err != nil {
		h.b.log.Debug("publish error report", "err", err)
	}
}
