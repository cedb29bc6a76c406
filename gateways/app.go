package gateways

import (
	"context"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/zishang520/socket.io/servers/socket/v3"

	"github.com/onlinenow/onlinenow/dto"
	"github.com/onlinenow/onlinenow/models"
	"github.com/onlinenow/onlinenow/services"
)

// maxTagLen bounds the free-text "stats"/"status" tags relayed with friend events.
const maxTagLen = 64

// appHandlers are the /appGateway events (contract 4.1).
func (g *Gateways) appHandlers() map[string]handler {
	friend := func(event string) handler {
		return func(ctx context.Context, c *conn, payload any, _ socket.Ack) error {
			var ev dto.FriendEvent
			if err := decode(payload, &ev); err != nil {
				return err
			}
			if err := checkTags(ev.Stats, ev.Status); err != nil {
				return err
			}
			return g.relay(c, event, ev.UserID, "userId", ev.FriendID, "friendId", ev)
		}
	}
	return map[string]handler{
		"RequestFriendShip": friend("RequestFriendShip"),
		"CancelFriendShip":  friend("CancelFriendShip"),
		"DeleteFriendShip":  friend("DeleteFriendShip"),
		"AcceptRequest":     friend("AcceptRequest"),
		"DeleteRequest":     friend("DeleteRequest"),
		"BlockFriend": func(ctx context.Context, c *conn, payload any, _ socket.Ack) error {
			var ev dto.BlockEvent
			if err := decode(payload, &ev); err != nil {
				return err
			}
			if err := checkTags(ev.Stats); err != nil {
				return err
			}
			return g.relay(c, "BlockFriend", ev.UserID, "userId", ev.BlockedID, "blockedId", ev)
		},
		"UnblockFriend": func(ctx context.Context, c *conn, payload any, _ socket.Ack) error {
			var ev dto.UnblockEvent
			if err := decode(payload, &ev); err != nil {
				return err
			}
			if err := checkTags(ev.Stats); err != nil {
				return err
			}
			return g.relay(c, "UnblockFriend", ev.UserID, "userId", ev.BlockedUserID, "blockedUserId", ev)
		},
		"inviteUser": g.inviteUser,
	}
}

// relayNotification is the inbox type of each friend and block relay.
var relayNotification = map[string]services.NotificationType{
	"RequestFriendShip": services.NotifyFriendRequest,
	"CancelFriendShip":  services.NotifyFriendRequestCancelled,
	"DeleteFriendShip":  services.NotifyFriendDeleted,
	"AcceptRequest":     services.NotifyFriendAccepted,
	"DeleteRequest":     services.NotifyFriendRequestDeleted,
	"BlockFriend":       services.NotifyBlock,
	"UnblockFriend":     services.NotifyUnblock,
}

func checkTags(tags ...*string) error {
	for _, t := range tags {
		if t != nil && utf8.RuneCountInString(*t) > maxTagLen {
			return services.Invalid(fmt.Sprintf("stats and status must be at most %d characters", maxTagLen))
		}
	}
	return nil
}

// relay sends a friend or block event once to every /appGateway socket of
// the two users it names. The socket's own user must be one of them: the
// event is a refresh signal between those two, never a broadcast.
func (g *Gateways) relay(c *conn, event, a, aName, b, bName string, payload any) error {
	if err := requireIDs(aName, a, bName, b); err != nil {
		return err
	}
	if a == b {
		return services.Invalid(aName + " and " + bName + " must differ")
	}
	if c.userID != a && c.userID != b {
		return services.Public(services.ErrForbidden, "you can only send %s for yourself", event)
	}
	if err := g.app.To(userRoom(a), userRoom(b)).Emit(event, payload); err != nil {
		return err
	}
	other := a
	if c.userID == a {
		other = b
	}
	g.record(c.ctx, services.NotificationInput{
		Recipient: other, Type: relayNotification[event], ActorID: c.userID, Payload: payload,
	})
	return nil
}

// inviteUser records a friend request from the socket's user and tells the
// addressee's sockets with the "invitation" event.
func (g *Gateways) inviteUser(ctx context.Context, c *conn, payload any, _ socket.Ack) error {
	var in dto.InviteUser
	if err := decode(payload, &in); err != nil {
		return err
	}
	if err := requireIDs("userId", in.UserID, "friendId", in.FriendID); err != nil {
		return err
	}
	if in.FriendShipStatus != "" && in.FriendShipStatus != string(models.FriendPending) {
		return services.Invalid("friendShipStatus must be PENDING")
	}
	if in.UserID != c.userID {
		return services.Public(services.ErrForbidden, "userId must be your own id")
	}
	me, err := g.d.Users.User(ctx, c.userID)
	if err != nil {
		return err
	}
	if _, err := g.d.Social.CreateFriend(ctx, in.UserID, in.FriendID); err != nil {
		if errors.Is(err, services.ErrForbidden) {
			// Do not reveal a block to the requester.
			return services.Public(services.ErrForbidden, "friend request not allowed")
		}
		return err
	}
	name := ""
	if me.Name != nil {
		name = *me.Name
	}
	if err := g.app.To(userRoom(in.FriendID)).Emit("invitation", name+" send you a friend request"); err != nil {
		return err
	}
	g.record(ctx, services.NotificationInput{
		Recipient: in.FriendID, Type: services.NotifyFriendRequest, ActorID: c.userID,
		Payload: map[string]any{"message": name + " send you a friend request"},
	})
	return nil
}

// NotifyStatus sends userStatus to the user's own /appGateway sockets and to
// its accepted friends, except across a block in either direction.
func (g *Gateways) NotifyStatus(ctx context.Context, change services.StatusChange) {
	audience, err := g.d.Social.StatusAudience(ctx, change.UserID)
	if err != nil {
		g.d.Log.Error("status audience", "user_id", change.UserID, "err", err)
		return
	}
	rooms := make([]socket.Room, 0, len(audience)+1)
	rooms = append(rooms, userRoom(change.UserID))
	for _, id := range audience {
		rooms = append(rooms, userRoom(id))
	}
	ev := dto.UserStatus{UserID: change.UserID, Status: string(change.New), LastSeenAt: dto.TimePtr(change.LastSeenAt)}
	if err := g.app.To(rooms...).Emit("userStatus", ev); err != nil {
		g.d.Log.Error("emit userStatus", "user_id", change.UserID, "err", err)
	}
}
