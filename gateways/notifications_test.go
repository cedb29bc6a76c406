package gateways

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/onlinenow/onlinenow/config"
	"github.com/onlinenow/onlinenow/database/dbtest"
	"github.com/onlinenow/onlinenow/internal/siotest"
	"github.com/onlinenow/onlinenow/services"
)

// TestNotificationReplayStress records notifications for a user while its
// /appGateway socket keeps reconnecting with auth.lastSeq = the last seq it
// received: the client-side sequence is gap-free and duplicate-free.
func TestNotificationReplayStress(t *testing.T) {
	db := dbtest.SQLite(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := config.Config{CORSOrigins: []string{"http://localhost:5173"}, AuthMode: config.AuthStrict}
	social := services.NewSocialService(db)
	tokens := services.NewTokens([]byte(testKey))
	presence := services.NewPresence(time.Second, services.NewStatusStore(db), nil, log)
	inbox := services.NewNotifications(db, log, services.NotificationsConfig{})
	d := Deps{Config: cfg, Users: services.NewUserService(db), Social: social,
		Chat: services.NewChatService(db, social), Presence: presence, Tokens: tokens, Log: log, Inbox: inbox}
	sio := NewServer(cfg)
	presence.SetNotifier(Register(sio, d))
	RegisterNotifications(sio, d, inbox)
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", sio.ServeHandler(nil))
	srv := httptest.NewServer(mux)
	pctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); presence.Run(pctx) }()
	t.Cleanup(func() {
		sio.Close(nil)
		srv.CloseClientConnections()
		srv.Close()
		stop()
		<-done
	})
	e := &env{t: t, url: srv.URL, db: db, social: social, tokens: tokens, presence: presence}
	url := srv.URL
	a, b := e.user("a"), e.user("b")

	const total = 120
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range total {
			if _, err := inbox.Record(context.Background(), services.NotificationInput{
				Recipient: a.ID, Type: services.NotifyMessage, ActorID: b.ID,
			}); err != nil {
				t.Error(err)
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	var got []int64
	last := int64(0)
	for round := 0; last < total; round++ {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		c, err := siotest.Dial(ctx, url, AppNamespace, map[string]any{"token": e.token(a), "lastSeq": last}, nil)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(time.Duration(5+round%7) * time.Millisecond)
		for time.Now().Before(deadline) || round > 200 || !recording(&wg) {
			ev, err := c.Next(50 * time.Millisecond)
			if err != nil {
				break
			}
			if ev.Name != "notification" {
				continue
			}
			var n struct{ Seq int64 }
			if err := json.Unmarshal(ev.Args[0], &n); err != nil {
				t.Fatal(err)
			}
			got = append(got, n.Seq)
			last = n.Seq
			if last == total {
				break
			}
		}
		c.Close()
		if round > 2000 {
			t.Fatalf("stuck at %d", last)
		}
	}
	wg.Wait()
	for i, seq := range got {
		if seq != int64(i+1) {
			t.Fatalf("at %d seq %d: gap or duplicate", i, seq)
		}
	}
	if len(got) != total {
		t.Fatalf("got %d", len(got))
	}
}

// recording reports whether wg is still waited on (false once done).
func recording(wg *sync.WaitGroup) bool {
	ch := make(chan struct{})
	go func() { wg.Wait(); close(ch) }()
	select {
	case <-ch:
		return false
	case <-time.After(time.Millisecond):
		return true
	}
}
