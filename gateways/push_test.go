package gateways

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/zishang520/socket.io/servers/socket/v3"
	"gorm.io/gorm"

	"github.com/onlinenow/onlinenow/database/dbtest"
	"github.com/onlinenow/onlinenow/internal/fakepush"
	"github.com/onlinenow/onlinenow/internal/siotest"
	"github.com/onlinenow/onlinenow/models"
	"github.com/onlinenow/onlinenow/services"
)

const (
	testFrontend      = "http://localhost:5173"
	testInvitationTTL = 2 * time.Minute
)

// pushEnv is the inbox and Web Push wired as in main, over a fake push
// service that verifies and decrypts every push.
type pushEnv struct {
	*env
	inbox *services.Notifications
	push  *services.PushService
	fake  *fakepush.Service
}

func newPushEnv(t *testing.T, db *gorm.DB, reply func(n int, w http.ResponseWriter, r *http.Request)) *pushEnv {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	pub, priv, err := services.GenerateVAPIDKeys()
	if err != nil {
		t.Fatal(err)
	}
	fake := fakepush.New(t, pub, reply)
	inbox := services.NewNotifications(db, log, services.NotificationsConfig{})
	push, err := services.NewPushService(db, log, services.PushConfig{
		VAPIDPublicKey: pub, VAPIDPrivateKey: priv, Subscriber: "mailto:ops@example.test",
		HTTPClient: fake.Client(), BaseBackoff: 10 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnvWith(t, db, envOptions{inbox: inbox, attach: func(sio *socket.Server, d Deps) ([]func(context.Context) error, func()) {
		ng := RegisterNotifications(sio, d, inbox)
		inbox.SetListener(services.NewPushDispatcher(push, inbox, ng, services.PushDispatcherConfig{
			FrontendURL: testFrontend, InvitationTTL: testInvitationTTL,
		}, log))
		return []func(context.Context) error{push.Run}, nil
	}})
	return &pushEnv{env: e, inbox: inbox, push: push, fake: fake}
}

// subscribe gives u a fake browser subscription.
func (e *pushEnv) subscribe(u models.User) fakepush.Browser {
	e.t.Helper()
	b := e.fake.Browser(e.t, u.ID)
	if _, err := e.push.Subscribe(context.Background(), u.ID, b.Input()); err != nil {
		e.t.Fatal(err)
	}
	return b
}

// send makes from send a direct message to to over /chatGateway and waits
// for its ack.
func (e *pushEnv) send(c *siotest.Client, from, to models.User, text string) {
	e.t.Helper()
	ack, err := c.EmitWithAck(wait, "message", map[string]any{"content": text, "senderId": from.ID, "recieverId": to.ID})
	if err != nil || len(ack) != 1 || string(ack[0]) != `{"status":"ok"}` {
		e.t.Fatalf("message ack %v %v", ack, err)
	}
}

// nextPush waits for the next push the fake service accepted.
func (e *pushEnv) nextPush() fakepush.Request {
	e.t.Helper()
	select {
	case r := <-e.fake.Got():
		return r
	case <-time.After(wait):
		e.t.Fatal("no push arrived")
		return fakepush.Request{}
	}
}

// noPush asserts that no push arrives once user's notification number seq
// is recorded (so the negative follows the recording, not a guess).
func (e *pushEnv) noPush(user models.User, seq int64) {
	e.t.Helper()
	deadline := time.Now().Add(wait)
	for {
		last, err := e.inbox.LastSeq(context.Background(), user.ID)
		if err != nil {
			e.t.Fatal(err)
		}
		if last >= seq {
			break
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("notification %d of %s never recorded (last %d)", seq, user.ID, last)
		}
		time.Sleep(5 * time.Millisecond)
	}
	select {
	case r := <-e.fake.Got():
		e.t.Fatalf("unexpected push: %s", r.Plaintext)
	case <-time.After(quiet):
	}
}

func decodePush(t *testing.T, r fakepush.Request) services.PushMessage {
	t.Helper()
	var m services.PushMessage
	if err := json.Unmarshal(r.Plaintext, &m); err != nil {
		t.Fatalf("push body %q: %v", r.Plaintext, err)
	}
	return m
}

// TestPushToOfflineUser: a direct message to a user with no socket gives
// exactly one push, with the display fields, a per-sender Topic, the
// message TTL and normal urgency, in one record of at most 3,000 bytes.
func TestPushToOfflineUser(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		e := newPushEnv(t, db, nil)
		a, b := e.user("alice"), e.user("bob")
		phone := e.subscribe(b)
		achat := e.dial(ChatNamespace, &a)

		e.send(achat, a, b, "are you there?")
		r := e.nextPush()
		if r.Path != "/push/"+b.ID {
			t.Fatalf("push went to %s, want bob's endpoint %s", r.Path, phone.Endpoint)
		}
		want := services.PushMessage{
			NotificationDisplay: services.NotificationDisplay{
				Title: "Message from alice", Body: "are you there?", Icon: "/push/icon.png",
				Tag: "onlinenow-1", URL: testFrontend + "/chat/" + a.ID,
			},
			Seq: 1, Type: "message",
		}
		if got := decodePush(t, r); got != want {
			t.Fatalf("push %+v\nwant %+v", got, want)
		}
		h := r.Header
		if h.Get("TTL") != "86400" || h.Get("Urgency") != "normal" || h.Get("Topic") != services.PushTopic("sender:"+a.ID) {
			t.Fatalf("headers TTL %q Urgency %q Topic %q", h.Get("TTL"), h.Get("Urgency"), h.Get("Topic"))
		}
		if r.BodyLen > services.PushRecordSize {
			t.Fatalf("encrypted body %d bytes, over %d", r.BodyLen, services.PushRecordSize)
		}
		e.noPush(b, 1) // exactly one

		// A game invitation: high urgency, TTL what is left of the invitation.
		if _, err := e.inbox.Record(context.Background(), services.NotificationInput{
			Recipient: b.ID, Type: services.NotifyGameInvitation, ActorID: a.ID,
			Payload: map[string]any{"invitationId": "i", "gameId": "g"},
		}); err != nil {
			t.Fatal(err)
		}
		r = e.nextPush()
		ttl, _ := strconv.Atoi(r.Header.Get("TTL"))
		if r.Header.Get("Urgency") != "high" || ttl < 110 || ttl > 120 {
			t.Fatalf("invitation push: Urgency %q TTL %q", r.Header.Get("Urgency"), r.Header.Get("TTL"))
		}
		if m := decodePush(t, r); m.Title != "Game invitation" || m.Body != "alice invited you to play a game" || m.Seq != 2 || m.URL != testFrontend+"/game" {
			t.Fatalf("invitation push %+v", m)
		}
	})
}

// TestNoPushWhileWatching: a user with a visible tab gets the socket
// events and no push; with every tab hidden it gets one push; once a tab
// is visible again, none.
func TestNoPushWhileWatching(t *testing.T) {
	e := newPushEnv(t, dbtest.SQLite(t), nil)
	a, b := e.user("alice"), e.user("bob")
	e.subscribe(b)
	achat := e.dial(ChatNamespace, &a)
	tab1, tab2 := e.dial(AppNamespace, &b), e.dial(AppNamespace, &b)
	drain(tab1, tab2)

	e.send(achat, a, b, "one")
	expectArg(t, tab1, "notifMessage", fmt.Sprintf(`{"content":"one","senderId":"%s","recieverId":"%s"}`, a.ID, b.ID))
	e.noPush(b, 1)

	hide := func(c *siotest.Client, hidden bool) {
		t.Helper()
		ack, err := c.EmitWithAck(wait, "visibility", map[string]any{"hidden": hidden})
		if err != nil || len(ack) != 1 || string(ack[0]) != `{"status":"ok"}` {
			t.Fatalf("visibility ack %v %v", ack, err)
		}
	}
	hide(tab1, true) // one tab still visible
	e.send(achat, a, b, "two")
	e.noPush(b, 2)

	hide(tab2, true) // every tab hidden
	e.send(achat, a, b, "three")
	if m := decodePush(t, e.nextPush()); m.Body != "three" || m.Seq != 3 {
		t.Fatalf("push %+v", m)
	}

	hide(tab2, false)
	e.send(achat, a, b, "four")
	e.noPush(b, 4)

	// A hidden tab that closes no longer counts: the visible one remains.
	tab1.Close()
	e.send(achat, a, b, "five")
	e.noPush(b, 5)

	drain(tab2)
	tab2.Emit("visibility", map[string]any{"hidden": "yes"})
	expectArg(t, tab2, "exception", `{"status":"error","message":"hidden must be a boolean"}`)
	tab2.Emit("visibility", map[string]any{})
	expectArg(t, tab2, "exception", `{"status":"error","message":"hidden must be a boolean"}`)
}

// TestNoPushForMutedType: a muted type is recorded but not pushed; an
// enabled one still is.
func TestNoPushForMutedType(t *testing.T) {
	e := newPushEnv(t, dbtest.SQLite(t), nil)
	a, b := e.user("alice"), e.user("bob")
	e.subscribe(b)
	if _, err := e.inbox.SetPreferences(context.Background(), b.ID, map[services.NotificationType]bool{services.NotifyMessage: false}); err != nil {
		t.Fatal(err)
	}
	achat := e.dial(ChatNamespace, &a)
	e.send(achat, a, b, "muted")
	e.noPush(b, 1)

	if _, err := e.inbox.Record(context.Background(), services.NotificationInput{
		Recipient: b.ID, Type: services.NotifyFriendRequest, ActorID: a.ID,
	}); err != nil {
		t.Fatal(err)
	}
	if m := decodePush(t, e.nextPush()); m.Type != "friend_request" || m.Seq != 2 || m.Body != "alice sent you a friend request" {
		t.Fatalf("push %+v", m)
	}
}

// TestPushGoneSubscriptionDeleted: a 410 from the push service deletes the
// subscription, and the next notification sends nothing.
func TestPushGoneSubscriptionDeleted(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		e := newPushEnv(t, db, func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusGone) })
		a, b := e.user("alice"), e.user("bob")
		e.subscribe(b)
		achat := e.dial(ChatNamespace, &a)
		e.send(achat, a, b, "hello")
		e.nextPush()
		deadline := time.Now().Add(wait)
		for {
			subs, err := e.push.Subscriptions(context.Background(), b.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(subs) == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("subscription still there after 410: %+v", subs)
			}
			time.Sleep(5 * time.Millisecond)
		}
		e.send(achat, a, b, "again")
		e.noPush(b, 2)
		if s := e.push.Stats(); s.Gone != 1 || s.Sent != 0 {
			t.Fatalf("stats %+v", s)
		}
	})
}

// TestSlowPushServiceDoesNotDelaySockets: while the push service holds
// every request, the socket events of later messages are all delivered.
func TestSlowPushServiceDoesNotDelaySockets(t *testing.T) {
	release := make(chan struct{})
	e := newPushEnv(t, dbtest.SQLite(t), func(_ int, w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
			w.WriteHeader(http.StatusCreated)
		case <-r.Context().Done():
		}
	})
	t.Cleanup(func() { close(release) })
	a, b := e.user("alice"), e.user("bob")
	e.subscribe(b)
	achat := e.dial(ChatNamespace, &a)
	bapp := e.dial(AppNamespace, &b)
	drain(bapp)
	if ack, err := bapp.EmitWithAck(wait, "visibility", map[string]any{"hidden": true}); err != nil || string(ack[0]) != `{"status":"ok"}` {
		t.Fatalf("visibility ack %v %v", ack, err)
	}

	e.send(achat, a, b, "m0")
	expectArg(t, bapp, "notifMessage", fmt.Sprintf(`{"content":"m0","senderId":"%s","recieverId":"%s"}`, a.ID, b.ID))
	e.nextPush() // the push service now holds this request
	for i := 1; i <= 20; i++ {
		text := fmt.Sprintf("m%d", i)
		e.send(achat, a, b, text)
		expectArg(t, bapp, "notifMessage", fmt.Sprintf(`{"content":"%s","senderId":"%s","recieverId":"%s"}`, text, a.ID, b.ID))
	}
	if s := e.push.Stats(); s.Sent != 0 {
		t.Fatalf("a push completed while the service was held: %+v", s)
	}
}
