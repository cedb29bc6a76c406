package controllers_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/onlinenow/onlinenow/config"
	"github.com/onlinenow/onlinenow/controllers"
	"github.com/onlinenow/onlinenow/database/dbtest"
	"github.com/onlinenow/onlinenow/models"
	"github.com/onlinenow/onlinenow/services"
)

var (
	channelKeys = []string{"id", "channelName", "channelType", "hasPassword", "created_at", "updated_at", "channelOwnerId", "_count"}
	memberKeys  = []string{"id", "userId", "channelId", "role", "bannedTime", "unbanneTime", "mutedTime", "unmuteTime", "created_at"}
)

func newChannelServer(t *testing.T, db *gorm.DB) *server {
	s := newServer(t, db)
	controllers.RegisterChannelRoutes(s.router, controllers.Deps{Config: config.Config{CORSOrigins: []string{frontOrigin}}},
		services.NewChannelService(db, nil))
	return s
}

func TestChannelRoutes(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		s := newChannelServer(t, db)
		o, u := s.createUser("owner"), s.createUser("user")
		oid, uid := o["id"].(string), u["id"].(string)

		var ch map[string]any
		w := s.must("POST", "/channel", map[string]any{"channelName": "p", "channelType": "PROTECTED", "channelPassword": "pw", "channelOwnerId": oid}, 201, &ch)
		if strings.Contains(w.Body.String(), "channelPassword") || ch["hasPassword"] != true {
			t.Fatalf("POST /channel leaked or lost the password: %s", w.Body.String())
		}
		id := ch["id"].(string)
		s.must("POST", "/channel", map[string]any{"channelName": "priv", "channelType": "PRIVATE", "channelOwnerId": oid}, 201, nil)
		s.must("POST", "/channel", map[string]any{"channelName": "p", "channelType": "PUBLIC", "channelOwnerId": oid}, 409, nil)
		s.must("POST", "/channel", map[string]any{"channelName": "x", "channelType": "NOPE", "channelOwnerId": oid}, 400, nil)

		for _, path := range []string{"/channel/" + id, "/channel/" + oid + "/myAllChannels", "/channel/" + uid + "/allChannels"} {
			w := s.must("GET", path, nil, 200, nil)
			if strings.Contains(w.Body.String(), "channelPassword") || strings.Contains(w.Body.String(), "$2") {
				t.Errorf("%s leaks the password: %s", path, w.Body.String())
			}
			if h := s.do("HEAD", path, nil); h.Code != 200 {
				t.Errorf("HEAD %s = %d", path, h.Code)
			}
		}
		wantKeys(t, "channel", s.do("GET", "/channel/"+id, nil).Body.Bytes(), channelKeys...)
		wantBody(t, "discoverable", s.do("GET", "/channel/"+uid+"/allChannels", nil), 200,
			`[`+s.do("GET", "/channel/"+id, nil).Body.String()+`]`) // PRIVATE is not listed
		wantBody(t, "missing", s.do("GET", "/channel/"+uid, nil), 404,
			`{"status":404,"error":"NotFoundException","message":"Channel cannot be found"}`)

		// The owner's membership exists; the owner cannot be changed or removed.
		if got := s.do("GET", "/channel/"+id+"/memberStatus/"+oid, nil).Body.String(); got != "OWNER" {
			t.Fatalf("owner status %q", got)
		}
		s.must("PATCH", "/channel/"+id+"/member/"+oid, map[string]any{"role": "MEMBER"}, 403, nil)
		s.must("DELETE", "/channel/"+id+"/member/"+oid, nil, 403, nil)
		s.must("POST", "/channel/member", map[string]any{"userId": uid, "channelId": id, "role": "OWNER"}, 400, nil)
		s.must("POST", "/channel/member", map[string]any{"userId": uid, "channelId": id, "role": "MEMBER"}, 201, nil)
		wantKeys(t, "member", s.do("GET", "/channel/"+id+"/member/"+uid, nil).Body.Bytes(), memberKeys...)
		wantEmpty(t, "no member", s.do("GET", "/channel/"+id+"/member/"+s.createUser("z")["id"].(string), nil), 200)
		// A ban needs its end; then the user shows in bannedMember and cannot post.
		s.must("PATCH", "/channel/"+id+"/member/"+uid, map[string]any{"role": "BANNED_MEMBER"}, 400, nil)
		until := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
		s.must("PATCH", "/channel/"+id+"/member/"+uid, map[string]any{"role": "BANNED_MEMBER", "bannedTime": until}, 200, nil)
		if w := s.do("GET", "/channel/"+id+"/bannedMember", nil); !strings.Contains(w.Body.String(), uid) {
			t.Errorf("bannedMember: %s", w.Body.String())
		}
		s.must("POST", "/channel/channelMessage", map[string]any{"content": "x", "userId": uid, "channelId": id}, 403, nil)
		s.must("POST", "/channel/channelMessage", map[string]any{"content": "hi", "userId": oid, "channelId": id}, 201, nil)
		if w := s.do("GET", "/channel/"+id+"/channelMessage", nil); !strings.Contains(w.Body.String(), `"content":"hi"`) {
			t.Errorf("messages: %s", w.Body.String())
		}
		// Kick record: member removed in the same step; deleting the channel removes everything.
		s.must("POST", "/channel/kickedMember", map[string]any{"userId": uid, "channelId": id}, 201, nil)
		wantEmpty(t, "kicked member gone", s.do("GET", "/channel/"+id+"/member/"+uid, nil), 200)
		s.must("DELETE", "/channel/"+id, nil, 200, nil)
		for _, m := range []any{&models.ChannelMember{}, &models.KickedMember{}, &models.ChannelMessage{}} {
			var n int64
			db.WithContext(context.Background()).Model(m).Where("channel_id = ?", id).Count(&n)
			if n != 0 {
				t.Errorf("%T: %d rows left", m, n)
			}
		}
	})
}
