// Package sio is a lean Engine.IO 4 / Socket.IO 5 client over one plain
// WebSocket, made for load generation: text packets only, several
// namespaces multiplexed on one connection (as socket.io-client does), one
// reader goroutine per connection, and no allocation per received packet
// (the handler sees a slice of a per-connection buffer that is reused).
package sio

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Handler is called by a connection's reader for every event packet
// ("42<nsp>,[...]") of a connected namespace. nsp is the index of the
// namespace in the Dial call; frame is the whole packet and is only valid
// during the call; now is the receive time in Unix nanoseconds.
type Handler func(c *Conn, nsp int, frame []byte, now int64)

// Conn is one Engine.IO connection carrying one Socket.IO socket per namespace.
type Conn struct {
	// ID is the caller's tag for the connection (e.g. a user index).
	ID int

	ws       *websocket.Conn
	nsps     []string
	prefixes [][]byte // "42<nsp>," per namespace, to route event packets
	handler  Handler

	// wmu serialises writes: the driver sends events while the reader
	// answers pings.
	wmu  sync.Mutex
	done chan struct{} // closed when the reader returns
	buf  []byte        // the reader's reusable packet buffer
}

// writePool lends write buffers only for the time of a write, so idle
// connections hold none (a load generator with 18,000 connections cares).
var writePool = &sync.Pool{}

var dialer = websocket.Dialer{
	NetDialContext:   (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
	HandshakeTimeout: 10 * time.Second,
	ReadBufferSize:   1024,
	WriteBufferSize:  1024,
	WriteBufferPool:  writePool,
}

// ConnectError is a namespace connection refused by the server ("44" packet).
type ConnectError struct {
	Namespace, Packet string
}

func (e *ConnectError) Error() string {
	return fmt.Sprintf("connect %s refused: %s", e.Namespace, e.Packet)
}

// Dial opens a WebSocket to base (http://host:port) and connects the
// namespaces in order, each with its auth object (JSON text, "" for none),
// waiting for each acknowledgement before sending the next (so a presence
// event emitted on the first namespace's connect reaches it). Events are
// passed to h from then on; h may be nil.
func Dial(ctx context.Context, base string, nsps []string, auths []string, h Handler) (*Conn, error) {
	u := "ws" + strings.TrimPrefix(base, "http") + "/socket.io/?EIO=4&transport=websocket"
	ws, _, err := dialer.DialContext(ctx, u, nil)
	if err != nil {
		return nil, fmt.Errorf("dial: %w", err)
	}
	c := &Conn{ws: ws, handler: h, nsps: nsps, done: make(chan struct{})}
	if dl, ok := ctx.Deadline(); ok {
		ws.SetReadDeadline(dl)
	}
	if err := c.handshake(nsps, auths); err != nil {
		ws.Close()
		return nil, err
	}
	ws.SetReadDeadline(time.Time{})
	go c.read()
	return c, nil
}

func (c *Conn) handshake(nsps, auths []string) error {
	_, open, err := c.ws.ReadMessage()
	if err != nil {
		return fmt.Errorf("engine.io open: %w", err)
	}
	if len(open) == 0 || open[0] != '0' {
		return fmt.Errorf("engine.io open: unexpected %q", open)
	}
	for i, nsp := range nsps {
		c.prefixes = append(c.prefixes, []byte("42"+nsp+","))
		if err := c.Write([]byte("40" + nsp + "," + auths[i])); err != nil {
			return err
		}
		ok, refused := []byte("40"+nsp+","), []byte("44"+nsp+",")
		for {
			_, p, err := c.ws.ReadMessage()
			if err != nil {
				return fmt.Errorf("connect %s: %w", nsp, err)
			}
			if bytes.Equal(p, []byte("2")) {
				if err := c.Write([]byte("3")); err != nil {
					return err
				}
				continue
			}
			if bytes.HasPrefix(p, ok) {
				break
			}
			if bytes.HasPrefix(p, refused) {
				return &ConnectError{Namespace: nsp, Packet: string(p[len(refused):])}
			}
			// An event of an earlier namespace during the handshake.
			for j := range i {
				if bytes.HasPrefix(p, c.prefixes[j]) && c.handler != nil {
					c.handler(c, j, p, time.Now().UnixNano())
				}
			}
		}
	}
	return nil
}

// read owns the connection's reads until it fails; Close makes it fail.
func (c *Conn) read() {
	defer close(c.done)
	for {
		_, r, err := c.ws.NextReader()
		if err != nil {
			return
		}
		c.buf = c.buf[:0]
		for {
			if len(c.buf) == cap(c.buf) {
				c.buf = append(c.buf, 0)[:len(c.buf)]
			}
			n, err := r.Read(c.buf[len(c.buf):cap(c.buf)])
			c.buf = c.buf[:len(c.buf)+n]
			if err == io.EOF {
				break
			}
			if err != nil {
				return
			}
		}
		now := time.Now().UnixNano()
		p := c.buf
		if len(p) == 1 && p[0] == '2' {
			c.Write(pong)
			continue
		}
		if c.handler == nil || len(p) < 2 || p[0] != '4' || p[1] != '2' {
			continue
		}
		for i, pre := range c.prefixes {
			if bytes.HasPrefix(p, pre) {
				c.handler(c, i, p, now)
				break
			}
		}
	}
}

var pong = []byte("3")

// Write sends one text packet. It is safe for concurrent use.
func (c *Conn) Write(p []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return c.ws.WriteMessage(websocket.TextMessage, p)
}

// Close closes the WebSocket (with a close frame, as a browser leaving a
// page does) and waits for the reader to stop.
func (c *Conn) Close() {
	c.wmu.Lock()
	c.ws.WriteControl(websocket.CloseMessage,
		websocket.FormatCloseMessage(websocket.CloseGoingAway, ""), time.Now().Add(time.Second))
	c.wmu.Unlock()
	c.ws.Close()
	<-c.done
}

// Done is closed when the connection has ended.
func (c *Conn) Done() <-chan struct{} { return c.done }

// EventIs reports whether the event packet frame, of namespace prefix
// length n ("42<nsp>,"), names event. It does not allocate.
func EventIs(frame []byte, prefixLen int, event string) bool {
	p := frame[prefixLen:]
	// ["event", or ["event"]
	if len(p) < len(event)+3 || p[0] != '[' || p[1] != '"' {
		return false
	}
	return string(p[2:2+len(event)]) == event && p[2+len(event)] == '"'
}

// EventName returns the event name of an event packet (a slice of frame)
// given its namespace prefix length.
func EventName(frame []byte, prefixLen int) []byte {
	p := frame[prefixLen:]
	if len(p) < 3 || p[0] != '[' || p[1] != '"' {
		return nil
	}
	end := bytes.IndexByte(p[2:], '"')
	if end < 0 {
		return nil
	}
	return p[2 : 2+end]
}

// Namespace returns the name of namespace i.
func (c *Conn) Namespace(i int) string { return c.nsps[i] }

// PrefixLen returns the length of the event prefix of namespace i.
func (c *Conn) PrefixLen(i int) int { return len(c.prefixes[i]) }
