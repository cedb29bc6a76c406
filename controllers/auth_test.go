package controllers_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/onlinenow/onlinenow/config"
	"github.com/onlinenow/onlinenow/controllers"
	"github.com/onlinenow/onlinenow/database/dbtest"
	"github.com/onlinenow/onlinenow/models"
	"github.com/onlinenow/onlinenow/services"
)

const testJWTSecret = "controllers-test-secret-0123456789"

// clock is a settable time source.
type clock struct {
	mu sync.Mutex // guards t
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fakeProvider is an OAuth 2 provider shaped like 42's: /token exchanges
// codes, /me answers the profile of the token's user.
type fakeProvider struct {
	*httptest.Server
	release chan struct{} // closed at cleanup: frees the slow handler
	mu      sync.Mutex    // guards profile
	profile map[string]any
}

func newFakeProvider(t *testing.T) *fakeProvider {
	p := &fakeProvider{release: make(chan struct{}), profile: map[string]any{
		"id": 4242, "login": "jdoe", "email": "jdoe@student.42.fr",
		"image": map[string]any{"link": "https://cdn.intra.42.fr/users/jdoe.jpg"},
	}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		if r.Form.Get("client_id") != "uid-test" || r.Form.Get("client_secret") != "secret-test" {
			http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
			return
		}
		switch r.Form.Get("code") {
		case "good":
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"access_token":"at-good","token_type":"bearer","expires_in":7200}`)
		case "slow":
			select {
			case <-r.Context().Done():
			case <-p.release:
			}
		case "boom":
			http.Error(w, "internal error", http.StatusInternalServerError)
		default:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"error":"invalid_grant"}`)
		}
	})
	mux.HandleFunc("GET /v2/me", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer at-good" {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		json.NewEncoder(w).Encode(p.profile)
	})
	p.Server = httptest.NewServer(mux)
	t.Cleanup(func() { close(p.release); p.Close() })
	return p
}

// authServer is a strict-mode router with every module's routes.
type authServer struct {
	*server
	cfg     config.Config
	tokens  *services.Tokens
	auth    *services.AuthService
	clock   *clock
	dir     string
	channel *services.ChannelService
	game    *services.GameService
}

func newAuthServer(t *testing.T, db *gorm.DB, provider string, edit func(*config.Config)) *authServer {
	cfg := config.Config{
		CORSOrigins: []string{frontOrigin}, AuthMode: config.AuthStrict, AppURI: "http://localhost", Port: 3000,
		JWTSecret: []byte(testJWTSecret), JWTTTL: time.Hour, AvatarMaxBytes: 64 << 10, UploadDir: t.TempDir(),
		AuthDevLogin: true,
		OAuth: config.OAuth{
			ClientID: "uid-test", Secret: "secret-test", RedirectURI: "http://localhost:3000/auth/callback",
			AuthorizeURL: provider + "/oauth/authorize", TokenURL: provider + "/token", ProfileURL: provider + "/v2/me",
		},
	}
	if edit != nil {
		edit(&cfg)
	}
	s := newServerWith(t, db, cfg)
	a := &authServer{server: s, cfg: cfg, tokens: services.NewTokens(cfg.JWTSecret), dir: cfg.UploadDir,
		clock: &clock{t: time.Now()}}
	a.auth = services.NewAuthService(db, a.tokens, services.AuthConfig{
		ClientID: cfg.OAuth.ClientID, Secret: cfg.OAuth.Secret, RedirectURI: cfg.OAuth.RedirectURI,
		AuthorizeURL: cfg.OAuth.AuthorizeURL, TokenURL: cfg.OAuth.TokenURL, ProfileURL: cfg.OAuth.ProfileURL,
		TokenTTL: cfg.JWTTTL, Key: cfg.JWTSecret, ProviderTimeout: 300 * time.Millisecond, Now: a.clock.Now,
	})
	avatars, err := services.NewAvatarService(services.NewUserService(db), cfg.UploadDir, cfg.AvatarMaxBytes,
		controllers.AvatarBaseURL(cfg.AppURI, cfg.Port))
	if err != nil {
		t.Fatal(err)
	}
	controllers.RegisterAuth(s.router, controllers.Deps{Config: cfg, Log: nil}, a.auth, avatars)
	a.channel = services.NewChannelService(db, nil)
	controllers.RegisterChannelRoutes(s.router, controllers.Deps{Config: cfg}, a.channel)
	a.game = services.NewGameService(db, services.NewSocialService(db), nopGame{}, nopGame{}, nil, services.GameConfig{})
	t.Cleanup(a.game.Close)
	controllers.RegisterGame(s.router, a.game, nil)
	return a
}

// token is a valid access token of user id.
func (a *authServer) token(id string) string {
	a.t.Helper()
	tok, err := a.tokens.Sign(id, id+"@example.com", time.Hour)
	if err != nil {
		a.t.Fatal(err)
	}
	return tok
}

// req sends a request as user id ("" = no credentials) with extra headers.
func (a *authServer) req(method, path string, body any, as string, header ...string) *httptest.ResponseRecorder {
	a.t.Helper()
	if as != "" {
		header = append(header, "Authorization", "Bearer "+a.token(as))
	}
	return a.do(method, path, body, header...)
}

// user creates a user (POST /users is open with AUTH_DEV_LOGIN) and
// returns its id.
func (a *authServer) user(name string) string {
	a.t.Helper()
	return a.createUser(name)["id"].(string)
}

func cookies(w *httptest.ResponseRecorder) map[string]*http.Cookie {
	out := map[string]*http.Cookie{}
	for _, c := range w.Result().Cookies() {
		out[c.Name] = c
	}
	return out
}

func cookieHeader(cs ...*http.Cookie) string {
	var parts []string
	for _, c := range cs {
		parts = append(parts, c.Name+"="+c.Value)
	}
	return strings.Join(parts, "; ")
}

// start runs GET /auth and returns the state and its cookie.
func (a *authServer) start(provider string) (string, *http.Cookie) {
	a.t.Helper()
	w := a.do("GET", "/auth", nil)
	if w.Code != http.StatusFound {
		a.t.Fatalf("GET /auth = %d %s", w.Code, w.Body)
	}
	loc, err := url.Parse(w.Header().Get("Location"))
	if err != nil || !strings.HasPrefix(loc.String(), provider+"/oauth/authorize?") {
		a.t.Fatalf("GET /auth Location = %q", w.Header().Get("Location"))
	}
	q := loc.Query()
	if q.Get("client_id") != "uid-test" || q.Get("redirect_uri") != "http://localhost:3000/auth/callback" ||
		q.Get("response_type") != "code" || q.Get("state") == "" {
		a.t.Fatalf("authorize query = %v", q)
	}
	c := cookies(w)["oauthState"]
	if c == nil || c.Value != q.Get("state") || !c.HttpOnly || c.MaxAge <= 0 || c.MaxAge > 600 {
		a.t.Fatalf("state cookie = %+v", c)
	}
	return q.Get("state"), c
}

func userCount(t *testing.T, db *gorm.DB) int64 {
	t.Helper()
	var n int64
	if err := db.Model(&models.User{}).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func TestOAuthSignIn(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		p := newFakeProvider(t)
		a := newAuthServer(t, db, p.URL, nil)

		// A new user.
		state, sc := a.start(p.URL)
		w := a.do("GET", "/auth/callback?code=good&state="+url.QueryEscape(state), nil, "Cookie", cookieHeader(sc))
		if w.Code != http.StatusFound || w.Header().Get("Location") != "http://localhost:5173/setting" {
			t.Fatalf("callback = %d %q %s", w.Code, w.Header().Get("Location"), w.Body)
		}
		cs := cookies(w)
		id, tok := cs["id"], cs["accessToken"]
		if id == nil || tok == nil || id.HttpOnly || tok.HttpOnly || id.Path != "/" || tok.Path != "/" ||
			id.SameSite != http.SameSiteLaxMode || tok.SameSite != http.SameSiteLaxMode || tok.Secure {
			t.Fatalf("cookies = %+v %+v", id, tok)
		}
		claims, err := a.tokens.Verify(tok.Value)
		if err != nil || claims.ID != id.Value || claims.Email != "jdoe@student.42.fr" || claims.ExpiresAt == nil ||
			claims.ExpiresAt.Sub(time.Now()) > time.Hour+time.Minute || claims.ExpiresAt.Sub(time.Now()) < 50*time.Minute {
			t.Fatalf("token claims = %+v, %v", claims, err)
		}
		var u models.User
		if err := db.Where("id = ?", id.Value).Take(&u).Error; err != nil {
			t.Fatal(err)
		}
		if *u.Name != "jdoe" || u.IntraID != "4242" || u.Email != "jdoe@student.42.fr" || *u.Avatar != "https://cdn.intra.42.fr/users/jdoe.jpg" ||
			u.TwoFactorAuthSecret == nil || len(*u.TwoFactorAuthSecret) < 16 || u.IsTwoFactorEnabled {
			t.Fatalf("user = %+v", u)
		}
		if c := cookies(w)["oauthState"]; c == nil || c.MaxAge >= 0 {
			t.Errorf("the state cookie is not cleared: %+v", c)
		}

		// A returning user: the same account, nothing created.
		state, sc = a.start(p.URL)
		w = a.do("GET", "/auth/callback?code=good&state="+url.QueryEscape(state), nil, "Cookie", cookieHeader(sc))
		if w.Code != http.StatusFound || cookies(w)["id"].Value != u.ID || cookies(w)["accessToken"] == nil {
			t.Fatalf("returning callback = %d %+v", w.Code, cookies(w))
		}
		if n := userCount(t, db); n != 1 {
			t.Fatalf("users = %d, want 1", n)
		}

		// 2FA on: the callback gives the proof, not a token; a code then does.
		if err := db.Model(&models.User{}).Where("id = ?", u.ID).Update("is_two_factor_enabled", true).Error; err != nil {
			t.Fatal(err)
		}
		state, sc = a.start(p.URL)
		w = a.do("GET", "/auth/callback?code=good&state="+url.QueryEscape(state), nil, "Cookie", cookieHeader(sc))
		cs = cookies(w)
		if w.Code != http.StatusFound || cs["id"].Value != u.ID || cs["twoFactorProof"] == nil ||
			(cs["accessToken"] != nil && cs["accessToken"].MaxAge >= 0) {
			t.Fatalf("callback with 2FA on = %d %+v", w.Code, cs)
		}
		code, _ := services.TOTPCode(*u.TwoFactorAuthSecret, a.clock.Now())
		w = a.do("POST", "/auth/2fa/authenticate?userId="+u.ID+"&authCode="+code, nil, "Cookie", cookieHeader(cs["twoFactorProof"]))
		var tb struct{ Token string }
		if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &tb) != nil {
			t.Fatalf("authenticate after the callback = %d %s", w.Code, w.Body)
		}
		if c, err := a.tokens.Verify(tb.Token); err != nil || c.ID != u.ID {
			t.Fatalf("token after 2FA: %+v %v", c, err)
		}

		// A 42 login equal to a name someone took: a suffixed name.
		a.createUser("taken")
		p.mu.Lock()
		p.profile = map[string]any{"id": 77, "login": "taken", "email": "other@student.42.fr", "image": map[string]any{"link": ""}}
		p.mu.Unlock()
		state, sc = a.start(p.URL)
		w = a.do("GET", "/auth/callback?code=good&state="+url.QueryEscape(state), nil, "Cookie", cookieHeader(sc))
		if w.Code != http.StatusFound {
			t.Fatalf("callback with a taken name = %d %s", w.Code, w.Body)
		}
		var v models.User
		db.Where("intra_id = ?", "77").Take(&v)
		if v.Name == nil || !regexp.MustCompile(`^taken_[0-9a-f]{6}$`).MatchString(*v.Name) {
			t.Fatalf("suffixed name = %v", v.Name)
		}
	})
}

func TestOAuthFailuresAnswerPromptly(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		p := newFakeProvider(t)
		a := newAuthServer(t, db, p.URL, nil)
		state, sc := a.start(p.URL)
		otherState, _ := a.start(p.URL)
		good := cookieHeader(sc)
		tampered := state[:len(state)-2] + "xx"
		cases := []struct {
			name, query, cookie string
			status              int
			msg                 string
		}{
			{"denied consent", "error=access_denied&state=" + state, good, 401, "denied"},
			{"no state", "code=good", good, 401, "state"},
			{"state without its cookie", "code=good&state=" + state, "", 401, "state"},
			{"state of another browser", "code=good&state=" + otherState, good, 401, "state"},
			{"tampered state", "code=good&state=" + tampered, "oauthState=" + tampered, 401, "state"},
			{"code refused by the provider", "code=bad&state=" + state, good, 401, "refused"},
			{"no code", "state=" + state, good, 401, "not granted"},
			{"provider error", "code=boom&state=" + state, good, 502, "provider failed"},
			{"slow provider", "code=slow&state=" + state, good, 504, "did not answer in time"},
		}
		for _, tc := range cases {
			start := time.Now()
			h := []string{}
			if tc.cookie != "" {
				h = append(h, "Cookie", tc.cookie)
			}
			w := a.do("GET", "/auth/callback?"+tc.query, nil, h...)
			var body struct {
				StatusCode int    `json:"statusCode"`
				Message    string `json:"message"`
			}
			json.Unmarshal(w.Body.Bytes(), &body)
			if w.Code != tc.status || body.StatusCode != tc.status || !strings.Contains(body.Message, tc.msg) {
				t.Errorf("%s: %d %s, want %d mentioning %q", tc.name, w.Code, w.Body, tc.status, tc.msg)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("%s took %v", tc.name, d)
			}
			if strings.Contains(w.Body.String(), "secret-test") {
				t.Errorf("%s: the client secret reached the client", tc.name)
			}
		}
		// An expired state is refused.
		a.clock.Add(services.StateTTL + time.Second)
		w := a.do("GET", "/auth/callback?code=good&state="+url.QueryEscape(state), nil, "Cookie", good)
		if w.Code != 401 {
			t.Errorf("expired state = %d %s", w.Code, w.Body)
		}
		if n := userCount(t, db); n != 0 {
			t.Errorf("users created by failed sign-ins: %d", n)
		}
	})
}

// twoFactorUser signs alice in with the dev sign-in, turns 2FA on and
// returns her id and secret.
func (a *authServer) twoFactorUser(name string) (string, string) {
	a.t.Helper()
	w := a.do("GET", "/auth/dev?name="+name, nil)
	id := cookies(w)["id"].Value
	w = a.req("POST", "/auth/2fa/generate?userId="+id, nil, id)
	var qr string
	if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &qr) != nil || !strings.HasPrefix(qr, "data:image/png;base64,") {
		a.t.Fatalf("generate = %d %.80s", w.Code, w.Body)
	}
	var u models.User
	a.db.Where("id = ?", id).Take(&u)
	secret := *u.TwoFactorAuthSecret
	code, _ := services.TOTPCode(secret, a.clock.Now())
	w = a.req("POST", "/auth/2fa/turn-on?userId="+id+"&authCode="+code, nil, id)
	wantBody(a.t, "turn-on", w, 200, `{"message":"Two-factor authentication turned on successfully"}`)
	a.clock.Add(30 * time.Second) // the turn-on code is used: move to the next step
	return id, secret
}

func TestTwoFactor(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		p := newFakeProvider(t)
		a := newAuthServer(t, db, p.URL, nil)
		var responses []string
		keep := func(w *httptest.ResponseRecorder) *httptest.ResponseRecorder {
			responses = append(responses, w.Body.String())
			for _, v := range w.Header() {
				responses = append(responses, strings.Join(v, " "))
			}
			return w
		}

		// Enabling: a wrong code is the original's 401, a right one turns it on.
		w := keep(a.do("GET", "/auth/dev?name=alice", nil))
		alice := cookies(w)["id"].Value
		w = keep(a.req("POST", "/auth/2fa/generate?userId="+alice, nil, alice))
		if w.Code != 200 || !strings.HasPrefix(w.Body.String(), `"data:image/png;base64,`) {
			t.Fatalf("generate = %d %.60s", w.Code, w.Body)
		}
		var u models.User
		db.Where("id = ?", alice).Take(&u)
		secret := *u.TwoFactorAuthSecret
		wrong := "000000"
		if c, _ := services.TOTPCode(secret, a.clock.Now()); c == wrong {
			wrong = "111111"
		}
		w = keep(a.req("POST", "/auth/2fa/turn-on?userId="+alice+"&authCode="+wrong, nil, alice))
		wantBody(t, "turn-on with a wrong code", w, 401, `{"statusCode":401,"message":"Wrong authentication code","error":"Unauthorized"}`)
		code, _ := services.TOTPCode(secret, a.clock.Now())
		w = keep(a.req("POST", "/auth/2fa/turn-on?userId="+alice+"&authCode="+code, nil, alice))
		wantBody(t, "turn-on", w, 200, `{"message":"Two-factor authentication turned on successfully"}`)
		db.Where("id = ?", alice).Take(&u)
		if !u.IsTwoFactorEnabled {
			t.Fatal("2FA not on")
		}
		// Once on, the secret is never shown again.
		w = keep(a.req("POST", "/auth/2fa/generate?userId="+alice, nil, alice))
		if w.Code != 409 {
			t.Errorf("generate while on = %d %s", w.Code, w.Body)
		}

		// Signing in now gives no token, only the proof of the first factor.
		w = keep(a.do("GET", "/auth/dev?name=alice", nil))
		cs := cookies(w)
		proof := cs["twoFactorProof"]
		if (cs["accessToken"] != nil && cs["accessToken"].MaxAge >= 0) || proof == nil || !proof.HttpOnly || proof.Path != "/auth" || cs["id"].Value != alice {
			t.Fatalf("sign-in with 2FA on: cookies %+v", cs)
		}
		// The turn-on code cannot be replayed, even with the proof.
		w = keep(a.do("POST", "/auth/2fa/authenticate?userId="+alice+"&authCode="+code, nil, "Cookie", cookieHeader(proof)))
		wantBody(t, "replayed code", w, 401, `{"statusCode":401,"message":"Wrong authentication code","error":"Unauthorized"}`)
		// Without the proof (defect 3: authenticate as anyone) a right code is refused.
		a.clock.Add(30 * time.Second)
		code, _ = services.TOTPCode(secret, a.clock.Now())
		w = keep(a.do("POST", "/auth/2fa/authenticate?userId="+alice+"&authCode="+code, nil))
		if w.Code != 401 || !strings.Contains(w.Body.String(), "Sign in first") {
			t.Errorf("authenticate without the proof = %d %s", w.Code, w.Body)
		}
		// With it: {token}, and the cookies.
		w = keep(a.do("POST", "/auth/2fa/authenticate?userId="+alice+"&authCode="+code, nil, "Cookie", cookieHeader(proof)))
		var got struct{ Token string }
		if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &got) != nil {
			t.Fatalf("authenticate = %d %s", w.Code, w.Body)
		}
		wantKeys(t, "authenticate", w.Body.Bytes(), "token")
		if c, err := a.tokens.Verify(got.Token); err != nil || c.ID != alice || c.ExpiresAt == nil {
			t.Fatalf("token = %+v %v", c, err)
		}
		if cookies(w)["accessToken"] == nil || cookies(w)["accessToken"].Value != got.Token {
			t.Errorf("authenticate cookies = %+v", cookies(w))
		}
		// The same code again: refused (a code is accepted once).
		w = keep(a.do("POST", "/auth/2fa/authenticate?userId="+alice+"&authCode="+code, nil, "Cookie", cookieHeader(proof)))
		if w.Code != 401 {
			t.Errorf("second use of a code = %d", w.Code)
		}

		// Another user's proof does not do.
		bob, _ := a.twoFactorUser("bob")
		w = keep(a.do("GET", "/auth/dev?name=bob", nil))
		bobProof := cookies(w)["twoFactorProof"]
		code, _ = services.TOTPCode(secret, a.clock.Now())
		w = keep(a.do("POST", "/auth/2fa/authenticate?userId="+alice+"&authCode="+code, nil, "Cookie", cookieHeader(bobProof)))
		if w.Code != 401 || !strings.Contains(w.Body.String(), "Sign in first") {
			t.Errorf("authenticate with bob's proof = %d %s", w.Code, w.Body)
		}
		// An expired proof does not do either.
		a.clock.Add(services.ProofTTL + time.Second)
		bobCode, _ := services.TOTPCode(bobSecret(t, db, bob), a.clock.Now())
		w = keep(a.do("POST", "/auth/2fa/authenticate?userId="+bob+"&authCode="+bobCode, nil, "Cookie", cookieHeader(bobProof)))
		if w.Code != 401 {
			t.Errorf("expired proof = %d %s", w.Code, w.Body)
		}

		// Defect 3 in strict mode: generate, turn-on and two-factor are for oneself.
		carol := a.user("carol")
		for _, tc := range []struct{ method, path, as string }{
			{"POST", "/auth/2fa/generate?userId=" + carol, alice},
			{"POST", "/auth/2fa/turn-on?userId=" + carol + "&authCode=123456", alice},
			{"PATCH", "/users/" + alice + "/two-factor", carol},
		} {
			var body any
			if tc.method == "PATCH" {
				body = map[string]any{"isTwoFactorEnabled": false}
			}
			if w := keep(a.req(tc.method, tc.path, body, tc.as)); w.Code != 403 {
				t.Errorf("%s %s as another = %d %s", tc.method, tc.path, w.Code, w.Body)
			}
			if w := keep(a.req(tc.method, tc.path, body, "")); w.Code != 401 {
				t.Errorf("%s %s without a token = %d %s", tc.method, tc.path, w.Code, w.Body)
			}
		}
		// Authenticate for a user whose 2FA is off never gives a token.
		w = keep(a.do("GET", "/auth/dev?name=carol", nil))
		c2 := cookies(w)
		if c2["accessToken"] == nil || c2["twoFactorProof"] != nil {
			t.Errorf("sign-in with 2FA off: %+v", c2)
		}
		// Turning 2FA on through PATCH is refused; off by oneself works.
		if w := keep(a.req("PATCH", "/users/"+carol+"/two-factor", map[string]any{"isTwoFactorEnabled": true}, carol)); w.Code != 400 {
			t.Errorf("PATCH two-factor true = %d", w.Code)
		}
		wantEmpty(t, "PATCH two-factor false by oneself", keep(a.req("PATCH", "/users/"+alice+"/two-factor", map[string]any{"isTwoFactorEnabled": false}, alice)), 200)

		for _, r := range responses {
			if strings.Contains(r, secret) {
				t.Fatalf("a TOTP secret reached a client: %.120s", r)
			}
		}
	})
}

func bobSecret(t *testing.T, db *gorm.DB, id string) string {
	t.Helper()
	var u models.User
	if err := db.Where("id = ?", id).Take(&u).Error; err != nil {
		t.Fatal(err)
	}
	return *u.TwoFactorAuthSecret
}

func TestTwoFactorRateLimit(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		p := newFakeProvider(t)
		a := newAuthServer(t, db, p.URL, nil)
		alice, secret := a.twoFactorUser("alice")
		w := a.do("GET", "/auth/dev?name=alice", nil)
		proof := cookieHeader(cookies(w)["twoFactorProof"])
		right, _ := services.TOTPCode(secret, a.clock.Now())
		wrong := "000000"
		if right == wrong {
			wrong = "111111"
		}
		for i := 1; i <= 5; i++ {
			w := a.do("POST", "/auth/2fa/authenticate?userId="+alice+"&authCode="+wrong, nil, "Cookie", proof)
			if w.Code != 401 {
				t.Fatalf("wrong code %d = %d %s", i, w.Code, w.Body)
			}
		}
		// The sixth attempt is refused, even with the right code.
		w = a.do("POST", "/auth/2fa/authenticate?userId="+alice+"&authCode="+right, nil, "Cookie", proof)
		wantBody(t, "after 5 failures", w, 429, `{"statusCode":429,"message":"Too many wrong codes: try again later","error":"Too Many Requests"}`)
		if w.Header().Get("Retry-After") == "" {
			t.Error("no Retry-After")
		}
		// turn-on shares the counter.
		if w := a.req("POST", "/auth/2fa/turn-on?userId="+alice+"&authCode="+right, nil, alice); w.Code != 429 {
			t.Errorf("turn-on while limited = %d", w.Code)
		}
		// Another user is not affected.
		bob, bobSecret := a.twoFactorUser("bob")
		if bob == "" || bobSecret == "" {
			t.Fatal("bob")
		}
		// After the window, the right code works again.
		a.clock.Add(5*time.Minute + time.Second)
		w = a.do("GET", "/auth/dev?name=alice", nil)
		proof = cookieHeader(cookies(w)["twoFactorProof"])
		right, _ = services.TOTPCode(secret, a.clock.Now())
		if w := a.do("POST", "/auth/2fa/authenticate?userId="+alice+"&authCode="+right, nil, "Cookie", proof); w.Code != 200 {
			t.Errorf("after the window = %d %s", w.Code, w.Body)
		}
	})
}

func TestCompatTwoFactorKeepsSecrets(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		p := newFakeProvider(t)
		a := newAuthServer(t, db, p.URL, func(c *config.Config) { c.AuthMode = config.AuthCompat })
		alice, secret := a.twoFactorUser("alice")
		// Compat trusts the query's userId (the unmodified frontend sends no
		// credentials), but a secret in use is never shown, and a user with
		// 2FA off never gets a token from a code.
		if w := a.do("POST", "/auth/2fa/generate?userId="+alice, nil); w.Code != 409 || strings.Contains(w.Body.String(), secret) {
			t.Errorf("compat generate while on = %d", w.Code)
		}
		carol := a.user("carol")
		w := a.do("POST", "/auth/2fa/generate?userId="+carol, nil)
		if w.Code != 200 {
			t.Fatalf("compat generate = %d", w.Code)
		}
		code, _ := services.TOTPCode(bobSecret(t, db, carol), a.clock.Now())
		if w := a.do("POST", "/auth/2fa/authenticate?userId="+carol+"&authCode="+code, nil); w.Code != 401 {
			t.Errorf("compat authenticate with 2FA off = %d %s", w.Code, w.Body)
		}
		// With 2FA on the code alone signs in (no proof cookie), once.
		code, _ = services.TOTPCode(secret, a.clock.Now())
		if w := a.do("POST", "/auth/2fa/authenticate?userId="+alice+"&authCode="+code, nil); w.Code != 200 {
			t.Errorf("compat authenticate = %d %s", w.Code, w.Body)
		}
		if w := a.do("POST", "/auth/2fa/authenticate?userId="+alice+"&authCode="+code, nil); w.Code != 401 {
			t.Errorf("compat replay = %d", w.Code)
		}
	})
}

func TestDevSignInOffByDefault(t *testing.T) {
	db := dbtest.SQLite(t)
	p := newFakeProvider(t)
	a := newAuthServer(t, db, p.URL, func(c *config.Config) { c.AuthDevLogin = false })
	if w := a.do("GET", "/auth/dev?name=alice", nil); w.Code != 404 || len(w.Result().Cookies()) != 0 {
		t.Errorf("GET /auth/dev without AUTH_DEV_LOGIN = %d %v", w.Code, w.Result().Cookies())
	}
	// Strict mode makes accounts by signing in only.
	w := a.do("POST", "/users", map[string]any{"name": "x", "email": "x@example.com", "intraId": "1"})
	if w.Code != 403 || userCount(t, db) != 0 {
		t.Errorf("POST /users in strict mode = %d %s", w.Code, w.Body)
	}
	// The secure flag follows APP_URI.
	b := newAuthServer(t, dbtest.SQLite(t), p.URL, func(c *config.Config) { c.AppURI = "https://example.test" })
	w = b.do("GET", "/auth/dev?name=alice", nil)
	for _, c := range w.Result().Cookies() {
		if !c.Secure {
			t.Errorf("cookie %s is not Secure under https", c.Name)
		}
	}
	if w.Header().Get("Location") != "https://example.test:5173/setting" {
		t.Errorf("Location = %q", w.Header().Get("Location"))
	}
}

// ------------------------------------------------------------------ uploads

func pngBytes(t *testing.T, w, h int, noise bool) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := color.RGBA{uint8(x), uint8(y), 100, 255}
			if noise {
				c = color.RGBA{uint8(x*7919 + y*104729), uint8(x*31 ^ y*17), uint8(x * y), 255}
			}
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func jpegBytes(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, image.NewGray(image.Rect(0, 0, 8, 8)), nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// multipartBody is a form with one file part.
func multipartBody(t *testing.T, field, filename, ctype string, data []byte) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	h := make(map[string][]string)
	h["Content-Disposition"] = []string{fmt.Sprintf(`form-data; name=%q; filename=%q`, field, filename)}
	h["Content-Type"] = []string{ctype}
	part, err := mw.CreatePart(h)
	if err != nil {
		t.Fatal(err)
	}
	part.Write(data)
	mw.Close()
	return mw.FormDataContentType(), buf.Bytes()
}

func (a *authServer) upload(id, as, field, filename, ctype string, data []byte) *httptest.ResponseRecorder {
	a.t.Helper()
	ct, body := multipartBody(a.t, field, filename, ctype, data)
	return a.req("POST", "/users/"+id+"/upload", body, as, "Content-Type", ct)
}

func dirFiles(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

func TestAvatarUpload(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		p := newFakeProvider(t)
		a := newAuthServer(t, db, p.URL, nil)
		alice := a.user("alice")
		avatar := func() string {
			var u models.User
			db.Where("id = ?", alice).Take(&u)
			if u.Avatar == nil {
				return ""
			}
			return *u.Avatar
		}
		urlRe := regexp.MustCompile(`^http://localhost:3000/([0-9a-f]{32}\.(png|jpg))$`)

		w := a.upload(alice, alice, "file", "me.png", "image/png", pngBytes(t, 16, 16, false))
		var res struct {
			StatusCode int    `json:"statusCode"`
			Data       string `json:"data"`
		}
		if w.Code != 201 || json.Unmarshal(w.Body.Bytes(), &res) != nil || res.StatusCode != 200 || !urlRe.MatchString(res.Data) {
			t.Fatalf("upload = %d %s", w.Code, w.Body)
		}
		wantKeys(t, "upload", w.Body.Bytes(), "statusCode", "data")
		if avatar() != res.Data {
			t.Fatalf("Avatar = %q, want %q", avatar(), res.Data)
		}
		first := urlRe.FindStringSubmatch(res.Data)[1]
		for _, path := range []string{"/" + first, "/public/" + first} {
			g := a.do("GET", path, nil)
			if g.Code != 200 || g.Header().Get("Content-Type") != "image/png" || g.Header().Get("X-Content-Type-Options") != "nosniff" ||
				!strings.HasPrefix(g.Header().Get("Content-Security-Policy"), "default-src 'none'") {
				t.Fatalf("GET %s = %d %v", path, g.Code, g.Header())
			}
			if _, err := png.Decode(g.Body); err != nil {
				t.Fatalf("GET %s: not a PNG: %v", path, err)
			}
		}

		// A JPEG replaces it; the previous file is removed.
		w = a.upload(alice, alice, "file", "me.jpeg", "image/jpeg", jpegBytes(t))
		json.Unmarshal(w.Body.Bytes(), &res)
		if w.Code != 201 || !strings.HasSuffix(res.Data, ".jpg") || avatar() != res.Data {
			t.Fatalf("jpeg upload = %d %s", w.Code, w.Body)
		}
		if g := a.do("GET", "/"+first, nil); g.Code != 404 {
			t.Errorf("the previous file is still served: %d", g.Code)
		}
		if g := a.do("GET", "/"+urlRe.FindStringSubmatch(res.Data)[1], nil); g.Header().Get("Content-Type") != "image/jpeg" {
			t.Errorf("jpeg Content-Type = %q", g.Header().Get("Content-Type"))
		}

		// A polyglot (a valid PNG with HTML appended) is re-encoded: the
		// stored file is a clean PNG without the tail.
		poly := append(pngBytes(t, 4, 4, false), []byte("<html><script>alert(document.cookie)</script></html>")...)
		w = a.upload(alice, alice, "file", "x.png", "image/png", poly)
		json.Unmarshal(w.Body.Bytes(), &res)
		if w.Code != 201 {
			t.Fatalf("polyglot upload = %d %s", w.Code, w.Body)
		}
		g := a.do("GET", "/"+urlRe.FindStringSubmatch(res.Data)[1], nil)
		if strings.Contains(g.Body.String(), "script") || g.Header().Get("Content-Type") != "image/png" {
			t.Errorf("the polyglot's tail is served")
		}
		kept := avatar()
		files := dirFiles(t, a.dir)

		svg := []byte(`<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect width="1" height="1"/></svg>`)
		gif := []byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;")
		truncated := pngBytes(t, 32, 32, true)
		truncated = truncated[:len(truncated)/2]
		attacks := []struct {
			name, field, filename, ctype string
			data                         []byte
			status                       int
		}{
			{"HTML sent as image/png", "file", "x.html", "image/png", []byte("<html><script>alert(1)</script></html>"), 400},
			{"HTML named .png", "file", "x.png", "image/png", []byte("<!doctype html><script>alert(1)</script>"), 400},
			{"SVG", "file", "x.svg", "image/svg+xml", svg, 400},
			{"SVG sent as image/png", "file", "x.png", "image/png", svg, 400},
			{"GIF", "file", "x.gif", "image/gif", gif, 400},
			{"PNG magic, truncated data", "file", "x.png", "image/png", truncated, 400},
			{"PNG magic then HTML", "file", "x.png", "image/png", append([]byte("\x89PNG\r\n\x1a\n"), "<script>alert(1)</script>"...), 400},
			{"wrong field name", "avatar", "me.png", "image/png", pngBytes(t, 4, 4, false), 400},
			{"oversized", "file", "big.png", "image/png", pngBytes(t, 256, 256, true), 413},
		}
		for _, tc := range attacks {
			w := a.upload(alice, alice, tc.field, tc.filename, tc.ctype, tc.data)
			if w.Code != tc.status {
				t.Errorf("%s: %d %s, want %d", tc.name, w.Code, w.Body, tc.status)
			}
		}
		if big := pngBytes(t, 256, 256, true); int64(len(big)) <= a.cfg.AvatarMaxBytes {
			t.Fatalf("the oversized case is %d bytes, not over the limit", len(big))
		}
		// Not multipart at all; someone else's avatar; no credentials.
		if w := a.req("POST", "/users/"+alice+"/upload", map[string]any{"file": "x"}, alice); w.Code != 400 {
			t.Errorf("JSON body = %d", w.Code)
		}
		bob := a.user("bob")
		if w := a.upload(alice, bob, "file", "me.png", "image/png", pngBytes(t, 4, 4, false)); w.Code != 403 {
			t.Errorf("upload as another = %d", w.Code)
		}
		if w := a.upload(alice, "", "file", "me.png", "image/png", pngBytes(t, 4, 4, false)); w.Code != 401 {
			t.Errorf("upload without a token = %d", w.Code)
		}
		if avatar() != kept || strings.Join(dirFiles(t, a.dir), ",") != strings.Join(files, ",") {
			t.Errorf("a refused upload changed something: %q %v", avatar(), dirFiles(t, a.dir))
		}
		// Only names the server chose are served.
		for _, path := range []string{"/" + strings.ToUpper(first), "/..%2f..%2fetc%2fpasswd", "/public/x.html", "/nosuch.png"} {
			if g := a.do("GET", path, nil); g.Code != 404 {
				t.Errorf("GET %s = %d", path, g.Code)
			}
		}
	})
}
