package controllers

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/onlinenow/onlinenow/dto"
	"github.com/onlinenow/onlinenow/services"
)

// userRoutes registers the /users routes of contract 3.2 (all but #25, the
// avatar upload). Gin requires one name per wildcard position, so the first
// path parameter is always :id.
func (a *api) userRoutes(r *gin.Engine, get func(string, handler)) {
	r.POST("/users", a.wrap(a.createUser))                         // #1
	get("/users", a.listUsers)                                     // #2
	get("/users/:id/receivers", a.contacts)                        // #3
	get("/users/:id", a.user)                                      // #4
	r.PATCH("/users/:id/userStatus", a.wrap(a.setStatus))          // #5
	r.PUT("/users/:id/userStatus", a.wrap(a.setStatus))            // #5, the frontend's logout
	r.DELETE("/users/:id", a.wrap(a.deleteUser))                   // #6
	r.POST("/users/userStat", a.wrap(a.createStat))                // #7
	get("/users/:id/userStat", a.stat)                             // #8
	r.PATCH("/users/:id/userStat", a.wrap(a.updateStat))           // #9
	r.DELETE("/users/:id/userStat", a.wrap(a.deleteStat))          // #10
	get("/users/getGames/:id", a.games)                            // #11
	r.POST("/users/achievement", a.wrap(a.addAchievement))         // #12
	get("/users/:id/achievement", a.achievements)                  // #13
	r.POST("/users/blockedUser", a.wrap(a.block))                  // #14
	get("/users/:id/blockedUser", a.blockedBy)                     // #15
	get("/users/:id/block/:other", a.blocks)                       // #16
	r.DELETE("/users/:id/unBlockedUser/:other", a.wrap(a.unblock)) // #17
	r.POST("/users/friend", a.wrap(a.createFriend))                // #18
	get("/users/:id/friendShip/:other", a.friendship)              // #19
	get("/users/:id/pending", a.pending)                           // #20
	get("/users/:id/friend", a.friends)                            // #21
	r.PUT("/users/:id/friend/:other", a.wrap(a.acceptFriend))      // #22
	r.DELETE("/users/:id/friend/:other", a.wrap(a.deleteFriend))   // #23
	r.PATCH("/users/:id/two-factor", a.wrap(a.setTwoFactor))       // #24
	r.POST("/users/:id/update/username", a.wrap(a.rename))         // #26
	get("/users/:id/image", a.image)                               // #27
}

// #1: 201 User; a taken email, intraId or name is 409. In strict mode
// accounts are made by signing in, so this answers 403 unless development
// sign-in is on (AUTH_DEV_LOGIN=true, which lets anyone be anyone anyway).
func (a *api) createUser(c *gin.Context) error {
	if strict(c) && !a.Config.AuthDevLogin {
		return services.Public(services.ErrForbidden, "accounts are created by signing in (GET /auth)")
	}
	body, err := readBody(c)
	if err != nil {
		return err
	}
	in, err := dto.DecodeCreateUser(body)
	if err != nil {
		return err
	}
	u, err := a.Users.Create(c.Request.Context(), in)
	if err != nil {
		return conflictAsBadRequest(err)
	}
	return ok(c, http.StatusCreated, dto.FromUser(u))
}

// #2: every user, oldest first.
func (a *api) listUsers(c *gin.Context) error {
	us, err := a.Users.Users(c.Request.Context())
	if err != nil {
		return err
	}
	return ok(c, http.StatusOK, dto.FromUsers(us))
}

// #3: the contact list, with only the messages between the two users.
func (a *api) contacts(c *gin.Context) error {
	if err := actAs(c, c.Param("id")); err != nil {
		return err
	}
	cs, err := a.Chat.Contacts(c.Request.Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return ok(c, http.StatusOK, dto.FromContacts(cs))
}

// #4: the user, or 200 with an empty body when there is none.
func (a *api) user(c *gin.Context) error {
	u, err := a.Users.User(c.Request.Context(), c.Param("id"))
	if errors.Is(err, services.ErrNotFound) {
		return empty(c, http.StatusOK)
	}
	if err != nil {
		return err
	}
	return ok(c, http.StatusOK, dto.FromUser(u))
}

// #5: set the status through presence (which notifies friends) and answer
// the reloaded user.
func (a *api) setStatus(c *gin.Context) error {
	if err := actAs(c, c.Param("id")); err != nil {
		return err
	}
	body, err := readBody(c)
	if err != nil {
		return err
	}
	status, err := dto.DecodeStatus(body)
	if err != nil {
		return err
	}
	ctx, id := c.Request.Context(), c.Param("id")
	if _, err := a.Users.User(ctx, id); err != nil {
		return err
	}
	if err := a.Presence.Set(ctx, id, status); err != nil {
		return err
	}
	u, err := a.Users.User(ctx, id)
	if err != nil {
		return err
	}
	return ok(c, http.StatusOK, dto.FromUser(u))
}

// #6: delete the user; what references it cascades.
func (a *api) deleteUser(c *gin.Context) error {
	if err := actAs(c, c.Param("id")); err != nil {
		return err
	}
	if err := a.Users.Delete(c.Request.Context(), c.Param("id")); err != nil {
		return err
	}
	return empty(c, http.StatusOK)
}

// #7: create the user's stats.
func (a *api) createStat(c *gin.Context) error {
	if err := authenticated(c); err != nil {
		return err
	}
	body, err := readBody(c)
	if err != nil {
		return err
	}
	userID, in, err := dto.DecodeStat(body, true)
	if err != nil {
		return err
	}
	if err := actAs(c, userID); err != nil {
		return err
	}
	st, err := a.Users.CreateStat(c.Request.Context(), userID, in)
	if err != nil {
		return err
	}
	return ok(c, http.StatusCreated, dto.FromUserStat(st))
}

// #8: the user's stats, or 200 empty when it never played.
func (a *api) stat(c *gin.Context) error {
	st, err := a.Users.Stat(c.Request.Context(), c.Param("id"))
	if errors.Is(err, services.ErrNotFound) {
		return empty(c, http.StatusOK)
	}
	if err != nil {
		return err
	}
	return ok(c, http.StatusOK, dto.FromUserStat(st))
}

// #9: replace the user's stats.
func (a *api) updateStat(c *gin.Context) error {
	if err := actAs(c, c.Param("id")); err != nil {
		return err
	}
	body, err := readBody(c)
	if err != nil {
		return err
	}
	_, in, err := dto.DecodeStat(body, false)
	if err != nil {
		return err
	}
	st, err := a.Users.UpdateStat(c.Request.Context(), c.Param("id"), in)
	if err != nil {
		return err
	}
	return ok(c, http.StatusOK, dto.FromUserStat(st))
}

// #10: delete the user's stats.
func (a *api) deleteStat(c *gin.Context) error {
	if err := actAs(c, c.Param("id")); err != nil {
		return err
	}
	if err := a.Users.DeleteStat(c.Request.Context(), c.Param("id")); err != nil {
		return err
	}
	return empty(c, http.StatusOK)
}

// #11: the user's games, newest first.
func (a *api) games(c *gin.Context) error {
	gs, err := a.Users.Games(c.Request.Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return ok(c, http.StatusOK, dto.FromGames(gs))
}

// #12: append achievements to the user's single row.
func (a *api) addAchievement(c *gin.Context) error {
	if err := authenticated(c); err != nil {
		return err
	}
	body, err := readBody(c)
	if err != nil {
		return err
	}
	userID, items, err := dto.DecodeAchievement(body)
	if err != nil {
		return err
	}
	if err := actAs(c, userID); err != nil {
		return err
	}
	ach, err := a.Users.AddAchievements(c.Request.Context(), userID, items)
	if err != nil {
		return err
	}
	return ok(c, http.StatusCreated, dto.FromAchievement(ach))
}

// #13: the user's achievement rows (zero or one).
func (a *api) achievements(c *gin.Context) error {
	as, err := a.Users.Achievements(c.Request.Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return ok(c, http.StatusOK, dto.FromAchievements(as))
}

// #14: block; blocking twice answers the existing row.
func (a *api) block(c *gin.Context) error {
	if err := authenticated(c); err != nil {
		return err
	}
	body, err := readBody(c)
	if err != nil {
		return err
	}
	userID, blockedID, err := dto.DecodeBlock(body)
	if err != nil {
		return err
	}
	if err := actAs(c, userID); err != nil {
		return err
	}
	b, err := a.Social.Block(c.Request.Context(), userID, blockedID)
	if err != nil {
		return err
	}
	return ok(c, http.StatusCreated, dto.FromBlockedUser(b))
}

// #15: the blocks made by the user.
func (a *api) blockedBy(c *gin.Context) error {
	if err := actAs(c, c.Param("id")); err != nil {
		return err
	}
	bs, err := a.Social.BlockedBy(c.Request.Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return ok(c, http.StatusOK, dto.FromBlockedUsers(bs))
}

// #16: the blocks between the two users, in either direction.
func (a *api) blocks(c *gin.Context) error {
	if err := actAs(c, c.Param("id"), c.Param("other")); err != nil {
		return err
	}
	bs, err := a.Social.Blocks(c.Request.Context(), c.Param("id"), c.Param("other"))
	if err != nil {
		return err
	}
	return ok(c, http.StatusOK, dto.FromBlockedUsers(bs))
}

// #17: :id unblocks :other; the body the frontend sends is ignored.
func (a *api) unblock(c *gin.Context) error {
	if err := actAs(c, c.Param("id")); err != nil {
		return err
	}
	if err := a.Social.Unblock(c.Request.Context(), c.Param("id"), c.Param("other")); err != nil {
		return err
	}
	return empty(c, http.StatusOK)
}

// #18: a PENDING friend request. As in the contract, a duplicate (in either
// direction) answers 400 BadRequestException rather than 409.
func (a *api) createFriend(c *gin.Context) error {
	if err := authenticated(c); err != nil {
		return err
	}
	body, err := readBody(c)
	if err != nil {
		return err
	}
	userID, friendID, err := dto.DecodeFriendRequest(body)
	if err != nil {
		return err
	}
	if err := actAs(c, userID); err != nil {
		return err
	}
	f, err := a.Social.CreateFriend(c.Request.Context(), userID, friendID)
	if err != nil {
		return conflictAsBadRequest(err)
	}
	return ok(c, http.StatusCreated, dto.FromFriend(f))
}

// #19: the friend rows between the two users, either direction, any status.
func (a *api) friendship(c *gin.Context) error {
	if err := actAs(c, c.Param("id"), c.Param("other")); err != nil {
		return err
	}
	fs, err := a.Social.Friendship(c.Request.Context(), c.Param("id"), c.Param("other"))
	if err != nil {
		return err
	}
	return ok(c, http.StatusOK, dto.FromFriends(fs))
}

// #20: the requests addressed to the user.
func (a *api) pending(c *gin.Context) error {
	if err := actAs(c, c.Param("id")); err != nil {
		return err
	}
	fs, err := a.Social.Pending(c.Request.Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return ok(c, http.StatusOK, dto.FromFriends(fs))
}

// #21: the user's accepted friendships.
func (a *api) friends(c *gin.Context) error {
	fs, err := a.Social.Friends(c.Request.Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return ok(c, http.StatusOK, dto.FromFriends(fs))
}

// #22: accept the request from :id (requester) to :other (addressee); the
// body is ignored.
func (a *api) acceptFriend(c *gin.Context) error {
	if err := actAs(c, c.Param("other")); err != nil {
		return err
	}
	f, err := a.Social.AcceptFriend(c.Request.Context(), c.Param("id"), c.Param("other"))
	if err != nil {
		return err
	}
	return ok(c, http.StatusOK, dto.FromFriend(f))
}

// #23: delete the friendship or requests in both directions.
func (a *api) deleteFriend(c *gin.Context) error {
	if err := actAs(c, c.Param("id"), c.Param("other")); err != nil {
		return err
	}
	if err := a.Social.DeleteFriend(c.Request.Context(), c.Param("id"), c.Param("other")); err != nil {
		return err
	}
	return empty(c, http.StatusOK)
}

// #24: turn two-factor authentication off. Turning it on needs a verified
// code, so it goes through the TOTP flow instead.
func (a *api) setTwoFactor(c *gin.Context) error {
	if err := actAs(c, c.Param("id")); err != nil {
		return err
	}
	body, err := readBody(c)
	if err != nil {
		return err
	}
	on, err := dto.DecodeTwoFactor(body)
	if err != nil {
		return err
	}
	if on {
		return services.Invalid("isTwoFactorEnabled can only be set to false here: use /auth/2fa/turn-on")
	}
	if err := a.Users.SetTwoFactor(c.Request.Context(), c.Param("id"), false); err != nil {
		return err
	}
	return empty(c, http.StatusOK)
}

// #26: rename; 201 empty, a taken name is 409.
func (a *api) rename(c *gin.Context) error {
	if err := actAs(c, c.Param("id")); err != nil {
		return err
	}
	body, err := readBody(c)
	if err != nil {
		return err
	}
	name, err := dto.DecodeUserName(body)
	if err != nil {
		return err
	}
	if err := a.Users.Rename(c.Request.Context(), c.Param("id"), name); err != nil {
		return err
	}
	return empty(c, http.StatusCreated)
}

// avatarBody is the answer of #27.
type avatarBody struct {
	Avatar *string `json:"Avatar"`
}

// #27: {"Avatar": url}, or 200 empty when the user does not exist.
func (a *api) image(c *gin.Context) error {
	url, err := a.Users.Avatar(c.Request.Context(), c.Param("id"))
	if errors.Is(err, services.ErrNotFound) {
		return empty(c, http.StatusOK)
	}
	if err != nil {
		return err
	}
	return ok(c, http.StatusOK, avatarBody{Avatar: url})
}

// conflictAsBadRequest turns a conflict into the 400 BadRequestException
// the original answered for a unique violation (#1, #18), keeping the
// service's client-safe message; other errors pass through.
func conflictAsBadRequest(err error) error {
	var pub *services.PublicError
	if errors.Is(err, services.ErrConflict) && errors.As(err, &pub) {
		return services.Public(services.ErrInvalid, "%s", pub.Msg)
	}
	return err
}
