package broker

import (
	"io"
	"net"
	"sync"
	"time"
)

// A claimConn sits between a client's TCP connection and mochi's reader:
// it reads the client's bytes in large reads, finds the MQTT packet
// boundaries, and hands whole telemetry publishes straight to the hook's
// queue (the claimer), so that mochi never reads, allocates, decodes or
// runs its hooks for them; every other packet is passed on to mochi byte
// for byte, in order.
//
// Order is kept: a packet is claimed only at a boundary reached within a
// Read call that has given mochi nothing yet. Mochi reads through a
// bufio.Reader, which calls Read only when it has handed out everything it
// holds, and mochi handles each packet before it reads the next; so when a
// packet is claimed, every packet before it has been handled by mochi (or
// claimed), and a packet passed to mochi after it is handled after it.
//
// Until the claimer is set (when mochi has established the session, on
// the same goroutine that calls Read), and for packets that are too large,
// everything is passed on; after a malformed packet length the rest of the
// stream is passed on as it comes (raw), and mochi refuses it as before.
//
// A claimConn is used by one reader goroutine (mochi's, for the client),
// which also sets its deadlines; Write and Close pass through and may be
// called from any goroutine.
type claimConn struct {
	net.Conn
	claim claimer // nil: pass everything on

	buf  []byte // buf[r:w]: read from the connection, not yet given out
	r, w int
	owed int  // bytes of the packet being passed on, still to give
	raw  bool // framing lost: pass everything on as it comes
	// filled: the last read filled the buffer (the next empty buffer is
	// larger).
	filled bool

	// keep is how far ahead mochi last set the deadline (its keepalive
	// timeout, zero for none); while packets are claimed (mochi reads
	// nothing) the deadline is moved on as mochi would have moved it.
	keep, slack time.Duration
	moved       time.Time

	claimed, claimedBytes int64 // since the counters were last reported

	// onClose, if set, is called once when the connection is closed.
	onClose   func()
	closeOnce sync.Once
}

// Close closes the connection (and calls onClose, once).
func (c *claimConn) Close() error {
	err := c.Conn.Close()
	c.closeOnce.Do(func() {
		if c.onClose != nil {
			c.onClose()
		}
	})
	return err
}

// claimer takes a whole packet (pkt, whose fixed header is hdr bytes long)
// or declines it; it must not keep pkt, whose bytes are reused.
type claimer interface {
	claimPacket(pkt []byte, hdr int) bool
	// counted reports packets claimed and their bytes (mochi's counters
	// never see them), now and then.
	counted(packets, bytes int64)
}

const (
	claimBufMin = 4 << 10  // a connection's first read buffer
	claimBufMax = 64 << 10 // the buffer grows to this while reads fill it
	// maxLengthBytes is the longest remaining-length encoding read as a
	// frame (MQTT allows four bytes; mochi reads on while the value fits,
	// so a longer one makes the stream raw).
	maxLengthBytes = 4
)

func newClaimConn(c net.Conn) *claimConn { return &claimConn{Conn: c} }

// SetDeadline records how far ahead the deadline is set, then sets it.
func (c *claimConn) SetDeadline(t time.Time) error {
	c.keep, c.moved = 0, time.Time{}
	if !t.IsZero() {
		c.moved = time.Now()
		c.keep = t.Sub(c.moved)
		// Move the deadline on after a sixteenth of it has passed, so it
		// stays at least 15/16 of the keepalive timeout ahead of the last
		// packet.
		c.slack = c.keep / 16
	}
	return c.Conn.SetDeadline(t)
}

// Read gives mochi the next bytes of packets that are not claimed.
func (c *claimConn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		if c.owed > 0 || c.raw {
			if c.r == c.w {
				if err := c.fill(); err != nil {
					return 0, err
				}
				continue
			}
			avail := c.buf[c.r:c.w]
			if !c.raw && len(avail) > c.owed {
				avail = avail[:c.owed]
			}
			n := copy(p, avail)
			c.r += n
			if !c.raw {
				c.owed -= n
			}
			return n, nil
		}
		// At a packet boundary, and nothing given in this call.
		hdr, rest, state := frame(c.buf[c.r:c.w])
		switch state {
		case frameShort:
			if err := c.fill(); err != nil {
				return 0, err
			}
			continue
		case frameBad:
			c.raw = true
			continue
		}
		size := hdr + rest
		if c.claim != nil && c.buf[c.r]>>4 == publishType && size <= claimBufMax {
			if err := c.want(size); err != nil {
				return 0, err
			}
			if c.claim.claimPacket(c.buf[c.r:c.r+size], hdr) {
				c.r += size
				c.claimed++
				c.claimedBytes += int64(size)
				continue
			}
		}
		c.owed = size
	}
}

const publishType = 3

// frame reads a fixed header at the start of b: its length and the
// remaining length it gives.
func frame(b []byte) (hdr, rest int, state frameState) {
	if len(b) < 2 {
		return 0, 0, frameShort
	}
	for i := 1; i < len(b); i++ {
		if i > maxLengthBytes {
			return 0, 0, frameBad
		}
		rest |= int(b[i]&127) << (7 * (i - 1))
		if b[i]&128 == 0 {
			return i + 1, rest, frameOK
		}
	}
	if len(b) > maxLengthBytes {
		return 0, 0, frameBad
	}
	return 0, 0, frameShort
}

type frameState uint8

const (
	frameOK frameState = iota
	frameShort
	frameBad
)

// want reads until buf[r:] holds n bytes (n <= claimBufMax).
func (c *claimConn) want(n int) error {
	for c.w-c.r < n {
		if err := c.fill(); err != nil {
			return err
		}
	}
	return nil
}

// fill reads more of the connection into the buffer: at least one byte,
// or the read's error. It makes room first: it moves the unread bytes to
// the front, or grows the buffer when they fill it (want asks for at most
// claimBufMax). An empty buffer that the last read filled grows too, up to
// claimBufMax, so that a busy client is read in few system calls.
func (c *claimConn) fill() error {
	if c.claimed > 0 {
		// Packets were claimed since the last read: move the deadline on
		// before waiting for more, as mochi does before it reads a packet
		// (the bytes of a packet still coming move nothing, so a packet
		// trickled in too slowly times out as it would in mochi).
		if c.keep > 0 {
			if now := time.Now(); now.Sub(c.moved) > c.slack {
				c.moved = now
				_ = c.Conn.SetDeadline(now.Add(c.keep))
			}
		}
		c.claim.counted(c.claimed, c.claimedBytes)
		c.claimed, c.claimedBytes = 0, 0
	}
	if c.r == c.w {
		c.r, c.w = 0, 0
		if c.buf == nil || c.filled && len(c.buf) < claimBufMax {
			c.buf = make([]byte, min(max(2*len(c.buf), claimBufMin), claimBufMax))
		}
	}
	if c.w == len(c.buf) {
		if c.r > 0 {
			c.w = copy(c.buf, c.buf[c.r:c.w])
			c.r = 0
		} else {
			nb := make([]byte, 2*len(c.buf))
			c.w = copy(nb, c.buf[:c.w])
			c.buf = nb
		}
	}
	n, err := c.Conn.Read(c.buf[c.w:])
	c.filled = c.w+n == len(c.buf)
	c.w += n
	if n == 0 {
		if err == nil {
			err = io.ErrNoProgress
		}
		return err
	}
	// Data came; an error with it comes again on the next read.
	return nil
}
