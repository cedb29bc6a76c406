package services_test

import (
	"context"
	"errors"
	"math"
	"testing"

	"gorm.io/gorm"

	"github.com/onlinenow/onlinenow/database/dbtest"
	"github.com/onlinenow/onlinenow/models"
	"github.com/onlinenow/onlinenow/services"
)

func TestUserCreate(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		s, ctx := newSvc(db), context.Background()
		alice := s.user(t, "alice")
		eq(t, "status", alice.Status, models.StatusOffline)
		eq(t, "isAuth", alice.IsAuth, true)
		if !services.ValidID(alice.ID) {
			t.Errorf("id %q is not a UUID", alice.ID)
		}
		bob := "bob"
		tests := []struct {
			name string
			in   services.CreateUserInput
			want error
		}{
			{"duplicate email", services.CreateUserInput{Email: "alice@example.com", IntraID: "x1"}, services.ErrConflict},
			{"duplicate intraId", services.CreateUserInput{Email: "x@example.com", IntraID: "intra-alice"}, services.ErrConflict},
			{"duplicate name", services.CreateUserInput{Name: alice.Name, Email: "y@example.com", IntraID: "x2"}, services.ErrConflict},
			{"empty email", services.CreateUserInput{IntraID: "x3"}, services.ErrInvalid},
			{"empty intraId", services.CreateUserInput{Email: "z@example.com"}, services.ErrInvalid},
			{"ok without name", services.CreateUserInput{Email: "n@example.com", IntraID: "x4"}, nil},
			{"ok", services.CreateUserInput{Name: &bob, Email: "bob@example.com", IntraID: "x5"}, nil},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				_, err := s.users.Create(ctx, tc.in)
				if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
					t.Fatalf("err = %v, want %v", err, tc.want)
				}
			})
		}
		all, err := s.users.Users(ctx)
		if err != nil {
			t.Fatal(err)
		}
		eq(t, "users", len(all), 3)
		eq(t, "first user", all[0].ID, alice.ID)
	})
}

func TestUserLookupRenameDelete(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		s, ctx := newSvc(db), context.Background()
		alice, bob := s.user(t, "alice"), s.user(t, "bob")

		for _, id := range []string{"nope", unknownID(), ""} {
			if _, err := s.users.User(ctx, id); !errors.Is(err, services.ErrNotFound) {
				t.Errorf("User(%q) err = %v, want ErrNotFound", id, err)
			}
		}

		if err := s.users.Rename(ctx, alice.ID, "bob"); !errors.Is(err, services.ErrConflict) {
			t.Errorf("rename to a taken name: %v, want ErrConflict", err)
		}
		if err := s.users.Rename(ctx, alice.ID, "bad name!"); !errors.Is(err, services.ErrInvalid) {
			t.Errorf("rename to an invalid name: %v, want ErrInvalid", err)
		}
		if err := s.users.Rename(ctx, unknownID(), "carol"); !errors.Is(err, services.ErrNotFound) {
			t.Errorf("rename unknown: %v, want ErrNotFound", err)
		}
		if err := s.users.Rename(ctx, alice.ID, "Alicé_1.x-y"); err != nil {
			t.Fatal(err)
		}
		u, _ := s.users.User(ctx, alice.ID)
		eq(t, "name", *u.Name, "Alicé_1.x-y")

		if err := s.users.SetTwoFactor(ctx, alice.ID, true); err != nil {
			t.Fatal(err)
		}
		u, _ = s.users.User(ctx, alice.ID)
		eq(t, "2fa", u.IsTwoFactorEnabled, true)
		if err := s.users.SetTwoFactor(ctx, unknownID(), false); !errors.Is(err, services.ErrNotFound) {
			t.Errorf("2fa unknown: %v", err)
		}

		// Deleting a user cascades to what references it.
		s.msg(t, alice, bob, "hi", at(1), false)
		if _, err := s.social.CreateFriend(ctx, alice.ID, bob.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.users.CreateStat(ctx, alice.ID, services.StatInput{WinsNumbr: 1}); err != nil {
			t.Fatal(err)
		}
		if err := s.users.Delete(ctx, alice.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.users.Delete(ctx, alice.ID); !errors.Is(err, services.ErrNotFound) {
			t.Errorf("second delete: %v, want ErrNotFound", err)
		}
		for _, m := range []any{&models.DirectMessage{}, &models.Friend{}, &models.UserStat{}} {
			var n int64
			db.Model(m).Count(&n)
			if n != 0 {
				t.Errorf("%T rows left after delete: %d", m, n)
			}
		}
	})
}

func TestUserStats(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		s, ctx := newSvc(db), context.Background()
		alice := s.user(t, "alice")
		id := alice.ID

		if _, err := s.users.Stat(ctx, id); !errors.Is(err, services.ErrNotFound) {
			t.Fatalf("stat before create: %v", err)
		}
		bad := []services.StatInput{{WinsNumbr: -1}, {LossesNumbr: -2}, {Rate: math.NaN()}, {Rate: math.Inf(1)}}
		for _, in := range bad {
			if _, err := s.users.CreateStat(ctx, id, in); !errors.Is(err, services.ErrInvalid) {
				t.Errorf("CreateStat(%+v) = %v, want ErrInvalid", in, err)
			}
		}
		if _, err := s.users.CreateStat(ctx, unknownID(), services.StatInput{}); !errors.Is(err, services.ErrNotFound) {
			t.Errorf("stat of unknown user: %v", err)
		}
		st, err := s.users.CreateStat(ctx, id, services.StatInput{WinsNumbr: 3, LossesNumbr: 1, Rate: 0.75})
		if err != nil {
			t.Fatal(err)
		}
		eq(t, "rate", st.Rate, 0.75)
		if _, err := s.users.CreateStat(ctx, id, services.StatInput{}); !errors.Is(err, services.ErrConflict) {
			t.Errorf("second stat: %v, want ErrConflict", err)
		}
		st, err = s.users.UpdateStat(ctx, id, services.StatInput{WinsNumbr: 4, LossesNumbr: 2, Rate: 0.5})
		if err != nil {
			t.Fatal(err)
		}
		eq(t, "wins", st.WinsNumbr, 4)
		eq(t, "losses", st.LossesNumbr, 2)
		if err := s.users.DeleteStat(ctx, id); err != nil {
			t.Fatal(err)
		}
		if err := s.users.DeleteStat(ctx, id); !errors.Is(err, services.ErrNotFound) {
			t.Errorf("second delete: %v", err)
		}
		if _, err := s.users.UpdateStat(ctx, id, services.StatInput{}); !errors.Is(err, services.ErrNotFound) {
			t.Errorf("update missing: %v", err)
		}
	})
}

func TestUserGamesAndAchievements(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		s, ctx := newSvc(db), context.Background()
		alice, bob, carol := s.user(t, "alice"), s.user(t, "bob"), s.user(t, "carol")
		games := []models.GamesHistories{
			{PlayerAID: alice.ID, PlayerBID: bob.ID, PlayerAScore: 5, CreatedAt: at(1)},
			{PlayerAID: bob.ID, PlayerBID: carol.ID, PlayerAScore: 1, CreatedAt: at(2)},
			{PlayerAID: carol.ID, PlayerBID: alice.ID, PlayerAScore: 2, CreatedAt: at(3)},
		}
		if err := db.Create(&games).Error; err != nil {
			t.Fatal(err)
		}
		got, err := s.users.Games(ctx, alice.ID)
		if err != nil {
			t.Fatal(err)
		}
		sameList(t, "alice's games", ids(got, func(g models.GamesHistories) string { return g.ID }),
			[]string{games[2].ID, games[0].ID})

		if _, err := s.users.AddAchievements(ctx, unknownID(), []string{"x"}); !errors.Is(err, services.ErrNotFound) {
			t.Errorf("unknown user: %v", err)
		}
		if _, err := s.users.AddAchievements(ctx, alice.ID, nil); !errors.Is(err, services.ErrInvalid) {
			t.Errorf("no items: %v", err)
		}
		a1, err := s.users.AddAchievements(ctx, alice.ID, []string{"first", "second"})
		if err != nil {
			t.Fatal(err)
		}
		a2, err := s.users.AddAchievements(ctx, alice.ID, []string{"second", "third"})
		if err != nil {
			t.Fatal(err)
		}
		eq(t, "same row", a2.ID, a1.ID)
		rows, err := s.users.Achievements(ctx, alice.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 1 {
			t.Fatalf("rows = %d, want 1", len(rows))
		}
		sameList(t, "achievements", rows[0].Achievement, []string{"first", "second", "third"})
		if rows, _ := s.users.Achievements(ctx, bob.ID); len(rows) != 0 {
			t.Errorf("bob has %d rows", len(rows))
		}
	})
}
