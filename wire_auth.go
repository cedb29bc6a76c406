package main

import (
	"github.com/onlinenow/onlinenow/controllers"
	"github.com/onlinenow/onlinenow/services"
)

// wireAuth wires sign-in (42 OAuth, development sign-in), TOTP two-factor
// authentication and avatar uploads (issue 6).
func wireAuth(c *core) error {
	auth := services.NewAuthService(c.db, c.tokens, services.AuthConfig{
		ClientID: c.cfg.OAuth.ClientID, Secret: c.cfg.OAuth.Secret, RedirectURI: c.cfg.OAuth.RedirectURI,
		AuthorizeURL: c.cfg.OAuth.AuthorizeURL, TokenURL: c.cfg.OAuth.TokenURL, ProfileURL: c.cfg.OAuth.ProfileURL,
		TokenTTL: c.cfg.JWTTTL, Key: c.cfg.JWTSecret,
	})
	avatars, err := services.NewAvatarService(c.users, c.cfg.UploadDir, c.cfg.AvatarMaxBytes,
		controllers.AvatarBaseURL(c.cfg.AppURI, c.cfg.Port))
	if err != nil {
		return err
	}
	if c.cfg.AuthDevLogin {
		c.log.Warn("AUTH_DEV_LOGIN=true: GET /auth/dev?name= signs anyone in as any user, and POST /users is open; never use it in production")
	}
	if c.cfg.OAuth.ClientID == "" || c.cfg.OAuth.Secret == "" {
		c.log.Warn("CLIENT_ID or SECRET is not set: signing in with 42 (GET /auth) cannot succeed")
	}
	controllers.RegisterAuth(c.router, controllers.Deps{Config: c.cfg, Users: c.users, Tokens: c.tokens, Log: c.log}, auth, avatars)
	return nil
}
