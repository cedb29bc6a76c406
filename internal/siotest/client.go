// Package siotest is a minimal Socket.IO v5 / Engine.IO v4 client over a
// plain WebSocket, for Go tests of the gateways. One client speaks to one
// namespace.
package siotest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Event is one event received from the server.
type Event struct {
	Name string
	Args []json.RawMessage
}

// Client is a connected socket of one namespace.
type Client struct {
	nsp    string
	conn   *websocket.Conn
	SID    string
	events chan Event
	done   chan struct{} // closed when the reader stops

	wmu   sync.Mutex // serialises writes on conn
	ackID int
	acks  map[int]chan []json.RawMessage
	amu   sync.Mutex // guards ackID and acks
}

// ConnectError is the server's refusal of a namespace connection.
type ConnectError struct{ Message string }

func (e *ConnectError) Error() string { return "connect_error: " + e.Message }

// Dial opens a WebSocket to baseURL (http://host:port) and connects to nsp
// with auth (nil for none). header is sent with the upgrade request.
func Dial(ctx context.Context, baseURL, nsp string, auth any, header http.Header) (*Client, error) {
	u := "ws" + strings.TrimPrefix(baseURL, "http") + "/socket.io/?EIO=4&transport=websocket"
	conn, _, err := websocket.DefaultDialer.DialContext(ctx, u, header)
	if err != nil {
		return nil, fmt.Errorf("dial: %w", err)
	}
	c := &Client{nsp: nsp, conn: conn, events: make(chan Event, 256), done: make(chan struct{}), acks: map[int]chan []json.RawMessage{}}
	if dl, ok := ctx.Deadline(); ok {
		conn.SetReadDeadline(dl)
	}
	_, open, err := conn.ReadMessage()
	if err != nil || len(open) == 0 || open[0] != '0' {
		conn.Close()
		return nil, fmt.Errorf("engine.io open: %q %v", open, err)
	}
	pkt := "40" + nsp + ","
	if auth != nil {
		b, err := json.Marshal(auth)
		if err != nil {
			conn.Close()
			return nil, err
		}
		pkt += string(b)
	}
	if err := c.write(pkt); err != nil {
		conn.Close()
		return nil, err
	}
	for {
		_, msg, err := conn.ReadMessage()
		if err != nil {
			conn.Close()
			return nil, fmt.Errorf("connect %s: %w", nsp, err)
		}
		s := string(msg)
		if s == "2" {
			c.write("3")
			continue
		}
		prefix40, prefix44 := "40"+nsp+",", "44"+nsp+","
		switch {
		case strings.HasPrefix(s, prefix40):
			var ok struct{ SID string }
			json.Unmarshal([]byte(s[len(prefix40):]), &ok)
			c.SID = ok.SID
			conn.SetReadDeadline(time.Time{})
			go c.read()
			return c, nil
		case strings.HasPrefix(s, prefix44):
			var e struct{ Message string }
			json.Unmarshal([]byte(s[len(prefix44):]), &e)
			conn.Close()
			return nil, &ConnectError{Message: e.Message}
		}
	}
}

func (c *Client) write(s string) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.conn.WriteMessage(websocket.TextMessage, []byte(s))
}

// read owns the connection's reads until it fails (Close makes it fail).
func (c *Client) read() {
	defer close(c.done)
	defer close(c.events)
	prefix42, prefix43 := "42"+c.nsp+",", "43"+c.nsp+","
	for {
		_, msg, err := c.conn.ReadMessage()
		if err != nil {
			return
		}
		s := string(msg)
		switch {
		case s == "2":
			c.write("3")
		case strings.HasPrefix(s, prefix42):
			var args []json.RawMessage
			if json.Unmarshal([]byte(s[len(prefix42):]), &args) != nil || len(args) == 0 {
				continue
			}
			var name string
			json.Unmarshal(args[0], &name)
			c.events <- Event{Name: name, Args: args[1:]}
		case strings.HasPrefix(s, prefix43):
			rest := s[len(prefix43):]
			i := strings.IndexByte(rest, '[')
			if i <= 0 {
				continue
			}
			id, _ := strconv.Atoi(rest[:i])
			var args []json.RawMessage
			json.Unmarshal([]byte(rest[i:]), &args)
			c.amu.Lock()
			ch := c.acks[id]
			delete(c.acks, id)
			c.amu.Unlock()
			if ch != nil {
				ch <- args
			}
		}
	}
}

// Emit sends an event with the given arguments.
func (c *Client) Emit(event string, args ...any) error {
	b, err := json.Marshal(append([]any{event}, args...))
	if err != nil {
		return err
	}
	return c.write("42" + c.nsp + "," + string(b))
}

// EmitWithAck sends an event asking for an acknowledgement and waits for it.
func (c *Client) EmitWithAck(timeout time.Duration, event string, args ...any) ([]json.RawMessage, error) {
	b, err := json.Marshal(append([]any{event}, args...))
	if err != nil {
		return nil, err
	}
	ch := make(chan []json.RawMessage, 1)
	c.amu.Lock()
	c.ackID++
	id := c.ackID
	c.acks[id] = ch
	c.amu.Unlock()
	if err := c.write("42" + c.nsp + "," + strconv.Itoa(id) + string(b)); err != nil {
		return nil, err
	}
	select {
	case a := <-ch:
		return a, nil
	case <-time.After(timeout):
		return nil, errors.New("ack timeout")
	}
}

// EmitRaw sends a raw Engine.IO text frame, for malformed-input tests.
func (c *Client) EmitRaw(frame string) error { return c.write(frame) }

// Next returns the next event, or an error after timeout or when the
// connection is gone.
func (c *Client) Next(timeout time.Duration) (Event, error) {
	select {
	case ev, ok := <-c.events:
		if !ok {
			return Event{}, errors.New("connection closed")
		}
		return ev, nil
	case <-time.After(timeout):
		return Event{}, errors.New("timeout")
	}
}

// Closed is closed when the connection has ended.
func (c *Client) Closed() <-chan struct{} { return c.done }

// Close ends the connection and waits for the reader to stop.
func (c *Client) Close() {
	c.conn.Close()
	<-c.done
}
