package services

import (
	"context"
	"math"
	"sync"
	"testing"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/onlinenow/onlinenow/database/dbtest"
	"github.com/onlinenow/onlinenow/models"
)

// Games of the same two users finishing at the same instant, none of
// them with a stats row yet, with both winners: every finish counts, none
// hits the unique index on user_id, and opposite winners do not deadlock.
func TestGameRecordConcurrentFinishesAllCount(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		var users [2]models.User
		for i, name := range []string{"p", "q"} {
			n := name
			users[i] = models.User{Name: &n, Email: n + "@example.com", IntraID: "intra-" + n}
			if err := db.Create(&users[i]).Error; err != nil {
				t.Fatal(err)
			}
		}
		p, q := users[0].ID, users[1].ID
		s := NewGameService(db, nil, nil, nil, nil, GameConfig{})
		t.Cleanup(s.Close)

		const games, pWins = 12, 7
		start := make(chan struct{}) // closed to let every finish go at once
		errs := make(chan error, games)
		var wg sync.WaitGroup
		for i := range games {
			g := NewGame(uuid.NewString(), p, q, 3, false, 0)
			g.Status = GameFinished
			if i < pWins {
				g.Winner, g.Player1.Score = p, 3
			} else {
				g.Winner, g.Player2.Score = q, 3
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				errs <- s.record(ctx, g)
			}()
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("record: %v", err)
			}
		}

		var stats []models.UserStat
		if err := db.Order("user_id").Find(&stats).Error; err != nil {
			t.Fatal(err)
		}
		if len(stats) != 2 {
			t.Fatalf("stat rows %d, want one per user: %+v", len(stats), stats)
		}
		want := map[string][3]float64{
			p: {pWins, games - pWins, 0.2 * pWins},
			q: {games - pWins, pWins, 0.2 * (games - pWins)},
		}
		for _, st := range stats {
			w := want[st.UserID]
			if float64(st.WinsNumbr) != w[0] || float64(st.LossesNumbr) != w[1] || math.Abs(st.Rate-w[2]) > 1e-9 {
				t.Errorf("stats of %s: %+v, want wins %v losses %v rate %v", st.UserID, st, w[0], w[1], w[2])
			}
		}
		var histories int64
		if err := db.Model(&models.GamesHistories{}).Count(&histories).Error; err != nil || histories != games {
			t.Fatalf("histories %d, want %d (%v)", histories, games, err)
		}
	})
}

// A stat row that exists is added to, not replaced.
func TestGameRecordAddsToExistingStats(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		var users [2]models.User
		for i, name := range []string{"p", "q"} {
			n := name
			users[i] = models.User{Name: &n, Email: n + "@example.com", IntraID: "intra-" + n}
			if err := db.Create(&users[i]).Error; err != nil {
				t.Fatal(err)
			}
		}
		p, q := users[0].ID, users[1].ID
		if err := db.Create(&models.UserStat{UserID: p, WinsNumbr: 4, LossesNumbr: 2, Rate: 0.8}).Error; err != nil {
			t.Fatal(err)
		}
		s := NewGameService(db, nil, nil, nil, nil, GameConfig{})
		t.Cleanup(s.Close)
		g := NewGame(uuid.NewString(), p, q, 1, false, 0)
		g.Status, g.Winner, g.Player2.Score = GameFinished, q, 1
		if err := s.record(ctx, g); err != nil {
			t.Fatal(err)
		}
		var st models.UserStat
		if err := db.Where("user_id = ?", p).Take(&st).Error; err != nil {
			t.Fatal(err)
		}
		if st.WinsNumbr != 4 || st.LossesNumbr != 3 || math.Abs(st.Rate-0.8) > 1e-9 {
			t.Fatalf("stats of the loser: %+v", st)
		}
		var won models.UserStat
		if err := db.Where("user_id = ?", q).Take(&won).Error; err != nil || won.WinsNumbr != 1 || won.LossesNumbr != 0 || math.Abs(won.Rate-0.2) > 1e-9 {
			t.Fatalf("stats of the winner: %+v %v", won, err)
		}
	})
}
