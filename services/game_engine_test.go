package services_test

import (
	"testing"

	"github.com/onlinenow/onlinenow/services"
)

const (
	p1ID = "00000000-0000-4000-8000-000000000001"
	p2ID = "00000000-0000-4000-8000-000000000002"
)

func started(limit int) services.Game {
	g := services.NewGame("g", p1ID, p2ID, limit, false, 0)
	g.Status = services.GameStarted
	return g
}

func TestGameInitialValues(t *testing.T) {
	g := services.NewGame("g", p1ID, "", 10, true, 42)
	want := services.Game{
		ID: "g", W: 250, H: 100, BallX: 125, BallY: 50, Radius: 4, VX: 1, VY: 0.5,
		Player1: services.Player{ID: p1ID}, Player2: services.Player{PaddleX: 240, PaddleY: 80},
		WPaddle: 10, HPaddle: 20, PlayerSpeed: 2, ScoreLimit: 10, BallSpeed: 1.5,
		UpdateT: 42, Status: "waiting", Random: true,
	}
	if g != want {
		t.Fatalf("NewGame = %+v\nwant %+v", g, want)
	}
	if g.Step(1); g != want {
		t.Fatal("a waiting game moved")
	}
}

func TestPaddleLimits(t *testing.T) {
	g := started(10)
	g.VX, g.VY = 0, 0 // keep the ball still
	g.Player1.UpPress = true
	g.Player2.DownPress = true
	for range 100 {
		g.Step(0)
	}
	if g.Player1.PaddleY != 80 {
		t.Errorf("p1 paddleY after holding up = %v, want 80 (H - h_paddle)", g.Player1.PaddleY)
	}
	if g.Player2.PaddleY != 0 {
		t.Errorf("p2 paddleY after holding down = %v, want 0", g.Player2.PaddleY)
	}
	g.Player1.UpPress, g.Player1.DownPress = false, true
	g.Step(0)
	if g.Player1.PaddleY != 78 {
		t.Errorf("p1 paddleY one step down = %v, want 78", g.Player1.PaddleY)
	}
}

func TestCollisions(t *testing.T) {
	type pos struct{ x, y, vx, vy, speed float64 }
	tests := []struct {
		name     string
		at       pos // ball before the step; paddles at their initial places
		p1Y      float64
		wantVX   float64
		wantVY   float64
		wantSp   float64
		wantP1   int
		wantP2   int
		recenter bool
	}{
		{name: "left paddle", at: pos{15, 10, -1, 0.5, 1.5}, p1Y: 0, wantVX: 1, wantVY: 0.5, wantSp: 1.65},
		{name: "left paddle wins over the wall", at: pos{15, 4, -1, -0.5, 1.5}, p1Y: 0, wantVX: 1, wantVY: -0.5, wantSp: 1.65},
		{name: "left paddle, ball moving away: wall only", at: pos{15, 4, 1, -0.5, 1.5}, p1Y: 0, wantVX: 1, wantVY: 0.5, wantSp: 1.5},
		{name: "left paddle missed: ball below it", at: pos{15, 60, -1, 0.5, 1.5}, p1Y: 0, wantVX: -1, wantVY: 0.5, wantSp: 1.5},
		{name: "right paddle", at: pos{235, 90, 1, 0.5, 1.5}, p1Y: 0, wantVX: -1, wantVY: 0.5, wantSp: 1.65},
		{name: "right paddle wins over the wall", at: pos{235, 95, 1, 0.5, 1.5}, wantVX: -1, wantVY: 0.5, wantSp: 1.65},
		{name: "speed capped", at: pos{235, 90, 1, 0.5, 3.0}, wantVX: -1, wantVY: 0.5, wantSp: 3.0},
		{name: "goal on the right: player1 scores", at: pos{245, 30, 1, 0.5, 2.5}, wantVX: 1, wantVY: 0.5, wantSp: 1.5, wantP1: 1, recenter: true},
		{name: "goal on the left: player2 scores", at: pos{-3, 50, -1, 0.5, 2}, p1Y: 0, wantVX: -1, wantVY: 0.5, wantSp: 1.5, wantP2: 1, recenter: true},
		{name: "top wall", at: pos{100, 4, 1, -0.5, 1.5}, wantVX: 1, wantVY: 0.5, wantSp: 1.5},
		{name: "bottom wall", at: pos{100, 96, 1, 0.5, 1.5}, wantVX: 1, wantVY: -0.5, wantSp: 1.5},
		{name: "open field", at: pos{100, 50, 1, 0.5, 1.5}, wantVX: 1, wantVY: 0.5, wantSp: 1.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := started(10)
			g.Player1.PaddleY = tt.p1Y
			g.BallX, g.BallY, g.VX, g.VY, g.BallSpeed = tt.at.x, tt.at.y, tt.at.vx, tt.at.vy, tt.at.speed
			scored := g.Step(0)
			if g.VX != tt.wantVX || g.VY != tt.wantVY {
				t.Errorf("v = (%v, %v), want (%v, %v)", g.VX, g.VY, tt.wantVX, tt.wantVY)
			}
			if d := g.BallSpeed - tt.wantSp; d > 1e-9 || d < -1e-9 {
				t.Errorf("ball_speed = %v, want %v", g.BallSpeed, tt.wantSp)
			}
			if g.Player1.Score != tt.wantP1 || g.Player2.Score != tt.wantP2 || scored != (tt.wantP1+tt.wantP2 > 0) {
				t.Errorf("scores %d-%d (scored %v), want %d-%d", g.Player1.Score, g.Player2.Score, scored, tt.wantP1, tt.wantP2)
			}
			if tt.recenter && (g.BallX != 125 || g.BallY != 50) {
				t.Errorf("ball at (%v, %v) after a goal, want the centre", g.BallX, g.BallY)
			}
		})
	}
}

func TestSpeedUpStopsAtTheCap(t *testing.T) {
	g := started(10)
	for range 30 {
		g.BallX, g.BallY, g.VX = 235, 90, 1
		g.Step(0)
	}
	if g.BallSpeed < 3 || g.BallSpeed > 3+0.15 {
		t.Fatalf("ball_speed after many hits = %v, want the first value >= 3", g.BallSpeed)
	}
}

func TestFinishAtScoreLimit(t *testing.T) {
	g := started(2)
	for i := range 2 {
		g.BallX, g.BallY, g.VX = 246, 30, 1
		g.Step(0)
		if want := map[int]string{0: services.GameStarted, 1: services.GameFinished}[i]; g.Status != want {
			t.Fatalf("after goal %d: status %s, want %s", i+1, g.Status, want)
		}
	}
	if g.Winner != p1ID || g.Player1.Score != 2 {
		t.Fatalf("winner %q score %d, want player1 with 2", g.Winner, g.Player1.Score)
	}
	before := g
	g.Step(0)
	if g != before {
		t.Fatal("a finished game moved")
	}
}

func TestForfeitGivesTheScoreLimit(t *testing.T) {
	g := started(7)
	g.Player1.Score, g.Player2.Score = 5, 2
	g.Forfeit(p1ID, 9)
	if g.Status != services.GameFinished || g.Winner != p2ID || g.Player2.Score != 7 || g.Player1.Score != 0 {
		t.Fatalf("after p1 forfeits: %+v", g)
	}
	g.Forfeit(p2ID, 10)
	if g.Winner != p2ID {
		t.Fatal("a second forfeit changed the result")
	}
}

func BenchmarkStep(b *testing.B) {
	g := started(1 << 30)
	g.Player1.UpPress = true
	for b.Loop() {
		g.Step(0)
	}
}
