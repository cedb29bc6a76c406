// Package controllers holds the Gin handlers of the REST API (contract 3.0,
// 3.2, 3.3): each decodes a dto, calls a service and maps the result or the
// error to an HTTP answer the way the original NestJS backend did.
package controllers

import (
	"context"
	"log/slog"
	"net/http"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/onlinenow/onlinenow/config"
	"github.com/onlinenow/onlinenow/models"
	"github.com/onlinenow/onlinenow/services"
)

// StatusSetter changes a user's presence status: it persists the status if
// it changed and notifies the user's friends. The presence service
// implements it.
type StatusSetter interface {
	Set(ctx context.Context, userID string, status models.Status) error
}

// Deps is what the HTTP API needs. Log may be nil (nothing is logged).
type Deps struct {
	Config   config.Config
	Users    *services.UserService
	Social   *services.SocialService
	Chat     *services.ChatService
	Presence StatusSetter
	// Tokens verifies the callers' access tokens; nil: HS256 with
	// Config.JWTSecret.
	Tokens *services.Tokens
	Log    *slog.Logger
}

// api carries the dependencies to the handlers.
type api struct {
	Deps
}

// NewRouter returns the Gin engine serving the REST API. It leaves
// /socket.io/ alone (Engine.IO answers its own CORS) so the caller can
// mount the Socket.IO handler there.
func NewRouter(d Deps) *gin.Engine {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Tokens == nil {
		d.Tokens = services.NewTokens(d.Config.JWTSecret)
	}
	a := &api{Deps: d}

	r := gin.New()
	// Express matches "/users/" like "/users"; rather than redirect (without
	// CORS headers) an unknown path simply answers 404.
	r.RedirectTrailingSlash = false
	r.RedirectFixedPath = false
	// identity runs before every route, including those other modules
	// register later on r (channels, game, auth).
	r.Use(a.recovery, cors(d.Config.CORSOrigins), a.identity)
	r.NoRoute(notFound)

	get := func(path string, h handler) {
		r.GET(path, a.wrap(h))
		r.HEAD(path, a.wrap(h))
	}
	get("/", func(c *gin.Context) error { return text(c, http.StatusOK, "Hello World! ggggg") })
	a.userRoutes(r, get)
	a.chatRoutes(r, get)
	return r
}

// handler is a route handler; a returned error is answered by fail.
type handler func(c *gin.Context) error

// wrap turns a handler into a gin.HandlerFunc that maps its error.
func (a *api) wrap(h handler) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := h(c); err != nil {
			a.fail(c, err)
		}
	}
}

// recovery answers a panic with Nest's uncaught-error 500 and logs it once.
func (a *api) recovery(c *gin.Context) {
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		if r == http.ErrAbortHandler {
			panic(r)
		}
		a.Log.Error("panic in handler", "method", c.Request.Method, "path", c.Request.URL.Path,
			"panic", r, "stack", string(debug.Stack()))
		if !c.Writer.Written() {
			writeJSON(c, http.StatusInternalServerError, uncaughtError{http.StatusInternalServerError, "Internal server error"})
		}
		c.Abort()
	}()
	c.Next()
}

// cors answers like the cors package configured by the original: the
// request's Origin is allowed when it is in origins; every answer carries
// Vary: Origin and credentials; any OPTIONS request is a preflight answered
// 204 here. Paths under /socket.io/ are left to Engine.IO.
func cors(origins []string) gin.HandlerFunc {
	return func(c *gin.Context) {
		p := c.Request.URL.Path
		if p == "/socket.io" || strings.HasPrefix(p, "/socket.io/") {
			c.Next()
			return
		}
		h := c.Writer.Header()
		if o := c.GetHeader("Origin"); o != "" && slices.Contains(origins, o) {
			h.Set("Access-Control-Allow-Origin", o)
		}
		h.Add("Vary", "Origin")
		h.Set("Access-Control-Allow-Credentials", "true")
		if c.Request.Method != http.MethodOptions {
			c.Next()
			return
		}
		h.Set("Access-Control-Allow-Methods", "GET,HEAD,PUT,PATCH,POST,DELETE")
		if rh := c.GetHeader("Access-Control-Request-Headers"); rh != "" {
			h.Set("Access-Control-Allow-Headers", rh)
			h.Add("Vary", "Access-Control-Request-Headers")
		}
		h.Set("Content-Length", "0")
		c.AbortWithStatus(http.StatusNoContent)
	}
}

// notFound answers an unmatched request like Nest: 404 "Cannot GET /x".
// (The original's GET fallback leaked its directory; this one does not.)
func notFound(c *gin.Context) {
	writeJSON(c, http.StatusNotFound, nestError{
		StatusCode: http.StatusNotFound,
		Message:    "Cannot " + c.Request.Method + " " + c.Request.URL.RequestURI(),
		Error:      "Not Found",
	})
}
