package controllers_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/onlinenow/onlinenow/database/dbtest"
	"github.com/onlinenow/onlinenow/models"
)

func TestCreateAndReadUsers(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		s := newServer(t, db)
		w := s.do("POST", "/users", `{"name":"alice","email":"alice@example.com","intraId":"42","Avatar":"https://cdn.example/a.png","status":"ONLINE","isAuth":false,"twoFactorAuthSecret":"S","extra":1}`)
		if w.Code != 201 {
			t.Fatalf("POST /users = %d %s", w.Code, w.Body.String())
		}
		wantKeys(t, "user", w.Body.Bytes(), userKeys...)
		var alice map[string]any
		json.Unmarshal(w.Body.Bytes(), &alice)
		checks := map[string]any{"name": "alice", "email": "alice@example.com", "intraId": "42", "Avatar": "https://cdn.example/a.png",
			"status": "OFFLINE", "isAuth": true, "isTwoFactorEnabled": false, "lastSeenAt": nil}
		for k, v := range checks {
			if alice[k] != v {
				t.Errorf("%s = %v, want %v", k, alice[k], v)
			}
		}
		for _, k := range []string{"created_at", "updated_at"} {
			if s, _ := alice[k].(string); !jsTime.MatchString(s) {
				t.Errorf("%s = %v, not a JS date", k, alice[k])
			}
		}
		var secret *string
		db.Model(&models.User{}).Where("id = ?", alice["id"]).Select("two_factor_auth_secret").Scan(&secret)
		if secret != nil {
			t.Errorf("twoFactorAuthSecret was taken from the body")
		}

		conflicts := []string{
			`{"email":"alice@example.com","intraId":"43"}`,
			`{"email":"other@example.com","intraId":"42"}`,
			`{"name":"alice","email":"x@example.com","intraId":"44"}`,
		}
		for _, body := range conflicts {
			wantBody(t, "duplicate "+body, s.do("POST", "/users", body), 400,
				`{"status":400,"error":"BadRequestException","message":"a user with this email, intraId or name already exists"}`)
		}

		wantBody(t, "invalid user", s.do("POST", "/users", `{"name":"","email":"nope","intraId":5,"Avatar":"ftp://x","status":"AWAY"}`), 400,
			`{"statusCode":400,"message":["name must be between 1 and 64 characters","email must be an email","intraId must be a string","Avatar must be a URL address","status must be one of the following values: ONLINE, OFFLINE, INAGAME"],"error":"Bad Request"}`)
		wantBody(t, "missing fields", s.do("POST", "/users", `{}`), 400,
			`{"statusCode":400,"message":["email must be an email","intraId should not be empty"],"error":"Bad Request"}`)

		time.Sleep(2 * time.Millisecond) // distinct created_at: the order is by creation time
		bob := s.createUser("bob")
		w = s.must("GET", "/users", nil, 200, nil)
		var all []map[string]any
		json.Unmarshal(w.Body.Bytes(), &all)
		if len(all) != 2 || all[0]["id"] != alice["id"] || all[1]["id"] != bob["id"] {
			t.Errorf("GET /users = %s", w.Body.String())
		}
		wantKeys(t, "listed user", firstElem(t, w.Body.Bytes()), userKeys...)
		if strings.Contains(w.Body.String(), "twoFactorAuthSecret") {
			t.Error("secret leaked")
		}

		w = s.must("GET", "/users/"+alice["id"].(string), nil, 200, nil)
		wantKeys(t, "GET /users/:id", w.Body.Bytes(), userKeys...)
		for _, id := range []string{"00000000-0000-4000-8000-000000000000", "not-a-uuid"} {
			wantEmpty(t, "GET unknown user "+id, s.do("GET", "/users/"+id, nil), 200)
		}
		wantBody(t, "no users yet is []", newServer(t, dbtest.SQLite(t)).do("GET", "/users", nil), 200, `[]`)
	})
}

func TestUserStatus(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		s := newServer(t, db)
		id := s.createUser("alice")["id"].(string)
		for i, method := range []string{"PATCH", "PUT"} {
			status := []string{"INAGAME", "OFFLINE"}[i]
			w := s.do(method, "/users/"+id+"/userStatus", `{"status":"`+status+`","userId":"ignored"}`)
			if w.Code != 200 {
				t.Fatalf("%s userStatus = %d %s", method, w.Code, w.Body.String())
			}
			wantKeys(t, "user", w.Body.Bytes(), userKeys...)
			var u map[string]any
			json.Unmarshal(w.Body.Bytes(), &u)
			if u["status"] != status {
				t.Errorf("%s: status = %v, want the reloaded %s", method, u["status"], status)
			}
		}
		wantBody(t, "bad enum", s.do("PUT", "/users/"+id+"/userStatus", `{"status":"online"}`), 400,
			`{"statusCode":400,"message":["status must be one of the following values: ONLINE, OFFLINE, INAGAME"],"error":"Bad Request"}`)
		wantBody(t, "unknown user", s.do("PUT", "/users/00000000-0000-4000-8000-000000000000/userStatus", `{"status":"OFFLINE"}`), 404,
			`{"status":404,"error":"NotFoundException","message":"user not found"}`)
		wantBody(t, "frontend's undefined id", s.do("PUT", "/users/undefined/userStatus", `{"status":"OFFLINE"}`), 404,
			`{"status":404,"error":"NotFoundException","message":"user not found"}`)
		if got, want := s.presence.Calls(), []string{id + "=INAGAME", id + "=OFFLINE"}; !slices.Equal(got, want) {
			t.Errorf("presence calls = %v, want %v", got, want)
		}
	})
}

func TestDeleteUser(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		s := newServer(t, db)
		a, b := s.createUser("alice")["id"].(string), s.createUser("bob")["id"].(string)
		s.must("POST", "/users/friend", map[string]string{"friendShipStatus": "PENDING", "userId": a, "friendId": b}, 201, nil)
		s.must("POST", "/chat", map[string]string{"content": "hi", "senderId": b, "recieverId": a}, 201, nil)
		wantEmpty(t, "DELETE", s.do("DELETE", "/users/"+a, nil), 200)
		wantEmpty(t, "GET deleted", s.do("GET", "/users/"+a, nil), 200)
		wantBody(t, "DELETE again", s.do("DELETE", "/users/"+a, nil), 404, `{"status":404,"error":"NotFoundException","message":"user not found"}`)
		wantBody(t, "bob's requests", s.do("GET", "/users/"+b+"/friendShip/"+a, nil), 200, `[]`)
		wantBody(t, "bob's messages", s.do("GET", "/chat/msgNumber/"+b, nil), 200, `0`)
	})
}

func TestUserStats(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		s := newServer(t, db)
		id := s.createUser("alice")["id"].(string)
		statKeys := []string{"id", "winsNumbr", "lossesNumbr", "rate", "userId", "created_at"}

		wantEmpty(t, "no stats", s.do("GET", "/users/"+id+"/userStat", nil), 200)
		bad := map[string]string{
			`{"winsNumbr":-1,"lossesNumbr":0,"rate":0,"userId":"` + id + `"}`:  `["winsNumbr must not be less than 0"]`,
			`{"winsNumbr":1.5,"lossesNumbr":0,"rate":0,"userId":"` + id + `"}`: `["winsNumbr must be an integer number"]`,
			`{"winsNumbr":1,"lossesNumbr":"2","rate":1e999,"userId":"x"}`:      `["lossesNumbr must be a number conforming to the specified constraints","rate must be a number conforming to the specified constraints","userId must be a UUID"]`,
		}
		for body, msg := range bad {
			wantBody(t, "bad stat "+body, s.do("POST", "/users/userStat", body), 400, `{"statusCode":400,"message":`+msg+`,"error":"Bad Request"}`)
		}
		wantBody(t, "stat of unknown user", s.do("POST", "/users/userStat", `{"winsNumbr":1,"lossesNumbr":0,"rate":1,"userId":"00000000-0000-4000-8000-000000000000"}`), 404,
			`{"status":404,"error":"NotFoundException","message":"user not found"}`)

		w := s.must("POST", "/users/userStat", `{"winsNumbr":3,"lossesNumbr":1,"rate":0.75,"userId":"`+id+`"}`, 201, nil)
		wantKeys(t, "stat", w.Body.Bytes(), statKeys...)
		wantBody(t, "second stat", s.do("POST", "/users/userStat", `{"winsNumbr":3,"lossesNumbr":1,"rate":0.75,"userId":"`+id+`"}`), 409,
			`{"status":409,"error":"ConflictException","message":"this user already has stats"}`)

		var st map[string]any
		s.must("PATCH", "/users/"+id+"/userStat", `{"winsNumbr":4,"lossesNumbr":2,"rate":2}`, 200, &st)
		if st["winsNumbr"] != 4.0 || st["lossesNumbr"] != 2.0 || st["rate"] != 2.0 || st["userId"] != id {
			t.Errorf("updated stat = %v", st)
		}
		w = s.must("GET", "/users/"+id+"/userStat", nil, 200, nil)
		wantKeys(t, "GET stat", w.Body.Bytes(), statKeys...)
		if !strings.Contains(w.Body.String(), `"rate":2,`) {
			t.Errorf("rate is not a plain JSON number: %s", w.Body.String())
		}
		wantBody(t, "PATCH missing field", s.do("PATCH", "/users/"+id+"/userStat", `{"winsNumbr":4,"lossesNumbr":2}`), 400,
			`{"statusCode":400,"message":["rate must be a number conforming to the specified constraints"],"error":"Bad Request"}`)
		wantEmpty(t, "DELETE stat", s.do("DELETE", "/users/"+id+"/userStat", nil), 200)
		wantEmpty(t, "GET deleted stat", s.do("GET", "/users/"+id+"/userStat", nil), 200)
		wantBody(t, "DELETE again", s.do("DELETE", "/users/"+id+"/userStat", nil), 404, `{"status":404,"error":"NotFoundException","message":"user stats not found"}`)
		wantBody(t, "PATCH missing stat", s.do("PATCH", "/users/"+id+"/userStat", `{"winsNumbr":4,"lossesNumbr":2,"rate":1}`), 404,
			`{"status":404,"error":"NotFoundException","message":"user stats not found"}`)
	})
}

func TestGamesAndAchievements(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		s := newServer(t, db)
		a, b := s.createUser("alice")["id"].(string), s.createUser("bob")["id"].(string)
		wantBody(t, "no games", s.do("GET", "/users/getGames/"+a, nil), 200, `[]`)
		t0 := time.Date(2024, 5, 1, 10, 0, 0, 123456789, time.UTC)
		games := []models.GamesHistories{
			{PlayerAID: a, PlayerBID: b, PlayerAScore: 5, PlayerBScore: 3, CreatedAt: t0},
			{PlayerAID: b, PlayerBID: a, PlayerAScore: 1, PlayerBScore: 5, CreatedAt: t0.Add(time.Minute)},
		}
		if err := db.Create(&games).Error; err != nil {
			t.Fatal(err)
		}
		w := s.must("GET", "/users/getGames/"+a, nil, 200, nil)
		want := fmt.Sprintf(`[{"id":"%s","playerA_Score":1,"playerB_Score":5,"created_at":"2024-05-01T10:01:00.123Z","playerA_id":"%s","playerB_id":"%s"},`+
			`{"id":"%s","playerA_Score":5,"playerB_Score":3,"created_at":"2024-05-01T10:00:00.123Z","playerA_id":"%s","playerB_id":"%s"}]`,
			games[1].ID, b, a, games[0].ID, a, b)
		wantBody(t, "games", w, 200, want)

		wantBody(t, "no achievements", s.do("GET", "/users/"+a+"/achievement", nil), 200, `[]`)
		w = s.must("POST", "/users/achievement", `{"achievement":"https://x/first.png","userId":"`+a+`"}`, 201, nil)
		wantKeys(t, "achievement", w.Body.Bytes(), "id", "achievement", "userId", "created_at")
		var ach struct{ Achievement []string }
		s.must("POST", "/users/achievement", `{"achievement":["https://x/first.png","second"],"userId":"`+a+`"}`, 201, &ach)
		if !slices.Equal(ach.Achievement, []string{"https://x/first.png", "second"}) {
			t.Errorf("achievements = %v", ach.Achievement)
		}
		var rows []struct{ Achievement []string }
		s.must("GET", "/users/"+a+"/achievement", nil, 200, &rows)
		if len(rows) != 1 || len(rows[0].Achievement) != 2 {
			t.Errorf("GET achievement = %+v", rows)
		}
		for _, body := range []string{`{"achievement":[],"userId":"` + a + `"}`, `{"achievement":["ok",""],"userId":"` + a + `"}`, `{"achievement":[1],"userId":"` + a + `"}`} {
			wantBody(t, "bad achievement "+body, s.do("POST", "/users/achievement", body), 400,
				`{"statusCode":400,"message":["achievement must be a non-empty string or an array of non-empty strings"],"error":"Bad Request"}`)
		}
		wantBody(t, "unknown user", s.do("POST", "/users/achievement", `{"achievement":"x","userId":"00000000-0000-4000-8000-000000000000"}`), 404,
			`{"status":404,"error":"NotFoundException","message":"user not found"}`)
	})
}

func TestBlockRoutes(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		s := newServer(t, db)
		a, b := s.createUser("alice")["id"].(string), s.createUser("bob")["id"].(string)
		body := `{"userId":"` + a + `","blockedUserId":"` + b + `"}`
		var first, second map[string]any
		w := s.must("POST", "/users/blockedUser", body, 201, &first)
		wantKeys(t, "block", w.Body.Bytes(), "id", "userId", "blockedUserId", "created_at")
		s.must("POST", "/users/blockedUser", body, 201, &second)
		if first["id"] != second["id"] {
			t.Errorf("second block created a new row")
		}
		wantBody(t, "self block", s.do("POST", "/users/blockedUser", `{"userId":"`+a+`","blockedUserId":"`+a+`"}`), 400,
			`{"statusCode":400,"message":["userId and blockedUserId must differ"],"error":"Bad Request"}`)
		wantBody(t, "not uuids", s.do("POST", "/users/blockedUser", `{"userId":"x"}`), 400,
			`{"statusCode":400,"message":["userId must be a UUID","blockedUserId must be a UUID"],"error":"Bad Request"}`)

		for _, path := range []string{"/users/" + a + "/blockedUser", "/users/" + a + "/block/" + b, "/users/" + b + "/block/" + a} {
			var rows []map[string]any
			s.must("GET", path, nil, 200, &rows)
			if len(rows) != 1 || rows[0]["userId"] != a || rows[0]["blockedUserId"] != b {
				t.Errorf("GET %s = %v", path, rows)
			}
		}
		wantBody(t, "bob blocks nobody", s.do("GET", "/users/"+b+"/blockedUser", nil), 200, `[]`)
		wantEmpty(t, "unblock by bob (nothing)", s.do("DELETE", "/users/"+b+"/unBlockedUser/"+a, `{"x":1}`), 200)
		wantBody(t, "still blocked", s.do("GET", "/users/"+a+"/block/"+b, nil), 200, string(must1(t, s, "/users/"+a+"/blockedUser")))
		wantEmpty(t, "unblock", s.do("DELETE", "/users/"+a+"/unBlockedUser/"+b, `{"userId":"x"}`), 200)
		wantBody(t, "unblocked", s.do("GET", "/users/"+a+"/block/"+b, nil), 200, `[]`)
	})
}

// must1 returns the body of a GET that must answer 200.
func must1(t *testing.T, s *server, path string) []byte {
	t.Helper()
	return s.must("GET", path, nil, 200, nil).Body.Bytes()
}

func TestFriendRoutes(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		s := newServer(t, db)
		a, b, c := s.createUser("alice")["id"].(string), s.createUser("bob")["id"].(string), s.createUser("carol")["id"].(string)
		friendKeys := []string{"id", "friendShipStatus", "userId", "friendId", "created_at"}
		req := func(from, to, status string) string {
			return `{"friendShipStatus":"` + status + `","userId":"` + from + `","friendId":"` + to + `"}`
		}
		w := s.must("POST", "/users/friend", req(a, b, "PENDING"), 201, nil)
		wantKeys(t, "friend", w.Body.Bytes(), friendKeys...)
		dup := `{"status":400,"error":"BadRequestException","message":"a friendship or request already exists between these users"}`
		wantBody(t, "duplicate", s.do("POST", "/users/friend", req(a, b, "PENDING")), 400, dup)
		wantBody(t, "reverse duplicate", s.do("POST", "/users/friend", req(b, a, "PENDING")), 400, dup)
		wantBody(t, "ACCEPTED refused", s.do("POST", "/users/friend", req(a, c, "ACCEPTED")), 400,
			`{"statusCode":400,"message":["friendShipStatus must be PENDING (a request is accepted by its addressee)"],"error":"Bad Request"}`)
		wantBody(t, "unknown friend", s.do("POST", "/users/friend", req(a, "00000000-0000-4000-8000-000000000000", "PENDING")), 404,
			`{"status":404,"error":"NotFoundException","message":"user not found"}`)

		var rows []map[string]any
		s.must("GET", "/users/"+b+"/pending", nil, 200, &rows)
		if len(rows) != 1 || rows[0]["userId"] != a || rows[0]["friendShipStatus"] != "PENDING" {
			t.Errorf("bob pending = %v", rows)
		}
		wantBody(t, "alice pending", s.do("GET", "/users/"+a+"/pending", nil), 200, `[]`)
		wantBody(t, "no friends yet", s.do("GET", "/users/"+a+"/friend", nil), 200, `[]`)
		s.must("GET", "/users/"+b+"/friendShip/"+a, nil, 200, &rows)
		if len(rows) != 1 {
			t.Errorf("friendShip either direction = %v", rows)
		}

		wantBody(t, "accept reversed", s.do("PUT", "/users/"+b+"/friend/"+a, req(b, a, "ACCEPTED")), 404,
			`{"status":404,"error":"NotFoundException","message":"friend request not found"}`)
		w = s.must("PUT", "/users/"+a+"/friend/"+b, req(a, b, "ACCEPTED"), 200, nil)
		wantKeys(t, "accepted", w.Body.Bytes(), friendKeys...)
		if !strings.Contains(w.Body.String(), `"friendShipStatus":"ACCEPTED"`) {
			t.Errorf("accept = %s", w.Body.String())
		}
		for _, id := range []string{a, b} {
			s.must("GET", "/users/"+id+"/friend", nil, 200, &rows)
			if len(rows) != 1 || rows[0]["friendShipStatus"] != "ACCEPTED" {
				t.Errorf("friends of %s = %v", id, rows)
			}
		}
		wantEmpty(t, "delete", s.do("DELETE", "/users/"+b+"/friend/"+a, nil), 200)
		wantBody(t, "after delete", s.do("GET", "/users/"+a+"/friendShip/"+b, nil), 200, `[]`)

		s.must("POST", "/users/blockedUser", `{"userId":"`+c+`","blockedUserId":"`+a+`"}`, 201, nil)
		wantBody(t, "request across a block", s.do("POST", "/users/friend", req(a, c, "PENDING")), 403,
			`{"status":403,"error":"ForbiddenException","message":"a block exists between these users"}`)
	})
}

func TestTwoFactorRenameImage(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		s := newServer(t, db)
		a := s.createUser("alice")["id"].(string)
		s.createUser("bob")
		unknown := "00000000-0000-4000-8000-000000000000"
		notFound := `{"status":404,"error":"NotFoundException","message":"user not found"}`

		db.Model(&models.User{}).Where("id = ?", a).Update("is_two_factor_enabled", true)
		wantEmpty(t, "2fa off", s.do("PATCH", "/users/"+a+"/two-factor", `{"isTwoFactorEnabled":false}`), 200)
		var u map[string]any
		s.must("GET", "/users/"+a, nil, 200, &u)
		if u["isTwoFactorEnabled"] != false {
			t.Errorf("2fa still on")
		}
		wantBody(t, "2fa on", s.do("PATCH", "/users/"+a+"/two-factor", `{"isTwoFactorEnabled":true}`), 400,
			`{"statusCode":400,"message":["isTwoFactorEnabled can only be set to false here: use /auth/2fa/turn-on"],"error":"Bad Request"}`)
		wantBody(t, "2fa string", s.do("PATCH", "/users/"+a+"/two-factor", `{"isTwoFactorEnabled":"false"}`), 400,
			`{"statusCode":400,"message":["isTwoFactorEnabled must be a boolean value"],"error":"Bad Request"}`)
		wantBody(t, "2fa unknown", s.do("PATCH", "/users/"+unknown+"/two-factor", `{"isTwoFactorEnabled":false}`), 404, notFound)

		wantEmpty(t, "rename", s.do("POST", "/users/"+a+"/update/username", `{"userName":"alice_2"}`), 201)
		s.must("GET", "/users/"+a, nil, 200, &u)
		if u["name"] != "alice_2" {
			t.Errorf("name = %v", u["name"])
		}
		wantBody(t, "taken", s.do("POST", "/users/"+a+"/update/username", `{"userName":"bob"}`), 409,
			`{"status":409,"error":"ConflictException","message":"this name is already taken"}`)
		for _, name := range []string{`""`, `"a b"`, `"` + strings.Repeat("x", 33) + `"`, `"<script>"`, `42`} {
			wantBody(t, "bad name "+name, s.do("POST", "/users/"+a+"/update/username", `{"userName":`+name+`}`), 400,
				`{"statusCode":400,"message":["userName must be 1-32 letters, digits, '_', '-' or '.'"],"error":"Bad Request"}`)
		}
		wantBody(t, "rename unknown", s.do("POST", "/users/"+unknown+"/update/username", `{"userName":"zed"}`), 404, notFound)

		wantBody(t, "no avatar", s.do("GET", "/users/"+a+"/image", nil), 200, `{"Avatar":null}`)
		db.Model(&models.User{}).Where("id = ?", a).Update("avatar", "https://cdn.example/a.png?x=1&y=<2>")
		wantBody(t, "avatar", s.do("GET", "/users/"+a+"/image", nil), 200, `{"Avatar":"https://cdn.example/a.png?x=1&y=<2>"}`)
		wantEmpty(t, "unknown image", s.do("GET", "/users/"+unknown+"/image", nil), 200)
	})
}
