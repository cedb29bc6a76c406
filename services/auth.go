package services

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"image/png"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"gorm.io/gorm"

	"github.com/onlinenow/onlinenow/models"
)

// Sign-in errors. The HTTP edge maps them: ErrUnauthorized to 401,
// ErrRateLimited to 429, ErrProvider to 502 and ErrProviderTimeout to 504.
var (
	ErrUnauthorized    = errors.New("unauthorized")
	ErrRateLimited     = errors.New("too many attempts")
	ErrProvider        = errors.New("sign-in provider failed")
	ErrProviderTimeout = errors.New("sign-in provider timed out")
)

// errWrongCode is the original's answer to a bad TOTP code.
var errWrongCode = Public(ErrUnauthorized, "Wrong authentication code")

// Lifetimes of the short-lived signed values.
const (
	// StateTTL bounds the OAuth round trip (GET /auth to the callback).
	StateTTL = 10 * time.Minute
	// ProofTTL is how long after the OAuth step a 2FA code may be entered.
	ProofTTL = 5 * time.Minute
	// defaultProviderTimeout bounds all the provider calls of one callback.
	defaultProviderTimeout = 10 * time.Second
	// maxProfileBytes bounds the profile document read from the provider.
	maxProfileBytes = 1 << 20
	// totpIssuer is the issuer shown by authenticator apps, as the original.
	totpIssuer = "ft_transcendence"
)

// AuthConfig configures an AuthService.
type AuthConfig struct {
	ClientID, Secret, RedirectURI      string
	AuthorizeURL, TokenURL, ProfileURL string
	TokenTTL                           time.Duration // lifetime of the access tokens issued
	ProviderTimeout                    time.Duration // 0: 10 s
	Key                                []byte        // HMAC key of the state and the 2FA proof
	HTTPClient                         *http.Client  // nil: a client without its own timeout (ProviderTimeout bounds it)
	Now                                func() time.Time
	MaxFailures                        int           // 0: 5 failed codes ...
	FailureWindow                      time.Duration // 0: ... in 5 minutes, then 429
}

// AuthService signs users in: the OAuth 2 code flow (42's profile shape),
// the development sign-in, TOTP two-factor authentication, and the
// short-lived signed values that tie the steps together. Secrets never
// leave it except as the QR code a user asks for while 2FA is off.
type AuthService struct {
	db       *gorm.DB
	tokens   *Tokens
	oauth    *oauth2.Config
	profile  string
	client   *http.Client
	timeout  time.Duration
	key      []byte
	ttl      time.Duration
	now      func() time.Time
	failures *attemptLimiter
	steps    *stepMemory
}

// NewAuthService returns an AuthService over db issuing tokens with tokens.
func NewAuthService(db *gorm.DB, tokens *Tokens, cfg AuthConfig) *AuthService {
	if cfg.ProviderTimeout <= 0 {
		cfg.ProviderTimeout = defaultProviderTimeout
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxFailures <= 0 {
		cfg.MaxFailures = 5
	}
	if cfg.FailureWindow <= 0 {
		cfg.FailureWindow = 5 * time.Minute
	}
	// The signing key of state and proofs is derived from, not equal to,
	// the JWT secret, so neither can be passed off as the other.
	mac := hmac.New(sha256.New, cfg.Key)
	mac.Write([]byte("onlinenow auth state v1"))
	return &AuthService{
		db:     db,
		tokens: tokens,
		oauth: &oauth2.Config{
			ClientID: cfg.ClientID, ClientSecret: cfg.Secret, RedirectURL: cfg.RedirectURI,
			Endpoint: oauth2.Endpoint{AuthURL: cfg.AuthorizeURL, TokenURL: cfg.TokenURL, AuthStyle: oauth2.AuthStyleInParams},
		},
		profile:  cfg.ProfileURL,
		client:   cfg.HTTPClient,
		timeout:  cfg.ProviderTimeout,
		key:      mac.Sum(nil),
		ttl:      cfg.TokenTTL,
		now:      cfg.Now,
		failures: newAttemptLimiter(cfg.MaxFailures, cfg.FailureWindow, 100_000),
		steps:    newStepMemory(100_000),
	}
}

// ---------------------------------------------------------------- signed values

// sign returns kind|subject|expiry|nonce, base64url, then "." and its HMAC.
func (s *AuthService) sign(kind, subject string, ttl time.Duration) string {
	nonce := make([]byte, 16)
	rand.Read(nonce) // never fails (crypto/rand)
	payload := strings.Join([]string{kind, subject, strconv.FormatInt(s.now().Add(ttl).Unix(), 10), hex.EncodeToString(nonce)}, "|")
	p := base64.RawURLEncoding.EncodeToString([]byte(payload))
	mac := hmac.New(sha256.New, s.key)
	mac.Write([]byte(p))
	return p + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// verify checks a value made by sign for kind and returns its subject.
func (s *AuthService) verify(kind, value string) (string, bool) {
	p, sig, ok := strings.Cut(value, ".")
	if !ok {
		return "", false
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil {
		return "", false
	}
	mac := hmac.New(sha256.New, s.key)
	mac.Write([]byte(p))
	if !hmac.Equal(got, mac.Sum(nil)) {
		return "", false
	}
	raw, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		return "", false
	}
	parts := strings.Split(string(raw), "|")
	if len(parts) != 4 || parts[0] != kind {
		return "", false
	}
	exp, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil || s.now().Unix() >= exp {
		return "", false
	}
	return parts[1], true
}

// NewState returns a signed OAuth state valid for StateTTL.
func (s *AuthService) NewState() string { return s.sign("state", "", StateTTL) }

// CheckState reports whether state is one NewState made that has not expired.
func (s *AuthService) CheckState(state string) bool {
	_, ok := s.verify("state", state)
	return ok
}

// AuthorizeURL is the provider's authorize URL for state.
func (s *AuthService) AuthorizeURL(state string) string { return s.oauth.AuthCodeURL(state) }

// ProofFor reports whether proof is a 2FA proof for userID, made by a sign-in
// less than ProofTTL ago.
func (s *AuthService) ProofFor(proof, userID string) bool {
	sub, ok := s.verify("2fa", proof)
	return ok && sub == userID
}

// --------------------------------------------------------------------- sign-in

// SignIn is the outcome of a first factor: the user and either an access
// token (2FA off) or a proof that the first factor passed (2FA on).
type SignIn struct {
	User  models.User
	Token string // set when 2FA is off
	Proof string // set when 2FA is on: present it with a code to Authenticate
}

// profile is the part of 42's /v2/me the sign-in reads.
type profile struct {
	ID    json.Number `json:"id"`
	Login string      `json:"login"`
	Email string      `json:"email"`
	Image struct {
		Link string `json:"link"`
	} `json:"image"`
}

// SignInWithCode exchanges an OAuth code, reads the profile and signs its
// user in, creating the account on the first visit. Every provider call is
// bounded by the provider timeout.
func (s *AuthService) SignInWithCode(ctx context.Context, code string) (SignIn, error) {
	if code == "" {
		return SignIn{}, Public(ErrUnauthorized, "the sign-in was not granted")
	}
	pctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	p, err := s.fetchProfile(context.WithValue(pctx, oauth2.HTTPClient, s.client), code)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(pctx.Err(), context.DeadlineExceeded) {
			return SignIn{}, fmt.Errorf("%w: %v", ErrProviderTimeout, err)
		}
		return SignIn{}, err
	}
	u, err := s.findOrCreate(ctx, p.ID.String(), p.Login, p.Email, p.Image.Link)
	if err != nil {
		return SignIn{}, err
	}
	return s.finish(u)
}

func (s *AuthService) fetchProfile(ctx context.Context, code string) (profile, error) {
	var p profile
	tok, err := s.oauth.Exchange(ctx, code)
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode >= 400 && re.Response.StatusCode < 500 {
			// A bad, used or expired code: the user's side, not the provider's.
			return p, Public(ErrUnauthorized, "the sign-in code was refused by the provider")
		}
		return p, fmt.Errorf("%w: token exchange: %w", ErrProvider, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.profile, nil)
	if err != nil {
		return p, fmt.Errorf("%w: profile request: %w", ErrProvider, err)
	}
	tok.SetAuthHeader(req)
	res, err := s.client.Do(req)
	if err != nil {
		return p, fmt.Errorf("%w: profile: %w", ErrProvider, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return p, fmt.Errorf("%w: profile: status %d", ErrProvider, res.StatusCode)
	}
	dec := json.NewDecoder(io.LimitReader(res.Body, maxProfileBytes))
	dec.UseNumber()
	if err := dec.Decode(&p); err != nil {
		return p, fmt.Errorf("%w: profile: %w", ErrProvider, err)
	}
	if p.ID.String() == "" || p.Login == "" || p.Email == "" {
		return p, fmt.Errorf("%w: profile lacks id, login or email", ErrProvider)
	}
	return p, nil
}

// DevSignIn signs in (creating if needed) the development user name. The
// caller decides whether development sign-in is allowed.
func (s *AuthService) DevSignIn(ctx context.Context, name string) (SignIn, error) {
	if !ValidUserName(name) {
		return SignIn{}, Invalid("name must be 1-32 letters, digits, '_', '-' or '.'")
	}
	u, err := s.findOrCreate(ctx, "dev-"+strings.ToLower(name), name, strings.ToLower(name)+"@dev.invalid", "")
	if err != nil {
		return SignIn{}, err
	}
	return s.finish(u)
}

// finish ends a first factor: a token, or a 2FA proof when 2FA is on.
func (s *AuthService) finish(u models.User) (SignIn, error) {
	if u.IsTwoFactorEnabled {
		return SignIn{User: u, Proof: s.sign("2fa", u.ID, ProofTTL)}, nil
	}
	tok, err := s.tokens.Sign(u.ID, u.Email, s.ttl)
	if err != nil {
		return SignIn{}, err
	}
	return SignIn{User: u, Token: tok}, nil
}

// findOrCreate returns the user with intraID, or creates it with name
// login (or login plus a suffix if that name is taken), email, avatar and a
// new TOTP secret.
func (s *AuthService) findOrCreate(ctx context.Context, intraID, login, email, avatar string) (models.User, error) {
	var u models.User
	db := s.db.WithContext(ctx)
	err := db.Where("intra_id = ?", intraID).Take(&u).Error
	if err == nil {
		return u, nil
	}
	if !errors.Is(err, gorm.ErrRecordNotFound) {
		return u, fmt.Errorf("find user by intraId: %w", err)
	}
	secret, err := newTOTPSecret(email)
	if err != nil {
		return u, err
	}
	name := login
	if len(name) > 32 {
		name = name[:32]
	}
	for attempt := 0; attempt < 3; attempt++ {
		u = models.User{Name: &name, Email: email, IntraID: intraID, Status: models.StatusOffline, IsAuth: true, TwoFactorAuthSecret: &secret}
		if avatar != "" {
			u.Avatar = &avatar
		}
		err = db.Create(&u).Error
		if !errors.Is(err, gorm.ErrDuplicatedKey) {
			break
		}
		// Someone else signed in concurrently, or the name or email is taken.
		if e := db.Where("intra_id = ?", intraID).Take(&u).Error; e == nil {
			return u, nil
		}
		var n int64
		if e := db.Model(&models.User{}).Where("email = ?", email).Count(&n).Error; e == nil && n > 0 {
			return models.User{}, Public(ErrConflict, "another account already uses this email")
		}
		suffix := make([]byte, 3)
		rand.Read(suffix)
		name = fmt.Sprintf("%.25s_%x", login, suffix)
	}
	if err != nil {
		return models.User{}, fmt.Errorf("create user at sign-in: %w", err)
	}
	return u, nil
}

// ------------------------------------------------------------------- two-factor

// totpOpts are the original's otplib settings: SHA1, 6 digits, 30 s.
var totpOpts = totpValidateOpts()

// QRCode returns the user's TOTP key as a PNG data URL, creating the
// secret if the user has none. Once 2FA is on, the secret is never shown
// again (ErrConflict).
func (s *AuthService) QRCode(ctx context.Context, userID string) (string, error) {
	u, err := s.user(ctx, userID)
	if err != nil {
		return "", err
	}
	if u.IsTwoFactorEnabled {
		return "", Public(ErrConflict, "two-factor authentication is already on")
	}
	secret := ""
	if u.TwoFactorAuthSecret != nil {
		secret = *u.TwoFactorAuthSecret
	}
	if secret == "" {
		if secret, err = newTOTPSecret(u.Email); err != nil {
			return "", err
		}
		if err := s.db.WithContext(ctx).Model(&models.User{}).Where("id = ?", u.ID).
			Update("two_factor_auth_secret", secret).Error; err != nil {
			return "", fmt.Errorf("store TOTP secret: %w", err)
		}
	}
	key, err := totpKey(u.Email, secret)
	if err != nil {
		return "", err
	}
	img, err := key.Image(200, 200)
	if err != nil {
		return "", fmt.Errorf("QR code: %w", err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return "", fmt.Errorf("QR code: %w", err)
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes()), nil
}

// TurnOn enables 2FA for the user after checking code.
func (s *AuthService) TurnOn(ctx context.Context, userID, code string) error {
	u, err := s.user(ctx, userID)
	if err != nil {
		return err
	}
	if err := s.checkCode(u, code); err != nil {
		return err
	}
	return s.db.WithContext(ctx).Model(&models.User{}).Where("id = ?", u.ID).
		Update("is_two_factor_enabled", true).Error
}

// Authenticate checks code for a user whose 2FA is on and returns an access
// token. The caller checks whatever proves the first factor.
func (s *AuthService) Authenticate(ctx context.Context, userID, code string) (string, error) {
	u, err := s.user(ctx, userID)
	if err != nil {
		return "", err
	}
	if !u.IsTwoFactorEnabled {
		// Without this, a QR code read while 2FA is off would be a token.
		return "", Public(ErrUnauthorized, "two-factor authentication is not on for this user")
	}
	if err := s.checkCode(u, code); err != nil {
		return "", err
	}
	return s.tokens.Sign(u.ID, u.Email, s.ttl)
}

// user loads the user with id, or ErrNotFound.
func (s *AuthService) user(ctx context.Context, userID string) (models.User, error) {
	var u models.User
	if !ValidID(userID) {
		return u, Public(ErrNotFound, "user not found")
	}
	err := s.db.WithContext(ctx).Where("id = ?", userID).Take(&u).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return u, Public(ErrNotFound, "user not found")
	}
	if err != nil {
		return u, fmt.Errorf("user: %w", err)
	}
	return u, nil
}

// checkCode accepts code for u once: it must match the current time step
// (or one step either side, for clock drift) and be newer than the last
// code accepted. After too many failures the user is refused with
// ErrRateLimited until the window passes, whatever the code.
func (s *AuthService) checkCode(u models.User, code string) error {
	now := s.now()
	if !s.failures.Allow(u.ID, now) {
		return Public(ErrRateLimited, "Too many wrong codes: try again later")
	}
	if u.TwoFactorAuthSecret == nil || *u.TwoFactorAuthSecret == "" || len(code) != 6 {
		s.failures.Fail(u.ID, now)
		return errWrongCode
	}
	step, ok := matchStep(*u.TwoFactorAuthSecret, code, now)
	if !ok || !s.steps.Use(u.ID, step) {
		s.failures.Fail(u.ID, now)
		return errWrongCode
	}
	return nil
}
