package controllers

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/onlinenow/onlinenow/config"
	"github.com/onlinenow/onlinenow/services"
)

// callerKey is the gin.Context key of the request's *caller.
const callerKey = "onlinenow.caller"

// errUnauthorized is a route that needs a verified caller and has none.
var errUnauthorized = services.ErrUnauthorized

// caller is who sends a request. In AUTH_MODE=strict it is the user of the
// access token (Authorization: Bearer, else the accessToken cookie), checked
// on first use: signature, expiry and the user's existence. In compat mode
// the routes do not ask (the original's open REST).
type caller struct {
	strict   bool
	resolved bool
	id       string
	err      error
	resolve  func() (string, error)
}

// identity stores the request's caller in the context; the token is only
// verified when a route asks (public reads cost nothing).
func (a *api) identity(c *gin.Context) {
	p := c.Request.URL.Path
	if p == "/socket.io" || strings.HasPrefix(p, "/socket.io/") {
		c.Next()
		return
	}
	raw := bearerToken(c.Request)
	st := &caller{strict: a.Config.AuthMode != config.AuthCompat}
	st.resolve = func() (string, error) {
		if raw == "" {
			return "", errUnauthorized
		}
		claims, err := a.Tokens.Verify(raw)
		if err != nil {
			return "", errUnauthorized
		}
		if _, err := a.Users.User(c.Request.Context(), claims.ID); err != nil {
			if errors.Is(err, services.ErrNotFound) {
				return "", errUnauthorized
			}
			return "", err
		}
		return claims.ID, nil
	}
	c.Set(callerKey, st)
	c.Next()
}

// bearerToken reads the access token of r: Authorization: Bearer, else the
// accessToken cookie.
func bearerToken(r *http.Request) string {
	if h := r.Header.Get("Authorization"); len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	if ck, err := r.Cookie("accessToken"); err == nil {
		return ck.Value
	}
	return ""
}

// callerOf returns the request's caller state. A router built without the
// identity middleware fails closed: strict, with no caller.
func callerOf(c *gin.Context) *caller {
	if v, ok := c.Get(callerKey); ok {
		if st, ok := v.(*caller); ok {
			return st
		}
	}
	return &caller{strict: true, resolve: func() (string, error) { return "", errUnauthorized }}
}

// strict reports whether the routes check their caller.
func strict(c *gin.Context) bool { return callerOf(c).strict }

// callerID returns the verified caller, or ErrUnauthorized (401).
func callerID(c *gin.Context) (string, error) {
	st := callerOf(c)
	if !st.resolved {
		st.id, st.err = st.resolve()
		st.resolved = true
	}
	return st.id, st.err
}

// errNotYou is the 403 of a route acting as, or reading for, someone else.
var errNotYou = services.Public(services.ErrForbidden, "you can only do this for yourself")

// actAs allows the request only if the caller is one of userIDs (strict
// mode): 401 without a verified caller, 403 for another one. In compat
// mode it allows everything.
func actAs(c *gin.Context, userIDs ...string) error {
	if !strict(c) {
		return nil
	}
	id, err := callerID(c)
	if err != nil {
		return err
	}
	if !slices.Contains(userIDs, id) {
		return errNotYou
	}
	return nil
}

// actor returns the caller to act as in strict mode ("" in compat mode,
// where routes act without an actor as the original did).
func actor(c *gin.Context) (string, error) {
	if !strict(c) {
		return "", nil
	}
	return callerID(c)
}

// authenticated requires a verified caller in strict mode (401 otherwise),
// before a route reads a body that names the user it acts as.
func authenticated(c *gin.Context) error {
	_, err := actor(c)
	return err
}
