package services

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/onlinenow/onlinenow/models"
)

// The names under which a generated VAPID key pair is stored.
const (
	settingVAPIDPublic  = "vapid_public_key"
	settingVAPIDPrivate = "vapid_private_key"
)

// StoredVAPIDKeys returns the VAPID key pair kept in the database,
// generating and storing one first if there is none. Instances sharing a
// database agree on one pair: the first to store it wins and the others
// read it back.
func StoredVAPIDKeys(ctx context.Context, db *gorm.DB) (publicKey, privateKey string, err error) {
	pub, priv, err := GenerateVAPIDKeys()
	if err != nil {
		return "", "", err
	}
	err = db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		rows := []models.ServerSetting{{Name: settingVAPIDPublic, Value: pub}, {Name: settingVAPIDPrivate, Value: priv}}
		if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&rows).Error; err != nil {
			return err
		}
		var got []models.ServerSetting
		if err := tx.Where("name IN ?", []string{settingVAPIDPublic, settingVAPIDPrivate}).Find(&got).Error; err != nil {
			return err
		}
		publicKey, privateKey = "", ""
		for _, r := range got {
			switch r.Name {
			case settingVAPIDPublic:
				publicKey = r.Value
			case settingVAPIDPrivate:
				privateKey = r.Value
			}
		}
		if publicKey == "" || privateKey == "" {
			return errors.New("stored VAPID key pair is incomplete")
		}
		return nil
	})
	if err != nil {
		return "", "", fmt.Errorf("vapid keys: %w", err)
	}
	return publicKey, privateKey, nil
}

// Attention tells whether a user would see a notification in an open tab;
// the /appGateway gateway implements it from live sockets and the
// visibility the tabs report.
type Attention interface {
	Watching(userID string) bool
}

// PushMessage is the JSON a service worker receives in a push: how to
// show the notification, and which one it is.
type PushMessage struct {
	NotificationDisplay
	Seq  int64  `json:"seq"`
	Type string `json:"type"`
}

// PushDispatcherConfig configures the dispatcher.
type PushDispatcherConfig struct {
	FrontendURL   string        // where a notification click leads
	InvitationTTL time.Duration // a game invitation's lifetime: its push TTL
}

// PushDispatcher decides, for each recorded notification, whether to send
// a Web Push: only when the recipient is not watching (no connected
// socket, or every tab reported itself hidden) and has not muted the type.
// The send itself is queued to the PushService and never waits.
type PushDispatcher struct {
	push      *PushService
	inbox     *Notifications
	attention Attention
	cfg       PushDispatcherConfig
	log       *slog.Logger
	now       func() time.Time
}

var _ RecordListener = (*PushDispatcher)(nil)

// NewPushDispatcher returns a dispatcher; make it the inbox's listener
// with inbox.SetListener.
func NewPushDispatcher(push *PushService, inbox *Notifications, attention Attention, cfg PushDispatcherConfig, log *slog.Logger) *PushDispatcher {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &PushDispatcher{push: push, inbox: inbox, attention: attention, cfg: cfg, log: log, now: time.Now}
}

// Recorded implements RecordListener.
func (d *PushDispatcher) Recorded(ctx context.Context, n models.Notification) {
	if d.attention.Watching(n.UserID) {
		return
	}
	prefs, err := d.inbox.Preferences(ctx, n.UserID)
	if err != nil {
		d.log.Error("push: preferences", "user_id", n.UserID, "err", err)
		return
	}
	if !prefs[NotificationType(n.Type)] {
		return
	}
	msg, opts, err := d.Message(n)
	if err != nil {
		d.log.Error("push: build message", "user_id", n.UserID, "type", n.Type, "err", err)
		return
	}
	if err := d.push.Send(ctx, n.UserID, msg, opts); err != nil {
		d.log.Warn("push: not queued", "user_id", n.UserID, "type", n.Type, "err", err)
	}
}

// Message returns the push body and headers for n: the display fields
// with seq and type; TTL and urgency by type (a game invitation's TTL is
// what is left of the invitation); a Topic per sender, so a push service
// holding several undelivered pushes from one sender keeps only the last.
func (d *PushDispatcher) Message(n models.Notification) ([]byte, PushOptions, error) {
	t := NotificationType(n.Type)
	policy := pushPolicyFor(t, d.cfg.InvitationTTL)
	ttl := policy.ttl
	if t == NotifyGameInvitation {
		ttl = n.CreatedAt.Add(d.cfg.InvitationTTL).Sub(d.now())
		if ttl < time.Second {
			ttl = time.Second
		}
	}
	topicKey := "type:" + n.Type
	if n.ActorID != nil && *n.ActorID != "" {
		topicKey = "sender:" + *n.ActorID
	}
	body, err := json.Marshal(PushMessage{NotificationDisplay: Display(n, d.cfg.FrontendURL), Seq: n.Seq, Type: n.Type})
	if err != nil {
		return nil, PushOptions{}, err
	}
	if len(body) > MaxPushPayload {
		return nil, PushOptions{}, ErrPushPayloadTooLarge
	}
	return body, PushOptions{TTL: ttl, Topic: PushTopic(topicKey), Urgency: policy.urgency}, nil
}
