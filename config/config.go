// Package config reads the server's typed configuration once, from the
// environment and an optional .env file, and validates it.
package config

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// AuthMode says where a socket's identity comes from.
type AuthMode string

const (
	// AuthStrict takes the user from a verified JWT only.
	AuthStrict AuthMode = "strict"
	// AuthCompat trusts handshake auth.userId as the original backend did.
	AuthCompat AuthMode = "compat"
)

// Config is the whole configuration of the server.
type Config struct {
	Host          string // bind address; "" listens on every interface
	Port          int
	AppURI        string   // scheme + host, no port, no trailing slash
	CORSOrigins   []string // exact origins allowed for REST and Socket.IO
	DatabaseURL   string   // postgres URL; empty selects SQLite at SQLitePath
	SQLitePath    string
	DBMaxConns    int // PostgreSQL connection pool size (SQLite uses one)
	JWTSecret     []byte
	JWTGenerated  bool // true when JWTSecret was generated at start
	AuthMode      AuthMode
	PresenceGrace time.Duration
	// PprofAddr, when set (e.g. 127.0.0.1:6060), serves net/http/pprof there.
	PprofAddr string
	// ShutdownTimeout bounds each step of the graceful shutdown.
	ShutdownTimeout time.Duration
	// GameInvitationTTL is how long a game invitation stays PENDING.
	GameInvitationTTL time.Duration
	// GameRejoinGrace is how long a player who left a game may rejoin it.
	GameRejoinGrace time.Duration

	// OAuth is the 42 intra OAuth client (CLIENT_ID, SECRET, REDIRECT_URI
	// and the provider's URLs).
	OAuth OAuth
	// JWTTTL is the lifetime of the access tokens the server issues.
	JWTTTL time.Duration
	// AvatarMaxBytes is the largest avatar upload accepted.
	AvatarMaxBytes int64
	// UploadDir holds the uploaded avatars, served at /<file>.
	UploadDir string
	// NotificationRetention is how long a notification is kept.
	NotificationRetention time.Duration
	// NotificationInboxCap is how many notifications a user keeps at most.
	NotificationInboxCap int

	// Push configures Web Push (VAPID_* and FRONTEND_URL).
	Push Push

	// AuthDevLogin enables GET /auth/dev?name= (sign in as anyone, for
	// local development and tests) and, in strict mode, POST /users.
	AuthDevLogin bool
}

// Push is the Web Push configuration. Without keys the server generates a
// pair once and stores it in the database.
type Push struct {
	VAPIDPublicKey  string // base64url, uncompressed P-256 point ("" = stored or generated)
	VAPIDPrivateKey string // base64url, 32 bytes; never logged
	// Subject is the VAPID "sub": a mailto: address or an https URL.
	Subject string
	// FrontendURL is where a notification click leads (the frontend's
	// origin); defaults to the first CORS origin.
	FrontendURL string
}

// OAuth is the OAuth 2 client configuration of the sign-in.
type OAuth struct {
	ClientID     string
	Secret       string // never logged
	RedirectURI  string
	AuthorizeURL string
	TokenURL     string
	ProfileURL   string
}

// The 42 intra endpoints, the defaults of the OAUTH_*_URL variables.
const (
	Intra42AuthorizeURL = "https://api.intra.42.fr/oauth/authorize"
	Intra42TokenURL     = "https://api.intra.42.fr/oauth/token"
	Intra42ProfileURL   = "https://api.intra.42.fr/v2/me"
)

// Getenv is the shape of os.Getenv, injected so tests need no process env.
type Getenv func(string) string

// Load reads the configuration from getenv, with values from dotenv (the
// content of a .env file, may be nil) used for variables getenv lacks.
func Load(getenv Getenv, dotenv io.Reader) (Config, error) {
	fileVars := map[string]string{}
	if dotenv != nil {
		var err error
		if fileVars, err = parseDotEnv(dotenv); err != nil {
			return Config{}, fmt.Errorf(".env: %w", err)
		}
	}
	get := func(k string) string {
		if v := getenv(k); v != "" {
			return v
		}
		return fileVars[k]
	}

	var cfg Config
	var errs []error

	cfg.Port = 3000
	if v := get("PORT"); v != "" {
		p, err := strconv.Atoi(v)
		if err != nil || p < 1 || p > 65535 {
			errs = append(errs, fmt.Errorf("PORT: %q is not a port number (1-65535)", v))
		}
		cfg.Port = p
	}

	cfg.Host = get("HOST")
	cfg.PprofAddr = get("PPROF_ADDR")
	if cfg.PprofAddr != "" {
		if _, port, err := net.SplitHostPort(cfg.PprofAddr); err != nil || port == "" {
			errs = append(errs, fmt.Errorf("PPROF_ADDR: %q must be host:port, like 127.0.0.1:6060", cfg.PprofAddr))
		}
	}

	cfg.AppURI = strings.TrimRight(orDefault(get("APP_URI"), "http://localhost"), "/")
	if u, err := url.Parse(cfg.AppURI); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" {
		errs = append(errs, fmt.Errorf("APP_URI: %q must be scheme and host, like http://localhost", cfg.AppURI))
	}

	origins := orDefault(get("CORS_ORIGINS"), cfg.AppURI+":5173")
	for _, o := range strings.Split(origins, ",") {
		o = strings.TrimRight(strings.TrimSpace(o), "/")
		if o == "" {
			continue
		}
		if u, err := url.Parse(o); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" {
			errs = append(errs, fmt.Errorf("CORS_ORIGINS: %q is not an origin like http://localhost:5173", o))
			continue
		}
		cfg.CORSOrigins = append(cfg.CORSOrigins, o)
	}
	if len(cfg.CORSOrigins) == 0 {
		errs = append(errs, errors.New("CORS_ORIGINS: no origin given"))
	}

	cfg.DatabaseURL = get("DATABASE_URL")
	if cfg.DatabaseURL != "" && !strings.HasPrefix(cfg.DatabaseURL, "postgres://") && !strings.HasPrefix(cfg.DatabaseURL, "postgresql://") {
		errs = append(errs, errors.New("DATABASE_URL: must be a postgres:// or postgresql:// URL (unset selects SQLite)"))
	}
	cfg.SQLitePath = orDefault(get("SQLITE_PATH"), "./data/onlinenow.db")
	cfg.DBMaxConns = 20
	if v := get("DB_MAX_CONNS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			errs = append(errs, fmt.Errorf("DB_MAX_CONNS: %q must be a number between 1 and 1000", v))
		}
		cfg.DBMaxConns = n
	}

	if s := get("JWT_SECRET"); s != "" {
		if len(s) < 16 {
			errs = append(errs, errors.New("JWT_SECRET: must be at least 16 characters"))
		}
		cfg.JWTSecret = []byte(s)
	} else {
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			errs = append(errs, fmt.Errorf("JWT_SECRET: generate: %w", err))
		}
		cfg.JWTSecret = []byte(hex.EncodeToString(b))
		cfg.JWTGenerated = true
	}

	switch m := AuthMode(orDefault(get("AUTH_MODE"), string(AuthStrict))); m {
	case AuthStrict, AuthCompat:
		cfg.AuthMode = m
	default:
		errs = append(errs, fmt.Errorf("AUTH_MODE: %q must be strict or compat", m))
	}

	cfg.PresenceGrace = 5 * time.Second
	if v := get("PRESENCE_GRACE"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 || d > time.Hour {
			errs = append(errs, fmt.Errorf("PRESENCE_GRACE: %q must be a duration between 0s and 1h, like 5s", v))
		}
		cfg.PresenceGrace = d
	}
	cfg.GameInvitationTTL = 2 * time.Minute
	if v := get("GAME_INVITATION_TTL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second || d > 24*time.Hour {
			errs = append(errs, fmt.Errorf("GAME_INVITATION_TTL: %q must be a duration between 1s and 24h, like 2m", v))
		}
		cfg.GameInvitationTTL = d
	}
	cfg.GameRejoinGrace = 5 * time.Second
	if v := get("GAME_REJOIN_GRACE"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 100*time.Millisecond || d > time.Hour {
			errs = append(errs, fmt.Errorf("GAME_REJOIN_GRACE: %q must be a duration between 100ms and 1h, like 5s", v))
		}
		cfg.GameRejoinGrace = d
	}
	cfg.ShutdownTimeout = 3 * time.Second

	cfg.OAuth = OAuth{
		ClientID:     get("CLIENT_ID"),
		Secret:       get("SECRET"),
		RedirectURI:  orDefault(get("REDIRECT_URI"), fmt.Sprintf("%s:%d/auth/callback", cfg.AppURI, cfg.Port)),
		AuthorizeURL: orDefault(get("OAUTH_AUTHORIZE_URL"), Intra42AuthorizeURL),
		TokenURL:     orDefault(get("OAUTH_TOKEN_URL"), Intra42TokenURL),
		ProfileURL:   orDefault(get("OAUTH_PROFILE_URL"), Intra42ProfileURL),
	}
	for _, v := range []struct{ name, val string }{
		{"REDIRECT_URI", cfg.OAuth.RedirectURI}, {"OAUTH_AUTHORIZE_URL", cfg.OAuth.AuthorizeURL},
		{"OAUTH_TOKEN_URL", cfg.OAuth.TokenURL}, {"OAUTH_PROFILE_URL", cfg.OAuth.ProfileURL},
	} {
		if u, err := url.Parse(v.val); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("%s: %q must be an absolute http(s) URL", v.name, v.val))
		}
	}

	cfg.JWTTTL = 7 * 24 * time.Hour
	if v := get("JWT_TTL"); v != "" {
		d, err := parseDays(v)
		if err != nil || d < time.Minute || d > 365*24*time.Hour {
			errs = append(errs, fmt.Errorf("JWT_TTL: %q must be a duration between 1m and 365d, like 7d or 12h", v))
		}
		cfg.JWTTTL = d
	}

	cfg.AvatarMaxBytes = 2 << 20
	if v := get("AVATAR_MAX_BYTES"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1024 || n > 64<<20 {
			errs = append(errs, fmt.Errorf("AVATAR_MAX_BYTES: %q must be a number of bytes between 1024 and 67108864", v))
		}
		cfg.AvatarMaxBytes = n
	}

	switch v := get("AUTH_DEV_LOGIN"); v {
	case "", "false", "0":
	case "true", "1":
		cfg.AuthDevLogin = true
	default:
		errs = append(errs, fmt.Errorf("AUTH_DEV_LOGIN: %q must be true or false", v))
	}
	cfg.UploadDir = orDefault(get("UPLOAD_DIR"), "./data/uploads")

	cfg.NotificationRetention = 30 * 24 * time.Hour
	if v := get("NOTIFICATION_RETENTION"); v != "" {
		d, err := parseDays(v)
		if err != nil || d < time.Hour || d > 3650*24*time.Hour {
			errs = append(errs, fmt.Errorf("NOTIFICATION_RETENTION: %q must be a duration between 1h and 3650d, like 30d", v))
		}
		cfg.NotificationRetention = d
	}
	cfg.NotificationInboxCap = 1000
	if v := get("NOTIFICATION_INBOX_CAP"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 10 || n > 1_000_000 {
			errs = append(errs, fmt.Errorf("NOTIFICATION_INBOX_CAP: %q must be a number between 10 and 1000000", v))
		}
		cfg.NotificationInboxCap = n
	}

	cfg.Push, errs = loadPush(get, cfg, errs)

	if len(errs) > 0 {
		return Config{}, errors.Join(errs...)
	}
	return cfg, nil
}

// loadPush reads VAPID_PUBLIC_KEY, VAPID_PRIVATE_KEY, VAPID_SUBJECT and
// FRONTEND_URL.
func loadPush(get func(string) string, cfg Config, errs []error) (Push, []error) {
	p := Push{
		VAPIDPublicKey:  get("VAPID_PUBLIC_KEY"),
		VAPIDPrivateKey: get("VAPID_PRIVATE_KEY"),
		Subject:         orDefault(get("VAPID_SUBJECT"), "mailto:admin@localhost"),
		FrontendURL:     strings.TrimRight(get("FRONTEND_URL"), "/"),
	}
	if (p.VAPIDPublicKey == "") != (p.VAPIDPrivateKey == "") {
		errs = append(errs, errors.New("VAPID_PUBLIC_KEY, VAPID_PRIVATE_KEY: set both or neither (neither: a pair is generated once and stored)"))
	}
	if !strings.HasPrefix(p.Subject, "mailto:") && !strings.HasPrefix(p.Subject, "https://") {
		errs = append(errs, fmt.Errorf("VAPID_SUBJECT: %q must be a mailto: address or an https:// URL", p.Subject))
	}
	if p.FrontendURL == "" && len(cfg.CORSOrigins) > 0 {
		p.FrontendURL = cfg.CORSOrigins[0]
	}
	if u, err := url.Parse(p.FrontendURL); p.FrontendURL != "" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "") {
		errs = append(errs, fmt.Errorf("FRONTEND_URL: %q must be an absolute http(s) URL", p.FrontendURL))
	}
	return p, errs
}

// LoadDefault loads from the process environment and ./.env if present.
func LoadDefault() (Config, error) {
	f, err := os.Open(".env")
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			return Config{}, fmt.Errorf(".env: %w", err)
		}
		return Load(os.Getenv, nil)
	}
	defer f.Close()
	return Load(os.Getenv, f)
}

// LogValue lists the settings for a start-up log line; secrets are masked.
func (c Config) LogValue() []any {
	db := "sqlite:" + c.SQLitePath
	if c.DatabaseURL != "" {
		db = "postgres:" + maskURL(c.DatabaseURL)
	}
	return []any{
		"host", c.Host, "port", c.Port, "pprof", c.PprofAddr, "app_uri", c.AppURI, "cors_origins", strings.Join(c.CORSOrigins, ","),
		"database", db, "db_max_conns", c.DBMaxConns, "auth_mode", string(c.AuthMode), "presence_grace", c.PresenceGrace.String(),
		"game_invitation_ttl", c.GameInvitationTTL.String(), "game_rejoin_grace", c.GameRejoinGrace.String(),
		"jwt_secret", "[masked]", "jwt_ttl", c.JWTTTL.String(),
		"oauth_client_id", c.OAuth.ClientID, "oauth_secret", masked(c.OAuth.Secret), "redirect_uri", c.OAuth.RedirectURI,
		"oauth_authorize_url", c.OAuth.AuthorizeURL, "oauth_token_url", c.OAuth.TokenURL, "oauth_profile_url", c.OAuth.ProfileURL,
		"avatar_max_bytes", c.AvatarMaxBytes, "upload_dir", c.UploadDir, "auth_dev_login", c.AuthDevLogin,
		"notification_retention", c.NotificationRetention.String(), "notification_inbox_cap", c.NotificationInboxCap,
		"vapid_public_key", c.Push.VAPIDPublicKey, "vapid_private_key", masked(c.Push.VAPIDPrivateKey),
		"vapid_subject", c.Push.Subject, "frontend_url", c.Push.FrontendURL,
	}
}

func maskURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "[unparseable]"
	}
	if u.User != nil {
		u.User = url.User(u.User.Username())
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "xxx")
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// masked stands for a secret in a log line: whether it is set, never its value.
func masked(s string) string {
	if s == "" {
		return "[unset]"
	}
	return "[masked]"
}

// parseDays parses a Go duration, or a whole number of days like "7d".
func parseDays(v string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(v, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days < 0 {
			return 0, fmt.Errorf("bad number of days %q", n)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	return time.ParseDuration(v)
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// parseDotEnv reads KEY=VALUE lines; # comments, optional "export ",
// and single or double quotes around the value.
func parseDotEnv(r io.Reader) (map[string]string, error) {
	out := map[string]string{}
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		k, v, ok := strings.Cut(line, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("line %d: expected KEY=VALUE", n)
		}
		v = strings.TrimSpace(v)
		if len(v) > 0 && (v[0] == '"' || v[0] == '\'') {
			end := strings.IndexByte(v[1:], v[0])
			if end < 0 {
				return nil, fmt.Errorf("line %d: unterminated quote", n)
			}
			v = v[1 : end+1]
		} else if i := strings.Index(v, " #"); i >= 0 {
			v = strings.TrimSpace(v[:i])
		}
		out[k] = v
	}
	return out, sc.Err()
}
