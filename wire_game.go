package main

import (
	"context"
	"fmt"

	"github.com/onlinenow/onlinenow/controllers"
	"github.com/onlinenow/onlinenow/gateways"
	"github.com/onlinenow/onlinenow/services"
)

// wireGame wires the /game namespace, GET /game/invitations/:id and the
// game service (issue 4), whose games end when the background stops.
func wireGame(c *core) error {
	game := services.NewGameService(c.db, c.social, c.presence, nil, c.log, services.GameConfig{
		InvitationTTL: c.cfg.GameInvitationTTL, RejoinGrace: c.cfg.GameRejoinGrace,
	})
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.ShutdownTimeout)
	defer cancel()
	if n, err := game.CancelStale(ctx); err != nil {
		return fmt.Errorf("game: %w", err)
	} else if n > 0 {
		c.log.Info("game invitations left open by a previous process are canceled", "invitations", n)
	}
	gateways.RegisterGame(c.sio, gateways.Deps{
		Config: c.cfg, Users: c.users, Social: c.social, Chat: c.chat, Presence: c.presence, Tokens: c.tokens, Log: c.log,
		Inbox: c.inbox,
	}, game)
	controllers.RegisterGame(c.router, game, c.log)
	// A block cancels the open invitations between the two at once.
	c.social.SetBlockListener(game)
	c.background = append(c.background, game.Run)
	return nil
}
