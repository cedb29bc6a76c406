package controllers

import (
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/onlinenow/onlinenow/services"
)

// Cookie names. id and accessToken are the original's (the frontend reads
// them); the other two are short-lived, HttpOnly and scoped to /auth.
const (
	cookieID        = "id"
	cookieToken     = "accessToken"
	cookieState     = "oauthState"
	cookieTwoFactor = "twoFactorProof"
)

// authAPI serves sign-in, two-factor and avatar routes.
type authAPI struct {
	*api
	auth    *services.AuthService
	avatars *services.AvatarService
}

// RegisterAuth adds to r (built by NewRouter from d) the sign-in routes of
// contract 3.1 (GET /auth, /auth/callback, /auth/2fa/*), GET /auth/dev when
// Config.AuthDevLogin is on, the avatar upload (3.2 #25) and the uploaded
// files at /<file> and /public/<file>.
func RegisterAuth(r *gin.Engine, d Deps, auth *services.AuthService, avatars *services.AvatarService) {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	a := &authAPI{api: &api{Deps: d}, auth: auth, avatars: avatars}
	r.GET("/auth", a.wrap(a.start))
	r.GET("/auth/callback", a.wrap(a.callback))
	if d.Config.AuthDevLogin {
		r.GET("/auth/dev", a.wrap(a.dev))
	}
	r.POST("/auth/2fa/generate", a.wrap(a.generate))
	r.POST("/auth/2fa/turn-on", a.wrap(a.turnOn))
	r.POST("/auth/2fa/authenticate", a.wrap(a.authenticate))
	r.POST("/users/:id/upload", a.wrap(a.upload))
	for _, p := range []string{"/:file", "/public/:file"} {
		r.GET(p, a.file)
		r.HEAD(p, a.file)
	}
}

// secure reports whether cookies get the Secure attribute (APP_URI https).
func (a *authAPI) secure() bool { return strings.HasPrefix(a.Config.AppURI, "https://") }

// setCookie sets a cookie on path; maxAge < 0 deletes it.
func (a *authAPI) setCookie(c *gin.Context, name, value, path string, maxAge int, httpOnly bool) {
	http.SetCookie(c.Writer, &http.Cookie{
		Name: name, Value: value, Path: path, MaxAge: maxAge,
		HttpOnly: httpOnly, Secure: a.secure(), SameSite: http.SameSiteLaxMode,
	})
}

// start: 302 to the provider with a signed state, kept in a cookie too.
func (a *authAPI) start(c *gin.Context) error {
	state := a.auth.NewState()
	a.setCookie(c, cookieState, state, "/auth", int(services.StateTTL.Seconds()), true)
	c.Header("Cache-Control", "no-store")
	c.Redirect(http.StatusFound, a.auth.AuthorizeURL(state))
	return nil
}

// callback: the provider sends the user back with a code, or an error.
func (a *authAPI) callback(c *gin.Context) error {
	if e := c.Query("error"); e != "" {
		return services.Public(services.ErrUnauthorized, "Sign-in was denied or canceled at the provider: start again at /auth")
	}
	state := c.Query("state")
	kept, err := c.Cookie(cookieState)
	if state == "" || err != nil || kept != state || !a.auth.CheckState(state) {
		return services.Public(services.ErrUnauthorized, "Invalid or expired sign-in state: start again at /auth")
	}
	a.setCookie(c, cookieState, "", "/auth", -1, true)
	res, err := a.auth.SignInWithCode(c.Request.Context(), c.Query("code"))
	if err != nil {
		return err
	}
	return a.signedIn(c, res)
}

// dev signs in as ?name= (AUTH_DEV_LOGIN=true only) and ends like the
// callback.
func (a *authAPI) dev(c *gin.Context) error {
	res, err := a.auth.DevSignIn(c.Request.Context(), c.Query("name"))
	if err != nil {
		return err
	}
	return a.signedIn(c, res)
}

// signedIn sets the id cookie, then the access token (2FA off) or the
// proof of the first factor (2FA on), and redirects to the settings page.
func (a *authAPI) signedIn(c *gin.Context, res services.SignIn) error {
	a.setCookie(c, cookieID, res.User.ID, "/", 0, false)
	if res.Token != "" {
		a.setCookie(c, cookieToken, res.Token, "/", int(a.Config.JWTTTL.Seconds()), false)
	} else {
		// A token left by an earlier session must not outlive this sign-in.
		a.setCookie(c, cookieToken, "", "/", -1, false)
		a.setCookie(c, cookieTwoFactor, res.Proof, "/auth", int(services.ProofTTL.Seconds()), true)
	}
	c.Header("Cache-Control", "no-store")
	c.Redirect(http.StatusFound, a.Config.AppURI+":5173/setting")
	return nil
}

// generate: 200 with the QR code as a JSON string (a data URL).
func (a *authAPI) generate(c *gin.Context) error {
	userID := c.Query("userId")
	if err := actAs(c, userID); err != nil {
		return err
	}
	qr, err := a.auth.QRCode(c.Request.Context(), userID)
	if err != nil {
		return err
	}
	return ok(c, http.StatusOK, qr)
}

type messageBody struct {
	Message string `json:"message"`
}

// turnOn: enable 2FA with a code from the QR code's key.
func (a *authAPI) turnOn(c *gin.Context) error {
	userID := c.Query("userId")
	if err := actAs(c, userID); err != nil {
		return err
	}
	if err := a.auth.TurnOn(c.Request.Context(), userID, c.Query("authCode")); err != nil {
		return err
	}
	return ok(c, http.StatusOK, messageBody{"Two-factor authentication turned on successfully"})
}

type tokenBody struct {
	Token string `json:"token"`
}

// authenticate: the second factor. In strict mode it needs the proof cookie
// the sign-in left for this user; compat mode trusts the code alone.
func (a *authAPI) authenticate(c *gin.Context) error {
	userID := c.Query("userId")
	if strict(c) {
		proof, err := c.Cookie(cookieTwoFactor)
		if err != nil || !a.auth.ProofFor(proof, userID) {
			return services.Public(services.ErrUnauthorized, "Sign in first: the code must follow the sign-in (GET /auth)")
		}
	}
	tok, err := a.auth.Authenticate(c.Request.Context(), userID, c.Query("authCode"))
	if err != nil {
		return err
	}
	if strict(c) {
		a.setCookie(c, cookieTwoFactor, "", "/auth", -1, true)
		a.setCookie(c, cookieToken, tok, "/", int(a.Config.JWTTTL.Seconds()), false)
	}
	return ok(c, http.StatusOK, tokenBody{tok})
}

// uploadBody is the answer of the upload: 201 {statusCode: 200, data: url}.
type uploadBody struct {
	StatusCode int    `json:"statusCode"`
	Data       string `json:"data"`
}

// multipartSlack is what a multipart body may carry beyond the file.
const multipartSlack = 64 << 10

// upload: the multipart field "file", a PNG or JPEG by content, becomes the
// user's avatar.
func (a *authAPI) upload(c *gin.Context) error {
	userID := c.Param("id")
	if err := actAs(c, userID); err != nil {
		return err
	}
	limit := a.avatars.MaxBytes() + multipartSlack
	if c.Request.ContentLength > limit {
		return services.Public(services.ErrTooLarge, "the file is larger than %d bytes", a.avatars.MaxBytes())
	}
	if mt, _, err := mime.ParseMediaType(c.GetHeader("Content-Type")); err != nil || mt != "multipart/form-data" {
		return services.Public(services.ErrInvalid, "send the image as multipart/form-data, field \"file\"")
	}
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, limit)
	mr, err := c.Request.MultipartReader()
	if err != nil {
		return services.Public(services.ErrInvalid, "send the image as multipart/form-data, field \"file\"")
	}
	for {
		part, err := mr.NextPart()
		if err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				return services.Public(services.ErrTooLarge, "the file is larger than %d bytes", a.avatars.MaxBytes())
			}
			return services.Public(services.ErrInvalid, "no file: send the image in the multipart field \"file\"")
		}
		if part.FormName() != "file" {
			part.Close()
			continue
		}
		u, err := a.avatars.Store(c.Request.Context(), userID, part)
		part.Close()
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return services.Public(services.ErrTooLarge, "the file is larger than %d bytes", a.avatars.MaxBytes())
		}
		if err != nil {
			return err
		}
		return ok(c, http.StatusCreated, uploadBody{StatusCode: http.StatusOK, Data: u})
	}
}

// file serves an uploaded avatar: only names the server chose, with their
// image type, no sniffing and a CSP that lets nothing run.
func (a *authAPI) file(c *gin.Context) {
	f, ctype, err := a.avatars.Open(c.Param("file"))
	if err != nil {
		notFound(c)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		notFound(c)
		return
	}
	h := c.Writer.Header()
	h.Set("Content-Type", ctype)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Cache-Control", "public, max-age=86400")
	http.ServeContent(c.Writer, c.Request, st.Name(), st.ModTime(), f)
}

// AvatarBaseURL is where uploaded files are linked from: APP_URI and the port.
func AvatarBaseURL(appURI string, port int) string {
	u, err := url.Parse(appURI)
	if err != nil {
		return fmt.Sprintf("%s:%d", appURI, port)
	}
	return fmt.Sprintf("%s://%s:%d", u.Scheme, u.Hostname(), port)
}
