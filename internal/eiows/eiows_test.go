package eiows_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/zishang520/socket.io/servers/socket/v3"
	"github.com/zishang520/socket.io/v3/pkg/types"
	"go.uber.org/goleak"

	"github.com/onlinenow/onlinenow/internal/eiows"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const (
	wait          = 3 * time.Second
	allowedOrigin = "http://allowed.test"
)

// server is a Socket.IO server on an httptest server with our transport in
// place of the library's WebSocket transport.
type server struct {
	io   *socket.Server
	http *httptest.Server

	gone chan string // disconnect reasons, in order
}

// newServer starts a server whose sockets echo "echo" and disconnect on
// "bye"; tune changes the options before the server is built.
func newServer(t *testing.T, tune func(*socket.ServerOptions)) *server {
	t.Helper()
	opts := socket.DefaultServerOptions()
	opts.SetServeClient(false)
	opts.SetMaxHttpBufferSize(1_000_000)
	opts.SetCors(&types.Cors{Origin: []string{allowedOrigin}, Credentials: true})
	opts.SetTransports(types.NewSet[socket.TransportCtor](socket.Polling, eiows.NewBuilder()))
	if tune != nil {
		tune(opts)
	}
	s := &server{io: socket.NewServer(nil, opts), gone: make(chan string, 64)}
	s.io.On("connection", func(args ...any) {
		sock := args[0].(*socket.Socket)
		sock.On("echo", func(a ...any) { sock.Emit("echo", a...) })
		sock.On("size", func(a ...any) {
			str, _ := a[0].(string)
			sock.Emit("size", len(str))
		})
		sock.On("bye", func(...any) { sock.Disconnect(true) })
		sock.On("disconnect", func(a ...any) {
			reason, _ := a[0].(string)
			s.gone <- reason
		})
		sock.Emit("hello")
	})
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", s.io.ServeHandler(nil))
	s.http = httptest.NewServer(mux)
	t.Cleanup(func() {
		s.io.Close(nil)
		s.http.Close()
	})
	return s
}

func (s *server) wsURL(query string) string {
	return "ws" + strings.TrimPrefix(s.http.URL, "http") + "/socket.io/?EIO=4&transport=websocket" + query
}

// disconnected waits for the next server-side disconnect and returns its reason.
func (s *server) disconnected(t *testing.T) string {
	t.Helper()
	select {
	case r := <-s.gone:
		return r
	case <-time.After(wait):
		t.Fatal("no disconnect on the server")
		return ""
	}
}

// client is a raw Engine.IO v4 client over one WebSocket.
type client struct {
	t    *testing.T
	conn *websocket.Conn
}

func dial(t *testing.T, url string, header http.Header) *client {
	t.Helper()
	conn, resp, err := websocket.DefaultDialer.Dial(url, header)
	if err != nil {
		t.Fatalf("dial: %v (response %v)", err, resp)
	}
	c := &client{t: t, conn: conn}
	t.Cleanup(func() { conn.Close() })
	return c
}

func (c *client) send(s string) {
	c.t.Helper()
	if err := c.conn.WriteMessage(websocket.TextMessage, []byte(s)); err != nil {
		c.t.Fatalf("send %q: %v", s, err)
	}
}

// next returns the next message, answering the server's pings.
func (c *client) next() (int, []byte, error) {
	for {
		c.conn.SetReadDeadline(time.Now().Add(wait))
		mt, msg, err := c.conn.ReadMessage()
		if err == nil && mt == websocket.TextMessage && string(msg) == "2" {
			c.send("3")
			continue
		}
		return mt, msg, err
	}
}

func (c *client) expectText(want string) {
	c.t.Helper()
	mt, msg, err := c.next()
	if err != nil || mt != websocket.TextMessage || string(msg) != want {
		c.t.Fatalf("got %d %q %v, want text %q", mt, msg, err, want)
	}
}

// open reads the Engine.IO OPEN packet.
func (c *client) open() (sid string, upgrades []string, maxPayload int) {
	c.t.Helper()
	mt, msg, err := c.next()
	if err != nil || mt != websocket.TextMessage || len(msg) == 0 || msg[0] != '0' {
		c.t.Fatalf("open: %d %q %v", mt, msg, err)
	}
	var o struct {
		SID        string
		Upgrades   []string
		MaxPayload int
	}
	if err := json.Unmarshal(msg[1:], &o); err != nil {
		c.t.Fatalf("open %q: %v", msg, err)
	}
	return o.SID, o.Upgrades, o.MaxPayload
}

// connect opens the Engine.IO session and the main namespace, and waits
// for the server's "hello", so that the server's handlers are in place. (The
// library sends CONNECT before it registers the namespace socket, so an
// event sent right after CONNECT can find no socket and close the session.)
func (c *client) connect() {
	c.t.Helper()
	c.open()
	c.send("40")
	_, msg, err := c.next()
	if err != nil || !strings.HasPrefix(string(msg), `40{"sid":`) {
		c.t.Fatalf("connect: %q %v", msg, err)
	}
	c.expectText(`42["hello"]`)
}

func TestFraming(t *testing.T) {
	s := newServer(t, nil)
	c := dial(t, s.wsURL(""), nil)
	_, upgrades, maxPayload := c.open()
	if len(upgrades) != 0 || maxPayload != 1_000_000 {
		t.Fatalf("open: upgrades %v, maxPayload %d", upgrades, maxPayload)
	}
	c.send("40")
	if _, msg, _ := c.next(); !strings.HasPrefix(string(msg), `40{"sid":`) {
		t.Fatalf("connect: %q", msg)
	}
	c.expectText(`42["hello"]`)

	t.Run("text", func(t *testing.T) {
		c.t = t
		c.send(`42["echo","héllo",{"a":1}]`)
		c.expectText(`42["echo","héllo",{"a":1}]`)
	})
	t.Run("binary", func(t *testing.T) {
		c.t = t
		c.send(`451-["echo",{"_placeholder":true,"num":0}]`)
		if err := c.conn.WriteMessage(websocket.BinaryMessage, []byte{1, 2, 3}); err != nil {
			t.Fatal(err)
		}
		c.expectText(`451-["echo",{"_placeholder":true,"num":0}]`)
		mt, msg, err := c.next()
		if err != nil || mt != websocket.BinaryMessage || !bytes.Equal(msg, []byte{1, 2, 3}) {
			t.Fatalf("attachment: %d %v %v", mt, msg, err)
		}
	})
	t.Run("broadcast", func(t *testing.T) {
		c.t = t
		other := dial(t, s.wsURL(""), nil)
		other.connect()
		s.io.Emit("news", "x", 1)
		c.expectText(`42["news","x",1]`)
		other.expectText(`42["news","x",1]`)
	})
	t.Run("lengths", func(t *testing.T) {
		c.t = t
		// Frame payloads around the 7-bit, 16-bit and 64-bit length
		// encodings and the copy/writev boundary.
		const overhead = len(`42["echo",""]`)
		for _, n := range []int{125, 126, 127, 16 << 10, 16<<10 + 1, 65535, 65536, 300_000} {
			msg := `42["echo","` + strings.Repeat("z", n-overhead) + `"]`
			c.send(msg)
			c.expectText(msg)
		}
	})
	t.Run("websocket ping", func(t *testing.T) {
		c.t = t
		pong := make(chan string, 1)
		c.conn.SetPongHandler(func(data string) error { pong <- data; return nil })
		if err := c.conn.WriteControl(websocket.PingMessage, []byte("p1"), time.Now().Add(wait)); err != nil {
			t.Fatal(err)
		}
		c.send(`42["echo","after ping"]`)
		c.expectText(`42["echo","after ping"]`) // the pong is read on the way
		select {
		case data := <-pong:
			if data != "p1" {
				t.Fatalf("pong %q", data)
			}
		default:
			t.Fatal("no pong")
		}
		// Answering it must not leave a write deadline behind.
		time.Sleep(1100 * time.Millisecond)
		c.send(`42["echo","later"]`)
		c.expectText(`42["echo","later"]`)
	})
	t.Run("burst held back and flushed", func(t *testing.T) {
		c.t = t
		// Emits faster than the writer drains: the engine holds packets
		// while the transport is not writable and must get them all out.
		const n = 3000
		go func() {
			for i := range n {
				s.io.Emit("n", i)
			}
		}()
		for i := range n {
			c.expectText(fmt.Sprintf(`42["n",%d]`, i))
		}
	})
	t.Run("many in order", func(t *testing.T) {
		c.t = t
		for i := range 200 {
			c.send(fmt.Sprintf(`42["echo",%d]`, i))
		}
		for i := range 200 {
			c.expectText(fmt.Sprintf(`42["echo",%d]`, i))
		}
	})
}

func TestPingPong(t *testing.T) {
	s := newServer(t, func(o *socket.ServerOptions) {
		o.SetPingInterval(100 * time.Millisecond)
		o.SetPingTimeout(200 * time.Millisecond)
	})
	c := dial(t, s.wsURL(""), nil)
	c.connect()
	for range 3 { // answered pings keep the session
		c.conn.SetReadDeadline(time.Now().Add(wait))
		if _, msg, err := c.conn.ReadMessage(); err != nil || string(msg) != "2" {
			t.Fatalf("ping: %q %v", msg, err)
		}
		c.send("3")
	}
	// Unanswered, the session ends with a ping timeout and the connection closes.
	if r := s.disconnected(t); r != "ping timeout" {
		t.Fatalf("reason %q, want ping timeout", r)
	}
	c.conn.SetReadDeadline(time.Now().Add(wait))
	for {
		if _, _, err := c.conn.ReadMessage(); err != nil {
			var ne interface{ Timeout() bool }
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatal("the server did not close the connection")
			}
			return
		}
	}
}

func TestUpgradeFromPolling(t *testing.T) {
	s := newServer(t, nil)
	up := make(chan string, 1)
	s.io.On("connection", func(args ...any) {
		sock := args[0].(*socket.Socket)
		sock.On("transport?", func(...any) { up <- sock.Conn().Transport().Name() })
	})
	sid, poll := s.pollConnect(t)

	// A poll is pending during the upgrade, as with a real client; the
	// server ends it with a noop once the probe is answered.
	pending := make(chan string, 1)
	go func() { pending <- httpDo(t, http.MethodGet, poll, "") }()

	c := dial(t, s.wsURL("&sid="+sid), nil)
	c.send("2probe")
	c.expectText("3probe")
	select {
	case r := <-pending:
		if r != "6" {
			t.Fatalf("pending poll got %q, want noop", r)
		}
	case <-time.After(wait):
		t.Fatal("pending poll not released")
	}
	c.send("5")
	c.send(`42["transport?"]`)
	select {
	case name := <-up:
		if name != "websocket" {
			t.Fatalf("transport after upgrade: %q", name)
		}
	case <-time.After(wait):
		t.Fatal("no event after upgrade")
	}
	c.send(`42["echo","upgraded"]`)
	c.expectText(`42["echo","upgraded"]`)
}

// pollConnect opens an Engine.IO session by polling (checking that it
// offers the upgrade to websocket), connects the main namespace and polls
// until the server's "hello"; it returns the session id and the polling URL.
func (s *server) pollConnect(t *testing.T) (sid, poll string) {
	t.Helper()
	poll = s.http.URL + "/socket.io/?EIO=4&transport=polling"
	body := httpDo(t, http.MethodGet, poll, "")
	var o struct {
		SID      string
		Upgrades []string
	}
	if !strings.HasPrefix(body, "0") || json.Unmarshal([]byte(body[1:]), &o) != nil {
		t.Fatalf("polling open: %q", body)
	}
	if len(o.Upgrades) != 1 || o.Upgrades[0] != "websocket" {
		t.Fatalf("upgrades %v", o.Upgrades)
	}
	poll += "&sid=" + o.SID
	if r := httpDo(t, http.MethodPost, poll, "40"); r != "ok" {
		t.Fatalf("post: %q", r)
	}
	got := ""
	for !strings.Contains(got, `42["hello"]`) {
		r := httpDo(t, http.MethodGet, poll, "")
		if r == "" {
			t.Fatalf("poll after %q failed", got)
		}
		got += r + "\x1e"
	}
	if !strings.HasPrefix(got, `40{"sid":`) {
		t.Fatalf("polled %q", got)
	}
	return o.SID, poll
}

func httpDo(t *testing.T, method, url, body string) string {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Error(err)
		return ""
	}
	req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// A client that never reads fills its TCP buffers; broadcasts must neither
// wait for it nor delay the other clients.
func TestSlowReaderDoesNotBlockOthers(t *testing.T) {
	s := newServer(t, nil)
	slow := dial(t, s.wsURL(""), nil)
	slow.connect()
	const fastN, msgs = 3, 150
	fast := make([]*client, fastN)
	for i := range fast {
		fast[i] = dial(t, s.wsURL(""), nil)
		fast[i].connect()
	}
	payload := strings.Repeat("x", 128<<10) // 150 × 128 KiB ≫ a loopback socket's buffers

	start := time.Now()
	for i := range msgs {
		s.io.Emit("big", i, payload)
	}
	if d := time.Since(start); d > wait {
		t.Fatalf("broadcasting took %v", d)
	}
	var wg sync.WaitGroup
	errs := make(chan error, fastN)
	for _, c := range fast {
		wg.Go(func() {
			for i := range msgs {
				_, msg, err := c.next()
				want := fmt.Sprintf(`42["big",%d,"`, i)
				if err != nil || !strings.HasPrefix(string(msg), want) {
					errs <- fmt.Errorf("message %d: %.30q %v", i, msg, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// The fast clients are still served one by one afterwards.
	for _, c := range fast {
		c.t = t
		c.send(`42["echo","still here"]`)
		c.expectText(`42["echo","still here"]`)
	}
}

// A server-side disconnect writes what the engine has handed over, then a
// close frame. (The DISCONNECT packet itself may be lost: the engine's
// Close waits for a "drain" that can belong to an earlier flush; the
// library's transport has the same race, and the app never disconnects a
// socket from the server.)
func TestServerDisconnectFlushesThenCloses(t *testing.T) {
	s := newServer(t, nil)
	c := dial(t, s.wsURL(""), nil)
	c.connect()
	c.send(`42["echo","last words"]`)
	c.send(`42["bye"]`)
	c.expectText(`42["echo","last words"]`)
	mt, msg, err := c.next()
	if err == nil && (mt != websocket.TextMessage || string(msg) != "41") {
		t.Fatalf("got %q, want 41 or the close", msg)
	}
	if err == nil {
		_, _, err = c.next()
	}
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.CloseNormalClosure {
		t.Fatalf("after disconnect: %v, want close 1000", err)
	}
	if r := s.disconnected(t); r != "server namespace disconnect" {
		t.Fatalf("reason %q", r)
	}
}

func TestClientClose(t *testing.T) {
	s := newServer(t, nil)
	c := dial(t, s.wsURL(""), nil)
	c.connect()
	msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
	if err := c.conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(wait)); err != nil {
		t.Fatal(err)
	}
	if r := s.disconnected(t); r != "transport close" {
		t.Fatalf("reason %q, want transport close", r)
	}

	// A connection that just drops is a transport error.
	c2 := dial(t, s.wsURL(""), nil)
	c2.connect()
	c2.conn.NetConn().Close()
	if r := s.disconnected(t); r != "transport error" && r != "transport close" {
		t.Fatalf("reason %q", r)
	}
}

func TestMaxPayload(t *testing.T) {
	s := newServer(t, nil)
	c := dial(t, s.wsURL(""), nil)
	c.connect()
	const overhead = len(`42["size",""]`)
	c.send(`42["size","` + strings.Repeat("a", 1_000_000-overhead) + `"]`)
	c.expectText(fmt.Sprintf(`42["size",%d]`, 1_000_000-overhead))

	c.send(`42["size","` + strings.Repeat("a", 1_000_001-overhead) + `"]`)
	if _, msg, err := c.next(); err == nil {
		t.Fatalf("over the limit: got %.40q, want the connection closed", msg)
	}
	if r := s.disconnected(t); r != "transport error" {
		t.Fatalf("reason %q", r)
	}
}

func TestOriginCheck(t *testing.T) {
	s := newServer(t, nil)
	for _, tc := range []struct {
		origin string
		ok     bool
	}{
		{"", true},
		{allowedOrigin, true},
		{"http://evil.test", false},
	} {
		t.Run(tc.origin, func(t *testing.T) {
			h := http.Header{}
			if tc.origin != "" {
				h.Set("Origin", tc.origin)
			}
			conn, resp, err := websocket.DefaultDialer.Dial(s.wsURL(""), h)
			if conn != nil {
				defer conn.Close()
			}
			if (err == nil) != tc.ok {
				t.Fatalf("dial with origin %q: %v (%v)", tc.origin, err, resp)
			}
		})
	}
}

// Closing the server closes every connection, including one whose writer
// is stuck on a client that does not read: the close timeout cuts it, and no
// writer, reader or timer goroutine is left.
func TestServerCloseReleasesEverything(t *testing.T) {
	s := newServer(t, nil)
	stuck := dial(t, s.wsURL(""), nil)
	stuck.connect()
	idle := dial(t, s.wsURL(""), nil)
	idle.connect()
	before := goleak.IgnoreCurrent()
	payload := strings.Repeat("y", 256<<10)
	for range 60 {
		s.io.Emit("big", payload)
	}
	for range 60 { // the idle client reads everything
		if _, _, err := idle.next(); err != nil {
			t.Fatal(err)
		}
	}
	s.io.Close(nil)
	for range 2 {
		s.disconnected(t)
	}
	idle.conn.SetReadDeadline(time.Now().Add(wait))
	if _, _, err := idle.conn.ReadMessage(); err == nil {
		t.Fatal("idle client still open after server close")
	}
	time.Sleep(1200 * time.Millisecond) // the close timeout, and a margin
	goleak.VerifyNone(t, before)
}

// With the engine's perMessageDeflate option the upgrader negotiates
// compression and data frames go through gorilla's compressing writer.
func TestPerMessageDeflate(t *testing.T) {
	s := newServer(t, func(o *socket.ServerOptions) {
		o.SetPerMessageDeflate(&types.PerMessageDeflate{Threshold: 64})
	})
	d := websocket.Dialer{EnableCompression: true}
	conn, resp, err := d.Dial(s.wsURL(""), nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	if ext := resp.Header.Get("Sec-Websocket-Extensions"); !strings.Contains(ext, "permessage-deflate") {
		t.Fatalf("extensions %q", ext)
	}
	c := &client{t: t, conn: conn}
	c.connect()
	long := strings.Repeat("compress me ", 100)
	c.send(`42["echo","short"]`)
	c.expectText(`42["echo","short"]`)
	c.send(`42["echo","` + long + `"]`)
	c.expectText(`42["echo","` + long + `"]`)
	s.io.Emit("news", long)
	c.expectText(`42["news","` + long + `"]`)
}
