package main

import (
	"context"
	"fmt"

	"github.com/onlinenow/onlinenow/controllers"
	"github.com/onlinenow/onlinenow/services"
	pushweb "github.com/onlinenow/onlinenow/web/push"
)

// wirePush wires Web Push (issue 7): the VAPID keys (configured, or
// generated once and stored), the push service and its workers, the
// dispatcher that pushes a recorded notification to a user who is not
// watching, and the /push routes with the browser side. It runs after
// wireNotifications.
func wirePush(c *core) error {
	pub, priv := c.cfg.Push.VAPIDPublicKey, c.cfg.Push.VAPIDPrivateKey
	if pub == "" {
		var err error
		if pub, priv, err = services.StoredVAPIDKeys(context.Background(), c.db); err != nil {
			return err
		}
	}
	push, err := services.NewPushService(c.db, c.log, services.PushConfig{
		VAPIDPublicKey: pub, VAPIDPrivateKey: priv, Subscriber: c.cfg.Push.Subject,
	})
	if err != nil {
		return fmt.Errorf("web push: %w", err)
	}
	dispatcher := services.NewPushDispatcher(push, c.inbox, c.inboxGateway, services.PushDispatcherConfig{
		FrontendURL: c.cfg.Push.FrontendURL, InvitationTTL: c.cfg.GameInvitationTTL,
	}, c.log)
	c.inbox.SetListener(dispatcher)
	if err := controllers.RegisterPush(c.router, controllers.Deps{Config: c.cfg, Users: c.users, Tokens: c.tokens, Log: c.log}, push, pushweb.FS()); err != nil {
		return fmt.Errorf("web push routes: %w", err)
	}
	c.background = append(c.background, push.Run)
	return nil
}
