package services_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"gorm.io/gorm"

	"github.com/onlinenow/onlinenow/database/dbtest"
	"github.com/onlinenow/onlinenow/models"
	"github.com/onlinenow/onlinenow/services"
)

// A block cancels every PENDING invitation between the two, both ways, at
// once: the waiting games go, the inviter waiting is sent error_access and
// each invitee's list is refreshed. Other invitations are not touched.
func TestGameBlockCancelsOpenInvitationsAtOnce(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newGameFixture(t, db)
		ctx := context.Background()
		if _, err := f.social.CreateFriend(ctx, f.a.ID, f.c.ID); err != nil {
			t.Fatal(err)
		}
		aToB := f.invite(t, 3)
		f.join(t, aToB, f.a.ID) // a waits on the game page
		bToA, err := f.svc.Create(ctx, services.CreateGameInput{CreatorID: f.b.ID, InvitedID: f.a.ID})
		if err != nil {
			t.Fatal(err)
		}
		aToC, err := f.svc.Create(ctx, services.CreateGameInput{CreatorID: f.a.ID, InvitedID: f.c.ID})
		if err != nil {
			t.Fatal(err)
		}

		if _, err := f.social.Block(ctx, f.b.ID, f.a.ID); err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{aToB, bToA} {
			if inv := f.invitation(t, id); inv.Status != models.InvitationCanceled {
				t.Fatalf("invitation %s across the block is %s", id, inv.Status)
			}
			if _, ok := f.svc.Game(id); ok {
				t.Fatalf("game %s across the block still in memory", id)
			}
			if !f.ev.has("closed %s", id) {
				t.Fatalf("room of %s not emptied: %v", id, f.ev.log)
			}
		}
		if !f.ev.has("denied %s", f.a.ID) || !f.ev.has("denied %s", f.b.ID) {
			t.Fatalf("the two sides were not sent error_access: %v", f.ev.log)
		}
		// Each invitee heard twice: at the invitation, then at its end.
		for _, u := range []string{f.a.ID, f.b.ID} {
			if n := f.ev.count("invitations %s", u); n != 2 {
				t.Fatalf("invitations %s heard %d times, want 2: %v", u, n, f.ev.log)
			}
		}
		if inv := f.invitation(t, aToC); inv.Status != models.InvitationPending {
			t.Fatalf("an invitation to a third user became %s", inv.Status)
		}
		if _, ok := f.svc.Game(aToC); !ok {
			t.Fatal("the game with a third user is gone")
		}
		if n, _ := f.svc.Games(); n != 1 {
			t.Fatalf("games in memory %d, want 1", n)
		}
		if _, err := f.svc.Answer(ctx, f.invitation(t, aToB).ID, f.b.ID, services.Accept); !errors.Is(err, services.ErrConflict) {
			t.Fatalf("accept after the block: %v", err)
		}

		// Blocking again (the other way too) changes nothing more.
		before := len(f.ev.snapshot())
		if _, err := f.social.Block(ctx, f.b.ID, f.a.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.social.Block(ctx, f.a.ID, f.b.ID); err != nil {
			t.Fatal(err)
		}
		if after := f.ev.snapshot(); len(after) != before {
			t.Fatalf("a repeated block told someone: %v", after[before:])
		}
	})
}

// A started game is not an invitation: a block leaves it to its players.
func TestGameBlockLeavesStartedGames(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newGameFixture(t, dbtest.SQLite(t))
		id := f.invite(t, 100)
		f.join(t, id, f.a.ID)
		f.join(t, id, f.b.ID)
		if _, err := f.social.Block(context.Background(), f.a.ID, f.b.ID); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if g, ok := f.svc.Game(id); !ok || g.Status != services.GameStarted {
			t.Fatalf("started game after a block: %+v %v", g, ok)
		}
		if inv := f.invitation(t, id); inv.Status != models.InvitationAccepted {
			t.Fatalf("invitation of a started game is %s", inv.Status)
		}
	})
}

// racingSocial answers BlockedEither "no" once, then "yes": a block stored
// between Create's check and its insert, whose OnBlock found nothing.
type racingSocial struct {
	services.GameSocial
	checks int
}

func (r *racingSocial) BlockedEither(ctx context.Context, a, b string) (bool, error) {
	r.checks++
	return r.checks > 1, nil
}

func TestGameCreateRacingABlockIsCalledOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := dbtest.SQLite(t)
		s := newSvc(db)
		a, b := s.user(t, "a"), s.user(t, "b")
		ctx := context.Background()
		if _, err := s.social.CreateFriend(ctx, a.ID, b.ID); err != nil {
			t.Fatal(err)
		}
		ev := newGameEvents()
		svc := services.NewGameService(db, &racingSocial{GameSocial: s.social}, ev, ev, nil, services.GameConfig{})
		defer svc.Close()
		if _, err := svc.Create(ctx, services.CreateGameInput{CreatorID: a.ID, InvitedID: b.ID}); !errors.Is(err, services.ErrForbidden) {
			t.Fatalf("create racing a block: %v", err)
		}
		var inv models.GamesInvitation
		if err := db.Where("sender_id = ?", a.ID).Take(&inv).Error; err != nil || inv.Status != models.InvitationCanceled {
			t.Fatalf("invitation %+v %v", inv, err)
		}
		if n, _ := svc.Games(); n != 0 {
			t.Fatalf("games in memory %d", n)
		}
		if !ev.has("denied %s", b.ID) || ev.count("invitations %s", b.ID) != 2 || ev.has("denied %s", a.ID) {
			t.Fatalf("events %v", ev.snapshot())
		}
		// Its expiry timer was stopped with it: nothing fires later.
		n := len(ev.snapshot())
		time.Sleep(3 * time.Minute)
		synctest.Wait()
		if len(ev.snapshot()) != n {
			t.Fatalf("events after the call-off: %v", ev.snapshot()[n:])
		}
	})
}

// GameConfig's durations are the ones used: a 10 s invitation expires
// after 10 s, a 1 s rejoin grace forfeits after 1 s.
func TestGameConfiguredDurations(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newGameFixtureWith(t, dbtest.SQLite(t), services.GameConfig{InvitationTTL: 10 * time.Second, RejoinGrace: time.Second})
		id := f.invite(t, 100)
		time.Sleep(9900 * time.Millisecond)
		synctest.Wait()
		if inv := f.invitation(t, id); inv.Status != models.InvitationPending {
			t.Fatalf("before the TTL: %s", inv.Status)
		}
		time.Sleep(200 * time.Millisecond)
		synctest.Wait()
		if inv := f.invitation(t, id); inv.Status != models.InvitationCanceled {
			t.Fatalf("after the TTL: %s", inv.Status)
		}

		id = f.invite(t, 100)
		f.svc.Connected(f.a.ID)
		f.svc.Connected(f.b.ID)
		f.join(t, id, f.a.ID)
		f.join(t, id, f.b.ID)
		f.svc.Disconnected(f.b.ID)
		time.Sleep(900 * time.Millisecond)
		synctest.Wait()
		if len(f.ev.finals()) != 0 {
			t.Fatal("forfeit before the grace ended")
		}
		time.Sleep(200 * time.Millisecond)
		synctest.Wait()
		if fin := f.ev.finals(); len(fin) != 1 || fin[0].Winner != f.a.ID {
			t.Fatalf("after the grace: %+v", fin)
		}
	})
}
