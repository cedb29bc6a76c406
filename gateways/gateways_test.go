package gateways

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zishang520/socket.io/servers/socket/v3"
	"go.uber.org/goleak"
	"gorm.io/gorm"

	"github.com/onlinenow/onlinenow/config"
	"github.com/onlinenow/onlinenow/database/dbtest"
	"github.com/onlinenow/onlinenow/internal/siotest"
	"github.com/onlinenow/onlinenow/models"
	"github.com/onlinenow/onlinenow/services"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const (
	wait    = 2 * time.Second        // how long an expected event may take
	quiet   = 300 * time.Millisecond // how long we listen to show nothing came
	testKey = "test-secret-0123456789abcdef"
)

// env is a running pair of gateways over a real database and HTTP server.
type env struct {
	t        *testing.T
	url      string
	db       *gorm.DB
	social   *services.SocialService
	tokens   *services.Tokens
	presence *services.Presence
}

func newEnv(t *testing.T, db *gorm.DB, mode config.AuthMode, grace time.Duration) *env {
	t.Helper()
	return newEnvWith(t, db, envOptions{mode: mode, grace: grace})
}

// envOptions extends the server that newEnvWith builds.
type envOptions struct {
	mode  config.AuthMode // "" is strict
	grace time.Duration   // 0 is one second
	inbox *services.Notifications
	// attach registers more namespaces once the app and chat gateways are
	// up. It returns background loops, run until the server stops, and a
	// close func (may be nil) called once the HTTP server is down.
	attach func(sio *socket.Server, d Deps) (loops []func(context.Context) error, closeFn func())
}

// newEnvWith starts the gateways of main over db on an httptest server;
// everything it starts is stopped when t ends.
func newEnvWith(t *testing.T, db *gorm.DB, o envOptions) *env {
	t.Helper()
	if o.mode == "" {
		o.mode = config.AuthStrict
	}
	if o.grace == 0 {
		o.grace = time.Second
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := config.Config{CORSOrigins: []string{"http://localhost:5173"}, AuthMode: o.mode, PresenceGrace: o.grace}
	social := services.NewSocialService(db)
	tokens := services.NewTokens([]byte(testKey))
	presence := services.NewPresence(o.grace, services.NewStatusStore(db), nil, log)
	d := Deps{
		Config: cfg, Users: services.NewUserService(db), Social: social,
		Chat: services.NewChatService(db, social), Presence: presence, Tokens: tokens, Log: log, Inbox: o.inbox,
	}
	sio := NewServer(cfg)
	presence.SetNotifier(Register(sio, d))
	loops := []func(context.Context) error{presence.Run}
	var closeFn func()
	if o.attach != nil {
		more, c := o.attach(sio, d)
		loops, closeFn = append(loops, more...), c
	}
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", sio.ServeHandler(nil))
	srv := httptest.NewServer(mux)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, run := range loops {
		wg.Go(func() { run(ctx) })
	}
	t.Cleanup(func() {
		sio.Close(nil)
		srv.CloseClientConnections()
		srv.Close()
		if closeFn != nil {
			closeFn()
		}
		cancel()
		wg.Wait()
	})
	return &env{t: t, url: srv.URL, db: db, social: social, tokens: tokens, presence: presence}
}

func (e *env) user(name string) models.User {
	e.t.Helper()
	u := models.User{Name: &name, Email: name + "@example.test", IntraID: "intra-" + name}
	if err := e.db.Create(&u).Error; err != nil {
		e.t.Fatal(err)
	}
	return u
}

func (e *env) token(u models.User) string {
	e.t.Helper()
	s, err := e.tokens.Sign(u.ID, u.Email, time.Hour)
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

func (e *env) befriend(a, b models.User) {
	e.t.Helper()
	ctx := context.Background()
	if _, err := e.social.CreateFriend(ctx, a.ID, b.ID); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.social.AcceptFriend(ctx, a.ID, b.ID); err != nil {
		e.t.Fatal(err)
	}
}

// dial connects u (or an anonymous socket when u is nil) to nsp with a token.
func (e *env) dial(nsp string, u *models.User) *siotest.Client {
	e.t.Helper()
	var auth any
	if u != nil {
		auth = map[string]any{"token": e.token(*u)}
	}
	return e.dialAuth(nsp, auth, nil)
}

func (e *env) dialAuth(nsp string, auth any, header http.Header) *siotest.Client {
	e.t.Helper()
	c, err := e.tryDial(nsp, auth, header)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func (e *env) tryDial(nsp string, auth any, header http.Header) (*siotest.Client, error) {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	c, err := siotest.Dial(ctx, e.url, nsp, auth, header)
	if err == nil {
		e.t.Cleanup(c.Close)
	}
	return c, err
}

// expect waits for event name on c (skipping nothing) and returns its first
// argument as JSON.
func expect(t *testing.T, c *siotest.Client, name string) string {
	t.Helper()
	ev, err := c.Next(wait)
	if err != nil {
		t.Fatalf("waiting for %s: %v", name, err)
	}
	if ev.Name != name {
		t.Fatalf("got event %s %s, want %s", ev.Name, args(ev), name)
	}
	if len(ev.Args) == 0 {
		return ""
	}
	return string(ev.Args[0])
}

func args(ev siotest.Event) string {
	parts := make([]string, len(ev.Args))
	for i, a := range ev.Args {
		parts[i] = string(a)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// drain discards whatever arrives on cs for a while (e.g. a socket's own
// userStatus ONLINE when its user connects).
func drain(cs ...*siotest.Client) {
	time.Sleep(quiet)
	for _, c := range cs {
		for {
			if _, err := c.Next(time.Millisecond); err != nil {
				break
			}
		}
	}
}

// expectNone asserts that nothing arrives on any of cs for a while.
func expectNone(t *testing.T, cs ...*siotest.Client) {
	t.Helper()
	time.Sleep(quiet)
	for i, c := range cs {
		if ev, err := c.Next(time.Millisecond); err == nil {
			t.Fatalf("client %d got unexpected %s %s", i, ev.Name, args(ev))
		}
	}
}

func TestRelaysGoOnceToTheTwoUsers(t *testing.T) {
	e := newEnv(t, dbtest.SQLite(t), config.AuthStrict, time.Second)
	a, b, c := e.user("alice"), e.user("bob"), e.user("carol")
	a1, a2 := e.dial(AppNamespace, &a), e.dial(AppNamespace, &a)
	b1 := e.dial(AppNamespace, &b)
	c1 := e.dial(AppNamespace, &c)
	anon := e.dial(AppNamespace, nil)
	drain(a1, a2, b1, c1, anon)

	cases := []struct {
		event   string
		payload string
	}{
		{"RequestFriendShip", `{"userId":"%[1]s","friendId":"%[2]s","stats":"RequestFriendShip"}`},
		{"CancelFriendShip", `{"userId":"%[1]s","friendId":"%[2]s","stats":"CancelFriendShip"}`},
		{"DeleteFriendShip", `{"userId":"%[1]s","friendId":"%[2]s","stats":"DeleteFriendShip"}`},
		{"AcceptRequest", `{"userId":"%[2]s","friendId":"%[1]s","status":"AcceptRequestv"}`},
		{"DeleteRequest", `{"userId":"%[2]s","friendId":"%[1]s","status":"DeleteRequest"}`},
		{"BlockFriend", `{"userId":"%[1]s","blockedId":"%[2]s","stats":"BLOCKING"}`},
		{"UnblockFriend", `{"userId":"%[1]s","blockedUserId":"%[2]s","stats":"UNBLOCKING"}`},
	}
	for _, tc := range cases {
		t.Run(tc.event, func(t *testing.T) {
			want := fmt.Sprintf(tc.payload, a.ID, b.ID)
			if err := a1.Emit(tc.event, json.RawMessage(want)); err != nil {
				t.Fatal(err)
			}
			for _, cl := range []*siotest.Client{a1, a2, b1} {
				if got := expect(t, cl, tc.event); got != want {
					t.Fatalf("payload %s, want %s", got, want)
				}
			}
			expectNone(t, a1, a2, b1, c1, anon)
		})
	}

	t.Run("impersonation refused", func(t *testing.T) {
		// carol claims a request between alice and bob.
		c1.Emit("RequestFriendShip", map[string]any{"userId": a.ID, "friendId": b.ID, "stats": "RequestFriendShip"})
		if got := expect(t, c1, "exception"); got != `{"status":"error","message":"you can only send RequestFriendShip for yourself"}` {
			t.Fatalf("exception %s", got)
		}
		expectNone(t, a1, a2, b1, c1)
	})
	t.Run("anonymous socket may not emit", func(t *testing.T) {
		anon.Emit("RequestFriendShip", map[string]any{"userId": a.ID, "friendId": b.ID})
		if got := expect(t, anon, "exception"); !strings.Contains(got, "no identity") {
			t.Fatalf("exception %s", got)
		}
		expectNone(t, a1, a2, b1, c1, anon)
	})
}

func TestIdentityStrict(t *testing.T) {
	e := newEnv(t, dbtest.SQLite(t), config.AuthStrict, time.Second)
	a, b := e.user("alice"), e.user("bob")
	other := services.NewTokens([]byte("another-secret-0123456789"))
	forged, _ := other.Sign(a.ID, a.Email, time.Hour)
	expired, _ := e.tokens.Sign(a.ID, a.Email, -time.Minute)
	forever, _ := e.tokens.Sign(a.ID, a.Email, 0) // no exp, like the original's tokens

	ok := []struct {
		name   string
		auth   any
		header http.Header
	}{
		{"auth.token", map[string]any{"token": e.token(a)}, nil},
		{"token and matching userId", map[string]any{"token": e.token(a), "userId": a.ID}, nil},
		{"accessToken cookie", nil, http.Header{"Cookie": {"id=" + a.ID + "; accessToken=" + e.token(a)}}},
		{"bearer header", nil, http.Header{"Authorization": {"Bearer " + e.token(a)}}},
		{"no identity at all", nil, nil},
	}
	for _, tc := range ok {
		t.Run(tc.name, func(t *testing.T) {
			c := e.dialAuth(AppNamespace, tc.auth, tc.header)
			c.Close()
		})
	}
	refused := []struct {
		name string
		auth any
		want string
	}{
		{"impersonation", map[string]any{"token": e.token(a), "userId": b.ID}, "auth.userId does not match the token"},
		{"userId alone", map[string]any{"userId": a.ID}, "unverified identity"},
		{"forged token", map[string]any{"token": forged}, "invalid token"},
		{"expired token", map[string]any{"token": expired}, "invalid token"},
		{"token without expiry", map[string]any{"token": forever}, "invalid token"},
		{"garbage token", map[string]any{"token": "x.y.z"}, "invalid token"},
		{"token not a string", map[string]any{"token": 12}, "auth.token must be a string"},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.tryDial(AppNamespace, tc.auth, nil)
			var ce *siotest.ConnectError
			if err == nil || !errorAs(err, &ce) || !strings.Contains(ce.Message, tc.want) {
				t.Fatalf("err = %v, want connect_error containing %q", err, tc.want)
			}
		})
	}
	t.Run("deleted user", func(t *testing.T) {
		tok := e.token(b)
		e.db.Delete(&b)
		_, err := e.tryDial(ChatNamespace, map[string]any{"token": tok}, nil)
		var ce *siotest.ConnectError
		if !errorAs(err, &ce) || ce.Message != "unknown user" {
			t.Fatalf("err = %v", err)
		}
	})
}

func errorAs(err error, ce **siotest.ConnectError) bool {
	e, ok := err.(*siotest.ConnectError)
	if ok {
		*ce = e
	}
	return ok
}

func TestIdentityCompat(t *testing.T) {
	e := newEnv(t, dbtest.SQLite(t), config.AuthCompat, time.Second)
	a, b := e.user("alice"), e.user("bob")
	ca := e.dialAuth(ChatNamespace, map[string]any{"userId": a.ID}, nil)
	cb := e.dialAuth(ChatNamespace, map[string]any{"userId": b.ID}, nil)
	if _, err := e.tryDial(ChatNamespace, map[string]any{"userId": "not-a-uuid"}, nil); err == nil {
		t.Fatal("a malformed userId connected")
	}
	if _, err := e.tryDial(ChatNamespace, map[string]any{"token": e.token(a), "userId": b.ID}, nil); err == nil {
		t.Fatal("a token and a disagreeing userId connected")
	}
	// Impersonation through the payload: alice sends as bob.
	ca.Emit("message", map[string]any{"content": "hi", "senderId": b.ID, "recieverId": a.ID})
	if got := expect(t, ca, "exception"); got != `{"status":"error","message":"senderId must be your own id"}` {
		t.Fatalf("exception %s", got)
	}
	expectNone(t, ca, cb)
	var n int64
	e.db.Model(&models.DirectMessage{}).Count(&n)
	if n != 0 {
		t.Fatalf("%d messages stored", n)
	}
}

func TestDirectMessageFlow(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		e := newEnv(t, db, config.AuthStrict, time.Second)
		a, b, c := e.user("alice"), e.user("bob"), e.user("carol")
		achat, bchat, cchat := e.dial(ChatNamespace, &a), e.dial(ChatNamespace, &b), e.dial(ChatNamespace, &c)
		bapp, capp := e.dial(AppNamespace, &b), e.dial(AppNamespace, &c)
		drain(bapp, capp)
		room := services.RoomID(a.ID, b.ID)

		achat.Emit("joinRoom", map[string]any{"senderId": a.ID, "recieverId": b.ID})
		if got := expect(t, achat, "joined"); got != `{"roomName":"`+room+`"}` {
			t.Fatalf("joined %s", got)
		}
		bchat.Emit("joinRoom", map[string]any{"senderId": b.ID, "recieverId": a.ID})
		expect(t, bchat, "joined")
		var placeholders int64
		db.Model(&models.DirectMessage{}).Where("room_id = ? AND content = ''", room).Count(&placeholders)
		if placeholders != 1 {
			t.Fatalf("%d placeholders, want 1", placeholders)
		}

		ack, err := achat.EmitWithAck(wait, "message", map[string]any{"content": "hello bob", "senderId": a.ID, "recieverId": b.ID})
		if err != nil || len(ack) != 1 || string(ack[0]) != `{"status":"ok"}` {
			t.Fatalf("ack %v %v", ack, err)
		}
		wantGet := fmt.Sprintf(`{"senderId":"%s","receiverId":"%s","text":"hello bob","room":"%s"}`, a.ID, b.ID, room)
		if got := expect(t, achat, "getMessage"); got != wantGet {
			t.Fatalf("sender getMessage %s", got)
		}
		if got := expect(t, bchat, "getMessage"); got != wantGet {
			t.Fatalf("receiver getMessage %s", got)
		}
		if got := expect(t, bchat, "refresh"); got != "" {
			t.Fatalf("refresh carried %s", got)
		}
		wantNotif := fmt.Sprintf(`{"content":"hello bob","senderId":"%s","recieverId":"%s"}`, a.ID, b.ID)
		if got := expect(t, bapp, "notifMessage"); got != wantNotif {
			t.Fatalf("notifMessage %s", got)
		}
		expectNone(t, achat, bchat, cchat, bapp, capp)

		// bob blocks alice: her next message vanishes without a trace.
		if _, err := e.social.Block(context.Background(), b.ID, a.ID); err != nil {
			t.Fatal(err)
		}
		ack, err = achat.EmitWithAck(wait, "message", map[string]any{"content": "are you there", "senderId": a.ID, "recieverId": b.ID})
		if err != nil || string(ack[0]) != `{"status":"ok"}` {
			t.Fatalf("ack %v %v", ack, err)
		}
		expectNone(t, achat, bchat, cchat, bapp, capp)
		// bob, the blocker, is told why he cannot write.
		bchat.Emit("message", map[string]any{"content": "x", "senderId": b.ID, "recieverId": a.ID})
		if got := expect(t, bchat, "exception"); !strings.Contains(got, "you blocked this user") {
			t.Fatalf("exception %s", got)
		}
		var stored int64
		db.Model(&models.DirectMessage{}).Where("content <> ''").Count(&stored)
		if stored != 1 {
			t.Fatalf("%d messages stored, want 1", stored)
		}
	})
}

func TestMalformedPayloads(t *testing.T) {
	e := newEnv(t, dbtest.SQLite(t), config.AuthStrict, time.Second)
	a, b := e.user("alice"), e.user("bob")
	ca, cb := e.dial(ChatNamespace, &a), e.dial(ChatNamespace, &b)
	cases := []struct {
		name    string
		event   string
		payload any
		want    string
	}{
		{"no payload", "message", nil, "payload must be an object"},
		{"string payload", "message", "hello", "payload must be an object"},
		{"array payload", "joinRoom", []any{1, 2}, "payload must be an object"},
		{"number content", "message", map[string]any{"content": 5, "senderId": a.ID, "recieverId": b.ID}, "content must be a string"},
		{"missing receiver", "message", map[string]any{"content": "x", "senderId": a.ID}, "recieverId must be a UUID"},
		{"empty content", "message", map[string]any{"content": "  ", "senderId": a.ID, "recieverId": b.ID}, "content should not be empty"},
		{"too long", "message", map[string]any{"content": strings.Repeat("é", services.MaxMessageLen+1), "senderId": a.ID, "recieverId": b.ID}, "content must be at most 5000 characters"},
		{"unknown receiver", "message", map[string]any{"content": "x", "senderId": a.ID, "recieverId": "00000000-0000-4000-8000-000000000999"}, "user not found"},
		{"self", "message", map[string]any{"content": "x", "senderId": a.ID, "recieverId": a.ID}, "senderId and recieverId must differ"},
		{"join unknown", "joinRoom", map[string]any{"senderId": a.ID, "recieverId": "00000000-0000-4000-8000-000000000999"}, "user not found"},
		{"join as other", "joinRoom", map[string]any{"senderId": b.ID, "recieverId": a.ID}, "senderId must be your own id"},
		{"bool sender", "joinRoom", map[string]any{"senderId": true, "recieverId": a.ID}, "senderId must be a string"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.payload == nil {
				err = ca.Emit(tc.event)
			} else {
				err = ca.Emit(tc.event, tc.payload)
			}
			if err != nil {
				t.Fatal(err)
			}
			got := expect(t, ca, "exception")
			var ex struct{ Status, Message string }
			if json.Unmarshal([]byte(got), &ex) != nil || ex.Status != "error" || !strings.Contains(ex.Message, tc.want) {
				t.Fatalf("exception %s, want message containing %q", got, tc.want)
			}
			expectNone(t, ca, cb)
		})
	}
	var n int64
	e.db.Model(&models.DirectMessage{}).Count(&n)
	if n != 0 {
		t.Fatalf("%d messages stored", n)
	}
	// A frame that does not parse closes that connection, as Socket.IO
	// does; everyone else is served as before.
	ca.EmitRaw(`42/chatGateway,["message",{"content":`)
	select {
	case <-ca.Closed():
	case <-time.After(wait):
		t.Fatal("connection with a broken frame still open")
	}
	cb.Emit("joinRoom", map[string]any{"senderId": b.ID, "recieverId": a.ID})
	expect(t, cb, "joined")
}

func TestPresenceEvents(t *testing.T) {
	e := newEnv(t, dbtest.SQLite(t), config.AuthStrict, 200*time.Millisecond)
	a, friend, blocker, stranger := e.user("alice"), e.user("fred"), e.user("bea"), e.user("sam")
	e.befriend(a, friend)
	e.befriend(blocker, a)
	if _, err := e.social.Block(context.Background(), blocker.ID, a.ID); err != nil {
		t.Fatal(err)
	}
	f := e.dial(AppNamespace, &friend)
	bl := e.dial(AppNamespace, &blocker)
	st := e.dial(AppNamespace, &stranger)
	// fred's own ONLINE event reaches his own tab; drain it.
	expect(t, f, "userStatus")
	expect(t, bl, "userStatus")
	expect(t, st, "userStatus")

	tab1 := e.dial(ChatNamespace, &a)
	if got := expect(t, f, "userStatus"); got != `{"userId":"`+a.ID+`","status":"ONLINE","lastSeenAt":null}` {
		t.Fatalf("userStatus %s", got)
	}
	tab2 := e.dial(AppNamespace, &a)
	tab1.Close()
	tab2.Close()
	// A reload: back within the grace.
	tab3 := e.dial(AppNamespace, &a)
	time.Sleep(400 * time.Millisecond)
	expectNone(t, f, bl, st, tab3)
	tab3.Close()
	got := expect(t, f, "userStatus")
	var ev struct{ UserID, Status, LastSeenAt string }
	json.Unmarshal([]byte(got), &ev)
	if ev.UserID != a.ID || ev.Status != "OFFLINE" || len(ev.LastSeenAt) != len("2006-01-02T15:04:05.000Z") {
		t.Fatalf("userStatus %s", got)
	}
	expectNone(t, f, bl, st)
	var stored models.User
	e.db.First(&stored, "id = ?", a.ID)
	if stored.Status != models.StatusOffline || stored.LastSeenAt == nil {
		t.Fatalf("stored %s %v", stored.Status, stored.LastSeenAt)
	}
}
