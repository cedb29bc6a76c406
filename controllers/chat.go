package controllers

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/onlinenow/onlinenow/dto"
	"github.com/onlinenow/onlinenow/services"
)

// chatRoutes registers the /chat routes of contract 3.3 and the unread
// summary. The static msgNumber segment takes precedence over :id.
func (a *api) chatRoutes(r *gin.Engine, get func(string, handler)) {
	r.POST("/chat", a.wrap(a.send))
	get("/chat", a.room)
	get("/chat/msgNumber/:id", a.sentCount)
	get("/chat/:id", a.unread)
	get("/chat/:id/unread-summary", a.unreadSummary)
	r.PUT("/chat/:id/:other", a.wrap(a.markSeen))
}

// send stores a direct message: 201 DirectMessage.
//
// A block in either direction answers 403 "message could not be
// delivered", the same text both ways so the sender cannot tell whether it
// was blocked. (Answering 201 for a message that was not stored would be a
// lie, and the socket path already drops such messages silently.)
func (a *api) send(c *gin.Context) error {
	if err := authenticated(c); err != nil {
		return err
	}
	body, err := readBody(c)
	if err != nil {
		return err
	}
	in, err := dto.DecodeSend(body)
	if err != nil {
		return err
	}
	if err := actAs(c, in.SenderID); err != nil {
		return err
	}
	msg, delivered, err := a.Chat.Send(c.Request.Context(), in)
	if errors.Is(err, services.ErrForbidden) || (err == nil && !delivered) {
		return services.Public(services.ErrForbidden, "message could not be delivered")
	}
	if err != nil {
		return err
	}
	return ok(c, http.StatusCreated, dto.FromDirectMessage(msg))
}

// unread is the user's unread inbox, oldest first.
func (a *api) unread(c *gin.Context) error {
	if err := actAs(c, c.Param("id")); err != nil {
		return err
	}
	ms, err := a.Chat.Unread(c.Request.Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return ok(c, http.StatusOK, dto.FromDirectMessages(ms))
}

// room is the messages of ?hashedRoomId=, oldest first.
func (a *api) room(c *gin.Context) error {
	if err := authenticated(c); err != nil {
		return err
	}
	roomID := c.Query("hashedRoomId")
	if err := dto.ValidateRoomID(roomID); err != nil {
		return err
	}
	ms, err := a.Chat.Room(c.Request.Context(), roomID)
	if err != nil {
		return err
	}
	// Only the room's two users may read it. A room without messages
	// reveals nothing, so it answers [] to anyone.
	if len(ms) > 0 {
		if err := actAs(c, ms[0].SenderID, ms[0].RecieverID); err != nil {
			return err
		}
	}
	return ok(c, http.StatusOK, dto.FromDirectMessages(ms))
}

// sentCount is the number of messages the user sent, as text.
func (a *api) sentCount(c *gin.Context) error {
	n, err := a.Chat.CountSent(c.Request.Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return text(c, http.StatusOK, strconv.FormatInt(n, 10))
}

// markSeen: :id (the reader) marks the messages from :other as seen.
func (a *api) markSeen(c *gin.Context) error {
	if err := actAs(c, c.Param("id")); err != nil {
		return err
	}
	body, err := readBody(c)
	if err != nil {
		return err
	}
	seen, err := dto.DecodeSeen(body)
	if err != nil {
		return err
	}
	if err := a.Chat.MarkSeen(c.Request.Context(), c.Param("id"), c.Param("other"), seen); err != nil {
		return err
	}
	return empty(c, http.StatusOK)
}

// unreadSummary is the unseen messages to the user grouped by sender,
// newest first: what the frontend computes with N+1 requests, in one query.
func (a *api) unreadSummary(c *gin.Context) error {
	if err := actAs(c, c.Param("id")); err != nil {
		return err
	}
	ss, err := a.Chat.UnreadSummary(c.Request.Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return ok(c, http.StatusOK, dto.FromUnreadSummaries(ss))
}
