package ingest

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// mqttPhase publishes per-twin messages (Channels samples each) with QoS 1
// from many clients for d. All clients connect first and start together,
// so that the slice times publishing only. With rate 0 each client keeps
// Window messages in flight (peak load); with rate > 0 the messages go out
// on a fixed schedule (pacedLoad), for the latency at that load.
func (r *runner) mqttPhase(ctx context.Context, target, addr string, d time.Duration, rate float64) (float64, []time.Duration) {
	bg := r.background(target)
	topics := make([]string, r.cfg.Twins)
	for i := range topics {
		topics[i] = "tsingma/v1/twins/" + r.twinID(i) + "/telemetry"
	}
	user, password := "", ""
	if target == "tsingma" && r.token != "" { // none against a --no-auth server
		user, password = "bench", r.token
	}
	dialStart := time.Now()
	conns := make([]*publisher, 0, r.cfg.MQTTClients)
	for w := 0; w < r.cfg.MQTTClients; w++ {
		c, err := dialMQTT(addr, fmt.Sprintf("bench-%s-%d-%d", target, w, time.Now().UnixNano()), user, password)
		if err != nil {
			r.fail(fmt.Errorf("%s: %w", target, err))
			for _, c := range conns {
				c.close()
			}
			return 0, nil
		}
		conns = append(conns, c)
	}
	connected := time.Since(dialStart)
	res := &loadResult{}
	if rate > 0 {
		r.pacedLoad(ctx, conns, topics, d, rate, res)
	} else {
		r.peakLoad(ctx, conns, topics, d, res)
	}
	if res.err != nil {
		r.fail(fmt.Errorf("%s: %w", target, res.err))
	}
	s := float64(res.total.Load()) / d.Seconds()
	r.printf("  %s mqtt slice: samples_per_s=%.0f puback_p50_ms=%.2f puback_p99_ms=%.2f connect_ms=%.1f%s", target, s, ms(pct(res.lats, 0.5)), ms(pct(res.lats, 0.99)), ms(connected), bg())
	return s, res.lats
}

// loadResult gathers what the clients of a phase measured.
type loadResult struct {
	total atomic.Int64 // samples acknowledged
	mu    sync.Mutex
	lats  []time.Duration
	err   error // the first failure
}

func (res *loadResult) add(lats []time.Duration, err error) {
	res.mu.Lock()
	res.lats = append(res.lats, lats...)
	if res.err == nil {
		res.err = err
	}
	res.mu.Unlock()
}

// messages builds the bench's messages: twin i's next sample of every
// channel, values in a random walk.
type messages struct {
	r   *runner
	rng *rand.Rand
	b   []byte
}

func (r *runner) messages(seed int) *messages {
	return &messages{r: r, rng: rand.New(rand.NewPCG(uint64(seed), 13))}
}

// next returns a twin (of those that client w of n sends for) and the
// payload of its next message, valid until the next call.
func (m *messages) next(w, n int) (int, []byte) {
	r := m.r
	i := (w + n*m.rng.IntN(max(1, r.cfg.Twins/n))) % r.cfg.Twins
	ts := r.start + r.next(i, 1)*1000
	b := append(m.b[:0], `{"ts":`...)
	b = strconv.AppendInt(b, ts, 10)
	b = append(b, `,"values":{`...)
	for c := range r.cfg.Channels {
		v := r.step(m.rng, i, c)
		if c > 0 {
			b = append(b, ',')
		}
		b = append(b, `"c`...)
		b = strconv.AppendInt(b, int64(c), 10)
		b = append(b, `":`...)
		b = appendCents(b, v)
	}
	m.b = append(b, `}}`...)
	return i, m.b
}

// peakLoad runs one goroutine per client, each keeping Window publishes in
// flight until d has passed.
func (r *runner) peakLoad(ctx context.Context, conns []*publisher, topics []string, d time.Duration, res *loadResult) {
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for w, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.close()
			m := r.messages(w)
			var lats []time.Duration
			inflight := 0
			take := func() error {
				lat, err := c.ack()
				if err != nil {
					return err
				}
				inflight--
				lats = append(lats, lat)
				res.total.Add(int64(r.cfg.Channels))
				return nil
			}
			err := func() error {
				for time.Now().Before(deadline) && ctx.Err() == nil {
					i, b := m.next(w, len(conns))
					c.publish(topics[i], b)
					inflight++
					if inflight < r.cfg.Window {
						continue
					}
					if err := take(); err != nil {
						return err
					}
					// Take the PUBACKs that came with it, so that their
					// replacements go out in one write.
					for inflight > 0 && c.ackReady() {
						if err := take(); err != nil {
							return err
						}
					}
				}
				for inflight > 0 {
					if err := take(); err != nil {
						return err
					}
				}
				return nil
			}()
			res.add(lats, err)
		}()
	}
	wg.Wait()
}

// pacedLoad sends rate samples/s in all on a fixed schedule: each client's
// messages fall due at even intervals from a random phase, and each goes
// out when due, in a write of its own unless the client has more due (a
// sensor does not wait for its last reading's PUBACK before the next). A
// client with Window in flight holds its due messages until a PUBACK
// frees a place. One goroutine sends for all clients, waking when the
// next message is due; one goroutine per client reads its PUBACKs as
// they arrive, so that their latency is not that of a busy sender. The
// generator shares the machine with the broker it measures: sending from
// 64 goroutines, each asleep between its messages, cost about twice the
// CPU.
func (r *runner) pacedLoad(ctx context.Context, conns []*publisher, topics []string, d time.Duration, rate float64, res *loadResult) {
	n := len(conns)
	perClient := rate / float64(r.cfg.Channels) / float64(n) // messages/s
	interval := time.Duration(float64(time.Second) / perClient)
	start := time.Now()
	deadline := start.Add(d)
	type client struct {
		p        *publisher
		due      time.Time
		inflight atomic.Int32
	}
	m := r.messages(0)
	cs := make([]*client, n)
	var wg sync.WaitGroup
	var closing atomic.Bool
	for w, p := range conns {
		c := &client{p: p, due: start.Add(time.Duration(m.rng.Int64N(int64(interval))))}
		cs[w] = c
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lats []time.Duration
			for {
				lat, err := p.readAck()
				if err != nil {
					if closing.Load() {
						err = nil
					}
					res.add(lats, err)
					return
				}
				c.inflight.Add(-1)
				lats = append(lats, lat)
				res.total.Add(int64(r.cfg.Channels))
			}
		}()
	}
	window := int32(r.cfg.Window)
send:
	for ctx.Err() == nil {
		now := time.Now()
		if !now.Before(deadline) {
			break
		}
		wake := deadline
		for w, c := range cs {
			for !c.due.After(now) && c.inflight.Load() < window {
				i, b := m.next(w, n)
				c.p.publish(topics[i], b)
				c.inflight.Add(1)
				c.due = c.due.Add(interval)
			}
			if err := c.p.flush(); err != nil {
				res.add(nil, fmt.Errorf("mqtt publish: %w", err))
				break send
			}
			wake = minTime(wake, c.due)
		}
		// A client held by its window is looked at again shortly.
		time.Sleep(max(time.Until(wake), 50*time.Microsecond))
	}
	// Wait for the PUBACKs still due, then close (which ends the readers).
	for t0 := time.Now(); time.Since(t0) < 30*time.Second; time.Sleep(time.Millisecond) {
		left := int32(0)
		for _, c := range cs {
			left += c.inflight.Load()
		}
		if left == 0 {
			break
		}
	}
	closing.Store(true)
	for _, c := range cs {
		c.p.close()
	}
	wg.Wait()
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// publisher is the MQTT 3.1.1 load generator of the MQTT phases: one
// connection, QoS 1 publishes written to the socket, PUBACKs read back on
// the same goroutine. Publishes are queued and written when the publisher
// is about to wait for a PUBACK, so the replacements for the PUBACKs that
// arrived together go out in one write (their latency runs from that
// write). It replaces a full client library (paho ran
// five goroutines and channel hand-offs per connection, and in this
// benchmark it took about a third of the CPU of the process that also
// hosts tsingma's broker) so that the generator costs the brokers it
// measures as little as it can; the load is the same for every target.
type publisher struct {
	conn net.Conn
	r    *bufio.Reader
	out  []byte   // queued PUBLISH packets
	ids  []uint16 // their packet ids
	id   uint16
	sent [1 << 16]atomic.Int64 // send time (Unix ns) by packet id
}

// dialMQTT connects and completes the CONNECT/CONNACK exchange (clean
// session; user and password only when user is not empty).
func dialMQTT(addr, clientID, user, password string) (*publisher, error) {
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	p := &publisher{conn: conn, r: bufio.NewReaderSize(conn, 4096)}
	flags := byte(0x02) // clean session
	var pl []byte
	pl = appendMQTTString(pl, clientID)
	if user != "" {
		flags |= 0x80 | 0x40
		pl = appendMQTTString(pl, user)
		pl = appendMQTTString(pl, password)
	}
	vh := []byte{0, 4, 'M', 'Q', 'T', 'T', 4, flags, 0, 60} // level 4, keep-alive 60 s
	pk := appendRemaining([]byte{0x10}, len(vh)+len(pl))
	pk = append(append(pk, vh...), pl...)
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Write(pk); err != nil {
		conn.Close()
		return nil, fmt.Errorf("mqtt connect: %w", err)
	}
	var ack [4]byte
	if _, err := io.ReadFull(p.r, ack[:]); err != nil {
		conn.Close()
		return nil, fmt.Errorf("mqtt connack: %w", err)
	}
	if ack[0] != 0x20 || ack[3] != 0 {
		conn.Close()
		return nil, fmt.Errorf("mqtt connect refused: connack % x", ack)
	}
	conn.SetDeadline(time.Time{})
	return p, nil
}

// publish queues one QoS 1 PUBLISH.
func (p *publisher) publish(topic string, payload []byte) {
	p.id++
	if p.id == 0 {
		p.id = 1
	}
	b := appendRemaining(append(p.out, 0x32), 2+len(topic)+2+len(payload))
	b = appendMQTTString(b, topic)
	b = binary.BigEndian.AppendUint16(b, p.id)
	p.out = append(b, payload...)
	p.ids = append(p.ids, p.id)
}

// flush writes the queued publishes and stamps their send time.
func (p *publisher) flush() error {
	if len(p.out) == 0 {
		return nil
	}
	now := time.Now()
	for _, id := range p.ids {
		p.sent[id].Store(now.UnixNano())
	}
	p.conn.SetWriteDeadline(now.Add(30 * time.Second))
	_, err := p.conn.Write(p.out)
	p.out, p.ids = p.out[:0], p.ids[:0]
	return err
}

// ackReady reports whether a whole PUBACK can be read without waiting.
func (p *publisher) ackReady() bool { return p.r.Buffered() >= 4 }

// ack reads the next PUBACK and returns the latency of its publish. If it
// has to wait for one, it writes the queued publishes first.
func (p *publisher) ack() (time.Duration, error) {
	if !p.ackReady() {
		if err := p.flush(); err != nil {
			return 0, fmt.Errorf("mqtt publish: %w", err)
		}
		p.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	}
	return p.readAck()
}

// readAck reads the next PUBACK, waiting as long as it takes, and returns
// the latency of its publish.
func (p *publisher) readAck() (time.Duration, error) {
	var h [4]byte
	if _, err := io.ReadFull(p.r, h[:]); err != nil {
		return 0, fmt.Errorf("mqtt puback: %w", err)
	}
	if h[0] != 0x40 || h[1] != 2 {
		return 0, fmt.Errorf("mqtt: expected PUBACK, got % x", h)
	}
	t0 := p.sent[binary.BigEndian.Uint16(h[2:])].Swap(0)
	if t0 == 0 {
		return 0, errors.New("mqtt: PUBACK for a packet id not in flight")
	}
	return time.Since(time.Unix(0, t0)), nil
}

// close sends DISCONNECT and closes the connection.
func (p *publisher) close() {
	p.flush()
	p.conn.SetWriteDeadline(time.Now().Add(time.Second))
	p.conn.Write([]byte{0xE0, 0})
	p.conn.Close()
}

func appendMQTTString(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
	return append(b, s...)
}

// appendRemaining appends MQTT's variable-length remaining length.
func appendRemaining(b []byte, n int) []byte {
	for {
		c := byte(n % 128)
		n /= 128
		if n > 0 {
			c |= 0x80
		}
		b = append(b, c)
		if n == 0 {
			return b
		}
	}
}
