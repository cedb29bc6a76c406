package gateways

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/zishang520/socket.io/servers/socket/v3"
	"gorm.io/gorm"

	"github.com/onlinenow/onlinenow/database/dbtest"
	"github.com/onlinenow/onlinenow/internal/siotest"
	"github.com/onlinenow/onlinenow/models"
	"github.com/onlinenow/onlinenow/services"
)

// newChannelEnv is newEnv with /channelGateway and its expiry loop.
func newChannelEnv(t *testing.T, db *gorm.DB) (*env, *services.ChannelService) {
	t.Helper()
	ch := services.NewChannelService(db, slog.New(slog.NewTextHandler(io.Discard, nil)))
	e := newEnvWith(t, db, envOptions{attach: func(sio *socket.Server, d Deps) ([]func(context.Context) error, func()) {
		ch.SetNotifier(RegisterChannels(sio, d, ch))
		return []func(context.Context) error{ch.Run}, nil
	}})
	return e, ch
}

func expectArg(t *testing.T, c *siotest.Client, name, want string) {
	t.Helper()
	if got := expect(t, c, name); got != want {
		t.Fatalf("%s payload %s, want %s", name, got, want)
	}
}

func TestChannelGatewayFlow(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		e, ch := newChannelEnv(t, db)
		o, m, x := e.user("owner"), e.user("member"), e.user("outsider")
		oc, mc, xc := e.dial(ChannelNamespace, &o), e.dial(ChannelNamespace, &m), e.dial(ChannelNamespace, &x)
		drain(oc, mc, xc)

		oc.Emit("createChannel", map[string]any{"channelName": "room1", "channelType": "PUBLIC", "channelPassword": "", "channelOwnerId": o.ID})
		expectArg(t, oc, "onMessage", `"owner has created channel: room1"`)
		expect(t, oc, "refrechCreateChannel")
		expectNone(t, mc, xc)
		var c models.Channel
		if err := db.Where("channel_name = ?", "room1").Take(&c).Error; err != nil {
			t.Fatal(err)
		}

		// Impersonation: the actor is the socket, not the payload.
		xc.Emit("joinChannel", map[string]any{"userId": m.ID, "channelId": c.ID, "channelPasword": ""})
		expectArg(t, xc, "error", `"userId must be your own id"`)
		mc.Emit("joinChannel", map[string]any{"userId": m.ID, "channelId": c.ID, "channelPasword": ""})
		expectArg(t, oc, "onMessage", `"member has joined channel: room1"`)
		expectArg(t, mc, "onMessage", `"member has joined channel: room1"`)
		expect(t, mc, "joinedSuccessfully")
		expect(t, oc, "refrechMember")
		expect(t, mc, "refrechMember")
		expectNone(t, oc, mc, xc)

		// Only members receive messages; a non-member cannot post.
		mc.Emit("messageChannel", map[string]any{"content": "hi", "userId": m.ID, "channelId": c.ID})
		want := `{"content":"hi","userId":"` + m.ID + `","channelId":"` + c.ID + `"}`
		expectArg(t, oc, "onMessage", want)
		expectArg(t, mc, "onMessage", want)
		xc.Emit("messageChannel", map[string]any{"content": "spam", "userId": x.ID, "channelId": c.ID})
		expectArg(t, xc, "error", `"You are not a member of this channel"`)
		expectNone(t, oc, mc, xc)

		// A member cannot moderate the owner; the owner mutes the member briefly.
		mc.Emit("kickMember", map[string]any{"channelId": c.ID, "userId": o.ID})
		expectArg(t, mc, "error", `"Only the channel owner and its admins can do this"`)
		until := time.Now().Add(700 * time.Millisecond).UTC().Format("2006-01-02T15:04:05.000Z")
		oc.Emit("muteMember", map[string]any{"channelId": c.ID, "userId": m.ID, "mutedTime": until})
		expect(t, oc, "onMessage")
		expect(t, mc, "onMessage")
		expect(t, oc, "refrechMember")
		expect(t, mc, "refrechMember")
		mc.Emit("messageChannel", map[string]any{"content": "muted?", "userId": m.ID, "channelId": c.ID})
		expectArg(t, mc, "error", `"You are muted in this channel"`)
		// The mute ends by itself and the room hears refrechMember.
		expect(t, oc, "refrechMember")
		expect(t, mc, "refrechMember")
		if m2, _ := ch.Member(context.Background(), c.ID, m.ID); m2.Role != models.RoleMember {
			t.Fatalf("role after expiry %s", m2.Role)
		}

		// Kick: the target's sockets are redirected and leave the room.
		oc.Emit("kickMember", map[string]any{"channelId": c.ID, "userId": m.ID})
		expectArg(t, oc, "onMessage", `"member has been kicked from room1"`)
		expect(t, oc, "refrechMember")
		expect(t, oc, "memberKickedSuccessfully")
		expect(t, mc, "refrechMember")
		expect(t, mc, "redirectAfterGetKicked")
		oc.Emit("messageChannel", map[string]any{"content": "after", "userId": o.ID, "channelId": c.ID})
		expect(t, oc, "onMessage")
		expectNone(t, mc, xc)
		mc.Emit("joinChannel", map[string]any{"userId": m.ID, "channelId": c.ID, "channelPasword": ""})
		expectArg(t, mc, "error", `"You are kicked from this Channel"`)

		// Bad input: error to the sender only.
		oc.Emit("banMember", map[string]any{"channelId": c.ID, "userId": x.ID, "bannedTime": "tomorrow"})
		expectArg(t, oc, "error", `"bannedTime must be an ISO 8601 date"`)
		oc.Emit("editChannelName", "not an object")
		expectArg(t, oc, "error", `"payload must be an object"`)
		expectNone(t, oc, mc, xc)

		oc.Emit("editChannelName", map[string]any{"channelId": c.ID, "userId": o.ID, "updatedChannelName": "room2"})
		expectArg(t, oc, "onMessage", `"owner update the channel name to: room2"`)
		expectArg(t, oc, "newChannelName", `"room2"`)
		oc.Emit("removeChannel", map[string]any{"channelId": c.ID, "userId": o.ID})
		expect(t, oc, "channelDeletedSuccessfully")
		expectNone(t, oc, mc, xc)
		var n int64
		db.Model(&models.ChannelMember{}).Count(&n)
		if n != 0 {
			t.Fatalf("%d members left", n)
		}
	})
}
