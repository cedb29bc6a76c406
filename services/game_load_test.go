package services_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/onlinenow/onlinenow/database/dbtest"
	"github.com/onlinenow/onlinenow/dto"
	"github.com/onlinenow/onlinenow/services"
)

// loadNotifier records when each game's frames arrive, and marshals each
// frame as the gateway would.
type loadNotifier struct {
	nopEvents
	mu   sync.Mutex
	last map[string]time.Time
	over []time.Duration // per frame: interval beyond the tick period
	n    int
}

type nopEvents struct{}

func (nopEvents) GameStarted(string)          {}
func (nopEvents) GameFinished(services.Game)  {}
func (nopEvents) GameClosed(string)           {}
func (nopEvents) InvitationsChanged(string)   {}
func (nopEvents) AccessDenied(string, string) {}
func (nopEvents) GameError(string, string)    {}
func (nopEvents) SetInGame(string, bool)      {}

const period = time.Second / 60

func (l *loadNotifier) GameFrame(g services.Game) {
	now := time.Now()
	if _, err := json.Marshal(dto.FromGameState(g)); err != nil {
		panic(err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if prev, ok := l.last[g.ID]; ok {
		l.over = append(l.over, max(0, now.Sub(prev)-period))
	}
	l.last[g.ID] = now
	l.n++
}

// BenchmarkGameLoad runs GAME_LOAD (default "100,1000") concurrent games
// for 3 s each and reports the frame rate and tick lateness. It is a
// measurement (go test -run '^$' -bench GameLoad ./services/), so it runs
// once whatever b.N is.
func BenchmarkGameLoad(b *testing.B) {
	t := b
	spec := os.Getenv("GAME_LOAD")
	if spec == "" {
		spec = "100,1000"
	}
	db := dbtest.SQLite(t)
	for _, f := range strings.Split(spec, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			t.Fatal(err)
		}
		l := &loadNotifier{last: map[string]time.Time{}}
		svc := services.NewGameService(db, nil, nopEvents{}, l, nil, services.GameConfig{})
		ctx := context.Background()
		for range n {
			a, b2 := uuid.NewString(), uuid.NewString()
			id, _ := svc.Create(ctx, services.CreateGameInput{CreatorID: a, Random: true})
			svc.Create(ctx, services.CreateGameInput{CreatorID: b2, Random: true})
			svc.Join(ctx, id, a, func(services.Game) {})
			svc.Join(ctx, id, b2, func(services.Game) {})
		}
		time.Sleep(500 * time.Millisecond)
		l.mu.Lock()
		l.over, l.n = nil, 0
		l.mu.Unlock()
		const window = 3 * time.Second
		time.Sleep(window)
		l.mu.Lock()
		over, frames := slices.Clone(l.over), l.n
		l.mu.Unlock()
		svc.Close()
		slices.Sort(over)
		p := func(q float64) time.Duration {
			if len(over) == 0 {
				return 0
			}
			return over[int(q*float64(len(over)-1))]
		}
		rate := float64(frames) / float64(n) / window.Seconds()
		t.Logf("%s", fmt.Sprintf("games=%d frames/s/game=%.1f lateness p50=%v p99=%v max=%v", n, rate, p(0.5), p(0.99), p(1)))
	}
}
