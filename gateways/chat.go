package gateways

import (
	"context"

	"github.com/zishang520/socket.io/servers/socket/v3"

	"github.com/onlinenow/onlinenow/dto"
	"github.com/onlinenow/onlinenow/services"
)

// chatHandlers are the /chatGateway events (contract 4.2).
func (g *Gateways) chatHandlers() map[string]handler {
	return map[string]handler{
		"joinRoom": g.joinRoom,
		"message":  g.message,
	}
}

// joinRoom moves the socket into the direct-message room of its user and
// another user, creating the room's placeholder message if it has none.
func (g *Gateways) joinRoom(ctx context.Context, c *conn, payload any, _ socket.Ack) error {
	var in dto.JoinRoom
	if err := decode(payload, &in); err != nil {
		return err
	}
	if err := checkSender(c, in.SenderID, in.RecieverID); err != nil {
		return err
	}
	room, err := g.d.Chat.JoinRoom(ctx, in.SenderID, in.RecieverID)
	if err != nil {
		return err
	}
	own, mine := socket.Room(c.s.Id()), userRoom(c.userID)
	for _, r := range c.s.Rooms().Keys() {
		if r != own && r != mine {
			c.s.Leave(r)
		}
	}
	c.s.Join(socket.Room(room))
	return c.s.Emit("joined", dto.Joined{RoomName: room})
}

// message stores a direct message and delivers it: getMessage to the room,
// refresh to the receiver's chat sockets, notifMessage to the receiver's
// /appGateway sockets. A message to someone who blocks the sender is dropped
// without a word.
func (g *Gateways) message(ctx context.Context, c *conn, payload any, ack socket.Ack) error {
	var in dto.Message
	if err := decode(payload, &in); err != nil {
		return err
	}
	if err := checkSender(c, in.SenderID, in.RecieverID); err != nil {
		return err
	}
	msg, delivered, err := g.d.Chat.Send(ctx, services.SendInput{
		SenderID: in.SenderID, RecieverID: in.RecieverID, Content: in.Content,
	})
	if err != nil {
		return err
	}
	if !delivered {
		if ack != nil {
			// The same answer as a delivered message: anything else would
			// reveal the block to the sender.
			ack([]any{dto.MessageAck{Status: "ok"}}, nil)
		}
		return nil
	}
	room := socket.Room(msg.RoomID)
	if !c.s.Rooms().Has(room) {
		c.s.Join(room)
	}
	if err := g.chat.To(room).Emit("getMessage", dto.GetMessage{
		SenderID: msg.SenderID, ReceiverID: msg.RecieverID, Text: msg.Content, Room: msg.RoomID,
	}); err != nil {
		return err
	}
	if err := g.chat.To(userRoom(msg.RecieverID)).Emit("refresh"); err != nil {
		return err
	}
	if err := g.app.To(userRoom(msg.RecieverID)).Emit("notifMessage", dto.Message{
		Content: msg.Content, SenderID: msg.SenderID, RecieverID: msg.RecieverID,
	}); err != nil {
		return err
	}
	g.record(ctx, services.NotificationInput{
		Recipient: msg.RecieverID, Type: services.NotifyMessage, ActorID: msg.SenderID,
		Payload: map[string]any{"messageId": msg.ID, "content": msg.Content, "senderId": msg.SenderID, "recieverId": msg.RecieverID},
	})
	if ack != nil {
		ack([]any{dto.MessageAck{Status: "ok"}}, nil)
	}
	return nil
}

// checkSender validates the two ids of a direct-message payload and that
// the sender is the socket's own user.
func checkSender(c *conn, senderID, receiverID string) error {
	if err := requireIDs("senderId", senderID, "recieverId", receiverID); err != nil {
		return err
	}
	if senderID != c.userID {
		return services.Public(services.ErrForbidden, "senderId must be your own id")
	}
	return nil
}
