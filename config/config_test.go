package config

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) Getenv { return func(k string) string { return m[k] } }

func TestLoadDefaults(t *testing.T) {
	cfg, err := Load(env(nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Port != 3000 || cfg.AppURI != "http://localhost" || strings.Join(cfg.CORSOrigins, ",") != "http://localhost:5173" ||
		cfg.DatabaseURL != "" || cfg.SQLitePath != "./data/onlinenow.db" || cfg.AuthMode != AuthStrict ||
		cfg.PresenceGrace != 5*time.Second || !cfg.JWTGenerated || len(cfg.JWTSecret) != 64 {
		t.Fatalf("defaults: %+v", cfg)
	}
	again, _ := Load(env(nil), nil)
	if string(again.JWTSecret) == string(cfg.JWTSecret) {
		t.Fatal("generated secrets repeat")
	}
}

func TestLoadValues(t *testing.T) {
	cfg, err := Load(env(map[string]string{
		"PORT": "4000", "APP_URI": "https://example.test/", "CORS_ORIGINS": "https://a.test, http://b.test:5173",
		"DATABASE_URL": "postgres://u:p@db:5432/x", "JWT_SECRET": "0123456789abcdef0123", "AUTH_MODE": "compat",
		"PRESENCE_GRACE": "250ms", "HOST": "127.0.0.1", "PPROF_ADDR": "127.0.0.1:6060",
	}), nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Port != 4000 || cfg.AppURI != "https://example.test" || strings.Join(cfg.CORSOrigins, ",") != "https://a.test,http://b.test:5173" ||
		cfg.AuthMode != AuthCompat || cfg.PresenceGrace != 250*time.Millisecond || cfg.JWTGenerated ||
		string(cfg.JWTSecret) != "0123456789abcdef0123" || cfg.Host != "127.0.0.1" || cfg.PprofAddr != "127.0.0.1:6060" {
		t.Fatalf("values: %+v", cfg)
	}
	for _, kv := range cfg.LogValue() {
		if s, ok := kv.(string); ok && (strings.Contains(s, ":p@") || strings.Contains(s, "0123456789abcdef0123")) {
			t.Fatalf("a secret reached the log line: %q", s)
		}
	}
}

func TestLoadInvalidNamesTheVariable(t *testing.T) {
	cases := map[string]string{
		"PORT": "abc", "APP_URI": "localhost", "CORS_ORIGINS": "http://x.test/path", "DATABASE_URL": "mysql://x",
		"JWT_SECRET": "short", "AUTH_MODE": "loose", "PRESENCE_GRACE": "-1s", "PPROF_ADDR": "6060",
		"REDIRECT_URI": "/auth/callback", "OAUTH_AUTHORIZE_URL": "ftp://x", "OAUTH_TOKEN_URL": "nohost",
		"OAUTH_PROFILE_URL": "http://", "JWT_TTL": "forever", "AVATAR_MAX_BYTES": "2MB", "AUTH_DEV_LOGIN": "yes",
	}
	for k, v := range cases {
		t.Run(k, func(t *testing.T) {
			_, err := Load(env(map[string]string{k: v}), nil)
			if err == nil || !strings.HasPrefix(err.Error(), k+":") {
				t.Fatalf("err = %v, want one naming %s", err, k)
			}
		})
	}
}

func TestDotEnv(t *testing.T) {
	file := strings.NewReader("# comment\nexport PORT=4100\nAUTH_MODE='compat'\nAPP_URI=\"http://host.test\" # trailing\n\nPRESENCE_GRACE=2s # note\n")
	cfg, err := Load(env(map[string]string{"AUTH_MODE": "strict"}), file)
	if err != nil {
		t.Fatal(err)
	}
	// The environment wins over the file.
	if cfg.Port != 4100 || cfg.AuthMode != AuthStrict || cfg.AppURI != "http://host.test" || cfg.PresenceGrace != 2*time.Second {
		t.Fatalf("%+v", cfg)
	}
	if _, err := Load(env(nil), strings.NewReader("NOEQUALS\n")); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Fatalf("err = %v", err)
	}
}

func TestLoadGameDurations(t *testing.T) {
	cfg, err := Load(env(nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.GameInvitationTTL != 2*time.Minute || cfg.GameRejoinGrace != 5*time.Second {
		t.Fatalf("defaults: ttl %v grace %v", cfg.GameInvitationTTL, cfg.GameRejoinGrace)
	}
	cfg, err = Load(env(map[string]string{"GAME_INVITATION_TTL": "90s", "GAME_REJOIN_GRACE": "1500ms"}), nil)
	if err != nil || cfg.GameInvitationTTL != 90*time.Second || cfg.GameRejoinGrace != 1500*time.Millisecond {
		t.Fatalf("values: ttl %v grace %v err %v", cfg.GameInvitationTTL, cfg.GameRejoinGrace, err)
	}
	cfg, err = Load(env(nil), strings.NewReader("GAME_INVITATION_TTL=3m\nGAME_REJOIN_GRACE=2s\n"))
	if err != nil || cfg.GameInvitationTTL != 3*time.Minute || cfg.GameRejoinGrace != 2*time.Second {
		t.Fatalf(".env: ttl %v grace %v err %v", cfg.GameInvitationTTL, cfg.GameRejoinGrace, err)
	}
	for _, c := range []struct{ k, v string }{
		{"GAME_INVITATION_TTL", "soon"}, {"GAME_INVITATION_TTL", "0s"}, {"GAME_INVITATION_TTL", "-2m"},
		{"GAME_INVITATION_TTL", "500ms"}, {"GAME_INVITATION_TTL", "25h"}, {"GAME_INVITATION_TTL", "120"},
		{"GAME_REJOIN_GRACE", "later"}, {"GAME_REJOIN_GRACE", "0s"}, {"GAME_REJOIN_GRACE", "-5s"},
		{"GAME_REJOIN_GRACE", "50ms"}, {"GAME_REJOIN_GRACE", "2h"}, {"GAME_REJOIN_GRACE", "5"},
	} {
		t.Run(c.k+"="+c.v, func(t *testing.T) {
			_, err := Load(env(map[string]string{c.k: c.v}), nil)
			if err == nil || !strings.HasPrefix(err.Error(), c.k+":") {
				t.Fatalf("err = %v, want one naming %s", err, c.k)
			}
		})
	}
}

func TestLoadAuthSettings(t *testing.T) {
	cfg, err := Load(env(map[string]string{"PORT": "3100"}), nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.JWTTTL != 7*24*time.Hour || cfg.AvatarMaxBytes != 2<<20 || cfg.AuthDevLogin || cfg.UploadDir != "./data/uploads" ||
		cfg.OAuth.RedirectURI != "http://localhost:3100/auth/callback" || cfg.OAuth.AuthorizeURL != Intra42AuthorizeURL ||
		cfg.OAuth.TokenURL != Intra42TokenURL || cfg.OAuth.ProfileURL != Intra42ProfileURL {
		t.Fatalf("auth defaults: %+v", cfg)
	}
	cfg, err = Load(env(map[string]string{
		"CLIENT_ID": "uid-1", "SECRET": "s3cr3t-value", "REDIRECT_URI": "https://x.test/auth/callback",
		"OAUTH_AUTHORIZE_URL": "http://127.0.0.1:9/a", "OAUTH_TOKEN_URL": "http://127.0.0.1:9/t", "OAUTH_PROFILE_URL": "http://127.0.0.1:9/me",
		"JWT_TTL": "12h", "AVATAR_MAX_BYTES": "4096", "AUTH_DEV_LOGIN": "true", "UPLOAD_DIR": "/tmp/up",
	}), nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.OAuth.ClientID != "uid-1" || cfg.OAuth.Secret != "s3cr3t-value" || cfg.OAuth.RedirectURI != "https://x.test/auth/callback" ||
		cfg.OAuth.TokenURL != "http://127.0.0.1:9/t" || cfg.JWTTTL != 12*time.Hour || cfg.AvatarMaxBytes != 4096 ||
		!cfg.AuthDevLogin || cfg.UploadDir != "/tmp/up" {
		t.Fatalf("auth values: %+v", cfg)
	}
	if d, _ := parseDays("30d"); d != 30*24*time.Hour {
		t.Fatalf("30d = %v", d)
	}
	for _, kv := range cfg.LogValue() {
		if s, ok := kv.(string); ok && strings.Contains(s, "s3cr3t") {
			t.Fatalf("the OAuth secret reached the log line: %q", s)
		}
	}
}

func TestLoadNotificationSettings(t *testing.T) {
	cfg, err := Load(env(nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.NotificationRetention != 30*24*time.Hour || cfg.NotificationInboxCap != 1000 {
		t.Fatalf("defaults: retention %v cap %d", cfg.NotificationRetention, cfg.NotificationInboxCap)
	}
	cfg, err = Load(env(map[string]string{"NOTIFICATION_RETENTION": "7d", "NOTIFICATION_INBOX_CAP": "50"}), nil)
	if err != nil || cfg.NotificationRetention != 7*24*time.Hour || cfg.NotificationInboxCap != 50 {
		t.Fatalf("values: retention %v cap %d err %v", cfg.NotificationRetention, cfg.NotificationInboxCap, err)
	}
	cfg, err = Load(env(nil), strings.NewReader("NOTIFICATION_RETENTION=36h\nNOTIFICATION_INBOX_CAP=10\n"))
	if err != nil || cfg.NotificationRetention != 36*time.Hour || cfg.NotificationInboxCap != 10 {
		t.Fatalf(".env: retention %v cap %d err %v", cfg.NotificationRetention, cfg.NotificationInboxCap, err)
	}
	for _, c := range []struct{ k, v string }{
		{"NOTIFICATION_RETENTION", "forever"}, {"NOTIFICATION_RETENTION", "30m"}, {"NOTIFICATION_RETENTION", "-1d"},
		{"NOTIFICATION_RETENTION", "4000d"}, {"NOTIFICATION_INBOX_CAP", "9"}, {"NOTIFICATION_INBOX_CAP", "lots"},
		{"NOTIFICATION_INBOX_CAP", "2000000"}, {"NOTIFICATION_INBOX_CAP", "-5"},
	} {
		t.Run(c.k+"="+c.v, func(t *testing.T) {
			_, err := Load(env(map[string]string{c.k: c.v}), nil)
			if err == nil || !strings.HasPrefix(err.Error(), c.k+":") {
				t.Fatalf("err = %v, want one naming %s", err, c.k)
			}
		})
	}
}

func TestLoadPushSettings(t *testing.T) {
	cfg, err := Load(env(map[string]string{"CORS_ORIGINS": "https://pong.example,http://localhost:5173"}), nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Push != (Push{Subject: "mailto:admin@localhost", FrontendURL: "https://pong.example"}) {
		t.Fatalf("defaults: %+v", cfg.Push)
	}
	cfg, err = Load(env(map[string]string{
		"VAPID_PUBLIC_KEY": "pub", "VAPID_PRIVATE_KEY": "secret-key", "VAPID_SUBJECT": "https://pong.example/contact",
		"FRONTEND_URL": "https://app.pong.example/",
	}), nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Push != (Push{VAPIDPublicKey: "pub", VAPIDPrivateKey: "secret-key", Subject: "https://pong.example/contact", FrontendURL: "https://app.pong.example"}) {
		t.Fatalf("values: %+v", cfg.Push)
	}
	if strings.Contains(fmt.Sprint(cfg.LogValue()...), "secret-key") {
		t.Fatal("the VAPID private key reached the log line")
	}
	for _, c := range []struct{ k, v, name string }{
		{"VAPID_PUBLIC_KEY", "pub", "VAPID_PRIVATE_KEY"},
		{"VAPID_PRIVATE_KEY", "priv", "VAPID_PUBLIC_KEY"},
		{"VAPID_SUBJECT", "admin@example.test", "VAPID_SUBJECT"},
		{"FRONTEND_URL", "pong.example", "FRONTEND_URL"},
	} {
		if _, err := Load(env(map[string]string{c.k: c.v}), nil); err == nil || !strings.Contains(err.Error(), c.name) {
			t.Errorf("%s=%q: err %v, want one naming %s", c.k, c.v, err, c.name)
		}
	}
}

func TestLoadDBMaxConns(t *testing.T) {
	cfg, err := Load(env(nil), nil)
	if err != nil || cfg.DBMaxConns != 20 {
		t.Fatalf("default %d %v", cfg.DBMaxConns, err)
	}
	cfg, err = Load(env(map[string]string{"DB_MAX_CONNS": "50"}), nil)
	if err != nil || cfg.DBMaxConns != 50 {
		t.Fatalf("value %d %v", cfg.DBMaxConns, err)
	}
	for _, v := range []string{"0", "-1", "many", "1001"} {
		if _, err := Load(env(map[string]string{"DB_MAX_CONNS": v}), nil); err == nil || !strings.Contains(err.Error(), "DB_MAX_CONNS") {
			t.Errorf("DB_MAX_CONNS=%q: %v", v, err)
		}
	}
}
