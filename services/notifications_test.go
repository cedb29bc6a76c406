package services_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/onlinenow/onlinenow/database/dbtest"
	"github.com/onlinenow/onlinenow/models"
	"github.com/onlinenow/onlinenow/services"
)

func TestNotificationSeqConcurrent(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		s := newSvc(db)
		a, b := s.user(t, "a"), s.user(t, "b")
		inbox := services.NewNotifications(db, nil, services.NotificationsConfig{})
		const workers, each = 8, 10
		var wg sync.WaitGroup
		errs := make(chan error, workers*each)
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range each {
					rcpt := a.ID
					if w%2 == 1 {
						rcpt = b.ID
					}
					if _, err := inbox.Record(context.Background(), services.NotificationInput{Recipient: rcpt, Type: services.NotifyMessage, ActorID: b.ID}); err != nil {
						errs <- err
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		for _, u := range []models.User{a, b} {
			var got []models.Notification
			after := int64(0)
			for {
				page, err := inbox.List(context.Background(), u.ID, after, 7)
				if err != nil {
					t.Fatal(err)
				}
				if len(page) == 0 {
					break
				}
				got = append(got, page...)
				after = page[len(page)-1].Seq
			}
			if len(got) != workers/2*each {
				t.Fatalf("%d notifications, want %d", len(got), workers/2*each)
			}
			for i, n := range got {
				if n.Seq != int64(i+1) {
					t.Fatalf("seq %d at %d: not dense and increasing", n.Seq, i)
				}
			}
		}
	})
}

func TestNotificationReadCountsPreferences(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		s := newSvc(db)
		a, b, c := s.user(t, "a"), s.user(t, "b"), s.user(t, "c")
		inbox := services.NewNotifications(db, nil, services.NotificationsConfig{})
		rec := func(typ services.NotificationType, actor string) models.Notification {
			n, err := inbox.Record(ctx, services.NotificationInput{Recipient: a.ID, Type: typ, ActorID: actor, Payload: map[string]any{"x": 1}})
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		n1 := rec(services.NotifyMessage, b.ID)
		rec(services.NotifyMessage, b.ID)
		rec(services.NotifyFriendRequest, c.ID)
		rec(services.NotifyBlock, c.ID) // muted by default
		n5 := rec(services.NotifyGameInvitation, c.ID)
		counts, err := inbox.UnreadCounts(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		eq(t, "total", counts.Total, int64(4))
		eq(t, "messages", counts.ByType["message"], int64(2))
		eq(t, "from b", counts.BySender[b.ID], int64(2))
		eq(t, "from c", counts.BySender[c.ID], int64(2))
		if _, err := inbox.Record(ctx, services.NotificationInput{Recipient: a.ID, Type: "nope"}); err == nil {
			t.Fatal("unknown type recorded")
		}

		n, err := inbox.MarkRead(ctx, a.ID, []string{n1.ID, n5.ID}, 0)
		if err != nil || n != 2 {
			t.Fatalf("mark ids: %d %v", n, err)
		}
		n, _ = inbox.MarkRead(ctx, a.ID, []string{n1.ID}, 0)
		eq(t, "re-read", n, int64(0))
		counts, _ = inbox.UnreadCounts(ctx, a.ID)
		eq(t, "total after ids", counts.Total, int64(2))
		if _, err := inbox.MarkRead(ctx, a.ID, nil, 0); err == nil {
			t.Fatal("empty read accepted")
		}

		prefs, err := inbox.SetPreferences(ctx, a.ID, map[services.NotificationType]bool{services.NotifyMessage: false, services.NotifyBlock: true})
		if err != nil || prefs[services.NotifyMessage] || !prefs[services.NotifyBlock] || !prefs[services.NotifyGameInvitation] || !prefs[services.NotifyFriendRequest] {
			t.Fatalf("prefs %v %v", prefs, err)
		}
		counts, _ = inbox.UnreadCounts(ctx, a.ID)
		eq(t, "total with messages muted, block on", counts.Total, int64(2)) // friend_request + block
		if _, err := inbox.SetPreferences(ctx, a.ID, map[services.NotificationType]bool{"nope": true}); err == nil {
			t.Fatal("unknown preference accepted")
		}

		n, _ = inbox.MarkRead(ctx, a.ID, nil, 5)
		eq(t, "up to seq", n, int64(3))
		counts, _ = inbox.UnreadCounts(ctx, a.ID)
		eq(t, "total after upTo", counts.Total, int64(0))
		list, _ := inbox.List(ctx, a.ID, 0, 0)
		for _, x := range list {
			if x.ReadAt == nil || x.SeenAt == nil {
				t.Fatalf("seq %d not read", x.Seq)
			}
		}
		if _, err := inbox.List(ctx, a.ID, 0, 201); err == nil {
			t.Fatal("limit 201 accepted")
		}
	})
}

func TestNotificationRetention(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		s := newSvc(db)
		a, b := s.user(t, "a"), s.user(t, "b")
		inbox := services.NewNotifications(db, nil, services.NotificationsConfig{Retention: time.Hour, InboxCap: 3})
		for range 6 {
			if _, err := inbox.Record(ctx, services.NotificationInput{Recipient: a.ID, Type: services.NotifyMessage}); err != nil {
				t.Fatal(err)
			}
		}
		// The first two are old.
		if err := db.Model(&models.Notification{}).Where("user_id = ? AND seq <= 2", a.ID).
			Update("created_at", time.Now().Add(-2*time.Hour)).Error; err != nil {
			t.Fatal(err)
		}
		inbox.Record(ctx, services.NotificationInput{Recipient: b.ID, Type: services.NotifyMessage})
		n, err := inbox.Prune(ctx)
		if err != nil {
			t.Fatal(err)
		}
		eq(t, "pruned", n, int64(3)) // 2 old + 1 over the cap
		list, _ := inbox.List(ctx, a.ID, 0, 0)
		sameList(t, "kept", ids(list, func(n models.Notification) string { return string(rune('0' + n.Seq)) }), []string{"4", "5", "6"})
		lb, _ := inbox.List(ctx, b.ID, 0, 0)
		eq(t, "b kept", len(lb), 1)
		// The sequence continues after pruning.
		nn, _ := inbox.Record(ctx, services.NotificationInput{Recipient: a.ID, Type: services.NotifyMessage})
		eq(t, "next seq", nn.Seq, int64(7))

		rctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- inbox.Run(rctx) }()
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Run did not stop")
		}
	})
}

// TestNotificationStream: a stream started after a cursor gets the stored
// notifications after it, then live ones, once each, in order, while
// others are recorded concurrently.
func TestNotificationStream(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		s := newSvc(db)
		a := s.user(t, "a")
		inbox := services.NewNotifications(db, nil, services.NotificationsConfig{})
		for range 5 {
			inbox.Record(ctx, services.NotificationInput{Recipient: a.ID, Type: services.NotifyMessage})
		}
		var mu sync.Mutex
		var got []int64
		st := inbox.Subscribe(a.ID, func(n models.Notification) {
			mu.Lock()
			got = append(got, n.Seq)
			mu.Unlock()
		})
		defer st.Close()
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 5 {
					inbox.Record(ctx, services.NotificationInput{Recipient: a.ID, Type: services.NotifyMessage})
				}
			}()
		}
		if err := st.Start(ctx, 2); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		if len(got) != 23 {
			t.Fatalf("got %d: %v", len(got), got)
		}
		for i, seq := range got {
			if seq != int64(i+3) {
				t.Fatalf("at %d seq %d: %v", i, seq, got)
			}
		}
	})
}

// TestRecordUnknownRecipient: a recipient that is not a user is ErrNotFound
// and nothing is stored; a bad id or type is ErrInvalid.
func TestRecordUnknownRecipient(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		s := newSvc(db)
		a := s.user(t, "a")
		inbox := services.NewNotifications(db, nil, services.NotificationsConfig{})
		ctx := context.Background()
		ghost := "00000000-0000-4000-8000-000000000000"
		if _, err := inbox.Record(ctx, services.NotificationInput{Recipient: ghost, Type: services.NotifyMessage, ActorID: a.ID}); !errors.Is(err, services.ErrNotFound) {
			t.Fatalf("unknown recipient: %v, want ErrNotFound", err)
		}
		if _, err := inbox.Record(ctx, services.NotificationInput{Recipient: "nope", Type: services.NotifyMessage}); !errors.Is(err, services.ErrInvalid) {
			t.Fatalf("bad id: %v", err)
		}
		if _, err := inbox.Record(ctx, services.NotificationInput{Recipient: a.ID, Type: "bogus"}); !errors.Is(err, services.ErrInvalid) {
			t.Fatalf("bad type: %v", err)
		}
		var rows, counters int64
		db.Model(&models.Notification{}).Count(&rows)
		db.Model(&models.NotificationCounter{}).Count(&counters)
		if rows != 0 || counters != 0 {
			t.Fatalf("%d notifications, %d counters stored", rows, counters)
		}
		// The next real one still starts at 1.
		n, err := inbox.Record(ctx, services.NotificationInput{Recipient: a.ID, Type: services.NotifyMessage})
		if err != nil || n.Seq != 1 {
			t.Fatalf("first: seq %d %v", n.Seq, err)
		}
	})
}
