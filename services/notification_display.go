package services

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/onlinenow/onlinenow/models"
)

// NotificationIcon is the icon every displayed notification carries, served
// by the server (a path: the service worker and the page resolve it
// against the server's origin).
const NotificationIcon = "/push/icon.png"

// maxDisplayBody bounds the body of a displayed notification, in runes; a
// longer text (a 5,000-character message) is cut with an ellipsis.
const maxDisplayBody = 180

// NotificationDisplay is how a notification is shown by a browser: the
// title and body of the alert, its icon, the tag that makes the socket and
// push paths show it once, and the frontend page a click opens.
type NotificationDisplay struct {
	Title string `json:"title"`
	Body  string `json:"body"`
	Icon  string `json:"icon"`
	Tag   string `json:"tag"`
	URL   string `json:"url"`
}

// NotificationTag is the tag of notification seq: the same on every path.
func NotificationTag(seq int64) string { return fmt.Sprintf("onlinenow-%d", seq) }

// Display returns how n is shown; frontendURL is the frontend's origin
// (config FRONTEND_URL) that the click target is built on.
func Display(n models.Notification, frontendURL string) NotificationDisplay {
	var payload any
	_ = json.Unmarshal([]byte(n.Payload), &payload) // a payload that is not an object shows no details
	return DisplayDecoded(n, payload, frontendURL)
}

// DisplayDecoded is Display for a caller that has already decoded
// n.Payload.
func DisplayDecoded(n models.Notification, payload any, frontendURL string) NotificationDisplay {
	actor := "Someone"
	if n.ActorName != nil && *n.ActorName != "" {
		actor = *n.ActorName
	}
	p, _ := payload.(map[string]any)
	str := func(k string) string { s, _ := p[k].(string); return s }
	actorID := ""
	if n.ActorID != nil {
		actorID = *n.ActorID
	}

	d := NotificationDisplay{Icon: NotificationIcon, Tag: NotificationTag(n.Seq)}
	page := "/"
	switch NotificationType(n.Type) {
	case NotifyFriendRequest:
		d.Title, d.Body, page = "New friend request", actor+" sent you a friend request", "/friends"
	case NotifyFriendRequestCancelled:
		d.Title, d.Body, page = "Friend request withdrawn", actor+" withdrew their friend request", "/friends"
	case NotifyFriendAccepted:
		d.Title, d.Body, page = "Friend request accepted", actor+" accepted your friend request", "/friends"
	case NotifyFriendRequestDeleted:
		d.Title, d.Body, page = "Friend request declined", actor+" declined your friend request", "/friends"
	case NotifyFriendDeleted:
		d.Title, d.Body, page = "Friend removed", actor+" removed you from their friends", "/friends"
	case NotifyBlock:
		d.Title, d.Body, page = "Friends updated", "Your friends list changed", "/friends"
	case NotifyUnblock:
		d.Title, d.Body, page = "Friends updated", "Your friends list changed", "/friends"
	case NotifyMessage:
		d.Title, d.Body = "Message from "+actor, str("content")
		page = "/chat"
		if actorID != "" {
			page = "/chat/" + url.PathEscape(actorID)
		}
	case NotifyGameInvitation:
		d.Title, d.Body, page = "Game invitation", actor+" invited you to play a game", "/game"
	case NotifyGameAccepted:
		d.Title, d.Body, page = "Game invitation accepted", actor+" accepted your game invitation", "/game"
		if id := str("gameId"); id != "" {
			page = "/game/" + url.PathEscape(id)
		}
	case NotifyGameRejected:
		d.Title, d.Body, page = "Game invitation declined", actor+" declined your game invitation", "/game"
	case NotifyGameCancelled:
		d.Title, d.Body, page = "Game invitation cancelled", "A game invitation with "+actor+" was cancelled", "/game"
	case NotifyChannelKick:
		d.Title, page = "Removed from a channel", "/channels"
		d.Body = actor + " removed you from a channel"
		if name := str("channelName"); name != "" {
			d.Body = actor + " removed you from " + name
		}
	default:
		d.Title, d.Body = "Notification", strings.ReplaceAll(n.Type, "_", " ")
	}
	d.Body = truncateRunes(d.Body, maxDisplayBody)
	d.URL = strings.TrimRight(frontendURL, "/") + page
	return d
}

// truncateRunes cuts s to at most n runes, ending with an ellipsis when
// it had more.
func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// pushPolicy is how one notification type is pushed: how long the push
// service keeps it, and its urgency.
type pushPolicy struct {
	ttl     time.Duration
	urgency PushUrgency
}

// pushPolicyFor returns the push TTL and urgency of type t. A game
// invitation (and any answer to one) lives as long as the invitation;
// friend events for a week; a message for a day.
func pushPolicyFor(t NotificationType, invitationTTL time.Duration) pushPolicy {
	switch t {
	case NotifyGameInvitation:
		return pushPolicy{ttl: invitationTTL, urgency: PushUrgencyHigh}
	case NotifyGameAccepted, NotifyGameRejected, NotifyGameCancelled:
		return pushPolicy{ttl: invitationTTL, urgency: PushUrgencyNormal}
	case NotifyMessage:
		return pushPolicy{ttl: 24 * time.Hour, urgency: PushUrgencyNormal}
	case NotifyFriendRequest, NotifyFriendAccepted:
		return pushPolicy{ttl: 7 * 24 * time.Hour, urgency: PushUrgencyNormal}
	default:
		return pushPolicy{ttl: 24 * time.Hour, urgency: PushUrgencyLow}
	}
}
