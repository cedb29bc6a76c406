package gateways

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/zishang520/socket.io/servers/socket/v3"
	"gorm.io/gorm"

	"github.com/onlinenow/onlinenow/database/dbtest"
	"github.com/onlinenow/onlinenow/dto"
	"github.com/onlinenow/onlinenow/internal/siotest"
	"github.com/onlinenow/onlinenow/models"
	"github.com/onlinenow/onlinenow/services"
)

// TestNotificationReplayStress records notifications for a user while its
// /appGateway socket keeps reconnecting with auth.lastSeq = the last seq it
// received: the client-side sequence is gap-free and duplicate-free.
func TestNotificationReplayStress(t *testing.T) {
	e, inbox := newInboxEnv(t, dbtest.SQLite(t))
	url := e.url
	a, b := e.user("a"), e.user("b")

	const total = 120
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range total {
			if _, err := inbox.Record(context.Background(), services.NotificationInput{
				Recipient: a.ID, Type: services.NotifyMessage, ActorID: b.ID,
			}); err != nil {
				t.Error(err)
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	var got []int64
	last := int64(0)
	for round := 0; last < total; round++ {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		c, err := siotest.Dial(ctx, url, AppNamespace, map[string]any{"token": e.token(a), "lastSeq": last}, nil)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(time.Duration(5+round%7) * time.Millisecond)
		for time.Now().Before(deadline) || round > 200 || !recording(&wg) {
			ev, err := c.Next(50 * time.Millisecond)
			if err != nil {
				break
			}
			if ev.Name != "notification" {
				continue
			}
			var n struct{ Seq int64 }
			if err := json.Unmarshal(ev.Args[0], &n); err != nil {
				t.Fatal(err)
			}
			got = append(got, n.Seq)
			last = n.Seq
			if last == total {
				break
			}
		}
		c.Close()
		if round > 2000 {
			t.Fatalf("stuck at %d", last)
		}
	}
	wg.Wait()
	for i, seq := range got {
		if seq != int64(i+1) {
			t.Fatalf("at %d seq %d: gap or duplicate", i, seq)
		}
	}
	if len(got) != total {
		t.Fatalf("got %d", len(got))
	}
}

// recording reports whether wg is still waited on (false once done).
func recording(wg *sync.WaitGroup) bool {
	ch := make(chan struct{})
	go func() { wg.Wait(); close(ch) }()
	select {
	case <-ch:
		return false
	case <-time.After(time.Millisecond):
		return true
	}
}

// newInboxEnv is newEnv (strict mode) with the inbox wired as in main:
// the gateways record, and /appGateway carries notification, unreadCount
// and sync.
func newInboxEnv(t *testing.T, db *gorm.DB) (*env, *services.Notifications) {
	t.Helper()
	inbox := services.NewNotifications(db, slog.New(slog.NewTextHandler(io.Discard, nil)), services.NotificationsConfig{})
	e := newEnvWith(t, db, envOptions{inbox: inbox, attach: func(sio *socket.Server, d Deps) ([]func(context.Context) error, func()) {
		RegisterNotifications(sio, d, inbox)
		return nil, nil
	}})
	return e, inbox
}

// inboxEvent reads c's next "notification" or "unreadCount", skipping the
// other events (userStatus, notifMessage, relays).
func inboxEvent(t *testing.T, c *siotest.Client) (string, json.RawMessage) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		ev, err := c.Next(time.Until(deadline))
		if err != nil {
			t.Fatalf("waiting for notification/unreadCount: %v", err)
		}
		if (ev.Name == "notification" || ev.Name == "unreadCount") && len(ev.Args) == 1 {
			return ev.Name, ev.Args[0]
		}
	}
}

// notificationsUpTo reads c's notifications until seq last (unreadCounts
// are skipped) and returns their seqs.
func notificationsUpTo(t *testing.T, c *siotest.Client, last int64) []int64 {
	t.Helper()
	var seqs []int64
	for {
		name, raw := inboxEvent(t, c)
		if name != "notification" {
			continue
		}
		var n struct{ Seq int64 }
		if err := json.Unmarshal(raw, &n); err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, n.Seq)
		if n.Seq >= last {
			return seqs
		}
	}
}

// unreadCountReaches reads c's events until an unreadCount equal to want
// (JSON) arrives; notifications are skipped.
func unreadCountReaches(t *testing.T, c *siotest.Client, want string) {
	t.Helper()
	converge(t, c, nil, want)
}

// converge reads c's events until it has had exactly the notifications
// seqs, in order, and its latest unreadCount is want (JSON). A count may
// come before the notification it counts: they are independent events.
func converge(t *testing.T, c *siotest.Client, seqs []int64, want string) {
	t.Helper()
	var got []int64
	var last string
	deadline := time.Now().Add(wait)
	for len(got) < len(seqs) || last != want {
		ev, err := c.Next(time.Until(deadline))
		if err != nil {
			t.Fatalf("notifications %v (want %v), last unreadCount %s (want %s): %v", got, seqs, last, want, err)
		}
		switch ev.Name {
		case "unreadCount":
			last = string(ev.Args[0])
		case "notification":
			var n struct{ Seq int64 }
			if err := json.Unmarshal(ev.Args[0], &n); err != nil {
				t.Fatal(err)
			}
			got = append(got, n.Seq)
			if len(got) > len(seqs) || got[len(got)-1] != seqs[len(got)-1] {
				t.Fatalf("notifications %v, want %v", got, seqs)
			}
		}
	}
}

// noInboxEvent asserts that no notification or unreadCount reaches any of
// cs for a while; other events are ignored.
func noInboxEvent(t *testing.T, cs ...*siotest.Client) {
	t.Helper()
	time.Sleep(quiet)
	for i, c := range cs {
		for {
			ev, err := c.Next(time.Millisecond)
			if err != nil {
				break
			}
			if ev.Name == "notification" || ev.Name == "unreadCount" {
				t.Fatalf("client %d got unexpected %s %s", i, ev.Name, args(ev))
			}
		}
	}
}

// onlyUnreadCount asserts that for a while cs get no notification and no
// unreadCount other than want; other events are ignored.
func onlyUnreadCount(t *testing.T, want string, cs ...*siotest.Client) {
	t.Helper()
	time.Sleep(quiet)
	for i, c := range cs {
		for {
			ev, err := c.Next(time.Millisecond)
			if err != nil {
				break
			}
			if ev.Name == "notification" || ev.Name == "unreadCount" && string(ev.Args[0]) != want {
				t.Fatalf("client %d got unexpected %s %s", i, ev.Name, args(ev))
			}
		}
	}
}

func seqRange(from, to int64) []int64 {
	var out []int64
	for s := from; s <= to; s++ {
		out = append(out, s)
	}
	return out
}

// TestNotificationUnreadCountsConvergeAcrossTabs: a user's two opted-in
// tabs get every notification in order, and after reads made concurrently
// (REST has no socket path: the service the controller calls) while more
// notifications arrive, the last unreadCount of both tabs is the service's
// exact absolute counts. Then sync {lastSeq: k} on a live tab rewinds it.
func TestNotificationUnreadCountsConvergeAcrossTabs(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		e, inbox := newInboxEnv(t, db)
		ctx := context.Background()
		a, b, c := e.user("alice"), e.user("bob"), e.user("carol")
		achat, cchat := e.dial(ChatNamespace, &a), e.dial(ChatNamespace, &c)
		aapp := e.dial(AppNamespace, &a)
		tab1 := e.dialAuth(AppNamespace, map[string]any{"token": e.token(b), "lastSeq": 0}, nil)
		tab2 := e.dialAuth(AppNamespace, map[string]any{"token": e.token(b), "lastSeq": 0}, nil)
		zero := `{"total":0,"byType":{},"bySender":{}}`
		unreadCountReaches(t, tab1, zero)
		unreadCountReaches(t, tab2, zero)

		send := func(from *siotest.Client, sender models.User, text string) {
			t.Helper()
			ack, err := from.EmitWithAck(wait, "message", map[string]any{"content": text, "senderId": sender.ID, "recieverId": b.ID})
			if err != nil || len(ack) != 1 || string(ack[0]) != `{"status":"ok"}` {
				t.Fatalf("message ack %v %v", ack, err)
			}
		}
		// seq 1-3: alice's messages, 4-5: carol's, 6: alice's friend request.
		for i := range 3 {
			send(achat, a, fmt.Sprintf("a%d", i))
		}
		for i := range 2 {
			send(cchat, c, fmt.Sprintf("c%d", i))
		}
		aapp.Emit("RequestFriendShip", map[string]any{"userId": a.ID, "friendId": b.ID, "stats": "RequestFriendShip"})
		for i, tab := range []*siotest.Client{tab1, tab2} {
			if got := notificationsUpTo(t, tab, 6); !slices.Equal(got, seqRange(1, 6)) {
				t.Fatalf("tab %d seqs %v", i+1, got)
			}
		}
		list, err := inbox.List(ctx, b.ID, 0, 0)
		if err != nil || len(list) != 6 {
			t.Fatalf("list %d %v", len(list), err)
		}
		if list[5].Type != string(services.NotifyFriendRequest) || list[0].Type != string(services.NotifyMessage) {
			t.Fatalf("types %s %s", list[0].Type, list[5].Type)
		}

		// Tab 1 reads seq 1 and 4 by id, tab 2 everything up to seq 2,
		// concurrently, while carol sends seq 7.
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			if _, err := inbox.MarkRead(ctx, b.ID, []string{list[0].ID, list[3].ID}, 0); err != nil {
				t.Error(err)
			}
		}()
		go func() {
			defer wg.Done()
			if _, err := inbox.MarkRead(ctx, b.ID, nil, 2); err != nil {
				t.Error(err)
			}
		}()
		send(cchat, c, "c2")
		wg.Wait()
		if t.Failed() {
			t.FailNow()
		}

		// Unread: 3 (alice, message), 5 and 7 (carol, message), 6 (alice,
		// friend_request).
		counts, err := inbox.UnreadCounts(ctx, b.ID)
		if err != nil {
			t.Fatal(err)
		}
		wantCounts := services.UnreadCounts{Total: 4,
			ByType:   map[string]int64{"message": 3, "friend_request": 1},
			BySender: map[string]int64{a.ID: 2, c.ID: 2}}
		if !reflect.DeepEqual(counts, wantCounts) {
			t.Fatalf("service counts %+v, want %+v", counts, wantCounts)
		}
		raw, err := json.Marshal(dto.FromUnreadCounts(counts))
		if err != nil {
			t.Fatal(err)
		}
		want := string(raw)
		for _, tab := range []*siotest.Client{tab1, tab2} {
			converge(t, tab, []int64{7}, want)
		}
		// ... and it stays the last one: nothing stale follows (a refresh
		// asked for while one ran may repeat the same counts).
		onlyUnreadCount(t, want, tab1, tab2)

		// Reads from both tabs again, one after the other: seq 5, then all.
		if n, err := inbox.MarkRead(ctx, b.ID, []string{list[4].ID}, 0); err != nil || n != 1 {
			t.Fatalf("mark read %d %v", n, err)
		}
		if n, err := inbox.MarkRead(ctx, b.ID, nil, 7); err != nil || n != 3 {
			t.Fatalf("mark read %d %v", n, err)
		}
		for _, tab := range []*siotest.Client{tab1, tab2} {
			unreadCountReaches(t, tab, zero)
		}
		onlyUnreadCount(t, zero, tab1, tab2)

		// sync {lastSeq: 3} on live tab 1: seq 4..7 again, in order, once;
		// tab 2 gets nothing.
		ack, err := tab1.EmitWithAck(wait, "sync", map[string]any{"lastSeq": 3})
		if err != nil || len(ack) != 1 || string(ack[0]) != `{"status":"ok"}` {
			t.Fatalf("sync ack %v %v", ack, err)
		}
		if got := notificationsUpTo(t, tab1, 7); !slices.Equal(got, seqRange(4, 7)) {
			t.Fatalf("rewound seqs %v", got)
		}
		noInboxEvent(t, tab1, tab2)
		// Then live again: seq 8 once on each tab.
		send(achat, a, "a3")
		for i, tab := range []*siotest.Client{tab1, tab2} {
			if got := notificationsUpTo(t, tab, 8); !slices.Equal(got, []int64{8}) {
				t.Fatalf("tab %d live seqs %v", i+1, got)
			}
		}
	})
}
