package controllers_test

import (
	"context"
	"net/http"
	"testing"

	"gorm.io/gorm"

	"github.com/onlinenow/onlinenow/controllers"
	"github.com/onlinenow/onlinenow/database/dbtest"
	"github.com/onlinenow/onlinenow/models"
	"github.com/onlinenow/onlinenow/services"
)

// nopGame is a game notifier and presence that ignore everything.
type nopGame struct{}

func (nopGame) GameStarted(string)          {}
func (nopGame) GameFrame(services.Game)     {}
func (nopGame) GameFinished(services.Game)  {}
func (nopGame) GameClosed(string)           {}
func (nopGame) InvitationsChanged(string)   {}
func (nopGame) AccessDenied(string, string) {}
func (nopGame) GameError(string, string)    {}
func (nopGame) SetInGame(string, bool)      {}

func TestGameInvitationsRoute(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		s := newServer(t, db)
		game := services.NewGameService(db, services.NewSocialService(db), nopGame{}, nopGame{}, nil, services.GameConfig{})
		t.Cleanup(game.Close)
		controllers.RegisterGame(s.router, game, nil)

		a, b := s.createUser("alice"), s.createUser("bob")
		aID, bID := a["id"].(string), b["id"].(string)
		s.must("POST", "/users/friend", map[string]any{"friendShipStatus": "PENDING", "userId": aID, "friendId": bID}, http.StatusCreated, nil)
		wantBody(t, "none yet", s.do("GET", "/game/invitations/"+bID, nil), http.StatusOK, `[]`)
		gameID, err := game.Create(context.Background(), services.CreateGameInput{CreatorID: aID, InvitedID: bID})
		if err != nil {
			t.Fatal(err)
		}
		var inv models.GamesInvitation
		if err := db.Where("game_id = ?", gameID).Take(&inv).Error; err != nil {
			t.Fatal(err)
		}
		wantBody(t, "one", s.do("GET", "/game/invitations/"+bID, nil), http.StatusOK,
			`[{"id":"`+inv.ID+`","message":"alice invited you to play a game","userImg":null}]`)
		wantBody(t, "the sender has none", s.do("GET", "/game/invitations/"+aID, nil), http.StatusOK, `[]`)
		if w := s.do("HEAD", "/game/invitations/"+bID, nil); w.Code != http.StatusOK {
			t.Fatalf("HEAD = %d", w.Code)
		}
	})
}
