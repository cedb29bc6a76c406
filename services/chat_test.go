package services_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"gorm.io/gorm"

	"github.com/onlinenow/onlinenow/database/dbtest"
	"github.com/onlinenow/onlinenow/models"
	"github.com/onlinenow/onlinenow/services"
)

func countMessages(t *testing.T, db *gorm.DB) int64 {
	t.Helper()
	var n int64
	if err := db.Model(&models.DirectMessage{}).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func TestChatSend(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		s, ctx := newSvc(db), context.Background()
		alice, bob, carol := s.user(t, "alice"), s.user(t, "bob"), s.user(t, "carol")
		a, b, c := alice.ID, bob.ID, carol.ID

		m, delivered, err := s.chat.Send(ctx, services.SendInput{SenderID: a, RecieverID: b, Content: "hello"})
		if err != nil || !delivered {
			t.Fatalf("send: delivered=%v err=%v", delivered, err)
		}
		eq(t, "room", m.RoomID, services.RoomID(b, a))
		eq(t, "seen", m.Seen, false)
		var stored models.DirectMessage
		if err := db.Where("id = ?", m.ID).Take(&stored).Error; err != nil {
			t.Fatalf("message not stored: %v", err)
		}
		eq(t, "stored content", stored.Content, "hello")

		invalid := []services.SendInput{
			{SenderID: a, RecieverID: b, Content: "   "},
			{SenderID: a, RecieverID: b, Content: strings.Repeat("x", services.MaxMessageLen+1)},
			{SenderID: "x", RecieverID: b, Content: "hi"},
			{SenderID: a, RecieverID: a, Content: "hi"},
		}
		for _, in := range invalid {
			if _, _, err := s.chat.Send(ctx, in); !errors.Is(err, services.ErrInvalid) {
				t.Errorf("Send(%.40v) = %v, want ErrInvalid", in, err)
			}
		}
		if _, _, err := s.chat.Send(ctx, services.SendInput{SenderID: a, RecieverID: unknownID(), Content: "hi"}); !errors.Is(err, services.ErrNotFound) {
			t.Errorf("send to unknown: %v", err)
		}

		// Receiver blocks sender: silent drop, nothing stored.
		if _, err := s.social.Block(ctx, c, a); err != nil {
			t.Fatal(err)
		}
		before := countMessages(t, db)
		_, delivered, err = s.chat.Send(ctx, services.SendInput{SenderID: a, RecieverID: c, Content: "hi"})
		if err != nil || delivered {
			t.Errorf("send to a blocker: delivered=%v err=%v, want false, nil", delivered, err)
		}
		// Sender blocks receiver: ErrForbidden, nothing stored.
		_, delivered, err = s.chat.Send(ctx, services.SendInput{SenderID: c, RecieverID: a, Content: "hi"})
		if !errors.Is(err, services.ErrForbidden) || delivered {
			t.Errorf("send to a blocked user: delivered=%v err=%v, want ErrForbidden", delivered, err)
		}
		eq(t, "messages after blocked sends", countMessages(t, db), before)
	})
}

func TestChatJoinRoom(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		s, ctx := newSvc(db), context.Background()
		alice, bob := s.user(t, "alice"), s.user(t, "bob")
		room, err := s.chat.JoinRoom(ctx, alice.ID, bob.ID)
		if err != nil {
			t.Fatal(err)
		}
		eq(t, "room", room, services.RoomID(alice.ID, bob.ID))
		if _, err := s.chat.JoinRoom(ctx, bob.ID, alice.ID); err != nil {
			t.Fatal(err)
		}
		ms, err := s.chat.Room(ctx, room)
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != 1 {
			t.Fatalf("messages after two joins = %d, want 1 placeholder", len(ms))
		}
		eq(t, "placeholder content", ms[0].Content, "")
		eq(t, "placeholder seen", ms[0].Seen, true)
		if u, _ := s.chat.Unread(ctx, bob.ID); len(u) != 0 {
			t.Errorf("placeholder counts as unread")
		}
		n, _ := s.chat.CountSent(ctx, alice.ID)
		eq(t, "count sent (placeholder included)", n, int64(1))
		if _, err := s.chat.JoinRoom(ctx, alice.ID, unknownID()); !errors.Is(err, services.ErrNotFound) {
			t.Errorf("join with unknown: %v", err)
		}
	})
}

// TestChatJoinRoomConcurrent: several tabs of both users join the same new
// room at once; exactly one placeholder results and nobody gets an error.
func TestChatJoinRoomConcurrent(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		s, ctx := newSvc(db), context.Background()
		alice, bob := s.user(t, "alice"), s.user(t, "bob")
		var wg sync.WaitGroup
		errs := make(chan error, 16)
		for i := range 16 {
			wg.Go(func() {
				a, b := alice.ID, bob.ID
				if i%2 == 1 {
					a, b = b, a
				}
				if _, err := s.chat.JoinRoom(ctx, a, b); err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("concurrent join: %v", err)
		}
		ms, err := s.chat.Room(ctx, services.RoomID(alice.ID, bob.ID))
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != 1 {
			t.Fatalf("messages after concurrent joins = %d, want 1 placeholder", len(ms))
		}
	})
}

func TestChatMarkSeen(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		s, ctx := newSvc(db), context.Background()
		alice, bob, carol := s.user(t, "alice"), s.user(t, "bob"), s.user(t, "carol")
		s.msg(t, bob, alice, "b1", at(1), false)
		s.msg(t, bob, alice, "b2", at(2), false)
		s.msg(t, alice, bob, "a1", at(3), false)
		s.msg(t, carol, alice, "c1", at(4), false)

		unread, _ := s.chat.Unread(ctx, alice.ID)
		sameList(t, "alice unread", ids(unread, func(m models.DirectMessage) string { return m.Content }), []string{"b1", "b2", "c1"})

		// The first argument is the reader: bob reading alice marks nothing of alice's inbox.
		if err := s.chat.MarkSeen(ctx, bob.ID, alice.ID, true); err != nil {
			t.Fatal(err)
		}
		unread, _ = s.chat.Unread(ctx, alice.ID)
		eq(t, "alice unread after bob reads", len(unread), 3)
		if u, _ := s.chat.Unread(ctx, bob.ID); len(u) != 0 {
			t.Errorf("bob still has %d unread", len(u))
		}

		if err := s.chat.MarkSeen(ctx, alice.ID, bob.ID, true); err != nil {
			t.Fatal(err)
		}
		unread, _ = s.chat.Unread(ctx, alice.ID)
		sameList(t, "alice unread after reading bob", ids(unread, func(m models.DirectMessage) string { return m.Content }), []string{"c1"})

		n, _ := s.chat.CountSent(ctx, bob.ID)
		eq(t, "bob sent", n, int64(2))
	})
}

func TestChatContacts(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		s, ctx := newSvc(db), context.Background()
		me, bob, carol, dave, eve := s.user(t, "me"), s.user(t, "bob"), s.user(t, "carol"), s.user(t, "dave"), s.user(t, "eve")

		s.msg(t, bob, me, "bob1", at(1), false)
		s.msg(t, bob, me, "bob2", at(2), false)
		s.msg(t, me, bob, "me-bob", at(3), false)
		s.msg(t, bob, me, "bob-seen", at(4), true)
		s.msg(t, me, carol, "me-carol", at(10), false)
		s.msg(t, dave, me, "dave1", at(5), false) // me blocks dave: hidden
		s.msg(t, eve, me, "", at(0), true)        // a joinRoom placeholder
		// Third-party traffic that must not leak into my contact list.
		s.msg(t, bob, carol, "bob-carol", at(20), false)
		s.msg(t, carol, bob, "carol-bob", at(21), false)
		s.msg(t, eve, dave, "eve-dave", at(22), false)
		if _, err := s.social.Block(ctx, me.ID, dave.ID); err != nil {
			t.Fatal(err)
		}

		got, err := s.chat.Contacts(ctx, me.ID)
		if err != nil {
			t.Fatal(err)
		}
		type row struct {
			name, from, to string
			unseen         int64
		}
		content := func(m *models.DirectMessage) string {
			if m == nil {
				return "-"
			}
			return m.Content
		}
		var rows []row
		for _, c := range got {
			rows = append(rows, row{*c.User.Name, content(c.LastFromContact), content(c.LastToContact), c.Unseen})
		}
		want := []row{
			{"carol", "-", "me-carol", 0},
			{"bob", "bob-seen", "me-bob", 2},
			{"eve", "", "-", 0},
		}
		if len(rows) != len(want) {
			t.Fatalf("contacts = %+v, want %+v", rows, want)
		}
		for i := range want {
			if rows[i] != want[i] {
				t.Errorf("contact %d = %+v, want %+v", i, rows[i], want[i])
			}
		}
		if len(got) > 1 && !got[1].LastFromContact.CreatedAt.Equal(at(4)) {
			t.Errorf("created_at = %v, want %v", got[1].LastFromContact.CreatedAt, at(4))
		}

		none, err := s.chat.Contacts(ctx, unknownID())
		if err != nil || len(none) != 0 || none == nil {
			t.Errorf("contacts of a stranger = %v, %v; want empty non-nil", none, err)
		}
	})
}

func TestChatUnreadSummary(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		s, ctx := newSvc(db), context.Background()
		me, bob, carol, dave := s.user(t, "me"), s.user(t, "bob"), s.user(t, "carol"), s.user(t, "dave")
		avatar := "https://cdn.example.com/carol.png"
		if err := db.Model(&carol).Update("avatar", avatar).Error; err != nil {
			t.Fatal(err)
		}
		s.msg(t, bob, me, "bob1", at(1), false)
		s.msg(t, bob, me, "bob2", at(5), false)
		s.msg(t, bob, me, "bob-old-seen", at(9), true) // seen: not counted, not "last"
		s.msg(t, carol, me, "carol1", at(7), false)
		s.msg(t, dave, me, "dave1", at(8), false)    // blocked by me
		s.msg(t, me, bob, "mine", at(10), false)     // to bob, not to me
		s.msg(t, bob, carol, "third", at(11), false) // not to me
		if _, err := s.social.Block(ctx, me.ID, dave.ID); err != nil {
			t.Fatal(err)
		}

		got, err := s.chat.UnreadSummary(ctx, me.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 {
			t.Fatalf("summary = %+v, want 2 senders", got)
		}
		c, b := got[0], got[1]
		eq(t, "first sender", c.SenderID, carol.ID)
		eq(t, "carol name", *c.Name, "carol")
		if c.Avatar == nil || *c.Avatar != avatar {
			t.Errorf("carol avatar = %v", c.Avatar)
		}
		eq(t, "carol count", c.Count, int64(1))
		eq(t, "carol last", c.LastContent, "carol1")
		eq(t, "carol lastAt", c.LastAt.UTC(), at(7))
		eq(t, "second sender", b.SenderID, bob.ID)
		eq(t, "bob count", b.Count, int64(2))
		eq(t, "bob last", b.LastContent, "bob2")
		eq(t, "bob lastAt", b.LastAt.UTC(), at(5))
		if b.Avatar != nil {
			t.Errorf("bob avatar = %v, want nil", *b.Avatar)
		}

		if err := s.chat.MarkSeen(ctx, me.ID, carol.ID, true); err != nil {
			t.Fatal(err)
		}
		got, _ = s.chat.UnreadSummary(ctx, me.ID)
		if len(got) != 1 || got[0].SenderID != bob.ID {
			t.Errorf("after reading carol: %+v", got)
		}
		none, err := s.chat.UnreadSummary(ctx, bob.ID+"x")
		if err != nil || len(none) != 0 {
			t.Errorf("summary of nobody = %v, %v", none, err)
		}
	})
}

// TestContactsQueryCount checks the contact list costs a fixed number of
// queries, not one per contact.
func TestContactsQueryCount(t *testing.T) {
	db := dbtest.SQLite(t)
	s, ctx := newSvc(db), context.Background()
	me := s.user(t, "me")
	count := func() int {
		var n atomic.Int64
		counting := db.Session(&gorm.Session{NewDB: true})
		cb := func(*gorm.DB) { n.Add(1) }
		_ = counting.Callback().Query().After("gorm:query").Register("test:count_query", cb)
		_ = counting.Callback().Row().After("gorm:row").Register("test:count_row", cb)
		defer func() {
			_ = counting.Callback().Query().Remove("test:count_query")
			_ = counting.Callback().Row().Remove("test:count_row")
		}()
		if _, err := services.NewChatService(counting, s.social).Contacts(ctx, me.ID); err != nil {
			t.Fatal(err)
		}
		return int(n.Load())
	}
	for i, name := range []string{"c1", "c2", "c3", "c4", "c5", "c6"} {
		u := s.user(t, name)
		s.msg(t, u, me, "hi", at(i), false)
		s.msg(t, me, u, "yo", at(i+100), false)
	}
	if n := count(); n == 0 || n > 3 {
		t.Errorf("Contacts ran %d queries for 6 contacts, want 1-3", n)
	}
}
