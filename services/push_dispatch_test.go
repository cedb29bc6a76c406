package services_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/onlinenow/onlinenow/database/dbtest"
	"github.com/onlinenow/onlinenow/models"
	"github.com/onlinenow/onlinenow/services"
)

// TestStoredVAPIDKeys: concurrent first starts agree on one stored pair,
// and later calls return it unchanged.
func TestStoredVAPIDKeys(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		const n = 6
		pubs, privs := make([]string, n), make([]string, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				var err error
				if pubs[i], privs[i], err = services.StoredVAPIDKeys(context.Background(), db); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		for i := 1; i < n; i++ {
			if pubs[i] != pubs[0] || privs[i] != privs[0] {
				t.Fatalf("call %d got another pair", i)
			}
		}
		if _, err := services.NewPushService(db, nil, services.PushConfig{
			VAPIDPublicKey: pubs[0], VAPIDPrivateKey: privs[0], Subscriber: "mailto:a@example.test",
		}); err != nil {
			t.Fatalf("stored pair is not a valid key pair: %v", err)
		}
		pub, priv, err := services.StoredVAPIDKeys(context.Background(), db)
		if err != nil || pub != pubs[0] || priv != privs[0] {
			t.Fatalf("later call: %v, changed %v", err, pub != pubs[0])
		}
		var rows int64
		db.Model(&models.ServerSetting{}).Count(&rows)
		if rows != 2 {
			t.Fatalf("%d settings rows, want 2", rows)
		}
	})
}

// TestNotificationDisplay covers every type: title, body, click target
// and tag; the actor's name is recorded with the notification.
func TestNotificationDisplay(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		s := newSvc(db)
		a, b := s.user(t, "alice"), s.user(t, "bob")
		inbox := services.NewNotifications(db, nil, services.NotificationsConfig{})
		const front = "https://pong.example"
		long := strings.Repeat("é", 300)
		cases := []struct {
			typ     services.NotificationType
			payload any
			title   string
			body    string
			url     string
		}{
			{services.NotifyFriendRequest, nil, "New friend request", "alice sent you a friend request", "/friends"},
			{services.NotifyFriendRequestCancelled, nil, "Friend request withdrawn", "alice withdrew their friend request", "/friends"},
			{services.NotifyFriendAccepted, nil, "Friend request accepted", "alice accepted your friend request", "/friends"},
			{services.NotifyFriendRequestDeleted, nil, "Friend request declined", "alice declined your friend request", "/friends"},
			{services.NotifyFriendDeleted, nil, "Friend removed", "alice removed you from their friends", "/friends"},
			{services.NotifyBlock, nil, "Friends updated", "Your friends list changed", "/friends"},
			{services.NotifyUnblock, nil, "Friends updated", "Your friends list changed", "/friends"},
			{services.NotifyMessage, map[string]any{"content": "hi"}, "Message from alice", "hi", "/chat/" + a.ID},
			{services.NotifyMessage, map[string]any{"content": long}, "Message from alice", strings.Repeat("é", 179) + "…", "/chat/" + a.ID},
			{services.NotifyGameInvitation, nil, "Game invitation", "alice invited you to play a game", "/game"},
			{services.NotifyGameAccepted, map[string]any{"gameId": "g1"}, "Game invitation accepted", "alice accepted your game invitation", "/game/g1"},
			{services.NotifyGameRejected, nil, "Game invitation declined", "alice declined your game invitation", "/game"},
			{services.NotifyGameCancelled, nil, "Game invitation cancelled", "A game invitation with alice was cancelled", "/game"},
			{services.NotifyChannelKick, map[string]any{"channelName": "pong"}, "Removed from a channel", "alice removed you from pong", "/channels"},
		}
		for i, c := range cases {
			n, err := inbox.Record(context.Background(), services.NotificationInput{Recipient: b.ID, Type: c.typ, ActorID: a.ID, Payload: c.payload})
			if err != nil {
				t.Fatal(err)
			}
			if n.ActorName == nil || *n.ActorName != "alice" {
				t.Fatalf("%s: actor name %v", c.typ, n.ActorName)
			}
			got := services.Display(n, front+"/")
			want := services.NotificationDisplay{Title: c.title, Body: c.body, Icon: "/push/icon.png", Tag: services.NotificationTag(int64(i + 1)), URL: front + c.url}
			if got != want {
				t.Errorf("%s:\n got %+v\nwant %+v", c.typ, got, want)
			}
		}
		// No actor (or a deleted one): "Someone".
		n, err := inbox.Record(context.Background(), services.NotificationInput{Recipient: b.ID, Type: services.NotifyFriendRequest})
		if err != nil {
			t.Fatal(err)
		}
		if d := services.Display(n, front); d.Body != "Someone sent you a friend request" {
			t.Fatalf("no actor: %+v", d)
		}
	})
}

// TestPushMessageHeaders: TTL, urgency and Topic by type.
func TestPushMessageHeaders(t *testing.T) {
	db := dbtest.SQLite(t)
	pub, priv, err := services.GenerateVAPIDKeys()
	if err != nil {
		t.Fatal(err)
	}
	push, err := services.NewPushService(db, nil, services.PushConfig{VAPIDPublicKey: pub, VAPIDPrivateKey: priv, Subscriber: "mailto:a@example.test"})
	if err != nil {
		t.Fatal(err)
	}
	d := services.NewPushDispatcher(push, nil, nil, services.PushDispatcherConfig{FrontendURL: "http://f", InvitationTTL: 2 * time.Minute}, nil)
	actor := "11111111-1111-4111-8111-111111111111"
	now := time.Now()
	cases := []struct {
		typ     services.NotificationType
		created time.Time
		ttl     time.Duration
		urgency services.PushUrgency
	}{
		{services.NotifyGameInvitation, now, 2 * time.Minute, services.PushUrgencyHigh},
		{services.NotifyGameInvitation, now.Add(-90 * time.Second), 30 * time.Second, services.PushUrgencyHigh},
		{services.NotifyGameInvitation, now.Add(-time.Hour), time.Second, services.PushUrgencyHigh},
		{services.NotifyGameAccepted, now, 2 * time.Minute, services.PushUrgencyNormal},
		{services.NotifyMessage, now, 24 * time.Hour, services.PushUrgencyNormal},
		{services.NotifyFriendRequest, now, 7 * 24 * time.Hour, services.PushUrgencyNormal},
		{services.NotifyFriendDeleted, now, 24 * time.Hour, services.PushUrgencyLow},
	}
	for _, c := range cases {
		body, opts, err := d.Message(models.Notification{Seq: 7, Type: string(c.typ), ActorID: &actor, Payload: "{}", CreatedAt: c.created})
		if err != nil {
			t.Fatal(err)
		}
		if diff := opts.TTL - c.ttl; diff < -2*time.Second || diff > 2*time.Second || opts.Urgency != c.urgency {
			t.Errorf("%s created %v ago: TTL %v urgency %q, want %v %q", c.typ, now.Sub(c.created), opts.TTL, opts.Urgency, c.ttl, c.urgency)
		}
		if opts.Topic != services.PushTopic("sender:"+actor) || len(opts.Topic) != 32 {
			t.Errorf("%s: topic %q", c.typ, opts.Topic)
		}
		var m services.PushMessage
		if err := json.Unmarshal(body, &m); err != nil || m.Seq != 7 || m.Type != string(c.typ) || m.Tag != "onlinenow-7" {
			t.Errorf("%s: body %s (%v)", c.typ, body, err)
		}
	}
	// Without an actor the topic collapses per type.
	_, opts, err := d.Message(models.Notification{Seq: 1, Type: "message", Payload: "{}", CreatedAt: now})
	if err != nil || opts.Topic != services.PushTopic("type:message") {
		t.Fatalf("no actor: topic %q err %v", opts.Topic, err)
	}
}
