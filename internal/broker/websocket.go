package broker

import (
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// wsUpgrader accepts MQTT over WebSocket (subprotocol "mqtt", binary
// frames). Any origin may connect: a client is authenticated by its
// CONNECT's token, never by cookies, so a page of another site gains
// nothing a script could not do itself.
var wsUpgrader = websocket.Upgrader{
	Subprotocols: []string{"mqtt"},
	CheckOrigin:  func(*http.Request) bool { return true },
}

// ServeWebSocket serves MQTT over a WebSocket on an HTTP request (for
// browser clients such as MQTT.js), on the HTTP server's port and TLS.
// It returns when the client disconnects.
func (b *Broker) ServeWebSocket(w http.ResponseWriter, r *http.Request) {
	if !b.openConn() {
		http.Error(w, "the MQTT broker has its most connections open", http.StatusServiceUnavailable)
		return
	}
	defer b.closeConn()
	ws, err := wsUpgrader.Upgrade(w, r, nil) // answers the failure itself
	if err != nil {
		return
	}
	c := &wsConn{ws: ws}
	if !b.trackWS(c) {
		c.Close()
		return
	}
	defer b.untrackWS(c)
	c.SetDeadline(time.Now().Add(b.cfg.ConnectTimeout)) // the CONNECT's deadline, as on TCP
	if err := b.srv.EstablishConnection("ws", c); err != nil && !errors.Is(err, io.EOF) {
		b.log.Debug("mqtt over websocket ended", "remote", r.RemoteAddr, "err", err)
	}
}

// trackWS records an open WebSocket connection, so that Close ends it
// (mochi closes the clients of the listeners it knows, and this one is
// not a listener); false once the broker is closing.
func (b *Broker) trackWS(c *wsConn) bool {
	b.wsMu.Lock()
	defer b.wsMu.Unlock()
	if b.wsClosed {
		return false
	}
	if b.ws == nil {
		b.ws = map[*wsConn]struct{}{}
	}
	b.ws[c] = struct{}{}
	return true
}

func (b *Broker) untrackWS(c *wsConn) {
	b.wsMu.Lock()
	delete(b.ws, c)
	b.wsMu.Unlock()
	c.Close()
}

// closeWS ends every WebSocket connection; none is accepted after.
func (b *Broker) closeWS() {
	b.wsMu.Lock()
	b.wsClosed = true
	conns := make([]*wsConn, 0, len(b.ws))
	for c := range b.ws {
		conns = append(conns, c)
	}
	b.wsMu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}

// wsConn is a WebSocket connection as the net.Conn mochi reads MQTT
// from: the binary messages' bytes as one stream. Writes are serialised
// (a WebSocket takes one writer at a time; mochi's writer and the PUBACK
// writer both write).
type wsConn struct {
	ws  *websocket.Conn
	r   io.Reader // the message being read
	wmu sync.Mutex
}

func (c *wsConn) Read(p []byte) (int, error) {
	for {
		if c.r == nil {
			mt, r, err := c.ws.NextReader()
			if err != nil {
				return 0, err
			}
			if mt != websocket.BinaryMessage {
				return 0, errors.New("mqtt over websocket: a text message (MQTT needs binary frames)")
			}
			c.r = r
		}
		n, err := c.r.Read(p)
		if errors.Is(err, io.EOF) {
			c.r = nil
			if n > 0 {
				return n, nil
			}
			continue
		}
		return n, err
	}
}

func (c *wsConn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.ws.WriteMessage(websocket.BinaryMessage, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (c *wsConn) Close() error                       { return c.ws.Close() }
func (c *wsConn) LocalAddr() net.Addr                { return c.ws.LocalAddr() }
func (c *wsConn) RemoteAddr() net.Addr               { return c.ws.RemoteAddr() }
func (c *wsConn) SetDeadline(t time.Time) error      { return c.ws.NetConn().SetDeadline(t) }
func (c *wsConn) SetReadDeadline(t time.Time) error  { return c.ws.SetReadDeadline(t) }
func (c *wsConn) SetWriteDeadline(t time.Time) error { return c.ws.SetWriteDeadline(t) }
