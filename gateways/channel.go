package gateways

import (
	"context"
	"time"

	"github.com/zishang520/socket.io/servers/socket/v3"

	"github.com/onlinenow/onlinenow/dto"
	"github.com/onlinenow/onlinenow/models"
	"github.com/onlinenow/onlinenow/services"
)

// ChannelNamespace is the group-channel namespace.
const ChannelNamespace = "/channelGateway"

// ChannelGateway owns /channelGateway (contract 4.4). Each channel is the
// room named by its id; a socket is in it only while its user is a member
// that is not banned. Every socket of a user is also in userRoom(id), so a
// membership change moves all of that user's sockets at once.
type ChannelGateway struct {
	g   *Gateways
	nsp socket.Namespace
	ch  *services.ChannelService
}

var _ services.ChannelNotifier = (*ChannelGateway)(nil)

// RegisterChannels attaches /channelGateway to io and returns its gateway,
// which the caller sets as ch's notifier. d gives identity, users and
// presence, as for the other namespaces.
func RegisterChannels(io *socket.Server, d Deps, ch *services.ChannelService) *ChannelGateway {
	g := &Gateways{d: d}
	cg := &ChannelGateway{g: g, nsp: io.Of(ChannelNamespace, nil), ch: ch}
	g.secure(cg.nsp)
	handlers := cg.handlers()
	cg.nsp.On("connection", func(args ...any) {
		s := args[0].(*socket.Socket)
		g.onConnection(s, handlers, sendError)
		cg.joinMemberships(s)
	})
	return cg
}

// sendError reports a failed event the way the channels page listens for
// it: event "error" with a string, to the sender only.
func sendError(c *conn, msg string, ack socket.Ack) {
	c.s.Emit("error", msg)
	if ack != nil {
		ack([]any{msg}, nil)
	}
}

// joinMemberships puts a new socket into the rooms of its user's channels.
func (cg *ChannelGateway) joinMemberships(s *socket.Socket) {
	id, _ := s.Data().(*identity)
	if id == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), eventTimeout)
	defer cancel()
	ids, err := cg.ch.Memberships(ctx, id.UserID)
	if err != nil {
		cg.g.d.Log.Error("channel rooms", "user_id", id.UserID, "err", err)
		return
	}
	for _, chID := range ids {
		s.Join(socket.Room(chID))
	}
}

func (cg *ChannelGateway) handlers() map[string]handler {
	return map[string]handler{
		"createChannel":   cg.createChannel,
		"joinChannel":     cg.joinChannel,
		"messageChannel":  cg.messageChannel,
		"createAdmin":     cg.moderation(services.ActPromote),
		"createMember":    cg.moderation(services.ActDemote),
		"kickMember":      cg.moderation(services.ActKick),
		"banMember":       cg.moderation(services.ActBan),
		"muteMember":      cg.moderation(services.ActMute),
		"leaveChannel":    cg.leaveChannel,
		"removeChannel":   cg.removeChannel,
		"editChannelName": cg.editChannelName,
	}
}

// self checks that a payload field naming the acting user is the socket's.
func self(c *conn, field, id string) error {
	if err := requireIDs(field, id); err != nil {
		return err
	}
	if id != c.userID {
		return services.Public(services.ErrForbidden, "%s must be your own id", field)
	}
	return nil
}

// name is a user's display name for notices.
func (cg *ChannelGateway) name(ctx context.Context, id string) string {
	u, err := cg.g.d.Users.User(ctx, id)
	if err != nil || u.Name == nil {
		return "someone"
	}
	return *u.Name
}

func room(channelID string) socket.Room { return socket.Room(channelID) }

func (cg *ChannelGateway) createChannel(ctx context.Context, c *conn, payload any, _ socket.Ack) error {
	var in dto.CreateChannelEvent
	if err := decode(payload, &in); err != nil {
		return err
	}
	if err := self(c, "channelOwnerId", in.ChannelOwnerID); err != nil {
		return err
	}
	ch, err := cg.ch.Create(ctx, c.userID, services.CreateChannelInput{
		Name: in.ChannelName, Type: models.ChannelType(in.ChannelType), Password: in.ChannelPassword,
	})
	if err != nil {
		return err
	}
	cg.nsp.In(userRoom(c.userID)).SocketsJoin(room(ch.ID))
	cg.nsp.To(room(ch.ID)).Emit("onMessage", cg.name(ctx, c.userID)+" has created channel: "+ch.ChannelName)
	return c.s.Emit("refrechCreateChannel")
}

func (cg *ChannelGateway) joinChannel(ctx context.Context, c *conn, payload any, _ socket.Ack) error {
	var in dto.JoinChannelEvent
	if err := decode(payload, &in); err != nil {
		return err
	}
	if err := self(c, "userId", in.UserID); err != nil {
		return err
	}
	res, err := cg.ch.Join(ctx, c.userID, in.ChannelID, in.ChannelPassword)
	if err != nil {
		return err
	}
	r := room(res.Channel.ID)
	cg.nsp.In(userRoom(c.userID)).SocketsJoin(r)
	if res.New {
		cg.nsp.To(r).Emit("onMessage", cg.name(ctx, c.userID)+" has joined channel: "+res.Channel.ChannelName)
	}
	c.s.Emit("joinedSuccessfully")
	if res.New {
		cg.nsp.To(r).Emit("refrechMember")
	}
	return nil
}

func (cg *ChannelGateway) messageChannel(ctx context.Context, c *conn, payload any, _ socket.Ack) error {
	var in dto.ChannelMessageEvent
	if err := decode(payload, &in); err != nil {
		return err
	}
	if err := self(c, "userId", in.UserID); err != nil {
		return err
	}
	msg, err := cg.ch.Post(ctx, c.userID, in.ChannelID, in.Content)
	if err != nil {
		return err
	}
	return cg.nsp.To(room(msg.ChannelID)).Emit("onMessage", dto.ChannelMessageEvent{
		Content: msg.Content, UserID: msg.UserID, ChannelID: msg.ChannelID,
	})
}

// moderation handles createAdmin, createMember, kickMember, banMember and
// muteMember: userId names the TARGET; the actor is the socket's user.
func (cg *ChannelGateway) moderation(act services.Action) handler {
	return func(ctx context.Context, c *conn, payload any, _ socket.Ack) error {
		var in dto.MemberEvent
		if err := decode(payload, &in); err != nil {
			return err
		}
		if err := requireIDs("channelId", in.ChannelID, "userId", in.UserID); err != nil {
			return err
		}
		var until time.Time
		switch act {
		case services.ActBan:
			until = dto.ParseInstant(in.BannedTime)
		case services.ActMute:
			until = dto.ParseInstant(in.MutedTime)
		}
		res, err := cg.ch.Moderate(ctx, c.userID, in.ChannelID, in.UserID, act, until)
		if err != nil {
			return err
		}
		r, target := room(in.ChannelID), userRoom(in.UserID)
		who, name := cg.name(ctx, in.UserID), res.Channel.ChannelName
		var notice string
		switch {
		case act == services.ActPromote:
			notice = who + " is now an admin of " + name
		case act == services.ActDemote && res.Readmitted:
			notice = who + " may join " + name + " again"
		case act == services.ActDemote:
			notice = who + " is now a member of " + name
		case act == services.ActKick:
			cg.nsp.In(target).SocketsLeave(r)
			notice = who + " has been kicked from " + name
		case act == services.ActBan:
			cg.nsp.In(target).SocketsLeave(r)
			notice = who + " has been banned from " + name + " until " + dto.NewTime(until).String()
		case act == services.ActMute:
			notice = who + " has been muted in " + name + " until " + dto.NewTime(until).String()
		}
		cg.nsp.To(r).Emit("onMessage", notice)
		// The target hears refrechMember even when it just left the room.
		cg.nsp.To(r).To(target).Emit("refrechMember")
		if act == services.ActKick {
			cg.nsp.To(target).Emit("redirectAfterGetKicked")
			c.s.Emit("memberKickedSuccessfully")
			cg.g.record(ctx, services.NotificationInput{
				Recipient: in.UserID, Type: services.NotifyChannelKick, ActorID: c.userID,
				Payload: map[string]any{"channelId": in.ChannelID, "channelName": name},
			})
		}
		return nil
	}
}

func (cg *ChannelGateway) leaveChannel(ctx context.Context, c *conn, payload any, _ socket.Ack) error {
	var in dto.MemberEvent
	if err := decode(payload, &in); err != nil {
		return err
	}
	if err := self(c, "userId", in.UserID); err != nil {
		return err
	}
	ch, err := cg.ch.Leave(ctx, c.userID, in.ChannelID)
	if err != nil {
		return err
	}
	r := room(ch.ID)
	cg.nsp.In(userRoom(c.userID)).SocketsLeave(r)
	cg.nsp.To(r).Emit("onMessage", cg.name(ctx, c.userID)+" has left channel: "+ch.ChannelName)
	c.s.Emit("leavedSuccessfully")
	cg.nsp.To(r).Emit("refrechMember")
	return nil
}

func (cg *ChannelGateway) removeChannel(ctx context.Context, c *conn, payload any, _ socket.Ack) error {
	var in dto.MemberEvent
	if err := decode(payload, &in); err != nil {
		return err
	}
	if err := self(c, "userId", in.UserID); err != nil {
		return err
	}
	ch, err := cg.ch.Remove(ctx, c.userID, in.ChannelID)
	if err != nil {
		return err
	}
	r := room(ch.ID)
	cg.nsp.To(r).To(userRoom(c.userID)).Emit("channelDeletedSuccessfully")
	cg.nsp.In(r).SocketsLeave(r)
	return nil
}

func (cg *ChannelGateway) editChannelName(ctx context.Context, c *conn, payload any, _ socket.Ack) error {
	var in dto.MemberEvent
	if err := decode(payload, &in); err != nil {
		return err
	}
	if err := self(c, "userId", in.UserID); err != nil {
		return err
	}
	ch, err := cg.ch.Rename(ctx, c.userID, in.ChannelID, in.UpdatedChannelName)
	if err != nil {
		return err
	}
	cg.nsp.To(room(ch.ID)).Emit("onMessage", cg.name(ctx, c.userID)+" update the channel name to: "+ch.ChannelName)
	return c.s.Emit("newChannelName", ch.ChannelName)
}

// SanctionExpired announces an ended ban or mute: an unbanned member's
// sockets rejoin the room, then the room hears refrechMember.
func (cg *ChannelGateway) SanctionExpired(ctx context.Context, channelID, userID string, kind services.Sanction) {
	r := room(channelID)
	if kind == services.SanctionBan {
		cg.nsp.In(userRoom(userID)).SocketsJoin(r)
	}
	cg.nsp.To(r).To(userRoom(userID)).Emit("refrechMember")
}
