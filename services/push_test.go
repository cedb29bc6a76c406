package services_test

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"go.uber.org/goleak"
	"gorm.io/gorm"

	"github.com/onlinenow/onlinenow/database/dbtest"
	"github.com/onlinenow/onlinenow/models"
	"github.com/onlinenow/onlinenow/services"
)

// browserSub is a fake browser's push subscription: its ECDH key pair and
// auth secret, which the fake push service uses to decrypt, as the
// browser would.
type browserSub struct {
	endpoint string
	priv     *ecdh.PrivateKey
	auth     []byte
}

func newBrowserSub(t *testing.T, endpoint string) browserSub {
	t.Helper()
	priv, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	auth := make([]byte, 16)
	if _, err := rand.Read(auth); err != nil {
		t.Fatal(err)
	}
	return browserSub{endpoint: endpoint, priv: priv, auth: auth}
}

func (b browserSub) input() services.PushSubscriptionInput {
	return services.PushSubscriptionInput{
		Endpoint: b.endpoint,
		P256dh:   base64.RawURLEncoding.EncodeToString(b.priv.PublicKey().Bytes()),
		Auth:     base64.RawURLEncoding.EncodeToString(b.auth),
	}
}

// pushReq is one request the fake push service verified and decrypted.
type pushReq struct {
	path      string
	plaintext []byte
	bodyLen   int
	header    http.Header
	at        time.Time
}

// fakePushService is an httptest push service. It verifies the VAPID
// Authorization header and decrypts the RFC 8291 body with the matching
// browser's keys; respond chooses the status of the n-th request (from 0).
type fakePushService struct {
	t        *testing.T
	srv      *httptest.Server
	vapidPub string

	mu    sync.Mutex            // guards subs, reqs and n
	subs  map[string]browserSub // path -> browser
	reqs  []pushReq
	n     int
	got   chan pushReq // each verified request, buffered
	reply func(n int, w http.ResponseWriter, r *http.Request)
}

func newFakePushService(t *testing.T, vapidPub string, reply func(n int, w http.ResponseWriter, r *http.Request)) *fakePushService {
	f := &fakePushService{t: t, vapidPub: vapidPub, subs: map[string]browserSub{}, got: make(chan pushReq, 100), reply: reply}
	f.srv = httptest.NewTLSServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// browser registers a new fake browser at a fresh endpoint path.
func (f *fakePushService) browser(t *testing.T, name string) browserSub {
	b := newBrowserSub(t, f.srv.URL+"/push/"+name)
	f.mu.Lock()
	f.subs["/push/"+name] = b
	f.mu.Unlock()
	return b
}

func (f *fakePushService) requests() []pushReq {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]pushReq(nil), f.reqs...)
}

func (f *fakePushService) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		f.t.Errorf("fake push: read body: %v", err)
		return
	}
	f.mu.Lock()
	b, ok := f.subs[r.URL.Path]
	f.mu.Unlock()
	if !ok {
		f.t.Errorf("fake push: unknown endpoint %s", r.URL.Path)
		http.NotFound(w, r)
		return
	}
	if err := f.verifyVAPID(r); err != nil {
		f.t.Errorf("fake push: VAPID: %v", err)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if got := r.Header.Get("Content-Encoding"); got != "aes128gcm" {
		f.t.Errorf("fake push: Content-Encoding %q", got)
	}
	if r.Header.Get("TTL") == "" {
		f.t.Errorf("fake push: no TTL header")
	}
	plain, err := decryptWebPush(b, body)
	if err != nil {
		f.t.Errorf("fake push: decrypt: %v", err)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	req := pushReq{path: r.URL.Path, plaintext: plain, bodyLen: len(body), header: r.Header.Clone(), at: time.Now()}
	f.mu.Lock()
	n := f.n
	f.n++
	f.reqs = append(f.reqs, req)
	f.mu.Unlock()
	f.got <- req
	if f.reply != nil {
		f.reply(n, w, r)
		return
	}
	w.WriteHeader(http.StatusCreated)
}

// verifyVAPID checks "vapid t=<jwt>, k=<key>" (RFC 8292): k is the
// server's key, the JWT is ES256-signed by it, aud is the endpoint's
// origin, exp is in the future and within 24 hours, sub is present.
func (f *fakePushService) verifyVAPID(r *http.Request) error {
	rest, ok := strings.CutPrefix(r.Header.Get("Authorization"), "vapid ")
	if !ok {
		return fmt.Errorf("authorization %q is not vapid", r.Header.Get("Authorization"))
	}
	var tok, key string
	for part := range strings.SplitSeq(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			tok = v
		case "k":
			key = v
		}
	}
	if key != f.vapidPub {
		return fmt.Errorf("k=%q, want the server's key %q", key, f.vapidPub)
	}
	raw, err := base64.RawURLEncoding.DecodeString(key)
	if err != nil {
		return err
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), raw)
	if err != nil {
		return err
	}
	origin := "https://" + r.Host
	if origin != f.srv.URL {
		return fmt.Errorf("request host %s is not the endpoint's", r.Host)
	}
	claims := jwt.MapClaims{}
	_, err = jwt.ParseWithClaims(tok, claims, func(*jwt.Token) (any, error) { return pub, nil },
		jwt.WithValidMethods([]string{"ES256"}), jwt.WithExpirationRequired(), jwt.WithAudience(origin))
	if err != nil {
		return err
	}
	exp, err := claims.GetExpirationTime()
	if err != nil || exp == nil {
		return fmt.Errorf("exp: %v", err)
	}
	if exp.After(time.Now().Add(24 * time.Hour)) {
		return fmt.Errorf("exp %v is more than 24h away", exp)
	}
	if sub, _ := claims.GetSubject(); !strings.HasPrefix(sub, "mailto:") && !strings.HasPrefix(sub, "https:") {
		return fmt.Errorf("sub %q is not a mailto: or https: URL", sub)
	}
	return nil
}

// decryptWebPush is the user agent's side of RFC 8291 over RFC 8188
// aes128gcm: the header gives salt, record size and the application
// server's public key (keyid); ECDH with the subscription's private key
// and HKDF with the auth secret give the content key and nonce.
func decryptWebPush(b browserSub, body []byte) ([]byte, error) {
	if len(body) < 21 {
		return nil, errors.New("body shorter than the header")
	}
	salt, rs, idlen := body[:16], binary.BigEndian.Uint32(body[16:20]), int(body[20])
	if len(body) < 21+idlen {
		return nil, errors.New("truncated keyid")
	}
	asPublic, records := body[21:21+idlen], body[21+idlen:]
	if rs < 18 {
		return nil, fmt.Errorf("record size %d too small", rs)
	}
	asKey, err := ecdh.P256().NewPublicKey(asPublic)
	if err != nil {
		return nil, fmt.Errorf("keyid is not a P-256 key: %w", err)
	}
	secret, err := b.priv.ECDH(asKey)
	if err != nil {
		return nil, err
	}
	// RFC 8291 section 3.4: IKM from the ECDH secret, keyed by auth.
	keyInfo := append(append([]byte("WebPush: info\x00"), b.priv.PublicKey().Bytes()...), asPublic...)
	prkKey, err := hkdf.Extract(sha256.New, secret, b.auth)
	if err != nil {
		return nil, err
	}
	ikm, err := hkdf.Expand(sha256.New, prkKey, string(keyInfo), 32)
	if err != nil {
		return nil, err
	}
	// RFC 8188 section 2.2 and 2.3: content key and nonce from the salt.
	prk, err := hkdf.Extract(sha256.New, ikm, salt)
	if err != nil {
		return nil, err
	}
	cek, err := hkdf.Expand(sha256.New, prk, "Content-Encoding: aes128gcm\x00", 16)
	if err != nil {
		return nil, err
	}
	baseNonce, err := hkdf.Expand(sha256.New, prk, "Content-Encoding: nonce\x00", 12)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(cek)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	var out []byte
	for seq := uint64(0); len(records) > 0; seq++ {
		n := min(int(rs), len(records))
		rec := records[:n]
		records = records[n:]
		nonce := bytes.Clone(baseNonce)
		var s [8]byte
		binary.BigEndian.PutUint64(s[:], seq)
		for i := range 8 {
			nonce[4+i] ^= s[i]
		}
		plain, err := gcm.Open(nil, nonce, rec, nil)
		if err != nil {
			return nil, fmt.Errorf("record %d: %w", seq, err)
		}
		// Strip padding: zeros after the delimiter, 2 on the last record.
		i := len(plain) - 1
		for i >= 0 && plain[i] == 0 {
			i--
		}
		last := len(records) == 0
		switch {
		case i < 0:
			return nil, fmt.Errorf("record %d: no delimiter", seq)
		case last && plain[i] != 2, !last && plain[i] != 1:
			return nil, fmt.Errorf("record %d: delimiter %d", seq, plain[i])
		}
		out = append(out, plain[:i]...)
	}
	return out, nil
}

// pushEnv is a push service over SQLite talking to a fake push service.
type pushEnv struct {
	db   *gorm.DB
	push *services.PushService
	fake *fakePushService
	user models.User
	stop func() // cancels Run and waits for it
}

func newPushEnv(t *testing.T, cfg services.PushConfig, reply func(int, http.ResponseWriter, *http.Request)) *pushEnv {
	t.Helper()
	db := dbtest.SQLite(t)
	if err := db.AutoMigrate(&models.PushSubscription{}); err != nil {
		t.Fatal(err)
	}
	user := newSvc(db).user(t, "alice")
	pub, priv, err := services.GenerateVAPIDKeys()
	if err != nil {
		t.Fatal(err)
	}
	fake := newFakePushService(t, pub, reply)
	cfg.VAPIDPublicKey, cfg.VAPIDPrivateKey, cfg.Subscriber = pub, priv, "ops@onlinenow.example"
	cfg.HTTPClient = fake.srv.Client()
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

func (e *pushEnv) subscribe(t *testing.T, b browserSub) models.PushSubscription {
	t.Helper()
	s, err := e.push.Subscribe(context.Background(), e.user.ID, b.input())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (e *pushEnv) next(t *testing.T) pushReq {
	t.Helper()
	select {
	case r := <-e.fake.got:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("no push arrived")
		return pushReq{}
	}
}

func TestPushDeliveredAndDecrypted(t *testing.T) {
	e := newPushEnv(t, services.PushConfig{}, nil)
	phone, laptop := e.fake.browser(t, "phone"), e.fake.browser(t, "laptop")
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
		seen[r.path] = true
		if !bytes.Equal(r.plaintext, payload) {
			t.Errorf("%s: plaintext %q, want %q", r.path, r.plaintext, payload)
		}
		if r.bodyLen > services.PushRecordSize {
			t.Errorf("%s: body %d bytes, over the record size", r.path, r.bodyLen)
		}
		if got := r.header.Get("TTL"); got != "90" {
			t.Errorf("TTL %q, want 90", got)
		}
		if got := r.header.Get("Topic"); got != topic || len(got) > 32 {
			t.Errorf("Topic %q, want %q", got, topic)
		}
		if got := r.header.Get("Urgency"); got != "high" {
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
		if !bytes.Equal(r.plaintext, big) || r.bodyLen != services.PushRecordSize {
			t.Errorf("max payload: got %d plaintext bytes in a %d-byte body", len(r.plaintext), r.bodyLen)
		}
		if got := r.header.Get("TTL"); got != "86400" {
			t.Errorf("default TTL %q, want 86400", got)
		}
	}
}

func TestPushOversizedAndInvalidRefused(t *testing.T) {
	e := newPushEnv(t, services.PushConfig{}, nil)
	e.subscribe(t, e.fake.browser(t, "phone"))
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
	if n := len(e.fake.requests()); n != 0 {
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
			old, cur := e.fake.browser(t, "old"), e.fake.browser(t, "cur")
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
			if len(subs) != 1 || subs[0].Endpoint != cur.endpoint {
				t.Errorf("subscriptions left: %+v, want only %s", subs, cur.endpoint)
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
		e.subscribe(t, e.fake.browser(t, "phone"))
		e.run(t)
		if err := e.push.Send(context.Background(), e.user.ID, []byte("hi"), services.PushOptions{}); err != nil {
			t.Fatal(err)
		}
		first, second := e.next(t), e.next(t)
		if gap := second.at.Sub(first.at); gap < 900*time.Millisecond {
			t.Errorf("retried after %v, want Retry-After's 1s", gap)
		}
		if !bytes.Equal(second.plaintext, []byte("hi")) {
			t.Errorf("retry plaintext %q", second.plaintext)
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
		e.subscribe(t, e.fake.browser(t, "phone"))
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
		if n := len(e.fake.requests()); n != 3 {
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
	e.subscribe(t, e.fake.browser(t, "phone"))
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
	got := e.fake.requests()
	for i, want := range []string{"1", "2", "3"} {
		if string(got[i].plaintext) != want {
			t.Errorf("push %d: %q, want %q", i, got[i].plaintext, want)
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
	e.subscribe(t, e.fake.browser(t, "phone"))
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
	e.fake.srv.Client().CloseIdleConnections()
	goleak.VerifyNone(t, ignore)
}

func TestPushSubscriptions(t *testing.T) {
	e := newPushEnv(t, services.PushConfig{}, nil)
	ctx := context.Background()
	phone := e.fake.browser(t, "phone")
	first := e.subscribe(t, phone)
	again := e.subscribe(t, phone) // the browser re-subscribes: same row
	if again.ID != first.ID {
		t.Errorf("re-subscribe made a new row %s, want %s", again.ID, first.ID)
	}
	// The same browser signed in as someone else: the endpoint moves.
	bob := newSvc(e.db).user(t, "bob")
	moved, err := e.push.Subscribe(ctx, bob.ID, phone.input())
	if err != nil {
		t.Fatal(err)
	}
	if moved.UserID != bob.ID || moved.ID != first.ID {
		t.Errorf("moved subscription %+v, want user %s", moved, bob.ID)
	}
	if subs, _ := e.push.Subscriptions(ctx, e.user.ID); len(subs) != 0 {
		t.Errorf("alice still has %d subscriptions", len(subs))
	}
	if err := e.push.Unsubscribe(ctx, e.user.ID, phone.endpoint); !errors.Is(err, services.ErrNotFound) {
		t.Errorf("unsubscribe someone else's endpoint: %v, want ErrNotFound", err)
	}
	if err := e.push.Unsubscribe(ctx, bob.ID, phone.endpoint); err != nil {
		t.Errorf("unsubscribe: %v", err)
	}
	if subs, _ := e.push.Subscriptions(ctx, bob.ID); len(subs) != 0 {
		t.Errorf("bob still has %d subscriptions", len(subs))
	}

	bad := []services.PushSubscriptionInput{
		{Endpoint: "http://push.example/x", P256dh: phone.input().P256dh, Auth: phone.input().Auth},
		{Endpoint: phone.endpoint, P256dh: "AAAA", Auth: phone.input().Auth},
		{Endpoint: phone.endpoint, P256dh: phone.input().P256dh, Auth: "AAAA"},
	}
	for i, in := range bad {
		if _, err := e.push.Subscribe(ctx, e.user.ID, in); !errors.Is(err, services.ErrInvalid) {
			t.Errorf("bad input %d: %v, want ErrInvalid", i, err)
		}
	}
}
