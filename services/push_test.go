package services_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"gorm.io/gorm"

	"github.com/onlinenow/onlinenow/database/dbtest"
	"github.com/onlinenow/onlinenow/internal/fakepush"
	"github.com/onlinenow/onlinenow/models"
	"github.com/onlinenow/onlinenow/services"
)

// pushEnv is a push service over SQLite talking to a fake push service.
type pushEnv struct {
	db   *gorm.DB
	push *services.PushService
	fake *fakepush.Service
	user models.User
	stop func() // cancels Run and waits for it
}

func newPushEnv(t *testing.T, cfg services.PushConfig, reply func(int, http.ResponseWriter, *http.Request)) *pushEnv {
	t.Helper()
	return newPushEnvOn(t, dbtest.SQLite(t), cfg, reply)
}

// newPushEnvOn is newPushEnv over db.
func newPushEnvOn(t *testing.T, db *gorm.DB, cfg services.PushConfig, reply func(int, http.ResponseWriter, *http.Request)) *pushEnv {
	t.Helper()
	user := newSvc(db).user(t, "alice")
	pub, priv, err := services.GenerateVAPIDKeys()
	if err != nil {
		t.Fatal(err)
	}
	fake := fakepush.New(t, pub, reply)
	cfg.VAPIDPublicKey, cfg.VAPIDPrivateKey, cfg.Subscriber = pub, priv, "ops@onlinenow.example"
	cfg.HTTPClient = fake.Client()
	push, err := services.NewPushService(db, nil, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &pushEnv{db: db, push: push, fake: fake, user: user}
}

// run starts the workers; they stop at the end of the test.
func (e *pushEnv) run(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.push.Run(ctx) }()
	e.stop = func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("Run did not return after cancel")
		}
	}
	t.Cleanup(func() { e.stop() })
}

func (e *pushEnv) subscribe(t *testing.T, b fakepush.Browser) models.PushSubscription {
	t.Helper()
	s, err := e.push.Subscribe(context.Background(), e.user.ID, b.Input())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (e *pushEnv) next(t *testing.T) fakepush.Request {
	t.Helper()
	select {
	case r := <-e.fake.Got():
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("no push arrived")
		return fakepush.Request{}
	}
}

func TestPushDeliveredAndDecrypted(t *testing.T) {
	e := newPushEnv(t, services.PushConfig{}, nil)
	phone, laptop := e.fake.Browser(t, "phone"), e.fake.Browser(t, "laptop")
	e.subscribe(t, phone)
	e.subscribe(t, laptop)
	e.run(t)

	payload := []byte(`{"type":"game_invitation","title":"bob invites you"}`)
	topic := services.PushTopic("bob-id")
	err := e.push.Send(context.Background(), e.user.ID, payload,
		services.PushOptions{TTL: 90 * time.Second, Topic: topic, Urgency: services.PushUrgencyHigh})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for range 2 {
		r := e.next(t)
		seen[r.Path] = true
		if !bytes.Equal(r.Plaintext, payload) {
			t.Errorf("%s: plaintext %q, want %q", r.Path, r.Plaintext, payload)
		}
		if r.BodyLen > services.PushRecordSize {
			t.Errorf("%s: body %d bytes, over the record size", r.Path, r.BodyLen)
		}
		if got := r.Header.Get("TTL"); got != "90" {
			t.Errorf("TTL %q, want 90", got)
		}
		if got := r.Header.Get("Topic"); got != topic || len(got) > 32 {
			t.Errorf("Topic %q, want %q", got, topic)
		}
		if got := r.Header.Get("Urgency"); got != "high" {
			t.Errorf("Urgency %q, want high", got)
		}
	}
	if !seen["/push/phone"] || !seen["/push/laptop"] {
		t.Errorf("pushed to %v, want both devices", seen)
	}
	waitFor(t, "sent=2", func() bool { return e.push.Stats().Sent == 2 })

	// The largest payload that fits one 3000-byte record still decrypts.
	big := bytes.Repeat([]byte("x"), services.MaxPushPayload)
	if err := e.push.Send(context.Background(), e.user.ID, big, services.PushOptions{}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		r := e.next(t)
		if !bytes.Equal(r.Plaintext, big) || r.BodyLen != services.PushRecordSize {
			t.Errorf("max payload: got %d plaintext bytes in a %d-byte body", len(r.Plaintext), r.BodyLen)
		}
		if got := r.Header.Get("TTL"); got != "86400" {
			t.Errorf("default TTL %q, want 86400", got)
		}
	}
}

func TestPushOversizedAndInvalidRefused(t *testing.T) {
	e := newPushEnv(t, services.PushConfig{}, nil)
	e.subscribe(t, e.fake.Browser(t, "phone"))
	e.run(t)
	ctx := context.Background()
	err := e.push.Send(ctx, e.user.ID, make([]byte, services.MaxPushPayload+1), services.PushOptions{})
	if !errors.Is(err, services.ErrPushPayloadTooLarge) || !errors.Is(err, services.ErrInvalid) {
		t.Errorf("oversized: %v, want ErrPushPayloadTooLarge", err)
	}
	if err := e.push.Send(ctx, e.user.ID, []byte("x"), services.PushOptions{Topic: strings.Repeat("a", 33)}); !errors.Is(err, services.ErrInvalid) {
		t.Errorf("long topic: %v", err)
	}
	if err := e.push.Send(ctx, e.user.ID, []byte("x"), services.PushOptions{Urgency: "urgent"}); !errors.Is(err, services.ErrInvalid) {
		t.Errorf("bad urgency: %v", err)
	}
	time.Sleep(50 * time.Millisecond)
	if n := len(e.fake.Requests()); n != 0 {
		t.Errorf("%d requests for refused sends", n)
	}
}

func TestPushGoneDeletesSubscription(t *testing.T) {
	for _, status := range []int{http.StatusGone, http.StatusNotFound} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			e := newPushEnv(t, services.PushConfig{}, func(_ int, w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/push/old" {
					w.WriteHeader(status)
					return
				}
				w.WriteHeader(http.StatusCreated)
			})
			old, cur := e.fake.Browser(t, "old"), e.fake.Browser(t, "cur")
			e.subscribe(t, old)
			e.subscribe(t, cur)
			e.run(t)
			if err := e.push.Send(context.Background(), e.user.ID, []byte("hi"), services.PushOptions{}); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "gone=1 sent=1", func() bool { s := e.push.Stats(); return s.Gone == 1 && s.Sent == 1 })
			subs, err := e.push.Subscriptions(context.Background(), e.user.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(subs) != 1 || subs[0].Endpoint != cur.Endpoint {
				t.Errorf("subscriptions left: %+v, want only %s", subs, cur.Endpoint)
			}
			if s := e.push.Stats(); s.Retried != 0 || s.Failed != 0 {
				t.Errorf("stats %+v: a gone subscription is not retried", s)
			}
		})
	}
}

func TestPushTooManyRequestsBacksOff(t *testing.T) {
	t.Run("retry-after then success", func(t *testing.T) {
		e := newPushEnv(t, services.PushConfig{MaxBackoff: 5 * time.Second}, func(n int, w http.ResponseWriter, _ *http.Request) {
			if n == 0 {
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(http.StatusTooManyRequests)
				return
			}
			w.WriteHeader(http.StatusCreated)
		})
		e.subscribe(t, e.fake.Browser(t, "phone"))
		e.run(t)
		if err := e.push.Send(context.Background(), e.user.ID, []byte("hi"), services.PushOptions{}); err != nil {
			t.Fatal(err)
		}
		first, second := e.next(t), e.next(t)
		if gap := second.At.Sub(first.At); gap < 900*time.Millisecond {
			t.Errorf("retried after %v, want Retry-After's 1s", gap)
		}
		if !bytes.Equal(second.Plaintext, []byte("hi")) {
			t.Errorf("retry plaintext %q", second.Plaintext)
		}
		waitFor(t, "sent=1", func() bool { return e.push.Stats().Sent == 1 })
		if s := e.push.Stats(); s.Retried != 1 || s.Failed != 0 {
			t.Errorf("stats %+v, want one retry and no failure", s)
		}
	})
	t.Run("bounded wait and retries", func(t *testing.T) {
		e := newPushEnv(t, services.PushConfig{MaxRetries: 2, MaxBackoff: 100 * time.Millisecond}, func(_ int, w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", "3600")
			w.WriteHeader(http.StatusTooManyRequests)
		})
		e.subscribe(t, e.fake.Browser(t, "phone"))
		e.run(t)
		start := time.Now()
		if err := e.push.Send(context.Background(), e.user.ID, []byte("hi"), services.PushOptions{}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "failed=1", func() bool { return e.push.Stats().Failed == 1 })
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("gave up after %v: Retry-After was not capped", d)
		}
		time.Sleep(150 * time.Millisecond)
		if n := len(e.fake.Requests()); n != 3 {
			t.Errorf("%d attempts, want 1 + 2 retries", n)
		}
		if s := e.push.Stats(); s.Retried != 2 || s.Sent != 0 {
			t.Errorf("stats %+v", s)
		}
	})
}

func TestPushSlowServiceDoesNotBlockSend(t *testing.T) {
	release := make(chan struct{})
	e := newPushEnv(t, services.PushConfig{Workers: 1, QueueSize: 2}, func(_ int, w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
		w.WriteHeader(http.StatusCreated)
	})
	e.subscribe(t, e.fake.Browser(t, "phone"))
	e.run(t)
	ctx := context.Background()

	start := time.Now()
	if err := e.push.Send(ctx, e.user.ID, []byte("1"), services.PushOptions{}); err != nil {
		t.Fatal(err)
	}
	e.next(t) // the only worker is now waiting on the push service
	for _, p := range []string{"2", "3"} {
		if err := e.push.Send(ctx, e.user.ID, []byte(p), services.PushOptions{}); err != nil {
			t.Fatalf("queued send %s: %v", p, err)
		}
	}
	sendStart := time.Now()
	if err := e.push.Send(ctx, e.user.ID, []byte("4"), services.PushOptions{}); !errors.Is(err, services.ErrPushQueueFull) {
		t.Errorf("send on a full queue: %v, want ErrPushQueueFull", err)
	}
	if d := time.Since(sendStart); d > 50*time.Millisecond {
		t.Errorf("Send on a full queue took %v", d)
	}
	if s := e.push.Stats(); s.Dropped != 1 || s.Sent != 0 {
		t.Errorf("stats %+v, want one drop and nothing sent yet", s)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("sends took %v while the push service hung", d)
	}
	close(release)
	waitFor(t, "sent=3", func() bool { return e.push.Stats().Sent == 3 })
	got := e.fake.Requests()
	for i, want := range []string{"1", "2", "3"} {
		if string(got[i].Plaintext) != want {
			t.Errorf("push %d: %q, want %q", i, got[i].Plaintext, want)
		}
	}
}

func TestPushRunStopsCleanly(t *testing.T) {
	e := newPushEnv(t, services.PushConfig{Workers: 3}, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 0 {
			w.WriteHeader(http.StatusCreated)
			return
		}
		<-r.Context().Done() // hangs until the client gives up
	})
	e.subscribe(t, e.fake.Browser(t, "phone"))
	// The database, the fake and its client's idle connections exist
	// before the service runs; everything the service starts must go.
	ignore := goleak.IgnoreCurrent()

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.push.Run(ctx) }()
	if err := e.push.Send(ctx, e.user.ID, []byte("a"), services.PushOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "sent=1", func() bool { return e.push.Stats().Sent == 1 })
	if err := e.push.Send(ctx, e.user.ID, []byte("b"), services.PushOptions{}); err != nil {
		t.Fatal(err)
	}
	e.next(t)
	e.next(t) // the second push is in flight and hanging
	if err := e.push.Run(context.Background()); err == nil {
		t.Error("a second Run was accepted")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	// After Run, Send still returns at once (queued, never sent).
	if err := e.push.Send(context.Background(), e.user.ID, []byte("c"), services.PushOptions{}); err != nil {
		t.Errorf("Send after Run: %v", err)
	}
	e.fake.Client().CloseIdleConnections()
	goleak.VerifyNone(t, ignore)
}

func TestPushSubscriptions(t *testing.T) {
	dbtest.Each(t, testPushSubscriptions)
}

func testPushSubscriptions(t *testing.T, db *gorm.DB) {
	e := newPushEnvOn(t, db, services.PushConfig{}, nil)
	ctx := context.Background()
	phone := e.fake.Browser(t, "phone")
	first := e.subscribe(t, phone)
	again := e.subscribe(t, phone) // the browser re-subscribes: same row
	if again.ID != first.ID {
		t.Errorf("re-subscribe made a new row %s, want %s", again.ID, first.ID)
	}
	// The same browser signed in as someone else: the endpoint moves.
	bob := newSvc(e.db).user(t, "bob")
	moved, err := e.push.Subscribe(ctx, bob.ID, phone.Input())
	if err != nil {
		t.Fatal(err)
	}
	if moved.UserID != bob.ID || moved.ID != first.ID {
		t.Errorf("moved subscription %+v, want user %s", moved, bob.ID)
	}
	if subs, _ := e.push.Subscriptions(ctx, e.user.ID); len(subs) != 0 {
		t.Errorf("alice still has %d subscriptions", len(subs))
	}
	if err := e.push.Unsubscribe(ctx, e.user.ID, phone.Endpoint); !errors.Is(err, services.ErrNotFound) {
		t.Errorf("unsubscribe someone else's endpoint: %v, want ErrNotFound", err)
	}
	if err := e.push.Unsubscribe(ctx, bob.ID, phone.Endpoint); err != nil {
		t.Errorf("unsubscribe: %v", err)
	}
	if subs, _ := e.push.Subscriptions(ctx, bob.ID); len(subs) != 0 {
		t.Errorf("bob still has %d subscriptions", len(subs))
	}

	bad := []services.PushSubscriptionInput{
		{Endpoint: "http://push.example/x", P256dh: phone.Input().P256dh, Auth: phone.Input().Auth},
		{Endpoint: phone.Endpoint, P256dh: "AAAA", Auth: phone.Input().Auth},
		{Endpoint: phone.Endpoint, P256dh: phone.Input().P256dh, Auth: "AAAA"},
	}
	for i, in := range bad {
		if _, err := e.push.Subscribe(ctx, e.user.ID, in); !errors.Is(err, services.ErrInvalid) {
			t.Errorf("bad input %d: %v, want ErrInvalid", i, err)
		}
	}
}
