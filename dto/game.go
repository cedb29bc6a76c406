package dto

import (
	"math"

	"github.com/onlinenow/onlinenow/services"
)

// Payloads of the /game namespace (contract 4.3) and GET /game/invitations.

// GameEntity is the game object of gameData, field for field and in the
// order of the original's GameEntity.
type GameEntity struct {
	ID           string     `json:"id"`
	WScreen      float64    `json:"W_screen"`
	HScreen      float64    `json:"H_screen"`
	BallX        float64    `json:"ball_x"`
	BallY        float64    `json:"ball_y"`
	Radius       float64    `json:"radius"`
	VX           float64    `json:"vx"`
	VY           float64    `json:"vy"`
	Player1      GamePlayer `json:"player1"`
	Player2      GamePlayer `json:"player2"`
	WPaddle      float64    `json:"w_paddle"`
	HPaddle      float64    `json:"h_paddle"`
	PlayerSpeed  float64    `json:"playerSpeed"`
	ScoreLimit   int        `json:"scoreLimit"`
	BallSpeed    float64    `json:"ball_speed"`
	GameStatus   GameStatus `json:"gameStatus"`
	Winner       *string    `json:"winner"`
	RandomPlayer bool       `json:"randomPlayer"`
}

// GamePlayer is one side of a GameEntity.
type GamePlayer struct {
	ID        string  `json:"id"`
	InThegame bool    `json:"inThegame"`
	PaddleX   float64 `json:"paddleX"`
	PaddleY   float64 `json:"paddleY"`
	Score     int     `json:"score"`
	DownPress bool    `json:"downPress"`
	UpPress   bool    `json:"upPress"`
}

// GameStatus is a GameEntity's gameStatus.
type GameStatus struct {
	UpdateT int64  `json:"update_t"`
	Status  string `json:"status"`
}

// finite keeps JSON valid and the frontend sane: NaN and ±Inf become 0.
func finite(f float64) float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	return f
}

func fromPlayer(p services.Player) GamePlayer {
	return GamePlayer{
		ID: p.ID, InThegame: p.InTheGame, PaddleX: finite(p.PaddleX), PaddleY: finite(p.PaddleY),
		Score: p.Score, DownPress: p.DownPress, UpPress: p.UpPress,
	}
}

// FromGameState maps a game snapshot.
func FromGameState(g services.Game) GameEntity {
	var winner *string
	if g.Winner != "" {
		w := g.Winner
		winner = &w
	}
	return GameEntity{
		ID: g.ID, WScreen: finite(g.W), HScreen: finite(g.H),
		BallX: finite(g.BallX), BallY: finite(g.BallY), Radius: finite(g.Radius),
		VX: finite(g.VX), VY: finite(g.VY),
		Player1: fromPlayer(g.Player1), Player2: fromPlayer(g.Player2),
		WPaddle: finite(g.WPaddle), HPaddle: finite(g.HPaddle), PlayerSpeed: finite(g.PlayerSpeed),
		ScoreLimit: g.ScoreLimit, BallSpeed: finite(g.BallSpeed),
		GameStatus: GameStatus{UpdateT: g.UpdateT, Status: g.Status},
		Winner:     winner, RandomPlayer: g.Random,
	}
}

// GameSate is the payload of gameSate (sic).
type GameSate struct {
	State string `json:"state"`
}

// GameCreated is the payload of Success.
type GameCreated struct {
	ID string `json:"id"`
}

// AcceptedGame is the payload of AcceptedGame.
type AcceptedGame struct {
	GameID string `json:"gameId"`
}

// CreateGame is the payload of createGame. MaxScore stays raw: the
// gateway checks it is a whole number (or a string of one).
type CreateGame struct {
	InvitedID       string `json:"invitedId"`
	CreatorID       string `json:"creatorId"`
	IsRamdomOponent bool   `json:"isRamdomOponent"`
	MaxScore        any    `json:"maxScore"`
}

// GameRef is the payload of joinGame, ArrowRight, ArrowLeft, keyup,
// quiteGame and cancelGame.
type GameRef struct {
	GameID string `json:"gameId"`
	UserID string `json:"userId"`
}

// InvitationAnswer is the payload of acceptInvitation and rejectInvitation.
type InvitationAnswer struct {
	InvitationID string `json:"invitationId"`
	UserID       string `json:"userId"`
}

// GameInvitation is one entry of GET /game/invitations/:id.
type GameInvitation struct {
	ID      string  `json:"id"`
	Message string  `json:"message"`
	UserImg *string `json:"userImg"`
}

// FromInvitation maps an invitation; a sender without a name reads "null",
// as the original's template string did.
func FromInvitation(i services.Invitation) GameInvitation {
	name := "null"
	if i.SenderName != nil {
		name = *i.SenderName
	}
	return GameInvitation{ID: i.ID, Message: name + " invited you to play a game", UserImg: i.SenderImg}
}

// FromInvitations maps invitations; never nil.
func FromInvitations(is []services.Invitation) []GameInvitation { return mapAll(is, FromInvitation) }
