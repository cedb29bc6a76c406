package controllers

import (
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/onlinenow/onlinenow/dto"
	"github.com/onlinenow/onlinenow/models"
	"github.com/onlinenow/onlinenow/services"
)

// channelAPI serves the /channel routes.
type channelAPI struct {
	*api
	ch *services.ChannelService
}

// RegisterChannelRoutes registers the /channel routes of contract 3.4 on r
// (built by NewRouter from d). No route answers channelPassword.
func RegisterChannelRoutes(r *gin.Engine, d Deps, ch *services.ChannelService) {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	a := &channelAPI{api: &api{Deps: d}, ch: ch}
	get := func(path string, h handler) {
		r.GET(path, a.wrap(h))
		r.HEAD(path, a.wrap(h))
	}
	r.POST("/channel", a.wrap(a.create))
	get("/channel/:id/allChannels", a.discoverable)
	get("/channel/:id/myAllChannels", a.mine)
	get("/channel/:id", a.channel)
	r.PATCH("/channel/:id", a.wrap(a.rename))
	r.DELETE("/channel/:id", a.wrap(a.remove))
	r.POST("/channel/member", a.wrap(a.addMember))
	get("/channel/:id/member", a.roles(models.RoleMember, models.RoleMutedMember))
	get("/channel/:id/member/:user", a.member)
	get("/channel/:id/memberStatus/:user", a.memberStatus)
	r.PATCH("/channel/:id/member/:user", a.wrap(a.updateMember))
	r.DELETE("/channel/:id/member/:user", a.wrap(a.removeMember))
	r.POST("/channel/kickedMember", a.wrap(a.addKick))
	get("/channel/:id/kickedMember", a.kicked)
	get("/channel/:id/kickedMember/:user", a.kickRecord)
	r.DELETE("/channel/:id/kickedMember/:user", a.wrap(a.removeKick))
	r.POST("/channel/channelMessage", a.wrap(a.post))
	get("/channel/:id/channelMessage", a.messages)
	r.DELETE("/channel/:id/channelMessages", a.wrap(a.deleteMessages))
	get("/channel/:id/admin", a.roles(models.RoleAdmin, models.RoleMutedAdmin))
	get("/channel/:id/bannedMember", a.roles(models.RoleBannedMember))
	get("/channel/:id/mutedMember", a.roles(models.RoleMutedMember))
}

// create: 201 Channel, with the owner's OWNER membership.
func (a *channelAPI) create(c *gin.Context) error {
	if err := authenticated(c); err != nil {
		return err
	}
	body, err := readBody(c)
	if err != nil {
		return err
	}
	owner, in, err := dto.DecodeCreateChannel(body)
	if err != nil {
		return err
	}
	if err := actAs(c, owner); err != nil {
		return err
	}
	ch, err := a.ch.Create(c.Request.Context(), owner, in)
	if err != nil {
		return err
	}
	return ok(c, http.StatusCreated, dto.FromChannel(ch))
}

func (a *channelAPI) discoverable(c *gin.Context) error {
	cs, err := a.ch.Discoverable(c.Request.Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return ok(c, http.StatusOK, dto.FromChannelsWithCount(cs))
}

func (a *channelAPI) mine(c *gin.Context) error {
	cs, err := a.ch.Mine(c.Request.Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return ok(c, http.StatusOK, dto.FromChannelsWithCount(cs))
}

func (a *channelAPI) channel(c *gin.Context) error {
	ch, err := a.ch.Channel(c.Request.Context(), c.Param("id"))
	if err != nil {
		return err
	}
	if ch.ChannelType == models.ChannelPrivate && strict(c) {
		// A PRIVATE channel's details are for its members.
		me, err := callerID(c)
		if err != nil {
			return err
		}
		if in, err := a.ch.IsMember(c.Request.Context(), ch.ID, me); err != nil {
			return err
		} else if !in {
			return services.Public(services.ErrForbidden, "this channel is private")
		}
	}
	return ok(c, http.StatusOK, dto.FromChannelWithCount(ch))
}

func (a *channelAPI) rename(c *gin.Context) error {
	if err := authenticated(c); err != nil {
		return err
	}
	body, err := readBody(c)
	if err != nil {
		return err
	}
	name, err := dto.DecodeChannelName(body)
	if err != nil {
		return err
	}
	me, err := actor(c)
	if err != nil {
		return err
	}
	var ch models.Channel
	if me != "" {
		ch, err = a.ch.Rename(c.Request.Context(), me, c.Param("id"), name)
	} else {
		ch, err = a.ch.RenameAny(c.Request.Context(), c.Param("id"), name)
	}
	if err != nil {
		return err
	}
	return ok(c, http.StatusOK, dto.FromChannel(ch))
}

func (a *channelAPI) remove(c *gin.Context) error {
	me, err := actor(c)
	if err != nil {
		return err
	}
	if me != "" {
		_, err = a.ch.Remove(c.Request.Context(), me, c.Param("id"))
	} else {
		err = a.ch.DeleteAny(c.Request.Context(), c.Param("id"))
	}
	if err != nil {
		return err
	}
	return empty(c, http.StatusOK)
}

func (a *channelAPI) addMember(c *gin.Context) error {
	if err := authenticated(c); err != nil {
		return err
	}
	body, err := readBody(c)
	if err != nil {
		return err
	}
	userID, channelID, role, err := dto.DecodeAddMember(body)
	if err != nil {
		return err
	}
	if err := a.moderator(c, channelID, userID, false); err != nil {
		return err
	}
	m, err := a.ch.AddMember(c.Request.Context(), channelID, userID, role)
	if err != nil {
		return err
	}
	return ok(c, http.StatusCreated, dto.FromChannelMember(m))
}

// roles answers the members with one of roles, oldest first.
func (a *channelAPI) roles(roles ...models.Role) handler {
	return func(c *gin.Context) error {
		ms, err := a.ch.MembersWithRoles(c.Request.Context(), c.Param("id"), roles...)
		if err != nil {
			return err
		}
		return ok(c, http.StatusOK, dto.FromChannelMembers(ms))
	}
}

// member answers the membership, or an empty body.
func (a *channelAPI) member(c *gin.Context) error {
	m, err := a.ch.Member(c.Request.Context(), c.Param("id"), c.Param("user"))
	if err != nil {
		return err
	}
	if m == nil {
		return empty(c, http.StatusOK)
	}
	return ok(c, http.StatusOK, dto.FromChannelMember(*m))
}

// memberStatus answers the role as text, or an empty body.
func (a *channelAPI) memberStatus(c *gin.Context) error {
	m, err := a.ch.Member(c.Request.Context(), c.Param("id"), c.Param("user"))
	if err != nil {
		return err
	}
	if m == nil {
		return empty(c, http.StatusOK)
	}
	return text(c, http.StatusOK, string(m.Role))
}

func (a *channelAPI) updateMember(c *gin.Context) error {
	if err := a.moderator(c, c.Param("id"), c.Param("user"), false); err != nil {
		return err
	}
	body, err := readBody(c)
	if err != nil {
		return err
	}
	in, err := dto.DecodeUpdateMember(body)
	if err != nil {
		return err
	}
	m, err := a.ch.UpdateMember(c.Request.Context(), c.Param("id"), c.Param("user"), in)
	if err != nil {
		return err
	}
	return ok(c, http.StatusOK, dto.FromChannelMember(m))
}

func (a *channelAPI) removeMember(c *gin.Context) error {
	if err := a.moderator(c, c.Param("id"), c.Param("user"), false); err != nil {
		return err
	}
	if err := a.ch.RemoveMember(c.Request.Context(), c.Param("id"), c.Param("user")); err != nil {
		return err
	}
	return empty(c, http.StatusOK)
}

func (a *channelAPI) addKick(c *gin.Context) error {
	if err := authenticated(c); err != nil {
		return err
	}
	body, err := readBody(c)
	if err != nil {
		return err
	}
	userID, channelID, err := dto.DecodeKick(body)
	if err != nil {
		return err
	}
	if err := a.moderator(c, channelID, userID, false); err != nil {
		return err
	}
	k, err := a.ch.AddKick(c.Request.Context(), channelID, userID)
	if err != nil {
		return err
	}
	return ok(c, http.StatusCreated, dto.FromKickedMember(k))
}

func (a *channelAPI) kicked(c *gin.Context) error {
	ks, err := a.ch.Kicked(c.Request.Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return ok(c, http.StatusOK, dto.FromKickedMembers(ks))
}

func (a *channelAPI) kickRecord(c *gin.Context) error {
	k, err := a.ch.KickRecord(c.Request.Context(), c.Param("id"), c.Param("user"))
	if err != nil {
		return err
	}
	if k == nil {
		return empty(c, http.StatusOK)
	}
	return ok(c, http.StatusOK, dto.FromKickedMember(*k))
}

func (a *channelAPI) removeKick(c *gin.Context) error {
	if err := a.moderator(c, c.Param("id"), c.Param("user"), false); err != nil {
		return err
	}
	if err := a.ch.RemoveKick(c.Request.Context(), c.Param("id"), c.Param("user")); err != nil {
		return err
	}
	return empty(c, http.StatusOK)
}

// post stores a message through the same membership, ban and mute checks
// as the socket.
func (a *channelAPI) post(c *gin.Context) error {
	if err := authenticated(c); err != nil {
		return err
	}
	body, err := readBody(c)
	if err != nil {
		return err
	}
	content, userID, channelID, err := dto.DecodeChannelMessage(body)
	if err != nil {
		return err
	}
	if err := actAs(c, userID); err != nil {
		return err
	}
	m, err := a.ch.Post(c.Request.Context(), userID, channelID, content)
	if err != nil {
		return err
	}
	return ok(c, http.StatusCreated, dto.FromChannelMessage(m))
}

func (a *channelAPI) messages(c *gin.Context) error {
	if me, err := actor(c); err != nil {
		return err
	} else if me != "" {
		if err := a.ch.CheckReader(c.Request.Context(), me, c.Param("id")); err != nil {
			return err
		}
	}
	ms, err := a.ch.Messages(c.Request.Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return ok(c, http.StatusOK, dto.FromChannelMessages(ms))
}

func (a *channelAPI) deleteMessages(c *gin.Context) error {
	if err := a.moderator(c, c.Param("id"), "", true); err != nil {
		return err
	}
	if err := a.ch.DeleteMessages(c.Request.Context(), c.Param("id")); err != nil {
		return err
	}
	return empty(c, http.StatusOK)
}

// moderator allows, in strict mode, only a caller who may administer
// targetID ("" for the channel itself) in channelID by the channel's role
// rules; ownerOnly requires the owner. Compat mode allows everything.
func (a *channelAPI) moderator(c *gin.Context, channelID, targetID string, ownerOnly bool) error {
	me, err := actor(c)
	if err != nil || me == "" {
		return err
	}
	return a.ch.CheckModerator(c.Request.Context(), me, channelID, targetID, ownerOnly)
}
