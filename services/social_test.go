package services_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"gorm.io/gorm"

	"github.com/onlinenow/onlinenow/database/dbtest"
	"github.com/onlinenow/onlinenow/models"
	"github.com/onlinenow/onlinenow/services"
)

func TestFriends(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		s, ctx := newSvc(db), context.Background()
		alice, bob, carol := s.user(t, "alice"), s.user(t, "bob"), s.user(t, "carol")
		a, b, c := alice.ID, bob.ID, carol.ID

		f, err := s.social.CreateFriend(ctx, a, b)
		if err != nil {
			t.Fatal(err)
		}
		eq(t, "status", f.FriendShipStatus, models.FriendPending)

		bad := []struct {
			name     string
			from, to string
			want     error
		}{
			{"duplicate same direction", a, b, services.ErrConflict},
			{"duplicate other direction", b, a, services.ErrConflict},
			{"self", a, a, services.ErrInvalid},
			{"not a uuid", a, "x", services.ErrInvalid},
			{"unknown user", a, unknownID(), services.ErrNotFound},
		}
		for _, tc := range bad {
			t.Run(tc.name, func(t *testing.T) {
				if _, err := s.social.CreateFriend(ctx, tc.from, tc.to); !errors.Is(err, tc.want) {
					t.Fatalf("err = %v, want %v", err, tc.want)
				}
			})
		}

		pending, _ := s.social.Pending(ctx, b)
		eq(t, "bob pending", len(pending), 1)
		if p, _ := s.social.Pending(ctx, a); len(p) != 0 {
			t.Errorf("alice has %d incoming requests", len(p))
		}
		if fs, _ := s.social.Friends(ctx, a); len(fs) != 0 {
			t.Errorf("friends before accept: %d", len(fs))
		}

		// Only the (requester, addressee) order identifies the request.
		if _, err := s.social.AcceptFriend(ctx, b, a); !errors.Is(err, services.ErrNotFound) {
			t.Errorf("accept reversed: %v, want ErrNotFound", err)
		}
		acc, err := s.social.AcceptFriend(ctx, a, b)
		if err != nil {
			t.Fatal(err)
		}
		eq(t, "accepted", acc.FriendShipStatus, models.FriendAccepted)
		for _, id := range []string{a, b} {
			fs, _ := s.social.Friends(ctx, id)
			eq(t, "friends", len(fs), 1)
		}
		both, _ := s.social.Friendship(ctx, b, a)
		eq(t, "friendship rows", len(both), 1)

		if _, err := s.social.CreateFriend(ctx, c, a); err != nil {
			t.Fatal(err)
		}
		if err := s.social.DeleteFriend(ctx, b, a); err != nil {
			t.Fatal(err)
		}
		if fs, _ := s.social.Friendship(ctx, a, b); len(fs) != 0 {
			t.Errorf("rows left after delete: %d", len(fs))
		}
		if fs, _ := s.social.Friendship(ctx, a, c); len(fs) != 1 {
			t.Errorf("delete removed an unrelated request")
		}

		// A block in either direction forbids a request.
		if _, err := s.social.Block(ctx, b, a); err != nil {
			t.Fatal(err)
		}
		for _, pair := range [][2]string{{a, b}, {b, a}} {
			if _, err := s.social.CreateFriend(ctx, pair[0], pair[1]); !errors.Is(err, services.ErrForbidden) {
				t.Errorf("request across a block: %v, want ErrForbidden", err)
			}
		}
	})
}

func TestBlocks(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		s, ctx := newSvc(db), context.Background()
		alice, bob := s.user(t, "alice"), s.user(t, "bob")
		a, b := alice.ID, bob.ID

		first, err := s.social.Block(ctx, a, b)
		if err != nil {
			t.Fatal(err)
		}
		again, err := s.social.Block(ctx, a, b)
		if err != nil {
			t.Fatal(err)
		}
		eq(t, "idempotent block id", again.ID, first.ID)
		if by, _ := s.social.BlockedBy(ctx, a); len(by) != 1 {
			t.Errorf("rows after two blocks: %d", len(by))
		}
		if _, err := s.social.Block(ctx, a, a); !errors.Is(err, services.ErrInvalid) {
			t.Errorf("self block: %v", err)
		}
		if _, err := s.social.Block(ctx, a, unknownID()); !errors.Is(err, services.ErrNotFound) {
			t.Errorf("block unknown: %v", err)
		}

		checks := []struct {
			name string
			fn   func() (bool, error)
			want bool
		}{
			{"a blocks b", func() (bool, error) { return s.social.IsBlocked(ctx, a, b) }, true},
			{"b blocks a", func() (bool, error) { return s.social.IsBlocked(ctx, b, a) }, false},
			{"either a,b", func() (bool, error) { return s.social.BlockedEither(ctx, a, b) }, true},
			{"either b,a", func() (bool, error) { return s.social.BlockedEither(ctx, b, a) }, true},
		}
		for _, tc := range checks {
			got, err := tc.fn()
			if err != nil || got != tc.want {
				t.Errorf("%s = %v, %v; want %v", tc.name, got, err, tc.want)
			}
		}
		if bs, _ := s.social.Blocks(ctx, b, a); len(bs) != 1 {
			t.Errorf("Blocks(b, a) = %d rows, want 1", len(bs))
		}
		if err := s.social.Unblock(ctx, b, a); err != nil {
			t.Fatal(err)
		}
		if bs, _ := s.social.Blocks(ctx, a, b); len(bs) != 1 {
			t.Errorf("unblock by the wrong user removed the block")
		}
		if err := s.social.Unblock(ctx, a, b); err != nil {
			t.Fatal(err)
		}
		if bs, _ := s.social.Blocks(ctx, a, b); len(bs) != 0 {
			t.Errorf("block left after unblock")
		}
	})
}

func TestStatusAudience(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		s, ctx := newSvc(db), context.Background()
		me := s.user(t, "me")
		friend, blocked, blocker, pending, stranger := s.user(t, "friend"), s.user(t, "blocked"), s.user(t, "blocker"), s.user(t, "pending"), s.user(t, "stranger")
		_ = stranger
		befriend := func(from, to models.User) {
			t.Helper()
			if _, err := s.social.CreateFriend(ctx, from.ID, to.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := s.social.AcceptFriend(ctx, from.ID, to.ID); err != nil {
				t.Fatal(err)
			}
		}
		befriend(me, friend)
		befriend(blocked, me) // friendship requested by the other side
		befriend(me, blocker)
		if _, err := s.social.CreateFriend(ctx, me.ID, pending.ID); err != nil {
			t.Fatal(err)
		}
		// Blocks made after the friendships (creating a request across a
		// block is refused).
		if _, err := s.social.Block(ctx, me.ID, blocked.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.social.Block(ctx, blocker.ID, me.ID); err != nil {
			t.Fatal(err)
		}
		got, err := s.social.StatusAudience(ctx, me.ID)
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(got)
		sameList(t, "audience", got, []string{friend.ID})

		got, _ = s.social.StatusAudience(ctx, friend.ID)
		sameList(t, "friend's audience", got, []string{me.ID})
	})
}
