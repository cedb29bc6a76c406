package controllers_test

import (
	"strings"
	"testing"

	"gorm.io/gorm"

	"github.com/onlinenow/onlinenow/database/dbtest"
)

func TestHello(t *testing.T) {
	s := newServer(t, dbtest.SQLite(t))
	w := s.do("GET", "/", nil)
	wantBody(t, "GET /", w, 200, "Hello World! ggggg")
	if ct := w.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type = %q", ct)
	}
	w = s.do("HEAD", "/", nil)
	if w.Code != 200 {
		t.Errorf("HEAD / = %d", w.Code)
	}
}

func TestCORS(t *testing.T) {
	s := newServer(t, dbtest.SQLite(t))
	tests := []struct {
		name, method, path string
		header             []string
		status             int
		want               map[string]string // "" means the header must be absent
	}{
		{"preflight from the frontend", "OPTIONS", "/users/abc/userStatus",
			[]string{"Origin", frontOrigin, "Access-Control-Request-Method", "PUT", "Access-Control-Request-Headers", "authorization,content-type"},
			204, map[string]string{
				"Access-Control-Allow-Origin":      frontOrigin,
				"Access-Control-Allow-Credentials": "true",
				"Access-Control-Allow-Methods":     "GET,HEAD,PUT,PATCH,POST,DELETE",
				"Access-Control-Allow-Headers":     "authorization,content-type",
				"Vary":                             "Origin, Access-Control-Request-Headers",
			}},
		{"preflight of an unknown path, second origin, no headers asked", "OPTIONS", "/nowhere",
			[]string{"Origin", otherOrigin, "Access-Control-Request-Method", "GET"},
			204, map[string]string{
				"Access-Control-Allow-Origin":  otherOrigin,
				"Access-Control-Allow-Methods": "GET,HEAD,PUT,PATCH,POST,DELETE",
				"Access-Control-Allow-Headers": "",
				"Vary":                         "Origin",
			}},
		{"preflight from a foreign origin", "OPTIONS", "/users",
			[]string{"Origin", "http://evil.example", "Access-Control-Request-Method", "POST"},
			204, map[string]string{"Access-Control-Allow-Origin": "", "Vary": "Origin", "Access-Control-Allow-Credentials": "true"}},
		{"simple GET from the frontend", "GET", "/", []string{"Origin", frontOrigin},
			200, map[string]string{"Access-Control-Allow-Origin": frontOrigin, "Vary": "Origin", "Access-Control-Allow-Credentials": "true", "Access-Control-Allow-Methods": ""}},
		{"GET from a foreign origin", "GET", "/", []string{"Origin", "http://localhost:5174"},
			200, map[string]string{"Access-Control-Allow-Origin": "", "Vary": "Origin", "Access-Control-Allow-Credentials": "true"}},
		{"GET without Origin", "GET", "/", nil,
			200, map[string]string{"Access-Control-Allow-Origin": "", "Vary": "Origin"}},
		{"404 still carries CORS", "DELETE", "/nope", []string{"Origin", frontOrigin},
			404, map[string]string{"Access-Control-Allow-Origin": frontOrigin}},
		{"socket.io is left to Engine.IO", "OPTIONS", "/socket.io/?EIO=4&transport=polling",
			[]string{"Origin", frontOrigin, "Access-Control-Request-Method", "GET"},
			404, map[string]string{"Access-Control-Allow-Origin": "", "Vary": "", "Access-Control-Allow-Credentials": ""}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := s.do(tc.method, tc.path, nil, tc.header...)
			if w.Code != tc.status {
				t.Fatalf("status = %d, want %d", w.Code, tc.status)
			}
			for k, v := range tc.want {
				if got := strings.Join(w.Header().Values(k), ", "); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if tc.status == 204 && w.Body.Len() != 0 {
				t.Errorf("preflight body = %q", w.Body.String())
			}
		})
	}
}

func TestNotFound(t *testing.T) {
	s := newServer(t, dbtest.SQLite(t))
	tests := []struct{ method, path, body string }{
		{"GET", "/nope", `{"statusCode":404,"message":"Cannot GET /nope","error":"Not Found"}`},
		{"PUT", "/x", `{"statusCode":404,"message":"Cannot PUT /x","error":"Not Found"}`},
		{"POST", "/users/", `{"statusCode":404,"message":"Cannot POST /users/","error":"Not Found"}`},
		{"GET", "/public/index.html?a=1", `{"statusCode":404,"message":"Cannot GET /public/index.html?a=1","error":"Not Found"}`},
		{"PATCH", "/users", `{"statusCode":404,"message":"Cannot PATCH /users","error":"Not Found"}`},
		{"POST", "/users/abc/upload", `{"statusCode":404,"message":"Cannot POST /users/abc/upload","error":"Not Found"}`},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			wantBody(t, tc.method+" "+tc.path, s.do(tc.method, tc.path, nil), 404, tc.body)
		})
	}
}

func TestInternalErrors(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		s := newServer(t, db)
		u := s.createUser("alice")
		path := "/users/" + u["id"].(string) + "/userStatus"

		s.presence.fail(errBoom, false)
		w := s.do("PUT", path, `{"status":"OFFLINE"}`)
		wantBody(t, "service error", w, 500, `{"status":500,"error":"InternalServerErrorException"}`)
		if strings.Contains(w.Body.String(), "fire") {
			t.Error("internal error text sent to the client")
		}
		if lines := s.logs.Lines(); len(lines) != 1 || !strings.Contains(lines[0], "db on fire") {
			t.Errorf("logs = %q, want the error logged once", lines)
		}

		s.presence.fail(nil, true)
		w = s.do("PUT", path, `{"status":"OFFLINE"}`)
		wantBody(t, "panic", w, 500, `{"statusCode":500,"message":"Internal server error"}`)
		if lines := s.logs.Lines(); len(lines) != 2 || !strings.Contains(lines[1], "presence exploded") {
			t.Errorf("logs = %q, want the panic logged once", lines)
		}
		// The server keeps serving.
		s.presence.fail(nil, false)
		s.must("PUT", path, `{"status":"OFFLINE"}`, 200, nil)
	})
}

// TestBadBodies sends malformed, mistyped and oversized bodies to every
// route that reads one: always 400 (413 when too large), never 500.
func TestBadBodies(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		s := newServer(t, db)
		a, b := s.createUser("alice")["id"].(string), s.createUser("bob")["id"].(string)
		routes := []struct{ method, path string }{
			{"POST", "/users"},
			{"PATCH", "/users/" + a + "/userStatus"},
			{"PUT", "/users/" + a + "/userStatus"},
			{"POST", "/users/userStat"},
			{"PATCH", "/users/" + a + "/userStat"},
			{"POST", "/users/achievement"},
			{"POST", "/users/blockedUser"},
			{"POST", "/users/friend"},
			{"PATCH", "/users/" + a + "/two-factor"},
			{"POST", "/users/" + a + "/update/username"},
			{"POST", "/chat"},
			{"PUT", "/chat/" + a + "/" + b},
		}
		huge := `{"x":"` + strings.Repeat("a", 101<<10) + `"}`
		bodies := []struct {
			name   string
			body   string
			status int
			want   string // exact body when set
		}{
			{"not JSON", `{"status": ONLINE}`, 400, `{"statusCode":400,"message":"request body is not valid JSON","error":"Bad Request"}`},
			{"truncated", `{"a":`, 400, `{"statusCode":400,"message":"request body is not valid JSON","error":"Bad Request"}`},
			{"array", `[1,2]`, 400, `{"statusCode":400,"message":"request body must be a JSON object","error":"Bad Request"}`},
			{"string", `"x"`, 400, `{"statusCode":400,"message":"request body must be a JSON object","error":"Bad Request"}`},
			{"empty", ``, 400, ""},
			{"empty object", `{}`, 400, ""},
			{"wrong types", `{"email":1,"intraId":[],"status":7,"userId":{},"winsNumbr":"1","lossesNumbr":true,"rate":"x","achievement":5,"blockedUserId":1,"friendShipStatus":2,"friendId":3,"isTwoFactorEnabled":"false","userName":1,"content":1,"senderId":2,"recieverId":3,"seen":"true"}`, 400, ""},
			{"unknown enum", `{"status":"AWAY","friendShipStatus":"MAYBE","email":"x@example.com","intraId":"z"}`, 400, ""},
			{"huge", huge, 413, `{"statusCode":413,"message":"request entity too large","error":"Payload Too Large"}`},
		}
		for _, r := range routes {
			for _, bd := range bodies {
				t.Run(r.method+" "+r.path+" "+bd.name, func(t *testing.T) {
					w := s.do(r.method, r.path, bd.body)
					if w.Code != bd.status {
						t.Fatalf("= %d %s, want %d", w.Code, w.Body.String(), bd.status)
					}
					if bd.want != "" && w.Body.String() != bd.want {
						t.Errorf("body = %s, want %s", w.Body.String(), bd.want)
					}
					if bd.want == "" {
						wantKeys(t, "validation error", w.Body.Bytes(), "statusCode", "message", "error")
					}
				})
			}
		}
		if calls := s.presence.Calls(); len(calls) != 0 {
			t.Errorf("presence called on bad input: %v", calls)
		}
		if w := s.do("GET", "/users", nil); strings.Count(w.Body.String(), `"id"`) != 2 {
			t.Errorf("bad bodies created users: %s", w.Body.String())
		}
	})
}
