package gateways

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/zishang520/socket.io/servers/socket/v3"
	"gorm.io/gorm"

	"github.com/onlinenow/onlinenow/database/dbtest"
	"github.com/onlinenow/onlinenow/internal/siotest"
	"github.com/onlinenow/onlinenow/models"
	"github.com/onlinenow/onlinenow/services"
)

// newGameEnv is newEnv with the /game namespace and its service; the
// service is closed (its loops stopped) before the server.
func newGameEnv(t *testing.T, db *gorm.DB) *env {
	t.Helper()
	return newEnvWith(t, db, envOptions{attach: func(sio *socket.Server, d Deps) ([]func(context.Context) error, func()) {
		game := services.NewGameService(db, d.Social, d.Presence, nil, d.Log, services.GameConfig{})
		RegisterGame(sio, d, game)
		return nil, game.Close
	}})
}

// until returns the first argument of the next name event on c, skipping
// other events (gameData frames stream in between).
func until(t *testing.T, c *siotest.Client, name string) string {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		ev, err := c.Next(time.Until(deadline))
		if err != nil {
			t.Fatalf("waiting for %s: %v", name, err)
		}
		if ev.Name == name {
			if len(ev.Args) == 0 {
				return ""
			}
			return string(ev.Args[0])
		}
	}
}

func TestGameGateway(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		e := newGameEnv(t, db)
		a, b, c := e.user("a"), e.user("b"), e.user("c")
		e.befriend(a, b)
		as, bs, cs := e.dial(GameNamespace, &a), e.dial(GameNamespace, &b), e.dial(GameNamespace, &c)
		bApp := e.dial(AppNamespace, &b)
		drain(as, bs, cs, bApp)

		// Impersonation: c creating a game as a.
		cs.Emit("createGame", map[string]any{"invitedId": b.ID, "creatorId": a.ID, "isRamdomOponent": false})
		if got := expect(t, cs, "error"); got != `"creatorId must be your own id"` {
			t.Fatalf("error = %s", got)
		}
		as.Emit("createGame", map[string]any{"invitedId": b.ID, "creatorId": a.ID, "isRamdomOponent": false, "maxScore": 3})
		var created struct{ ID string }
		json.Unmarshal([]byte(expect(t, as, "Success")), &created)
		expect(t, bs, "gameInvitation")
		expect(t, bApp, "gameInvitation")

		as.Emit("joinGame", map[string]any{"gameId": created.ID, "userId": a.ID})
		if got := expect(t, as, "gameSate"); got != `{"state":"waiting"}` {
			t.Fatalf("gameSate = %s", got)
		}
		expect(t, as, "gameData")
		cs.Emit("joinGame", map[string]any{"gameId": created.ID, "userId": c.ID})
		expect(t, cs, "error_access")
		bs.Emit("joinGame", map[string]any{"gameId": created.ID, "userId": b.ID})
		if got := until(t, as, "gameSate"); got != `{"state":"started"}` {
			t.Fatalf("gameSate = %s", got)
		}
		expect(t, bs, "gameSate") // its own join: the state before the start
		expect(t, bs, "gameData")
		var frame map[string]any
		json.Unmarshal([]byte(until(t, bs, "gameData")), &frame)
		if frame["id"] != created.ID || frame["gameStatus"].(map[string]any)["status"] != "started" {
			t.Fatalf("frame %v", frame)
		}
		// c cannot move a's paddle or forfeit for a.
		cs.Emit("ArrowRight", map[string]any{"gameId": created.ID, "userId": a.ID})
		expect(t, cs, "error")
		cs.Emit("quiteGame", map[string]any{"gameId": created.ID, "userId": a.ID})
		expect(t, cs, "error")

		as.Emit("quiteGame", map[string]any{"gameId": created.ID, "userId": a.ID})
		if got := until(t, bs, "gameSate"); got != `{"state":"finished"}` {
			t.Fatalf("gameSate = %s", got)
		}
		json.Unmarshal([]byte(expect(t, bs, "gameData")), &frame)
		if frame["winner"] != b.ID {
			t.Fatalf("final %v", frame)
		}
		var st models.UserStat
		if err := db.Where("user_id = ?", b.ID).Take(&st).Error; err != nil || st.WinsNumbr != 1 {
			t.Fatalf("stat %+v %v", st, err)
		}
		// The room was emptied: no more frames anywhere.
		drain(as, bs)
		expectNone(t, as, bs, cs)
	})
}
