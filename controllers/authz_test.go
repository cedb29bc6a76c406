package controllers_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/onlinenow/onlinenow/database/dbtest"
	"github.com/onlinenow/onlinenow/models"
	"github.com/onlinenow/onlinenow/services"
)

// snapshot is every row the attacks could change, as text.
func snapshot(t *testing.T, db *gorm.DB) string {
	t.Helper()
	var b strings.Builder
	dump := func(name string, dst any, order string) {
		if err := db.Order(order).Find(dst).Error; err != nil {
			t.Fatalf("snapshot %s: %v", name, err)
		}
		fmt.Fprintf(&b, "%s: %+v\n", name, dst)
	}
	var users []models.User
	dump("users", &users, "id")
	// LastSeenAt and UpdatedAt may move with presence; the rest may not.
	for i := range users {
		users[i].UpdatedAt, users[i].LastSeenAt = time.Time{}, nil
	}
	b.Reset()
	for _, u := range users {
		fmt.Fprintf(&b, "user %s name=%v avatar=%v status=%s 2fa=%v secret=%v\n", u.ID, deref(u.Name), deref(u.Avatar),
			u.Status, u.IsTwoFactorEnabled, deref(u.TwoFactorAuthSecret))
	}
	dump("friends", &[]models.Friend{}, "id")
	dump("blocks", &[]models.BlockedUser{}, "id")
	dump("messages", &[]models.DirectMessage{}, "id")
	dump("channels", &[]models.Channel{}, "id")
	dump("members", &[]models.ChannelMember{}, "id")
	dump("kicks", &[]models.KickedMember{}, "id")
	dump("channel messages", &[]models.ChannelMessage{}, "id")
	dump("stats", &[]models.UserStat{}, "id")
	dump("achievements", &[]models.Achievement{}, "id")
	dump("invitations", &[]models.GamesInvitation{}, "id")
	return b.String()
}

func deref(p *string) string {
	if p == nil {
		return "<nil>"
	}
	return *p
}

// TestStrictRefusesImpersonation is the table of attacks of defects 1-3 and
// 5 over REST: each is refused in AUTH_MODE=strict, and nothing is written.
func TestStrictRefusesImpersonation(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		p := newFakeProvider(t)
		a := newAuthServer(t, db, p.URL, nil)
		ctx := context.Background()
		alice, bob, mallory := a.user("alice"), a.user("bob"), a.user("mallory")
		social := services.NewSocialService(db)
		chat := services.NewChatService(db, social)

		// The victims' world: a request bob -> alice, alice and bob talk, a
		// block alice -> mallory, a PUBLIC channel of alice with bob, a
		// PRIVATE one, alice's 2FA on, a game invitation alice -> bob.
		if _, err := social.CreateFriend(ctx, bob, alice); err != nil {
			t.Fatal(err)
		}
		if _, _, err := chat.Send(ctx, services.SendInput{Content: "secret plans", SenderID: alice, RecieverID: bob}); err != nil {
			t.Fatal(err)
		}
		if _, err := social.Block(ctx, alice, mallory); err != nil {
			t.Fatal(err)
		}
		pub, err := a.channel.Create(ctx, alice, services.CreateChannelInput{Name: "pub", Type: models.ChannelPublic})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.channel.Join(ctx, bob, pub.ID, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := a.channel.Post(ctx, bob, pub.ID, "members only"); err != nil {
			t.Fatal(err)
		}
		priv, err := a.channel.Create(ctx, alice, services.CreateChannelInput{Name: "priv", Type: models.ChannelPrivate})
		if err != nil {
			t.Fatal(err)
		}
		if err := services.NewUserService(db).SetTwoFactor(ctx, alice, true); err != nil {
			t.Fatal(err)
		}
		if _, err := a.game.Create(ctx, services.CreateGameInput{CreatorID: bob, InvitedID: alice}); err != nil {
			t.Fatal(err)
		}
		before := snapshot(t, db)

		forged, _ := services.NewTokens([]byte("another-secret-0123456789abcdef")).Sign(alice, "a@x", time.Hour)
		expired, _ := a.tokens.Sign(alice, "a@x", -time.Minute)
		ghost, _ := a.tokens.Sign("00000000-0000-4000-8000-000000000000", "g@x", time.Hour)
		room := services.RoomID(alice, bob)
		json := func(kv ...any) map[string]any {
			m := map[string]any{}
			for i := 0; i+1 < len(kv); i += 2 {
				m[kv[i].(string)] = kv[i+1]
			}
			return m
		}
		type attack struct {
			name, method, path string
			body               any
			as                 string // a user id, or "" for no credentials
			header             []string
			status             int
		}
		attacks := []attack{
			// Acting as someone else (defect 1).
			{"friend request as alice", "POST", "/users/friend", json("friendShipStatus", "PENDING", "userId", alice, "friendId", mallory), mallory, nil, 403},
			{"accept a request addressed to alice", "PUT", "/users/" + bob + "/friend/" + alice, json(), mallory, nil, 403},
			{"the requester accepts its own request", "PUT", "/users/" + bob + "/friend/" + alice, json(), bob, nil, 403},
			{"delete another pair's friendship", "DELETE", "/users/" + alice + "/friend/" + bob, nil, mallory, nil, 403},
			{"block as alice", "POST", "/users/blockedUser", json("userId", alice, "blockedUserId", bob), mallory, nil, 403},
			{"lift alice's block of me", "DELETE", "/users/" + alice + "/unBlockedUser/" + mallory, nil, mallory, nil, 403},
			{"rename alice", "POST", "/users/" + alice + "/update/username", json("userName", "pwned"), mallory, nil, 403},
			{"set alice's status (PATCH)", "PATCH", "/users/" + alice + "/userStatus", json("status", "INAGAME"), mallory, nil, 403},
			{"set alice's status (PUT)", "PUT", "/users/" + alice + "/userStatus", json("status", "INAGAME"), mallory, nil, 403},
			{"turn alice's 2FA off", "PATCH", "/users/" + alice + "/two-factor", json("isTwoFactorEnabled", false), mallory, nil, 403},
			{"delete alice", "DELETE", "/users/" + alice, nil, mallory, nil, 403},
			{"alice's stats", "POST", "/users/userStat", json("winsNumbr", 99, "lossesNumbr", 0, "rate", 1, "userId", alice), mallory, nil, 403},
			{"alice's achievements", "POST", "/users/achievement", json("achievement", []string{"x"}, "userId", alice), mallory, nil, 403},
			{"send a DM as alice", "POST", "/chat", json("content", "hi", "senderId", alice, "recieverId", bob), mallory, nil, 403},
			{"mark bob's messages seen", "PUT", "/chat/" + bob + "/" + alice, json("seen", true), mallory, nil, 403},
			// Reading others' private data (defect 1, 2).
			{"bob's unread inbox", "GET", "/chat/" + bob, nil, mallory, nil, 403},
			{"alice and bob's room", "GET", "/chat?hashedRoomId=" + room, nil, mallory, nil, 403},
			{"bob's unread summary", "GET", "/chat/" + bob + "/unread-summary", nil, mallory, nil, 403},
			{"bob's contacts", "GET", "/users/" + bob + "/receivers", nil, mallory, nil, 403},
			{"alice's pending requests", "GET", "/users/" + alice + "/pending", nil, mallory, nil, 403},
			{"whom alice blocks", "GET", "/users/" + alice + "/blockedUser", nil, mallory, nil, 403},
			{"blocks between alice and bob", "GET", "/users/" + alice + "/block/" + bob, nil, mallory, nil, 403},
			{"alice's game invitations", "GET", "/game/invitations/" + alice, nil, mallory, nil, 403},
			// Two-factor (defect 3).
			{"alice's QR code", "POST", "/auth/2fa/generate?userId=" + alice, nil, mallory, nil, 403},
			{"turn bob's 2FA on", "POST", "/auth/2fa/turn-on?userId=" + bob + "&authCode=123456", nil, mallory, nil, 403},
			{"a token for alice without signing in", "POST", "/auth/2fa/authenticate?userId=" + alice + "&authCode=123456", nil, mallory, nil, 401},
			// Channels: moderating without rights, reading without membership.
			{"create a channel owned by alice", "POST", "/channel", json("channelName", "x", "channelType", "PUBLIC", "channelOwnerId", alice), mallory, nil, 403},
			{"rename alice's channel as a member", "PATCH", "/channel/" + pub.ID, json("channelName", "hijack"), bob, nil, 403},
			{"delete alice's channel as a member", "DELETE", "/channel/" + pub.ID, nil, bob, nil, 403},
			{"add a member as a member", "POST", "/channel/member", json("userId", mallory, "channelId", pub.ID, "role", "ADMIN"), bob, nil, 403},
			{"add oneself to a PRIVATE channel", "POST", "/channel/member", json("userId", mallory, "channelId", priv.ID, "role", "MEMBER"), mallory, nil, 403},
			{"ban the owner", "PATCH", "/channel/" + pub.ID + "/member/" + alice, json("role", "BANNED_MEMBER", "bannedTime", time.Now().Add(time.Hour).Format(time.RFC3339)), bob, nil, 403},
			{"remove a member as an outsider", "DELETE", "/channel/" + pub.ID + "/member/" + bob, nil, mallory, nil, 403},
			{"kick as a member", "POST", "/channel/kickedMember", json("userId", alice, "channelId", pub.ID), bob, nil, 403},
			{"wipe the channel's messages", "DELETE", "/channel/" + pub.ID + "/channelMessages", nil, bob, nil, 403},
			{"post as bob", "POST", "/channel/channelMessage", json("content", "x", "userId", bob, "channelId", pub.ID), mallory, nil, 403},
			{"post without membership", "POST", "/channel/channelMessage", json("content", "x", "userId", mallory, "channelId", pub.ID), mallory, nil, 403},
			{"read a channel without membership", "GET", "/channel/" + pub.ID + "/channelMessage", nil, mallory, nil, 403},
			{"a PRIVATE channel's details", "GET", "/channel/" + priv.ID, nil, mallory, nil, 403},
			// Missing or bad credentials.
			{"no token: act", "POST", "/users/friend", json("friendShipStatus", "PENDING", "userId", alice, "friendId", mallory), "", nil, 401},
			{"no token: read", "GET", "/chat/" + bob, nil, "", nil, 401},
			{"the id cookie alone", "GET", "/chat/" + bob, nil, "", []string{"Cookie", "id=" + bob}, 401},
			{"a token signed with another secret", "GET", "/chat/" + alice, nil, "", []string{"Authorization", "Bearer " + forged}, 401},
			{"an expired token", "GET", "/chat/" + alice, nil, "", []string{"Authorization", "Bearer " + expired}, 401},
			{"an expired token in the cookie", "DELETE", "/users/" + alice, nil, "", []string{"Cookie", "accessToken=" + expired}, 401},
			{"a token of no user", "GET", "/users/00000000-0000-4000-8000-000000000000/pending", nil, "", []string{"Authorization", "Bearer " + ghost}, 401},
			{"a token with alg none", "GET", "/chat/" + alice, nil, "", []string{"Authorization", "Bearer eyJhbGciOiJub25lIn0." + strings.Split(forged, ".")[1] + "."}, 401},
		}
		if len(attacks) < 20 {
			t.Fatalf("only %d attacks", len(attacks))
		}
		for _, at := range attacks {
			w := a.req(at.method, at.path, at.body, at.as, at.header...)
			if w.Code != at.status {
				t.Errorf("%s: %s %s = %d %s, want %d", at.name, at.method, at.path, w.Code, w.Body, at.status)
				continue
			}
			if strings.Contains(w.Body.String(), "secret plans") || strings.Contains(w.Body.String(), "members only") {
				t.Errorf("%s leaked a message: %s", at.name, w.Body)
			}
			if at.status == http.StatusUnauthorized && at.method != "POST" && w.Body.String() != `{"statusCode":401,"message":"Unauthorized"}` {
				t.Errorf("%s: 401 body %s", at.name, w.Body)
			}
		}
		if after := snapshot(t, db); after != before {
			t.Errorf("the refused attacks wrote to the database:\nbefore %s\nafter  %s", before, after)
		}

		// The same routes work for the users concerned.
		for _, ok := range []struct {
			name, method, path string
			body               any
			as                 string
			status             int
		}{
			{"alice reads her inbox", "GET", "/chat/" + alice, nil, alice, 200},
			{"bob reads the room", "GET", "/chat?hashedRoomId=" + room, nil, bob, 200},
			{"an empty room reveals nothing", "GET", "/chat?hashedRoomId=" + strings.Repeat("0", 64), nil, mallory, 200},
			{"alice reads her invitations", "GET", "/game/invitations/" + alice, nil, alice, 200},
			{"a member reads the channel", "GET", "/channel/" + pub.ID + "/channelMessage", nil, bob, 200},
			{"the owner reads the PRIVATE channel", "GET", "/channel/" + priv.ID, nil, alice, 200},
			{"public profile", "GET", "/users/" + alice, nil, "", 200},
			{"public friends list", "GET", "/users/" + alice + "/friend", nil, "", 200},
			{"public channel list", "GET", "/channel/" + mallory + "/allChannels", nil, "", 200},
			{"alice accepts bob's request", "PUT", "/users/" + bob + "/friend/" + alice, json(), alice, 200},
			{"either party deletes it", "DELETE", "/users/" + alice + "/friend/" + bob, nil, bob, 200},
			{"the owner promotes a member", "PATCH", "/channel/" + pub.ID + "/member/" + bob, json("role", "ADMIN"), alice, 200},
			{"the owner renames", "PATCH", "/channel/" + pub.ID, json("channelName", "renamed"), alice, 200},
		} {
			if w := a.req(ok.method, ok.path, ok.body, ok.as); w.Code != ok.status {
				t.Errorf("%s: %s %s = %d %s, want %d", ok.name, ok.method, ok.path, w.Code, w.Body, ok.status)
			}
		}
		if w := a.req("GET", "/chat/"+bob, nil, bob); !strings.Contains(w.Body.String(), "secret plans") {
			t.Errorf("bob does not see his own message: %s", w.Body)
		}
	})
}
