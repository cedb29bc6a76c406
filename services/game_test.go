package services_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"gorm.io/gorm"

	"github.com/onlinenow/onlinenow/database/dbtest"
	"github.com/onlinenow/onlinenow/models"
	"github.com/onlinenow/onlinenow/services"
)

// gameEvents is a GameNotifier and an InGameSetter that records calls.
type gameEvents struct {
	mu     sync.Mutex
	frames map[string]int
	log    []string
	final  []services.Game
}

func newGameEvents() *gameEvents { return &gameEvents{frames: map[string]int{}} }

func (e *gameEvents) add(s string, args ...any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.log = append(e.log, fmt.Sprintf(s, args...))
}

func (e *gameEvents) GameStarted(id string) { e.add("started %s", id) }
func (e *gameEvents) GameFrame(g services.Game) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.frames[g.ID]++
}
func (e *gameEvents) GameFinished(g services.Game) {
	e.add("finished %s", g.ID)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.final = append(e.final, g)
}
func (e *gameEvents) GameClosed(id string)        { e.add("closed %s", id) }
func (e *gameEvents) InvitationsChanged(u string) { e.add("invitations %s", u) }
func (e *gameEvents) AccessDenied(u, id string)   { e.add("denied %s", u) }
func (e *gameEvents) GameError(u, msg string)     { e.add("error %s %s", u, msg) }
func (e *gameEvents) SetInGame(u string, in bool) { e.add("ingame %s %v", u, in) }
func (e *gameEvents) frameCount(id string) int    { e.mu.Lock(); defer e.mu.Unlock(); return e.frames[id] }
func (e *gameEvents) has(s string, args ...any) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Contains(e.log, fmt.Sprintf(s, args...))
}
func (e *gameEvents) count(s string, args ...any) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	want := fmt.Sprintf(s, args...)
	n := 0
	for _, l := range e.log {
		if l == want {
			n++
		}
	}
	return n
}
func (e *gameEvents) snapshot() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.log)
}
func (e *gameEvents) finals() []services.Game {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.final)
}

// gameFixture is a game service over SQLite inside a synctest bubble, with
// two friends a and b and a stranger c.
type gameFixture struct {
	db      *gorm.DB
	social  *services.SocialService // tells svc of its blocks
	svc     *services.GameService
	ev      *gameEvents
	a, b, c models.User
}

func newGameFixture(t *testing.T, db *gorm.DB) *gameFixture {
	t.Helper()
	return newGameFixtureWith(t, db, services.GameConfig{})
}

func newGameFixtureWith(t *testing.T, db *gorm.DB, cfg services.GameConfig) *gameFixture {
	t.Helper()
	s := newSvc(db)
	f := &gameFixture{db: db, social: s.social, ev: newGameEvents()}
	f.a, f.b, f.c = s.user(t, "a"), s.user(t, "b"), s.user(t, "c")
	ctx := context.Background()
	if _, err := s.social.CreateFriend(ctx, f.a.ID, f.b.ID); err != nil {
		t.Fatal(err)
	}
	f.svc = services.NewGameService(db, s.social, f.ev, f.ev, nil, cfg)
	s.social.SetBlockListener(f.svc)
	t.Cleanup(f.svc.Close)
	return f
}

func (f *gameFixture) join(t *testing.T, gameID, userID string) {
	t.Helper()
	if err := f.svc.Join(context.Background(), gameID, userID, func(services.Game) {}); err != nil {
		t.Fatalf("join %s: %v", userID, err)
	}
}

func (f *gameFixture) invite(t *testing.T, limit int) string {
	t.Helper()
	id, err := f.svc.Create(context.Background(), services.CreateGameInput{
		CreatorID: f.a.ID, InvitedID: f.b.ID, MaxScore: &limit,
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func (f *gameFixture) invitation(t *testing.T, gameID string) models.GamesInvitation {
	t.Helper()
	var inv models.GamesInvitation
	if err := f.db.Where("game_id = ?", gameID).Take(&inv).Error; err != nil {
		t.Fatal(err)
	}
	return inv
}

func TestGameTicksAtSixtyHertzWithOneLoop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newGameFixture(t, dbtest.SQLite(t))
		id := f.invite(t, 100)
		f.join(t, id, f.a.ID)
		f.join(t, id, f.b.ID)
		if !f.ev.has("started %s", id) || !f.ev.has("ingame %s true", f.a.ID) || !f.ev.has("ingame %s true", f.b.ID) {
			t.Fatalf("after both joined: %v", f.ev.log)
		}
		// Rejoins of a started game start nothing.
		f.join(t, id, f.a.ID)
		f.join(t, id, f.b.ID)
		time.Sleep(time.Second)
		synctest.Wait()
		// Frames stop at the first goal's game end only if limit is hit; 100 is far.
		if n := f.ev.frameCount(id); n != 60 {
			t.Fatalf("frames in one second = %d, want 60", n)
		}
		time.Sleep(9 * time.Second)
		synctest.Wait()
		if n := f.ev.frameCount(id); n != 600 {
			t.Fatalf("frames in ten seconds = %d, want 600", n)
		}
		if inv := f.invitation(t, id); inv.Status != models.InvitationAccepted {
			t.Fatalf("invitation of a started game is %s", inv.Status)
		}
	})
}

func TestGamePlayedToTheEndIsRecorded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newGameFixture(t, dbtest.SQLite(t))
		for round := range 2 {
			id := f.invite(t, 1)
			f.join(t, id, f.a.ID)
			f.join(t, id, f.b.ID)
			time.Sleep(time.Minute) // nobody moves: someone scores long before
			synctest.Wait()
			if len(f.ev.finals()) != round+1 {
				t.Fatalf("round %d: no finish; log %v", round, f.ev.log)
			}
			if _, ok := f.svc.Game(id); ok {
				t.Fatal("a finished game is still in memory")
			}
			if f.ev.has("ingame %s false", f.a.ID) != true {
				t.Fatal("players not released from INAGAME")
			}
		}
		g := f.ev.finals()[0]
		if g.Status != services.GameFinished || g.Winner == "" {
			t.Fatalf("final state %+v", g)
		}
		loser := f.a.ID
		if g.Winner == f.a.ID {
			loser = f.b.ID
		}
		var hist []models.GamesHistories
		f.db.Find(&hist)
		if len(hist) != 2 || hist[0].PlayerAID != f.a.ID || hist[0].PlayerBID != f.b.ID ||
			hist[0].PlayerAScore+hist[0].PlayerBScore != 1 {
			t.Fatalf("histories %+v", hist)
		}
		var ws, ls models.UserStat
		f.db.Where("user_id = ?", g.Winner).Take(&ws)
		f.db.Where("user_id = ?", loser).Take(&ls)
		// The same deterministic game twice: same winner.
		if ws.WinsNumbr != 2 || ws.LossesNumbr != 0 || ws.Rate < 0.39 || ws.Rate > 0.41 || ls.LossesNumbr != 2 || ls.WinsNumbr != 0 {
			t.Fatalf("winner stat %+v, loser stat %+v", ws, ls)
		}
		if n, q := f.svc.Games(); n != 0 || q != 0 {
			t.Fatalf("games left: %d, queued %d", n, q)
		}
	})
}

func TestGameForfeitAfterGraceAndRejoinWithin(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newGameFixture(t, dbtest.SQLite(t))
		id := f.invite(t, 100)
		f.svc.Connected(f.a.ID)
		f.svc.Connected(f.b.ID)
		f.join(t, id, f.a.ID)
		f.join(t, id, f.b.ID)

		// b leaves and is back after 4 s: the game goes on.
		f.svc.Disconnected(f.b.ID)
		time.Sleep(4 * time.Second)
		f.svc.Connected(f.b.ID)
		f.join(t, id, f.b.ID)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if len(f.ev.finals()) != 0 {
			t.Fatal("a player back within the grace lost the game")
		}
		// b leaves for good: a wins by forfeit 100-0 once 5 s passed.
		f.svc.Disconnected(f.b.ID)
		time.Sleep(4900 * time.Millisecond)
		synctest.Wait()
		if len(f.ev.finals()) != 0 {
			t.Fatal("forfeit before the grace ended")
		}
		time.Sleep(200 * time.Millisecond)
		synctest.Wait()
		fin := f.ev.finals()
		if len(fin) != 1 || fin[0].Winner != f.a.ID || fin[0].Player1.Score != 100 || fin[0].Player2.Score != 0 {
			t.Fatalf("after the grace: %+v", fin)
		}
		var st models.UserStat
		if err := f.db.Where("user_id = ?", f.a.ID).Take(&st).Error; err != nil || st.WinsNumbr != 1 {
			t.Fatalf("winner stat %+v %v", st, err)
		}
	})
}

func TestGameQuitForfeitsAndSecondSocketKeepsPlaying(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newGameFixture(t, dbtest.SQLite(t))
		id := f.invite(t, 5)
		f.svc.Connected(f.a.ID)
		f.svc.Connected(f.a.ID)
		f.join(t, id, f.a.ID)
		f.join(t, id, f.b.ID)
		f.svc.Disconnected(f.a.ID) // a still has a socket: no grace
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if len(f.ev.finals()) != 0 {
			t.Fatal("a game ended though the player kept a socket")
		}
		if err := f.svc.Quit(context.Background(), id, f.c.ID); !errors.Is(err, services.ErrGameAccess) {
			t.Fatalf("quit by a stranger: %v", err)
		}
		if err := f.svc.Press(id, f.c.ID, services.KeyUp); !errors.Is(err, services.ErrGameAccess) {
			t.Fatalf("key by a stranger: %v", err)
		}
		if err := f.svc.Quit(context.Background(), id, f.b.ID); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		fin := f.ev.finals()
		if len(fin) != 1 || fin[0].Winner != f.a.ID || fin[0].Player1.Score != 5 {
			t.Fatalf("after b quit: %+v", fin)
		}
	})
}

func TestInvitationStateMachine(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newGameFixture(t, db)
		ctx := context.Background()
		id := f.invite(t, 3)
		if !f.ev.has("invitations %s", f.b.ID) {
			t.Fatal("the invited user was not told")
		}
		list, err := f.svc.Invitations(ctx, f.b.ID)
		if err != nil || len(list) != 1 || *list[0].SenderName != "a" {
			t.Fatalf("invitations of b: %+v %v", list, err)
		}
		inv := f.invitation(t, id)
		if _, err := f.svc.Answer(ctx, inv.ID, f.a.ID, services.Accept); !errors.Is(err, services.ErrNotFound) {
			t.Fatalf("accept by the sender: %v", err)
		}
		got, err := f.svc.Answer(ctx, inv.ID, f.b.ID, services.Accept)
		if err != nil || got != id {
			t.Fatalf("accept: %q %v", got, err)
		}
		if got, err := f.svc.Answer(ctx, inv.ID, f.b.ID, services.Accept); err != nil || got != id {
			t.Fatalf("second accept: %q %v", got, err)
		}
		if _, err := f.svc.Answer(ctx, inv.ID, f.b.ID, services.Reject); !errors.Is(err, services.ErrConflict) {
			t.Fatalf("reject after accept: %v", err)
		}
		if inv := f.invitation(t, id); inv.Status != models.InvitationAccepted {
			t.Fatalf("status %s", inv.Status)
		}

		// Reject: REJECTED, game gone, sender told.
		id2 := f.invite(t, 3)
		inv2 := f.invitation(t, id2)
		if _, err := f.svc.Answer(ctx, inv2.ID, f.b.ID, services.Reject); err != nil {
			t.Fatal(err)
		}
		if inv := f.invitation(t, id2); inv.Status != models.InvitationRejected {
			t.Fatalf("status %s", inv.Status)
		}
		if _, ok := f.svc.Game(id2); ok || !f.ev.has("denied %s", f.a.ID) {
			t.Fatal("rejected game still there or sender not told")
		}
		if _, err := f.svc.Answer(ctx, inv2.ID, f.b.ID, services.Accept); !errors.Is(err, services.ErrConflict) {
			t.Fatalf("accept after reject: %v", err)
		}

		// A block between the two cancels the open invitation.
		id3 := f.invite(t, 3)
		inv3 := f.invitation(t, id3)
		if _, err := newSvc(db).social.Block(ctx, f.b.ID, f.a.ID); err != nil {
			t.Fatal(err)
		}
		if list, _ := f.svc.Invitations(ctx, f.b.ID); len(list) != 0 {
			t.Fatalf("invitation across a block listed: %+v", list)
		}
		if _, err := f.svc.Answer(ctx, inv3.ID, f.b.ID, services.Accept); !errors.Is(err, services.ErrConflict) {
			t.Fatalf("accept across a block: %v", err)
		}
		if inv := f.invitation(t, id3); inv.Status != models.InvitationCanceled {
			t.Fatalf("status %s", inv.Status)
		}
		if _, err := f.svc.Create(ctx, services.CreateGameInput{CreatorID: f.a.ID, InvitedID: f.b.ID}); !errors.Is(err, services.ErrForbidden) {
			t.Fatalf("invite across a block: %v", err)
		}
		// Strangers and oneself cannot be invited; maxScore is checked.
		for _, in := range []services.CreateGameInput{
			{CreatorID: f.a.ID, InvitedID: f.c.ID},
			{CreatorID: f.a.ID, InvitedID: f.a.ID},
		} {
			if _, err := f.svc.Create(ctx, in); !errors.Is(err, services.ErrForbidden) {
				t.Fatalf("create %+v: %v", in, err)
			}
		}
		for _, bad := range []int{0, 101, -1} {
			if _, err := f.svc.Create(ctx, services.CreateGameInput{CreatorID: f.a.ID, InvitedID: f.b.ID, MaxScore: &bad}); !errors.Is(err, services.ErrInvalid) {
				t.Fatalf("maxScore %d: %v", bad, err)
			}
		}
	})
}

func TestInvitationExpires(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newGameFixture(t, dbtest.SQLite(t))
		id := f.invite(t, 3)
		f.join(t, id, f.a.ID) // the inviter waits: not INAGAME
		if f.ev.has("ingame %s true", f.a.ID) {
			t.Fatal("a waiting inviter is INAGAME")
		}
		time.Sleep(119 * time.Second)
		synctest.Wait()
		if inv := f.invitation(t, id); inv.Status != models.InvitationPending {
			t.Fatalf("status before expiry %s", inv.Status)
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if inv := f.invitation(t, id); inv.Status != models.InvitationCanceled {
			t.Fatalf("status after expiry %s", inv.Status)
		}
		if _, ok := f.svc.Game(id); ok {
			t.Fatal("expired game still in memory")
		}
		if !f.ev.has("denied %s", f.a.ID) || !f.ev.has("error %s The invitation expired", f.a.ID) {
			t.Fatalf("sender not told: %v", f.ev.log)
		}
		if list, _ := f.svc.Invitations(context.Background(), f.b.ID); len(list) != 0 {
			t.Fatal("expired invitation listed")
		}
	})
}

func TestRandomQueue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newGameFixture(t, dbtest.SQLite(t))
		ctx := context.Background()
		random := func(u models.User) string {
			t.Helper()
			id, err := f.svc.Create(ctx, services.CreateGameInput{CreatorID: u.ID, Random: true})
			if err != nil {
				t.Fatal(err)
			}
			return id
		}
		f.svc.Connected(f.a.ID)
		first := random(f.a)
		if again := random(f.a); again != first {
			t.Fatal("a matched with itself")
		}
		if _, q := f.svc.Games(); q != 1 {
			t.Fatalf("queued %d", q)
		}
		// a disconnects: out of the queue, game gone.
		f.svc.Disconnected(f.a.ID)
		if n, q := f.svc.Games(); n != 0 || q != 0 {
			t.Fatalf("after disconnect: games %d queued %d", n, q)
		}
		g1 := random(f.a)
		g2 := random(f.c) // a stranger: random needs no friendship
		if g1 != g2 {
			t.Fatal("second player not matched with the first")
		}
		g, _ := f.svc.Game(g1)
		if g.Player1.ID != f.a.ID || g.Player2.ID != f.c.ID || !g.Random || g.ScoreLimit != 10 {
			t.Fatalf("matched game %+v", g)
		}
		g3 := random(f.b)
		if g3 == g1 {
			t.Fatal("a third player joined a full game")
		}
		f.join(t, g1, f.a.ID)
		f.join(t, g1, f.c.ID)
		time.Sleep(100 * time.Millisecond)
		synctest.Wait()
		if f.ev.frameCount(g1) == 0 {
			t.Fatal("random game did not start")
		}
		// Quitting the queued game removes it.
		if err := f.svc.Quit(ctx, g3, f.b.ID); err != nil {
			t.Fatal(err)
		}
		if _, q := f.svc.Games(); q != 0 {
			t.Fatal("quit game still queued")
		}
		// Close ends the running game: loop stopped, players released.
		f.svc.Close()
		if !f.ev.has("ingame %s false", f.c.ID) {
			t.Fatal("Close did not release the players")
		}
		n := f.ev.frameCount(g1)
		time.Sleep(time.Second)
		synctest.Wait()
		if f.ev.frameCount(g1) != n {
			t.Fatal("frames after Close")
		}
	})
}

func TestJoinErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newGameFixture(t, dbtest.SQLite(t))
		id := f.invite(t, 3)
		for _, c := range []struct{ game, user string }{{id, f.c.ID}, {"nope", f.a.ID}, {id, ""}} {
			if err := f.svc.Join(context.Background(), c.game, c.user, func(services.Game) { t.Error("entered") }); !errors.Is(err, services.ErrGameAccess) {
				t.Fatalf("join %+v: %v", c, err)
			}
		}
		// The creator cancels its waiting game: CANCELED, receiver told.
		if err := f.svc.Cancel(context.Background(), id, f.a.ID); err != nil {
			t.Fatal(err)
		}
		if inv := f.invitation(t, id); inv.Status != models.InvitationCanceled {
			t.Fatalf("status %s", inv.Status)
		}
	})
}

func TestGameRecordOnEachDatabase(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newGameFixture(t, db)
		for range 2 {
			id := f.invite(t, 4)
			f.join(t, id, f.a.ID)
			f.join(t, id, f.b.ID)
			if err := f.svc.Quit(context.Background(), id, f.b.ID); err != nil {
				t.Fatal(err)
			}
			n := len(f.ev.finals())
			for deadline := time.Now().Add(3 * time.Second); len(f.ev.finals()) == n; {
				if time.Now().After(deadline) {
					t.Fatal("no finish after a quit")
				}
				time.Sleep(5 * time.Millisecond)
			}
		}
		var ws, ls models.UserStat
		db.Where("user_id = ?", f.a.ID).Take(&ws)
		db.Where("user_id = ?", f.b.ID).Take(&ls)
		if ws.WinsNumbr != 2 || ws.LossesNumbr != 0 || ws.Rate < 0.39 || ws.Rate > 0.41 || ls.WinsNumbr != 0 || ls.LossesNumbr != 2 || ls.Rate != 0 {
			t.Fatalf("stats: winner %+v loser %+v", ws, ls)
		}
		games, err := newSvc(db).users.Games(context.Background(), f.a.ID)
		if err != nil || len(games) != 2 || games[0].PlayerAScore != 4 || games[0].PlayerBScore != 0 {
			t.Fatalf("histories %+v %v", games, err)
		}
	})
}

func TestInGameCountsConcurrentGames(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newGameFixture(t, dbtest.SQLite(t))
		g1 := f.invite(t, 100)
		g2 := f.invite(t, 100)
		for _, id := range []string{g1, g2} {
			f.join(t, id, f.a.ID)
			f.join(t, id, f.b.ID)
		}
		if err := f.svc.Quit(context.Background(), g1, f.b.ID); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if f.ev.has("ingame %s false", f.a.ID) {
			t.Fatal("a left INAGAME while still playing another game")
		}
		if err := f.svc.Quit(context.Background(), g2, f.b.ID); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if !f.ev.has("ingame %s false", f.a.ID) {
			t.Fatal("a still INAGAME after its last game")
		}
	})
}
