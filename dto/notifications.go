package dto

import (
	"encoding/json"

	"github.com/onlinenow/onlinenow/models"
	"github.com/onlinenow/onlinenow/services"
)

// Notification is one inbox entry: the socket event "notification" and
// the items of GET /notifications.
type Notification struct {
	Seq       int64   `json:"seq"`
	ID        string  `json:"id"`
	Type      string  `json:"type"`
	ActorID   *string `json:"actorId"`
	Payload   any     `json:"payload"`
	CreatedAt Time    `json:"created_at"`
	SeenAt    *Time   `json:"seenAt"`
	ReadAt    *Time   `json:"readAt"`
	// Display is how a browser shows it (title, body, icon, tag, url).
	Display services.NotificationDisplay `json:"display"`
}

// FromNotification maps a stored notification. The payload is decoded
// into plain JSON values (a raw []byte would be sent as binary by
// Socket.IO).
// frontendURL is the frontend's origin the display's click target is built on.
func FromNotification(n models.Notification, frontendURL string) Notification {
	var payload any
	if err := json.Unmarshal([]byte(n.Payload), &payload); err != nil || payload == nil {
		payload = map[string]any{}
	}
	return Notification{
		Seq: n.Seq, ID: n.ID, Type: n.Type, ActorID: n.ActorID, Payload: payload,
		CreatedAt: NewTime(n.CreatedAt), SeenAt: TimePtr(n.SeenAt), ReadAt: TimePtr(n.ReadAt),
		Display: services.DisplayDecoded(n, payload, frontendURL),
	}
}

// FromNotifications maps a page of notifications; never null.
func FromNotifications(list []models.Notification, frontendURL string) []Notification {
	out := make([]Notification, 0, len(list))
	for _, n := range list {
		out = append(out, FromNotification(n, frontendURL))
	}
	return out
}

// UnreadCount is the socket event "unreadCount" and the answer of GET
// /notifications/unread-count: absolute counts of unread notifications of
// enabled types.
type UnreadCount struct {
	Total    int64            `json:"total"`
	ByType   map[string]int64 `json:"byType"`
	BySender map[string]int64 `json:"bySender"`
}

// FromUnreadCounts maps the service's counts; the maps are never null.
func FromUnreadCounts(c services.UnreadCounts) UnreadCount {
	out := UnreadCount{Total: c.Total, ByType: c.ByType, BySender: c.BySender}
	if out.ByType == nil {
		out.ByType = map[string]int64{}
	}
	if out.BySender == nil {
		out.BySender = map[string]int64{}
	}
	return out
}

// MarkRead is the body of POST /notifications/read: ids, or upToSeq.
type MarkRead struct {
	IDs     []string `json:"ids"`
	UpToSeq *int64   `json:"upToSeq"`
}

// Sync is the payload of the /appGateway event "sync": replay after
// lastSeq (absent: from now on).
type Sync struct {
	LastSeq *float64 `json:"lastSeq"`
}

// Visibility is the payload of the /appGateway event "visibility": whether
// the tab that holds the socket is hidden (document.visibilityState).
type Visibility struct {
	Hidden *bool `json:"hidden"`
}

// PushSubscription is the body of POST and DELETE /push/subscriptions: a
// browser's PushSubscription.toJSON() (DELETE needs only the endpoint).
type PushSubscription struct {
	Endpoint       string   `json:"endpoint"`
	ExpirationTime *float64 `json:"expirationTime"`
	Keys           struct {
		P256dh string `json:"p256dh"`
		Auth   string `json:"auth"`
	} `json:"keys"`
}

// PushSubscriptionOut is a stored subscription as returned to its owner.
type PushSubscriptionOut struct {
	ID        string `json:"id"`
	Endpoint  string `json:"endpoint"`
	CreatedAt Time   `json:"createdAt"`
}

// FromPushSubscription maps a stored subscription; its keys stay on the
// server.
func FromPushSubscription(s models.PushSubscription) PushSubscriptionOut {
	return PushSubscriptionOut{ID: s.ID, Endpoint: s.Endpoint, CreatedAt: NewTime(s.CreatedAt)}
}
