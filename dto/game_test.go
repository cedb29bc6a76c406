package dto_test

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/onlinenow/onlinenow/dto"
	"github.com/onlinenow/onlinenow/services"
)

func TestGameEntityIsTheContractExample(t *testing.T) {
	g := services.NewGame("game-id", "creator-id", "", 10, false, 1692950400000)
	raw, err := json.Marshal(dto.FromGameState(g))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":"game-id","W_screen":250,"H_screen":100,"ball_x":125,"ball_y":50,"radius":4,"vx":1,"vy":0.5,` +
		`"player1":{"id":"creator-id","inThegame":false,"paddleX":0,"paddleY":0,"score":0,"downPress":false,"upPress":false},` +
		`"player2":{"id":"","inThegame":false,"paddleX":240,"paddleY":80,"score":0,"downPress":false,"upPress":false},` +
		`"w_paddle":10,"h_paddle":20,"playerSpeed":2,"scoreLimit":10,"ball_speed":1.5,` +
		`"gameStatus":{"update_t":1692950400000,"status":"waiting"},"winner":null,"randomPlayer":false}`
	if string(raw) != want {
		t.Fatalf("got  %s\nwant %s", raw, want)
	}
}

func TestGameEntityNeverCarriesNaN(t *testing.T) {
	g := services.NewGame("g", "a", "b", 10, true, 0)
	g.BallX, g.VY, g.BallSpeed = math.NaN(), math.Inf(1), math.Inf(-1)
	g.Winner = "b"
	raw, err := json.Marshal(dto.FromGameState(g))
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	var back map[string]any
	json.Unmarshal(raw, &back)
	if back["ball_x"] != 0.0 || back["vy"] != 0.0 || back["ball_speed"] != 0.0 || back["winner"] != "b" {
		t.Fatalf("%s", raw)
	}
}
