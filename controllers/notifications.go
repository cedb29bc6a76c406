package controllers

import (
	"log/slog"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/onlinenow/onlinenow/dto"
	"github.com/onlinenow/onlinenow/services"
)

// RegisterNotifications adds the inbox routes (issue 7) to r, a router
// built by NewRouter. Every route is for its caller: in strict mode the
// verified caller; in compat mode the user named by ?userId=, else by the
// id cookie (the original frontend's cookie).
func RegisterNotifications(r *gin.Engine, d Deps, inbox *services.Notifications) {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	a := &api{Deps: d}
	get := func(path string, h handler) {
		r.GET(path, a.wrap(h))
		r.HEAD(path, a.wrap(h))
	}
	get("/notifications", func(c *gin.Context) error {
		me, err := inboxOwner(c)
		if err != nil {
			return err
		}
		after, err := queryInt(c, "after", 0)
		if err != nil {
			return err
		}
		limit, err := queryInt(c, "limit", services.DefaultNotificationPage)
		if err != nil {
			return err
		}
		list, err := inbox.List(c.Request.Context(), me, after, int(limit))
		if err != nil {
			return err
		}
		return ok(c, http.StatusOK, dto.FromNotifications(list, a.Config.Push.FrontendURL))
	})
	r.POST("/notifications/read", a.wrap(func(c *gin.Context) error {
		me, err := inboxOwner(c)
		if err != nil {
			return err
		}
		var in dto.MarkRead
		if err := readJSON(c, &in, "{ids: [uuid...]} or {upToSeq: number}"); err != nil {
			return err
		}
		upTo := int64(0)
		if in.UpToSeq != nil {
			upTo = *in.UpToSeq
		}
		n, err := inbox.MarkRead(c.Request.Context(), me, in.IDs, upTo)
		if err != nil {
			return err
		}
		return ok(c, http.StatusOK, gin.H{"updated": n})
	}))
	get("/notifications/unread-count", func(c *gin.Context) error {
		me, err := inboxOwner(c)
		if err != nil {
			return err
		}
		counts, err := inbox.UnreadCounts(c.Request.Context(), me)
		if err != nil {
			return err
		}
		return ok(c, http.StatusOK, dto.FromUnreadCounts(counts))
	})
	get("/notifications/preferences", func(c *gin.Context) error {
		me, err := inboxOwner(c)
		if err != nil {
			return err
		}
		prefs, err := inbox.Preferences(c.Request.Context(), me)
		if err != nil {
			return err
		}
		return ok(c, http.StatusOK, prefs)
	})
	r.PUT("/notifications/preferences", a.wrap(func(c *gin.Context) error {
		me, err := inboxOwner(c)
		if err != nil {
			return err
		}
		var in map[services.NotificationType]bool
		if err := readJSON(c, &in, "an object of type: enabled (true or false)"); err != nil {
			return err
		}
		prefs, err := inbox.SetPreferences(c.Request.Context(), me, in)
		if err != nil {
			return err
		}
		return ok(c, http.StatusOK, prefs)
	}))
}

// inboxOwner is whose inbox a request reads: the verified caller in strict
// mode; in compat mode ?userId=, else the id cookie.
func inboxOwner(c *gin.Context) (string, error) {
	if strict(c) {
		return callerID(c)
	}
	id := c.Query("userId")
	if id == "" {
		if ck, err := c.Cookie("id"); err == nil {
			id = ck
		}
	}
	if !services.ValidID(id) {
		return "", services.Invalid("userId (query) or the id cookie must name a user")
	}
	return id, nil
}

// queryInt reads an optional whole-number query parameter.
func queryInt(c *gin.Context, name string, def int64) (int64, error) {
	v, ok := c.GetQuery(name)
	if !ok || v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, services.Invalid(name + " must be a whole number")
	}
	return n, nil
}
