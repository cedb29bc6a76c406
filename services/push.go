package services

import (
	"context"
	"crypto/ecdh"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	webpush "github.com/SherClockHolmes/webpush-go"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/onlinenow/onlinenow/models"
)

// Web Push limits (RFC 8030, RFC 8188, RFC 8291).
const (
	// PushRecordSize is the aes128gcm record size we send: the whole
	// encrypted body, header included, is this many bytes.
	PushRecordSize = 3000
	// pushHeaderSize is the aes128gcm header: salt (16), rs (4), idlen (1)
	// and the application server's uncompressed P-256 key (65).
	pushHeaderSize = 16 + 4 + 1 + 65
	// MaxPushPayload is the largest plaintext that fits one record: the
	// record minus the header, the GCM tag (16) and the padding delimiter (1).
	MaxPushPayload = PushRecordSize - pushHeaderSize - 16 - 1
	// maxPushTopic is the longest Topic header RFC 8030 allows.
	maxPushTopic = 32
	// maxEndpointLen bounds a stored endpoint URL.
	maxEndpointLen = 2048
)

// Push errors.
var (
	ErrPushPayloadTooLarge = Public(ErrInvalid, "push payload larger than %d bytes", MaxPushPayload)
	ErrPushQueueFull       = errors.New("push queue full: notification dropped")
)

// PushUrgency is the Urgency header of a push (RFC 8030 section 5.3).
type PushUrgency string

// Urgencies; the zero value sends no header (the push service treats it
// as normal).
const (
	PushUrgencyVeryLow PushUrgency = "very-low"
	PushUrgencyLow     PushUrgency = "low"
	PushUrgencyNormal  PushUrgency = "normal"
	PushUrgencyHigh    PushUrgency = "high"
)

func (u PushUrgency) valid() bool {
	switch u {
	case "", PushUrgencyVeryLow, PushUrgencyLow, PushUrgencyNormal, PushUrgencyHigh:
		return true
	}
	return false
}

// PushOptions are the per-message headers of a push.
type PushOptions struct {
	TTL     time.Duration // how long the push service keeps it; <= 0 takes PushConfig.DefaultTTL
	Topic   string        // collapses pending pushes with the same topic; at most 32 base64url characters ("" = none)
	Urgency PushUrgency   // "" = none
}

// PushTopic maps any key (a sender's id, say) to a valid Topic: 32
// base64url characters of its SHA-256.
func PushTopic(key string) string {
	sum := sha256.Sum256([]byte(key))
	return base64.RawURLEncoding.EncodeToString(sum[:24])
}

// PushConfig configures the push service; zero values take defaults,
// except the VAPID keys and Subscriber, which are required.
type PushConfig struct {
	VAPIDPublicKey  string // base64url, uncompressed P-256 point
	VAPIDPrivateKey string // base64url, 32-byte scalar
	// Subscriber is the JWT "sub": a contact e-mail address or an https URL
	// (a "mailto:" prefix is accepted and stripped; webpush-go adds it).
	Subscriber string

	Workers     int           // 4: concurrent sends
	QueueSize   int           // 1024: queued users beyond the workers; more are dropped
	MaxRetries  int           // 2: retries after the first attempt (429, 5xx, network errors)
	BaseBackoff time.Duration // 1s: first retry wait when no Retry-After is given, doubled each retry
	MaxBackoff  time.Duration // 1m: cap on any wait, Retry-After included
	SendTimeout time.Duration // 10s: one HTTP request to a push service
	DefaultTTL  time.Duration // 24h: TTL of a push whose options carry none
	// HTTPClient sends the requests; nil is a client with SendTimeout.
	HTTPClient *http.Client
}

func (c PushConfig) withDefaults() PushConfig {
	if c.Workers <= 0 {
		c.Workers = 4
	}
	if c.QueueSize <= 0 {
		c.QueueSize = 1024
	}
	if c.MaxRetries < 0 {
		c.MaxRetries = 0
	} else if c.MaxRetries == 0 {
		c.MaxRetries = 2
	}
	if c.BaseBackoff <= 0 {
		c.BaseBackoff = time.Second
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = time.Minute
	}
	if c.SendTimeout <= 0 {
		c.SendTimeout = 10 * time.Second
	}
	if c.DefaultTTL <= 0 {
		c.DefaultTTL = 24 * time.Hour
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: c.SendTimeout}
	}
	c.Subscriber = strings.TrimPrefix(c.Subscriber, "mailto:")
	return c
}

// GenerateVAPIDKeys returns a new VAPID key pair, base64url encoded.
func GenerateVAPIDKeys() (publicKey, privateKey string, err error) {
	privateKey, publicKey, err = webpush.GenerateVAPIDKeys()
	if err != nil {
		return "", "", fmt.Errorf("generate vapid keys: %w", err)
	}
	return publicKey, privateKey, nil
}

// PushStats are the push service's counters since it was created.
type PushStats struct {
	Sent    int64 // pushes the push service accepted (2xx)
	Dropped int64 // Send calls refused because the queue was full
	Gone    int64 // subscriptions deleted after 404/410
	Retried int64 // retries after 429, 5xx or a network error
	Failed  int64 // pushes given up on
}

// pushJob is one Send: a payload for every subscription of a user.
type pushJob struct {
	userID  string
	payload []byte
	opts    PushOptions
}

// PushService stores users' Web Push subscriptions and sends them
// encrypted pushes signed with the server's VAPID key.
//
// Sends go through a bounded queue owned by the service and drained by the
// workers that Run starts: Send never waits on a push service; when the
// queue is full the push is dropped and counted. Jobs still queued when
// Run returns are abandoned.
type PushService struct {
	db  *gorm.DB
	log *slog.Logger
	cfg PushConfig

	// queue carries jobs from Send to the workers. It is never closed:
	// Send may run at any time, and a send on a closed channel panics.
	queue   chan pushJob
	running atomic.Bool // Run was called; a second Run is refused

	sent, dropped, gone, retried, failed atomic.Int64
}

// NewPushService returns a push service over db; it checks the VAPID keys.
func NewPushService(db *gorm.DB, log *slog.Logger, cfg PushConfig) (*PushService, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg = cfg.withDefaults()
	pub, err := decodeB64URL(cfg.VAPIDPublicKey)
	if err != nil {
		return nil, fmt.Errorf("push config: VAPIDPublicKey: %w", err)
	}
	if _, err := ecdh.P256().NewPublicKey(pub); err != nil {
		return nil, fmt.Errorf("push config: VAPIDPublicKey: %w", err)
	}
	priv, err := decodeB64URL(cfg.VAPIDPrivateKey)
	if err != nil {
		return nil, fmt.Errorf("push config: VAPIDPrivateKey: %w", err)
	}
	if len(priv) != 32 {
		return nil, fmt.Errorf("push config: VAPIDPrivateKey: %d bytes, want 32", len(priv))
	}
	if cfg.Subscriber == "" {
		return nil, errors.New("push config: Subscriber is required (an e-mail address or https URL)")
	}
	return &PushService{db: db, log: log, cfg: cfg, queue: make(chan pushJob, cfg.QueueSize)}, nil
}

// VAPIDPublicKey returns the public key browsers pass to
// pushManager.subscribe as applicationServerKey.
func (s *PushService) VAPIDPublicKey() string { return s.cfg.VAPIDPublicKey }

// Stats returns the counters.
func (s *PushService) Stats() PushStats {
	return PushStats{
		Sent: s.sent.Load(), Dropped: s.dropped.Load(), Gone: s.gone.Load(),
		Retried: s.retried.Load(), Failed: s.failed.Load(),
	}
}

// PushSubscriptionInput is a browser's PushSubscription: its endpoint and
// keys, base64url (padded or not).
type PushSubscriptionInput struct {
	Endpoint string
	P256dh   string
	Auth     string
}

// Subscribe stores sub for userID. An endpoint already stored (for this
// user or, after a sign-in on the same browser, another) takes the new
// user and keys.
func (s *PushService) Subscribe(ctx context.Context, userID string, sub PushSubscriptionInput) (models.PushSubscription, error) {
	if err := validateSubscription(userID, sub); err != nil {
		return models.PushSubscription{}, fmt.Errorf("push subscribe: %w", err)
	}
	row := models.PushSubscription{UserID: userID, Endpoint: sub.Endpoint, P256dh: sub.P256dh, Auth: sub.Auth}
	err := s.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "endpoint"}},
		DoUpdates: clause.AssignmentColumns([]string{"user_id", "p256dh", "auth"}),
	}).Create(&row).Error
	if err != nil {
		return models.PushSubscription{}, fmt.Errorf("push subscribe: %w", err)
	}
	// On conflict the row keeps its first id: read it back.
	var out models.PushSubscription
	if err := s.db.WithContext(ctx).Where("endpoint = ?", sub.Endpoint).First(&out).Error; err != nil {
		return models.PushSubscription{}, fmt.Errorf("push subscribe: %w", err)
	}
	return out, nil
}

// Unsubscribe deletes userID's subscription at endpoint; ErrNotFound if
// the user has none there.
func (s *PushService) Unsubscribe(ctx context.Context, userID, endpoint string) error {
	res := s.db.WithContext(ctx).Where("user_id = ? AND endpoint = ?", userID, endpoint).
		Delete(&models.PushSubscription{})
	if res.Error != nil {
		return fmt.Errorf("push unsubscribe: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("push unsubscribe: %w", ErrNotFound)
	}
	return nil
}

// Subscriptions returns userID's subscriptions, oldest first.
func (s *PushService) Subscriptions(ctx context.Context, userID string) ([]models.PushSubscription, error) {
	var subs []models.PushSubscription
	if err := s.db.WithContext(ctx).Where("user_id = ?", userID).Order("created_at, id").Find(&subs).Error; err != nil {
		return nil, fmt.Errorf("push subscriptions: %w", err)
	}
	return subs, nil
}

// Send queues payload for every subscription of userID and returns at
// once: it does no I/O and never waits. A payload over MaxPushPayload or
// invalid options are refused; a full queue drops the push (counted in
// Stats().Dropped) and returns ErrPushQueueFull.
func (s *PushService) Send(ctx context.Context, userID string, payload []byte, opts PushOptions) error {
	switch {
	case len(payload) > MaxPushPayload:
		return fmt.Errorf("push send: %w", ErrPushPayloadTooLarge)
	case userID == "":
		return fmt.Errorf("push send: %w", Invalid("user id is required"))
	case !opts.Urgency.valid():
		return fmt.Errorf("push send: %w", Invalid("unknown urgency "+strconv.Quote(string(opts.Urgency))))
	case !validTopic(opts.Topic):
		return fmt.Errorf("push send: %w", Invalid("topic must be at most 32 base64url characters"))
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("push send: %w", err)
	}
	job := pushJob{userID: userID, payload: append([]byte(nil), payload...), opts: opts}
	select {
	case s.queue <- job:
		return nil
	default:
		s.dropped.Add(1)
		return fmt.Errorf("push send: %w", ErrPushQueueFull)
	}
}

// Run starts the workers and waits until ctx ends and every worker has
// returned; in-flight requests are cancelled. It may be called once.
func (s *PushService) Run(ctx context.Context) error {
	if !s.running.CompareAndSwap(false, true) {
		return errors.New("push service: Run called twice")
	}
	// wg tracks the workers so Run returns only after all have stopped.
	var wg sync.WaitGroup
	for range s.cfg.Workers {
		wg.Go(func() { s.worker(ctx) })
	}
	wg.Wait()
	return nil
}

// worker takes jobs until ctx ends.
func (s *PushService) worker(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case job := <-s.queue:
			s.deliver(ctx, job)
		}
	}
}

// deliver sends job to each of its user's subscriptions, one after another.
func (s *PushService) deliver(ctx context.Context, job pushJob) {
	subs, err := s.Subscriptions(ctx, job.userID)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Error("push: load subscriptions", "user_id", job.userID, "err", err)
		}
		return
	}
	for _, sub := range subs {
		if ctx.Err() != nil {
			return
		}
		s.deliverOne(ctx, sub, job)
	}
}

// deliverOne sends job to sub with bounded retries: 2xx is done, 404/410
// deletes sub, 429/5xx/network errors retry after a bounded wait, any
// other status gives up.
func (s *PushService) deliverOne(ctx context.Context, sub models.PushSubscription, job pushJob) {
	log := s.log.With("user_id", sub.UserID, "subscription_id", sub.ID)
	for attempt := 0; ; attempt++ {
		status, retryAfter, err := s.post(ctx, sub, job)
		if ctx.Err() != nil {
			return // shutting down
		}
		switch {
		case err == nil && status >= 200 && status < 300:
			s.sent.Add(1)
			return
		case err == nil && (status == http.StatusNotFound || status == http.StatusGone):
			s.gone.Add(1)
			if derr := s.db.WithContext(ctx).Where("id = ? AND endpoint = ?", sub.ID, sub.Endpoint).
				Delete(&models.PushSubscription{}).Error; derr != nil && ctx.Err() == nil {
				log.Error("push: delete expired subscription", "err", derr)
			}
			return
		}
		retryable := err != nil || status == http.StatusTooManyRequests || status >= 500
		if !retryable || attempt >= s.cfg.MaxRetries {
			s.failed.Add(1)
			log.Warn("push: giving up", "status", status, "attempts", attempt+1, "err", err)
			return
		}
		s.retried.Add(1)
		wait := s.backoff(attempt, retryAfter)
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
	}
}

// backoff is the wait before retry attempt+1: Retry-After when the push
// service gave one, else BaseBackoff doubled per attempt; never above
// MaxBackoff.
func (s *PushService) backoff(attempt int, retryAfter string) time.Duration {
	wait := s.cfg.BaseBackoff << min(attempt, 16)
	if d, ok := parseRetryAfter(retryAfter, time.Now()); ok {
		wait = d
	}
	return min(max(wait, 0), s.cfg.MaxBackoff)
}

// parseRetryAfter reads a Retry-After value: delay seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0, false
		}
		return time.Duration(min(n, int64(24*time.Hour/time.Second))) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return t.Sub(now), true
	}
	return 0, false
}

// post makes one encrypted request to sub's push service and returns its
// status and Retry-After header.
func (s *PushService) post(ctx context.Context, sub models.PushSubscription, job pushJob) (int, string, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.SendTimeout)
	defer cancel()
	ttl := job.opts.TTL
	if ttl <= 0 {
		ttl = s.cfg.DefaultTTL
	}
	resp, err := webpush.SendNotificationWithContext(ctx, job.payload,
		&webpush.Subscription{Endpoint: sub.Endpoint, Keys: webpush.Keys{P256dh: sub.P256dh, Auth: sub.Auth}},
		&webpush.Options{
			HTTPClient:      s.cfg.HTTPClient,
			RecordSize:      PushRecordSize,
			Subscriber:      s.cfg.Subscriber,
			Topic:           job.opts.Topic,
			TTL:             int(max(ttl/time.Second, 1)),
			Urgency:         webpush.Urgency(job.opts.Urgency),
			VAPIDPublicKey:  s.cfg.VAPIDPublicKey,
			VAPIDPrivateKey: s.cfg.VAPIDPrivateKey,
		})
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // let the connection be reused
	return resp.StatusCode, resp.Header.Get("Retry-After"), nil
}

// validateSubscription checks a browser subscription before it is stored.
func validateSubscription(userID string, sub PushSubscriptionInput) error {
	var problems []string
	if userID == "" {
		problems = append(problems, "user id is required")
	}
	if u, err := url.Parse(sub.Endpoint); err != nil || u.Scheme != "https" || u.Host == "" || len(sub.Endpoint) > maxEndpointLen {
		problems = append(problems, "endpoint must be an https URL of at most 2048 characters")
	}
	if key, err := decodeB64URL(sub.P256dh); err != nil {
		problems = append(problems, "p256dh must be base64url")
	} else if _, err := ecdh.P256().NewPublicKey(key); err != nil {
		problems = append(problems, "p256dh must be an uncompressed P-256 public key")
	}
	if auth, err := decodeB64URL(sub.Auth); err != nil || len(auth) != 16 {
		problems = append(problems, "auth must be 16 bytes, base64url")
	}
	if len(problems) > 0 {
		return Invalid(problems...)
	}
	return nil
}

// validTopic reports whether t is a valid Topic header: at most 32
// characters of the base64url alphabet.
func validTopic(t string) bool {
	if len(t) > maxPushTopic {
		return false
	}
	for _, c := range t {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// decodeB64URL decodes base64url with or without padding.
func decodeB64URL(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}
