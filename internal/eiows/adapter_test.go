package eiows_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/zishang520/socket.io/servers/socket/v3"
	"github.com/zishang520/socket.io/v3/pkg/types"

	"github.com/onlinenow/onlinenow/internal/eiows"
)

// withAdapter gives the server our broadcasting adapter.
func withAdapter(o *socket.ServerOptions) { o.SetAdapter(eiows.AdapterBuilder{}) }

// A handler that alternates direct emits and room broadcasts keeps their
// order on the wire, also while the writer is busy and the engine holds the
// direct emits back (the broadcast must then queue behind them, not pass
// them), and while the client's socket buffers are full. A second member
// of the room gets the broadcasts alone, in order.
func TestBroadcastKeepsOrderWithDirectEmits(t *testing.T) {
	s := newServer(t, withAdapter)
	const n = 400
	// 400 × 24 KiB fill the socket buffers of a client that waits before
	// reading: writes are partial, the writer is busy and the engine holds
	// packets.
	payload := strings.Repeat("y", 24<<10)
	s.io.On("connection", func(args ...any) {
		sock := args[0].(*socket.Socket)
		sock.Join("room")
		sock.On("mix", func(...any) {
			for i := range n {
				if i%2 == 0 {
					sock.Emit("m", i, payload)
				} else {
					s.io.To("room").Emit("m", i, payload)
				}
			}
			sock.Emit("done")
		})
	})
	a := dial(t, s.wsURL(""), nil)
	a.connect()
	b := dial(t, s.wsURL(""), nil)
	b.connect()

	for round := range 3 {
		a.send(`42["mix"]`)
		time.Sleep(100 * time.Millisecond)
		for i := range n {
			_, msg, err := a.next()
			want := fmt.Sprintf(`42["m",%d,"`, i)
			if err != nil || !strings.HasPrefix(string(msg), want) {
				t.Fatalf("round %d, message %d: got %.24q %v, want %s…", round, i, msg, err, want)
			}
		}
		a.expectText(`42["done"]`)
		for i := 1; i < n; i += 2 {
			_, msg, err := b.next()
			want := fmt.Sprintf(`42["m",%d,"`, i)
			if err != nil || !strings.HasPrefix(string(msg), want) {
				t.Fatalf("round %d, the other member's message %d: got %.24q %v, want %s…", round, i, msg, err, want)
			}
		}
	}
}

// Rooms, except rooms and a socket in several target rooms: each selected
// socket gets the packet once, the others not at all, as with the library's
// adapter.
func TestBroadcastSelectsRecipientsOnce(t *testing.T) {
	s := newServer(t, withAdapter)
	joined := make(chan struct{}, 4)
	s.io.On("connection", func(args ...any) {
		sock := args[0].(*socket.Socket)
		sock.On("join", func(a ...any) {
			for _, r := range a[:len(a)-1] {
				sock.Join(socket.Room(r.(string)))
			}
			joined <- struct{}{}
			a[len(a)-1].(socket.Ack)(nil, nil)
		})
		sock.On("mark", func(...any) { sock.Emit("mark") })
	})
	rooms := [][]string{{"a", "b"}, {"b"}, {"c"}, {"b", "x"}}
	cs := make([]*client, len(rooms))
	for i, rs := range rooms {
		cs[i] = dial(t, s.wsURL(""), nil)
		cs[i].connect()
		args := `"join"`
		for _, r := range rs {
			args += `,"` + r + `"`
		}
		cs[i].send(`421[` + args + `]`)
		cs[i].expectText(`431[]`)
		<-joined
	}

	s.io.To("a", "b").Except("x").Emit("ab", 1)     // 0 (in both: once) and 1
	s.io.Except("a").Emit("all-but-a", 2)           // 1, 2 and 3
	s.io.To("c").Emit("c", "three")                 // 2
	s.io.To("nobody").Emit("never", 4)              // none
	s.io.To("b").Except("a", "x").Emit("b-only", 5) // 1
	want := [][]string{
		{`42["ab",1]`},
		{`42["ab",1]`, `42["all-but-a",2]`, `42["b-only",5]`},
		{`42["all-but-a",2]`, `42["c","three"]`},
		{`42["all-but-a",2]`},
	}
	for i, c := range cs {
		// Then a direct answer: nothing else came before it.
		c.send(`42["mark"]`)
		for _, w := range append(want[i], `42["mark"]`) {
			c.t = t
			mt, msg, err := c.next()
			if err != nil || mt != websocket.TextMessage || string(msg) != w {
				t.Fatalf("client %d (rooms %v): got %q %v, want %q", i, rooms[i], msg, err, w)
			}
		}
	}
}

// A broadcast made while a polling client upgrades is not written on the
// probing WebSocket before the client has sent "upgrade" (a real client
// would drop it): the engine holds it and flushes it on the new transport,
// and later broadcasts follow it there in order. Before the upgrade, the
// polling client gets broadcasts by polling. (The narrower window, between
// the engine switching to the new transport and flushing what it held,
// which the transport's "attached" closes, is too short to hit from here.)
func TestBroadcastAcrossUpgrade(t *testing.T) {
	s := newServer(t, withAdapter)
	up := make(chan struct{}, 1)
	s.io.On("connection", func(args ...any) {
		sock := args[0].(*socket.Socket)
		sock.On("upgraded?", func(...any) {
			if sock.Conn().Transport().Name() == "websocket" {
				up <- struct{}{}
			}
		})
	})
	sid, poll := s.pollConnect(t)
	s.io.Emit("b", 1)
	if r := httpDo(t, http.MethodGet, poll, ""); r != `42["b",1]` {
		t.Fatalf("broadcast by polling: %q", r)
	}

	pending := make(chan string, 1)
	go func() { pending <- httpDo(t, http.MethodGet, poll, "") }()
	c := dial(t, s.wsURL("&sid="+sid), nil)
	c.send("2probe")
	c.expectText("3probe")
	if r := <-pending; r != "6" {
		t.Fatalf("pending poll got %q, want noop", r)
	}

	frames := make(chan string, 16)
	var reader sync.WaitGroup
	reader.Go(func() {
		defer close(frames)
		for {
			_, msg, err := c.next()
			if err != nil {
				return
			}
			frames <- string(msg)
		}
	})
	s.io.Emit("b", 2) // during the upgrade
	select {
	case f := <-frames:
		t.Fatalf("the probing WebSocket got %q before the upgrade packet", f)
	case <-time.After(200 * time.Millisecond):
	}
	// Written from the reader's goroutine would race next's pong; the
	// reader answers no ping in 200 ms of a 25 s interval.
	if err := c.conn.WriteMessage(websocket.TextMessage, []byte("5")); err != nil {
		t.Fatal(err)
	}
	if err := c.conn.WriteMessage(websocket.TextMessage, []byte(`42["upgraded?"]`)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-up:
	case <-time.After(wait):
		t.Fatal("not upgraded")
	}
	s.io.Emit("b", 3)
	for _, w := range []string{`42["b",2]`, `42["b",3]`} {
		select {
		case f := <-frames:
			if f != w {
				t.Fatalf("after the upgrade got %q, want %q", f, w)
			}
		case <-time.After(wait):
			t.Fatalf("after the upgrade: no %q", w)
		}
	}
	c.conn.Close()
	reader.Wait()
}

// Packets with binary attachments and compressed broadcasts take the
// library's path and arrive as they did before. (Volatile ones do too; they
// are dropped for a busy recipient, so their arrival is not testable here.)
func TestBroadcastLibraryPaths(t *testing.T) {
	s := newServer(t, func(o *socket.ServerOptions) {
		withAdapter(o)
		o.SetPerMessageDeflate(&types.PerMessageDeflate{Threshold: 64})
	})
	plain := dial(t, s.wsURL(""), nil)
	plain.connect()
	d := websocket.Dialer{EnableCompression: true}
	conn, _, err := d.Dial(s.wsURL(""), nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	deflating := &client{t: t, conn: conn}
	deflating.connect()

	long := strings.Repeat("compress me ", 100)
	s.io.Emit("bin", []byte{1, 2, 3})
	s.io.Compress(true).Emit("long", long)
	s.io.Emit("plain", 2)
	for i, c := range []*client{plain, deflating} {
		c.expectText(`451-["bin",{"_placeholder":true,"num":0}]`)
		mt, msg, err := c.next()
		if err != nil || mt != websocket.BinaryMessage || string(msg) != "\x01\x02\x03" {
			t.Fatalf("client %d: attachment %d %q %v", i, mt, msg, err)
		}
		c.expectText(`42["long","` + long + `"]`)
		c.expectText(`42["plain",2]`)
	}
}

// Broadcasts from several goroutines to a client whose buffers fill: every
// frame arrives whole (one writer at a time per connection, and the rest of
// a frame the socket took in part goes before anything queued meanwhile)
// and each goroutine's broadcasts keep their order.
func TestConcurrentBroadcastsStayWhole(t *testing.T) {
	s := newServer(t, withAdapter)
	c := dial(t, s.wsURL(""), nil)
	c.connect()
	const senders, n = 4, 150
	payload := strings.Repeat("z", 24<<10)
	var wg sync.WaitGroup
	for k := range senders {
		wg.Go(func() {
			for i := range n {
				s.io.Emit("g", k, i, payload)
			}
		})
	}
	wg.Wait()
	next := make([]int, senders)
	for range senders * n {
		_, msg, err := c.next()
		var k, i int
		var p string
		if err == nil {
			var args []any
			if !strings.HasPrefix(string(msg), "42") || json.Unmarshal(msg[2:], &args) != nil || len(args) != 4 {
				t.Fatalf("not a whole event: %.40q… (%d bytes)", msg, len(msg))
			}
			k, i, p = int(args[1].(float64)), int(args[2].(float64)), args[3].(string)
		}
		if err != nil || k < 0 || k >= senders || i != next[k] || p != payload {
			t.Fatalf("got sender %d's %d (%v), want its %d", k, i, err, next[k])
		}
		next[k]++
	}
}
