package ingest

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

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
	sent [1 << 16]time.Time // send time by packet id
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
		p.sent[id] = now
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
	var h [4]byte
	if _, err := io.ReadFull(p.r, h[:]); err != nil {
		return 0, fmt.Errorf("mqtt puback: %w", err)
	}
	if h[0] != 0x40 || h[1] != 2 {
		return 0, fmt.Errorf("mqtt: expected PUBACK, got % x", h)
	}
	id := binary.BigEndian.Uint16(h[2:])
	t0 := p.sent[id]
	if t0.IsZero() {
		return 0, errors.New("mqtt: PUBACK for a packet id not in flight")
	}
	p.sent[id] = time.Time{}
	return time.Since(t0), nil
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
