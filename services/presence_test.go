package services

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/onlinenow/onlinenow/models"
)

// fakeStatus is both the StatusStore and the StatusNotifier of a test.
type fakeStatus struct {
	mu       sync.Mutex
	saved    []StatusChange // every SaveStatus, in order
	notified []StatusChange // every NotifyStatus, in order
}

func (f *fakeStatus) SaveStatus(_ context.Context, userID string, status models.Status, lastSeenAt *time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.saved = append(f.saved, StatusChange{UserID: userID, New: status, LastSeenAt: lastSeenAt})
	return nil
}

func (f *fakeStatus) ResetStatuses(context.Context) (int64, error) { return 0, nil }

func (f *fakeStatus) NotifyStatus(_ context.Context, c StatusChange) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.notified = append(f.notified, c)
}

// statuses returns the sequence of statuses saved for userID.
func (f *fakeStatus) statuses(list func(*fakeStatus) []StatusChange, userID string) []models.Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []models.Status
	for _, c := range list(f) {
		if c.UserID == userID {
			out = append(out, c.New)
		}
	}
	return out
}

func savedOf(f *fakeStatus) []StatusChange    { return f.saved }
func notifiedOf(f *fakeStatus) []StatusChange { return f.notified }

func equalStatuses(t *testing.T, what string, got []models.Status, want ...models.Status) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("%s: got %v, want %v", what, got, want)
	}
}

// startPresence runs a Presence with grace inside the current synctest bubble;
// the returned stop ends Run and waits for it.
func startPresence(t *testing.T, grace time.Duration) (*Presence, *fakeStatus, func()) {
	t.Helper()
	f := &fakeStatus{}
	p := NewPresence(grace, f, f, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := p.Run(ctx); err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	return p, f, func() { cancel(); <-done }
}

const (
	userA = "00000000-0000-4000-8000-00000000000a"
	userB = "00000000-0000-4000-8000-00000000000b"
)

func TestPresenceFirstConnectAndTabs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, f, stop := startPresence(t, 5*time.Second)
		defer stop()

		p.Connect(userA, "/appGateway")
		synctest.Wait()
		equalStatuses(t, "after first socket", f.statuses(savedOf, userA), models.StatusOnline)

		p.Connect(userA, "/chatGateway")
		p.Connect(userA, "/appGateway")
		p.Disconnect(userA, "/appGateway")
		time.Sleep(time.Minute)
		synctest.Wait()
		equalStatuses(t, "while other tabs live", f.statuses(savedOf, userA), models.StatusOnline)
		if st, n := p.Status(userA, ""); st != models.StatusOnline || n != 2 {
			t.Fatalf("Status = %v, %d sockets; want ONLINE, 2", st, n)
		}
		if _, n := p.Status(userA, "/chatGateway"); n != 1 {
			t.Fatalf("chat sockets = %d, want 1", n)
		}
		equalStatuses(t, "notified", f.statuses(notifiedOf, userA), models.StatusOnline)
	})
}

func TestPresenceOfflineAfterGrace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, f, stop := startPresence(t, 5*time.Second)
		defer stop()
		start := time.Now()

		p.Connect(userA, "/appGateway")
		p.Disconnect(userA, "/appGateway")
		time.Sleep(4999 * time.Millisecond)
		synctest.Wait()
		equalStatuses(t, "within grace", f.statuses(savedOf, userA), models.StatusOnline)

		time.Sleep(time.Millisecond)
		synctest.Wait()
		equalStatuses(t, "after grace", f.statuses(savedOf, userA), models.StatusOnline, models.StatusOffline)
		equalStatuses(t, "notified", f.statuses(notifiedOf, userA), models.StatusOnline, models.StatusOffline)

		f.mu.Lock()
		last := f.saved[len(f.saved)-1]
		f.mu.Unlock()
		if last.LastSeenAt == nil || last.LastSeenAt.Sub(start) != 5*time.Second {
			t.Fatalf("lastSeenAt = %v, want start+5s", last.LastSeenAt)
		}
	})
}

func TestPresenceReloadWithinGraceNeverFlaps(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, f, stop := startPresence(t, 5*time.Second)
		defer stop()

		p.Connect(userA, "/appGateway")
		for range 10 { // ten reloads, each back within the grace
			p.Disconnect(userA, "/appGateway")
			time.Sleep(4 * time.Second)
			p.Connect(userA, "/appGateway")
		}
		time.Sleep(time.Hour)
		synctest.Wait()
		equalStatuses(t, "saved", f.statuses(savedOf, userA), models.StatusOnline)
		equalStatuses(t, "notified", f.statuses(notifiedOf, userA), models.StatusOnline)
	})
}

func TestPresenceInGame(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, f, stop := startPresence(t, 5*time.Second)
		defer stop()

		p.Connect(userA, "/game")
		p.SetInGame(userA, true)
		p.SetInGame(userA, true) // repeated: no change
		p.SetInGame(userA, false)
		p.Disconnect(userA, "/game")
		time.Sleep(6 * time.Second)
		synctest.Wait()
		equalStatuses(t, "saved", f.statuses(savedOf, userA),
			models.StatusOnline, models.StatusInGame, models.StatusOnline, models.StatusOffline)

		// Entering a game while not connected does not make a user appear online.
		p.SetInGame(userB, true)
		synctest.Wait()
		equalStatuses(t, "offline player", f.statuses(savedOf, userB))
		p.SetInGame(userB, false)
		if st, _ := p.Status(userB, ""); st != models.StatusOffline {
			t.Fatalf("userB = %v, want OFFLINE", st)
		}
	})
}

func TestPresenceManualSet(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, f, stop := startPresence(t, 5*time.Second)
		defer stop()

		if err := p.Set(context.Background(), userA, "AWAY"); err == nil {
			t.Fatal("Set(AWAY) succeeded")
		}
		// Logout while a tab is still open: OFFLINE now, and the closing
		// tab's grace adds nothing.
		p.Connect(userA, "/appGateway")
		if err := p.Set(context.Background(), userA, models.StatusOffline); err != nil {
			t.Fatal(err)
		}
		p.Disconnect(userA, "/appGateway")
		time.Sleep(10 * time.Second)
		synctest.Wait()
		equalStatuses(t, "logout", f.statuses(savedOf, userA), models.StatusOnline, models.StatusOffline)

		// ONLINE without any socket lapses after the grace.
		if err := p.Set(context.Background(), userB, models.StatusOnline); err != nil {
			t.Fatal(err)
		}
		// Set returns once the change is persisted.
		equalStatuses(t, "right after Set", f.statuses(savedOf, userB), models.StatusOnline)
		// Setting the current status again writes nothing.
		if err := p.Set(context.Background(), userB, models.StatusOnline); err != nil {
			t.Fatal(err)
		}
		equalStatuses(t, "repeated Set", f.statuses(savedOf, userB), models.StatusOnline)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		equalStatuses(t, "socketless online", f.statuses(savedOf, userB), models.StatusOnline, models.StatusOffline)
	})
}

func TestPresenceUnknownDisconnectIsHarmless(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, f, stop := startPresence(t, time.Second)
		defer stop()
		p.Disconnect(userA, "/appGateway")
		p.Connect(userA, "/appGateway")
		p.Disconnect(userA, "/chatGateway") // never connected there
		time.Sleep(time.Minute)
		synctest.Wait()
		equalStatuses(t, "saved", f.statuses(savedOf, userA), models.StatusOnline)
	})
}

func TestPresenceZeroGrace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, f, stop := startPresence(t, 0)
		defer stop()
		p.Connect(userA, "/appGateway")
		p.Disconnect(userA, "/appGateway")
		synctest.Wait()
		equalStatuses(t, "saved", f.statuses(savedOf, userA), models.StatusOnline, models.StatusOffline)
	})
}

func TestPresenceShutdownMarksEveryoneOffline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, f, stop := startPresence(t, 5*time.Second)
		p.Connect(userA, "/appGateway")
		p.Connect(userB, "/chatGateway")
		p.Disconnect(userB, "/chatGateway") // in grace at shutdown
		synctest.Wait()
		stop()
		equalStatuses(t, "A saved", f.statuses(savedOf, userA), models.StatusOnline, models.StatusOffline)
		equalStatuses(t, "B saved", f.statuses(savedOf, userB), models.StatusOnline, models.StatusOffline)
		// The shutdown write is not announced: the sockets are gone.
		equalStatuses(t, "A notified", f.statuses(notifiedOf, userA), models.StatusOnline)
		// After Run returned, calls are ignored and nothing leaks.
		p.Connect(userA, "/appGateway")
		p.Disconnect(userA, "/appGateway")
		time.Sleep(time.Minute)
		synctest.Wait()
		equalStatuses(t, "A after stop", f.statuses(savedOf, userA), models.StatusOnline, models.StatusOffline)
	})
}

// TestPresenceConcurrentChurn hammers one Presence from many goroutines; the
// saved sequence of every user must alternate (no repeated status: a repeat
// would be a flap or a lost transition) and end OFFLINE.
func TestPresenceConcurrentChurn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, f, stop := startPresence(t, 50*time.Millisecond)
		defer stop()
		users := []string{userA, userB}
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Go(func() {
				r := rand.New(rand.NewPCG(uint64(w), 1))
				for range 200 {
					u := users[r.IntN(len(users))]
					nsp := []string{"/appGateway", "/chatGateway"}[r.IntN(2)]
					p.Connect(u, nsp)
					time.Sleep(time.Duration(r.IntN(80)) * time.Millisecond)
					if r.IntN(4) == 0 {
						p.SetInGame(u, r.IntN(2) == 0)
					}
					p.Disconnect(u, nsp)
				}
			})
		}
		wg.Wait()
		for _, u := range users {
			p.SetInGame(u, false)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		for _, u := range users {
			seq := f.statuses(savedOf, u)
			for i := 1; i < len(seq); i++ {
				if seq[i] == seq[i-1] {
					t.Fatalf("user %s: repeated %s at %d in %v", u, seq[i], i, seq)
				}
			}
			if len(seq) == 0 || seq[len(seq)-1] != models.StatusOffline {
				t.Fatalf("user %s ends %v, want OFFLINE last", u, seq)
			}
			if st, n := p.Status(u, ""); st != models.StatusOffline || n != 0 {
				t.Fatalf("user %s: %v with %d sockets", u, st, n)
			}
		}
	})
}
