package main

import (
	"github.com/onlinenow/onlinenow/controllers"
	"github.com/onlinenow/onlinenow/gateways"
	"github.com/onlinenow/onlinenow/services"
)

// wireChannels wires the /channel routes and the /channelGateway namespace
// (issue 5), and the loop that expires timed bans and mutes.
func wireChannels(c *core) error {
	ch := services.NewChannelService(c.db, c.log)
	controllers.RegisterChannelRoutes(c.router, controllers.Deps{Config: c.cfg, Log: c.log}, ch)
	gw := gateways.RegisterChannels(c.sio, gateways.Deps{
		Config: c.cfg, Users: c.users, Social: c.social, Chat: c.chat, Presence: c.presence, Tokens: c.tokens, Log: c.log,
		Inbox: c.inbox,
	}, ch)
	ch.SetNotifier(gw)
	c.background = append(c.background, ch.Run)
	return nil
}
