package broker

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"time"
)

// chunkConn is a net.Conn that reads a fixed stream in chunks of the
// given sizes (cycled), then io.EOF.
type chunkConn struct {
	net.Conn // nil: only Read and SetDeadline are used
	data     []byte
	chunks   []int
	next     int
}

func (c *chunkConn) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := min(len(p), len(c.data), c.chunks[c.next%len(c.chunks)])
	c.next++
	n = copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}

func (c *chunkConn) SetDeadline(time.Time) error { return nil }

// recordClaimer claims the publishes whose topic starts with "c" and
// records where in the stream that was: after how many bytes the reader
// had taken.
type recordClaimer struct {
	taken  *int // bytes the reader has taken so far
	claims []claimRecord
	counts int64
}

type claimRecord struct {
	at  int
	pkt []byte
}

func (r *recordClaimer) claimPacket(pkt []byte, hdr int) bool {
	if !claimable(pkt, hdr) {
		return false
	}
	r.claims = append(r.claims, claimRecord{at: *r.taken, pkt: bytes.Clone(pkt)})
	return true
}

func (r *recordClaimer) counted(n, _ int64) { r.counts += n }

func claimable(pkt []byte, hdr int) bool {
	return pkt[0]>>4 == publishType && len(pkt) >= hdr+3 && pkt[hdr+2] == 'c'
}

// packet encodes a packet of type typ with the given body, its topic
// starting with topicFirst for a publish.
func packet(typ byte, topicFirst byte, body int) []byte {
	var v []byte
	if typ == publishType {
		v = append(v, 0, 1, topicFirst)
	}
	v = append(v, bytes.Repeat([]byte{'x'}, body)...)
	p := []byte{typ<<4 | 2}
	n := len(v)
	for {
		b := byte(n & 127)
		n >>= 7
		if n > 0 {
			b |= 128
		}
		p = append(p, b)
		if n == 0 {
			break
		}
	}
	return append(p, v...)
}

// claimStream builds a stream from fuzz input: packets (publishes to
// claimed and unclaimed topics, other types, some larger than the
// claim buffer), possibly a malformed length at the end, the read sizes of
// the connection and the reader, and the reader's buffer size.
func claimStream(in []byte) (stream []byte, packets [][]byte, bad bool, chunks, reads []int, bufSize int) {
	next := func() int {
		if len(in) == 0 {
			return 0
		}
		b := in[0]
		in = in[1:]
		return int(b)
	}
	bufSize = 16 + next()*8
	for range 1 + next()%8 {
		chunks = append(chunks, 1+next()*next()%5000)
	}
	for range 1 + next()%8 {
		reads = append(reads, 1+next()*next()%3000)
	}
	for len(in) > 0 {
		kind := next()
		body := next() * (1 + next())
		switch {
		case kind%16 == 0:
			body = claimBufMax + next() // too large to claim
		case kind%16 == 1:
			bad = true
			stream = append(stream, 0x30, 0xff, 0xff, 0xff, 0xff, 0x7f, 'x', 'y')
		}
		if bad {
			break
		}
		typ, first := byte(publishType), byte('c')
		switch kind % 4 {
		case 1:
			first = 'o'
		case 2:
			typ = byte(1 + kind%13) // any other type (or a publish)
		}
		p := packet(typ, first, body)
		packets = append(packets, p)
		stream = append(stream, p...)
	}
	return stream, packets, bad, chunks, reads, bufSize
}

// checkClaims reads the stream through a claimConn (whose claimer claims
// from the start) with a bufio.Reader in front, as mochi does, and checks
// that the claimed packets and the bytes the reader got rebuild the
// stream, each claim at the place where the reader had taken everything
// before it; and that every claimable packet that fits the buffer was
// claimed, unless the stream went raw before it.
func checkClaims(t *testing.T, in []byte) {
	stream, pkts, bad, chunks, reads, bufSize := claimStream(in)
	checkClaimStream(t, stream, pkts, bad, chunks, reads, bufSize)
}

func checkClaimStream(t *testing.T, stream []byte, pkts [][]byte, bad bool, chunks, reads []int, bufSize int) {
	t.Helper()
	taken := 0
	rc := &recordClaimer{taken: &taken}
	c := newClaimConn(&chunkConn{data: stream, chunks: chunks})
	c.claim = rc
	br := bufio.NewReaderSize(c, bufSize)
	var got []byte
	for i := 0; ; i++ {
		p := make([]byte, reads[i%len(reads)])
		n, err := br.Read(p)
		got = append(got, p[:n]...)
		taken += n
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("read: %v", err)
		}
	}
	var rebuilt []byte
	prev := 0
	for _, cr := range rc.claims {
		if cr.at < prev || cr.at > len(got) {
			t.Fatalf("claim at %d after %d bytes passed (of %d)", cr.at, prev, len(got))
		}
		rebuilt = append(append(rebuilt, got[prev:cr.at]...), cr.pkt...)
		prev = cr.at
	}
	rebuilt = append(rebuilt, got[prev:]...)
	if !bytes.Equal(rebuilt, stream) {
		t.Fatalf("claims and passed bytes do not rebuild the stream (%d bytes, rebuilt %d, %d claims)", len(stream), len(rebuilt), len(rc.claims))
	}
	want := 0
	for _, p := range pkts {
		hdr, _, _ := frame(p)
		if claimable(p, hdr) && len(p) <= claimBufMax {
			want++
		}
	}
	if !bad && len(rc.claims) != want {
		t.Fatalf("%d packets claimed, want %d", len(rc.claims), want)
	}
	if int(rc.counts) > len(rc.claims) {
		t.Fatalf("counted %d claims, made %d", rc.counts, len(rc.claims))
	}
}

func TestClaimConn(t *testing.T) {
	for i, in := range [][]byte{
		nil,
		{0, 0, 0, 0, 0, 0, 0, 0, 0},
		{255, 7, 1, 2, 3, 4, 5, 6, 7, 8, 3, 9, 9, 9, 0, 0, 0, 1, 2, 3, 2, 50, 1, 3, 3, 3, 0, 10, 10},
		{1, 0, 1, 1, 0, 1, 4, 0, 0, 16, 3, 3, 5, 200, 200, 1, 3, 0, 2, 9, 9},
		bytes.Repeat([]byte{3, 5, 7, 11, 13, 17, 19, 23}, 40),
	} {
		t.Run(fmt.Sprint(i), func(t *testing.T) { checkClaims(t, in) })
	}
	// A packet passed on, then one to claim, in one read of the
	// connection and one read of the reader.
	pkts := [][]byte{packet(publishType, 'o', 5), packet(publishType, 'c', 5), packet(8, 0, 5), packet(publishType, 'c', 5)}
	checkClaimStream(t, bytes.Join(pkts, nil), pkts, false, []int{1000}, []int{100}, 16)
}

func FuzzClaimConn(f *testing.F) {
	f.Add([]byte{255, 7, 1, 2, 3, 4, 5, 6, 7, 8, 3, 9, 9, 9, 0, 0, 0, 1, 2, 3, 2, 50, 1, 3, 3, 3, 0, 10, 10})
	f.Add(bytes.Repeat([]byte{3, 5, 7, 11, 13, 17, 19, 23}, 40))
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) > 4096 {
			return
		}
		checkClaims(t, in)
	})
}

func TestFrame(t *testing.T) {
	for _, tc := range []struct {
		in        []byte
		hdr, rest int
		state     frameState
	}{
		{[]byte{0x30}, 0, 0, frameShort},
		{[]byte{0x30, 0}, 2, 0, frameOK},
		{[]byte{0x30, 127}, 2, 127, frameOK},
		{[]byte{0x30, 0x80, 1}, 3, 128, frameOK},
		{[]byte{0x30, 0x80, 0x80}, 0, 0, frameShort},
		{[]byte{0x30, 0xff, 0xff, 0xff, 0x7f}, 5, 268435455, frameOK},
		{[]byte{0x30, 0xff, 0xff, 0xff, 0xff}, 0, 0, frameBad},
		{[]byte{0x30, 0xff, 0xff, 0xff, 0xff, 0x01}, 0, 0, frameBad},
	} {
		hdr, rest, state := frame(tc.in)
		if hdr != tc.hdr || rest != tc.rest || state != tc.state {
			t.Errorf("frame(% x) = %d, %d, %d; want %d, %d, %d", tc.in, hdr, rest, state, tc.hdr, tc.rest, tc.state)
		}
	}
}

// TestClaimedKeepAlive: a client whose packets are all claimed (mochi
// reads none of them) stays connected past its keepalive timeout, as long
// as it keeps publishing; and its publishes are acknowledged.
func TestClaimedKeepAlive(t *testing.T) {
	addr, fi := startBroker(t)
	// Keepalive 1 s: mochi closes the connection after 1.5 s without a
	// packet.
	conn := rawConnect(t, addr, "keep", 1)
	var ack [4]byte
	topic := "tsingma/v1/twins/g1/telemetry"
	// Publishing QoS 1 every 200 ms for 3 s (twice the timeout): the
	// ticks are the point of the test, not a wait for a result.
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for i := 1; i <= 15; i++ {
		<-tick.C
		payload := fmt.Sprintf(`{"ts":%d,"values":{"rain":1}}`, i)
		body := append([]byte{0, byte(len(topic))}, topic...)
		body = append(body, 0, byte(i))
		body = append(body, payload...)
		if _, err := conn.Write(append([]byte{0x32, byte(len(body))}, body...)); err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
		if _, err := io.ReadFull(conn, ack[:]); err != nil || ack[0] != 0x40 || ack[3] != byte(i) {
			t.Fatalf("publish %d: got % x, %v; want its PUBACK", i, ack, err)
		}
	}
	if _, err := conn.Write([]byte{0xc0, 0}); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(conn, ack[:2]); err != nil || ack[0] != 0xd0 {
		t.Fatalf("pingreq after 3 s of claimed publishes: got % x, %v; want PINGRESP", ack[:2], err)
	}
	if fi.count() != 15 {
		t.Fatalf("stored %d samples, want 15", fi.count())
	}
}
