package services

// The Pong physics of contract 4.3: one step per tick, pure and
// deterministic, on a Game value the caller owns.

// Field and ball constants (contract 4.3, GameEntity).
const (
	GameWidth        = 250.0
	GameHeight       = 100.0
	BallRadius       = 4.0
	BallVX           = 1.0
	BallVY           = 0.5
	PaddleWidth      = 10.0
	PaddleHeight     = 20.0
	PlayerSpeed      = 2.0
	BallSpeed        = 1.5
	BallSpeedMax     = 3.0  // the ball speeds up on a paddle hit only while below this
	BallSpeedUp      = 0.15 // per paddle hit
	DefaultScore     = 10   // scoreLimit when maxScore is absent, and of random games
	MaxScoreLimit    = 100
	player2PaddleX   = 240.0
	player2PaddleY   = 80.0
	gameStateWaiting = "waiting"
)

// Game statuses (gameStatus.status, and the gameSate event's state).
const (
	GameWaiting  = gameStateWaiting
	GameStarted  = "started"
	GameFinished = "finished"
)

// Player is one side of a game.
type Player struct {
	ID        string
	InTheGame bool
	PaddleX   float64
	PaddleY   float64
	Score     int
	DownPress bool // paddleY decreases (ArrowLeft)
	UpPress   bool // paddleY increases (ArrowRight)
}

// Game is the whole state of one game, as sent in gameData. A copy is a
// snapshot: it holds no pointers.
type Game struct {
	ID          string
	W, H        float64
	BallX       float64
	BallY       float64
	Radius      float64
	VX, VY      float64
	Player1     Player
	Player2     Player
	WPaddle     float64
	HPaddle     float64
	PlayerSpeed float64
	ScoreLimit  int
	BallSpeed   float64
	UpdateT     int64 // ms since the epoch of the last change of state or tick
	Status      string
	Winner      string // "" while there is none
	Random      bool
}

// NewGame returns a waiting game with the contract's initial values.
func NewGame(id, player1, player2 string, scoreLimit int, random bool, nowMs int64) Game {
	return Game{
		ID: id, W: GameWidth, H: GameHeight,
		BallX: GameWidth / 2, BallY: GameHeight / 2, Radius: BallRadius, VX: BallVX, VY: BallVY,
		Player1: Player{ID: player1},
		Player2: Player{ID: player2, PaddleX: player2PaddleX, PaddleY: player2PaddleY},
		WPaddle: PaddleWidth, HPaddle: PaddleHeight, PlayerSpeed: PlayerSpeed,
		ScoreLimit: scoreLimit, BallSpeed: BallSpeed,
		UpdateT: nowMs, Status: GameWaiting, Random: random,
	}
}

// player returns the side userID plays, or nil.
func (g *Game) player(userID string) *Player {
	switch {
	case userID == "":
		return nil
	case g.Player1.ID == userID:
		return &g.Player1
	case g.Player2.ID == userID:
		return &g.Player2
	}
	return nil
}

// opponent returns the other side of userID's.
func (g *Game) opponent(userID string) *Player {
	if g.Player1.ID == userID {
		return &g.Player2
	}
	return &g.Player1
}

// Step advances a started game by one tick, in the contract's order:
// paddles, ball, then the first matching of left paddle, right paddle,
// goal, wall. It reports whether someone scored.
func (g *Game) Step(nowMs int64) (scored bool) {
	if g.Status != GameStarted {
		return false
	}
	g.UpdateT = nowMs
	g.movePaddle(&g.Player1)
	g.movePaddle(&g.Player2)
	g.BallX += g.VX * g.BallSpeed
	g.BallY += g.VY * g.BallSpeed

	left, right := g.BallX-g.Radius, g.BallX+g.Radius
	p1, p2 := &g.Player1, &g.Player2
	switch {
	case left <= p1.PaddleX+g.WPaddle && g.within(p1) && g.VX < 0 && left >= p1.PaddleX:
		g.bounce()
	case right >= p2.PaddleX && g.within(p2) && g.VX > 0 && right <= p2.PaddleX+g.WPaddle:
		g.bounce()
	case right <= 0 || right >= g.W:
		scorer := p1
		if right <= 0 {
			scorer = p2
		}
		g.BallX, g.BallY, g.BallSpeed = g.W/2, g.H/2, BallSpeed
		scorer.Score++
		if scorer.Score == g.ScoreLimit {
			g.Status = GameFinished
			g.Winner = scorer.ID
		}
		return true
	case g.BallY-g.Radius <= 0 || g.BallY+g.Radius >= g.H:
		g.VY = -g.VY
	}
	return false
}

func (g *Game) movePaddle(p *Player) {
	if p.UpPress && p.PaddleY+g.HPaddle < g.H {
		p.PaddleY += g.PlayerSpeed
	}
	if p.DownPress && p.PaddleY > 0 {
		p.PaddleY -= g.PlayerSpeed
	}
}

// within reports whether the ball's centre is level with p's paddle.
func (g *Game) within(p *Player) bool {
	return p.PaddleY <= g.BallY && g.BallY <= p.PaddleY+g.HPaddle
}

func (g *Game) bounce() {
	if g.BallSpeed < BallSpeedMax {
		g.BallSpeed += BallSpeedUp
	}
	g.VX = -g.VX
}

// Forfeit ends the game against loserID: the opponent wins with the score
// limit (not the original's fixed 3, contract 7-13), the loser gets 0.
func (g *Game) Forfeit(loserID string, nowMs int64) {
	loser := g.player(loserID)
	if loser == nil || g.Status == GameFinished {
		return
	}
	winner := g.opponent(loserID)
	loser.Score, winner.Score = 0, g.ScoreLimit
	loser.InTheGame = false
	loser.UpPress, loser.DownPress = false, false
	g.Winner = winner.ID
	g.Status = GameFinished
	g.UpdateT = nowMs
}
