package main

import (
	"github.com/onlinenow/onlinenow/controllers"
	"github.com/onlinenow/onlinenow/gateways"
	"github.com/onlinenow/onlinenow/services"
)

// wireNotifications wires the durable inbox (issue 7, part 1): recording
// from every gateway, the "notification"/"unreadCount"/"sync" events of
// /appGateway, the /notifications routes and the retention loop. It runs
// before the other modules so their gateways record through c.inbox.
func wireNotifications(c *core) error {
	inbox := services.NewNotifications(c.db, c.log, services.NotificationsConfig{
		Retention: c.cfg.NotificationRetention, InboxCap: c.cfg.NotificationInboxCap,
	})
	c.inbox = inbox
	c.app.SetInbox(inbox)
	c.inboxGateway = gateways.RegisterNotifications(c.sio, gateways.Deps{
		Config: c.cfg, Users: c.users, Social: c.social, Chat: c.chat, Presence: c.presence, Tokens: c.tokens, Log: c.log,
		Inbox: inbox,
	}, inbox)
	controllers.RegisterNotifications(c.router, controllers.Deps{Config: c.cfg, Users: c.users, Tokens: c.tokens, Log: c.log}, inbox)
	c.background = append(c.background, inbox.Run)
	return nil
}
