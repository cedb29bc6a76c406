package gateways

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/onlinenow/onlinenow/config"
	"github.com/onlinenow/onlinenow/database/dbtest"
)

// TestEventRightAfterConnect: a client that sends an event right behind
// its namespace CONNECT, before the ack, has it handled, and keeps its
// connection. Without the connect barrier the library reads the event
// before it has registered the socket and force-closes the connection.
func TestEventRightAfterConnect(t *testing.T) {
	e := newEnv(t, dbtest.SQLite(t), config.AuthStrict, time.Second)
	a, b := e.user("alice"), e.user("bob")
	for i := range 20 {
		conn := rawEngine(t, e)
		auth, _ := json.Marshal(map[string]string{"token": e.token(a)})
		ev, _ := json.Marshal([]any{"message", map[string]string{"content": fmt.Sprint("m", i), "senderId": a.ID, "recieverId": b.ID}})
		for _, frame := range []string{"40" + ChatNamespace + "," + string(auth), "42" + ChatNamespace + ",7" + string(ev)} {
			if err := conn.WriteMessage(websocket.TextMessage, []byte(frame)); err != nil {
				t.Fatal(err)
			}
		}
		want := "43" + ChatNamespace + `,7[{"status":"ok"}]`
		for {
			_, msg, err := conn.ReadMessage()
			if err != nil {
				t.Fatalf("round %d: connection lost before the ack: %v", i, err)
			}
			if string(msg) == want {
				break
			}
		}
		conn.Close()
	}
}

// TestCloseRightAfterConnect: a client that drops its connection right
// behind its namespace CONNECT still gets its disconnect handled: its
// socket is not left counted, so the user can go OFFLINE.
func TestCloseRightAfterConnect(t *testing.T) {
	e := newEnv(t, dbtest.SQLite(t), config.AuthStrict, time.Second)
	a := e.user("alice")
	auth, _ := json.Marshal(map[string]string{"token": e.token(a)})
	for i := range 30 {
		conn := rawEngine(t, e)
		nsp := AppNamespace
		if i%2 == 1 {
			nsp = ChatNamespace
		}
		if err := conn.WriteMessage(websocket.TextMessage, []byte("40"+nsp+","+string(auth))); err != nil {
			t.Fatal(err)
		}
		conn.Close()
		deadline := time.Now().Add(wait)
		for {
			if _, n := e.presence.Status(a.ID, ""); n == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("round %d (%s): a socket closed right after CONNECT is still counted", i, nsp)
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
}

// rawEngine opens a bare Engine.IO WebSocket to e and reads its open
// packet; the caller speaks Socket.IO itself.
func rawEngine(t *testing.T, e *env) *websocket.Conn {
	t.Helper()
	url := "ws" + strings.TrimPrefix(e.url, "http") + "/socket.io/?EIO=4&transport=websocket"
	conn, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(wait))
	if _, open, err := conn.ReadMessage(); err != nil || !strings.HasPrefix(string(open), "0{") {
		t.Fatalf("open %q %v", open, err)
	}
	return conn
}
