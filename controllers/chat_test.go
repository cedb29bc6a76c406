package controllers_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/onlinenow/onlinenow/database/dbtest"
	"github.com/onlinenow/onlinenow/models"
	"github.com/onlinenow/onlinenow/services"
)

// store inserts a message with a fixed time.
func store(t *testing.T, db *gorm.DB, from, to, content string, at time.Time, seen bool) models.DirectMessage {
	t.Helper()
	m := models.DirectMessage{Content: content, SenderID: from, RecieverID: to, RoomID: services.RoomID(from, to), CreatedAt: at}
	if err := db.Create(&m).Error; err != nil {
		t.Fatal(err)
	}
	if seen {
		db.Model(&m).Update("seen", true)
		m.Seen = true
	}
	return m
}

func dmJSON(m models.DirectMessage) string {
	return fmt.Sprintf(`{"id":"%s","content":"%s","senderId":"%s","recieverId":"%s","roomId":"%s","seen":%t,"created_at":"%s"}`,
		m.ID, m.Content, m.SenderID, m.RecieverID, m.RoomID, m.Seen, m.CreatedAt.UTC().Format("2006-01-02T15:04:05.000Z"))
}

func TestChatRoutes(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		s := newServer(t, db)
		a, b, c := s.createUser("alice")["id"].(string), s.createUser("bob")["id"].(string), s.createUser("carol")["id"].(string)
		send := func(from, to, content string) string {
			return `{"content":"` + content + `","senderId":"` + from + `","recieverId":"` + to + `","roomId":"forged","seen":true}`
		}

		var m map[string]any
		w := s.must("POST", "/chat", send(a, b, "<b>hi</b> & bye"), 201, &m)
		wantKeys(t, "message", w.Body.Bytes(), dmKeys...)
		if m["roomId"] != services.RoomID(a, b) || m["seen"] != false || m["content"] != "<b>hi</b> & bye" {
			t.Errorf("message = %v", m)
		}
		if !strings.Contains(w.Body.String(), `"<b>hi</b> & bye"`) {
			t.Errorf("HTML escaped unlike Express: %s", w.Body.String())
		}
		s.must("POST", "/chat", send(a, b, "second"), 201, nil)

		invalid := map[string]string{
			send(a, b, ""):                 `["content should not be empty"]`,
			send(a, a, "x"):                `["senderId and recieverId must differ"]`,
			`{"content":5,"senderId":"x"}`: `["content must be a string","senderId must be a UUID","recieverId must be a UUID"]`,
		}
		for body, msg := range invalid {
			wantBody(t, "bad message "+body, s.do("POST", "/chat", body), 400, `{"statusCode":400,"message":`+msg+`,"error":"Bad Request"}`)
		}
		wantBody(t, "unknown receiver", s.do("POST", "/chat", send(a, "00000000-0000-4000-8000-000000000000", "x")), 404,
			`{"status":404,"error":"NotFoundException","message":"user not found"}`)

		// Blocks in either direction answer the same 403 and store nothing.
		s.must("POST", "/users/blockedUser", `{"userId":"`+c+`","blockedUserId":"`+a+`"}`, 201, nil)
		undelivered := `{"status":403,"error":"ForbiddenException","message":"message could not be delivered"}`
		wantBody(t, "receiver blocks sender", s.do("POST", "/chat", send(a, c, "x")), 403, undelivered)
		wantBody(t, "sender blocks receiver", s.do("POST", "/chat", send(c, a, "x")), 403, undelivered)
		wantBody(t, "a's count", s.do("GET", "/chat/msgNumber/"+a, nil), 200, "2")
		wantBody(t, "c's count", s.do("GET", "/chat/msgNumber/"+c, nil), 200, "0")
		if ct := s.do("GET", "/chat/msgNumber/"+a, nil).Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Errorf("msgNumber Content-Type = %q", ct)
		}

		var inbox []map[string]any
		w = s.must("GET", "/chat/"+b, nil, 200, &inbox)
		if len(inbox) != 2 || inbox[0]["content"] != "<b>hi</b> & bye" || inbox[1]["content"] != "second" {
			t.Errorf("bob's inbox = %s", w.Body.String())
		}
		wantBody(t, "alice's inbox", s.do("GET", "/chat/"+a, nil), 200, `[]`)

		var room []map[string]any
		s.must("GET", "/chat?hashedRoomId="+services.RoomID(b, a), nil, 200, &room)
		if len(room) != 2 {
			t.Errorf("room = %v", room)
		}
		badRoom := `{"statusCode":400,"message":["hashedRoomId must be a 64-character lower-case hex string"],"error":"Bad Request"}`
		for _, q := range []string{"", "?hashedRoomId=", "?hashedRoomId=" + strings.ToUpper(services.RoomID(a, b)), "?hashedRoomId=abc"} {
			wantBody(t, "room "+q, s.do("GET", "/chat"+q, nil), 400, badRoom)
		}

		// The first parameter is the reader.
		wantEmpty(t, "alice reads bob", s.do("PUT", "/chat/"+a+"/"+b, `{"seen":true}`), 200)
		if s.must("GET", "/chat/"+b, nil, 200, &inbox); len(inbox) != 2 {
			t.Errorf("alice's read marked bob's inbox")
		}
		wantEmpty(t, "bob reads alice", s.do("PUT", "/chat/"+b+"/"+a, `{"seen":true}`), 200)
		wantBody(t, "bob's inbox after reading", s.do("GET", "/chat/"+b, nil), 200, `[]`)
		wantBody(t, "seen missing", s.do("PUT", "/chat/"+b+"/"+a, `{}`), 400,
			`{"statusCode":400,"message":["seen must be a boolean value"],"error":"Bad Request"}`)
	})
}

func TestReceivers(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		s := newServer(t, db)
		me, bob, carol, dave := s.createUser("me")["id"].(string), s.createUser("bob")["id"].(string), s.createUser("carol")["id"].(string), s.createUser("dave")["id"].(string)
		t0 := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
		fromBob := store(t, db, bob, me, "from bob", t0, false)
		store(t, db, bob, me, "older", t0.Add(-time.Hour), false)
		toBob := store(t, db, me, bob, "to bob", t0.Add(time.Second), true)
		toCarol := store(t, db, me, carol, "to carol", t0.Add(time.Minute), false)
		store(t, db, dave, me, "from dave", t0.Add(time.Hour), false)
		store(t, db, bob, carol, "secret", t0.Add(2*time.Hour), false) // third party
		s.must("POST", "/users/blockedUser", `{"userId":"`+me+`","blockedUserId":"`+dave+`"}`, 201, nil)

		w := s.must("GET", "/users/"+me+"/receivers", nil, 200, nil)
		var got []json.RawMessage
		json.Unmarshal(w.Body.Bytes(), &got)
		if len(got) != 2 {
			t.Fatalf("receivers = %s", w.Body.String())
		}
		wantKeys(t, "contact", got[0], append(append([]string{}, userKeys...), "senders", "receivers", "_count")...)
		var carolC, bobC struct {
			ID        string
			Senders   []json.RawMessage
			Receivers []json.RawMessage
			Count     map[string]int `json:"_count"`
		}
		json.Unmarshal(got[0], &carolC)
		json.Unmarshal(got[1], &bobC)
		if carolC.ID != carol || bobC.ID != bob {
			t.Fatalf("order = %s, %s; want carol then bob", carolC.ID, bobC.ID)
		}
		if len(carolC.Senders) != 0 || len(carolC.Receivers) != 1 || string(carolC.Receivers[0]) != dmJSON(toCarol) || carolC.Count["senders"] != 0 {
			t.Errorf("carol = %s", got[0])
		}
		if len(bobC.Senders) != 1 || string(bobC.Senders[0]) != dmJSON(fromBob) ||
			len(bobC.Receivers) != 1 || string(bobC.Receivers[0]) != dmJSON(toBob) || bobC.Count["senders"] != 2 {
			t.Errorf("bob = %s", got[1])
		}
		if strings.Contains(w.Body.String(), "secret") || strings.Contains(w.Body.String(), "from dave") {
			t.Errorf("receivers leak: %s", w.Body.String())
		}
		wantBody(t, "stranger", s.do("GET", "/users/"+dave+"x/receivers", nil), 200, `[]`)
	})
}

func TestUnreadSummaryRoute(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		s := newServer(t, db)
		me, bob := s.createUser("me")["id"].(string), s.createUser("bob")["id"].(string)
		t0 := time.Date(2024, 1, 2, 3, 4, 5, 678000000, time.UTC)
		store(t, db, bob, me, "one", t0, false)
		store(t, db, bob, me, "two", t0.Add(time.Second), false)
		w := s.must("GET", "/chat/"+me+"/unread-summary", nil, 200, nil)
		want := `[{"senderId":"` + bob + `","name":"bob","Avatar":null,"count":2,"lastContent":"two","lastAt":"2024-01-02T03:04:06.678Z"}]`
		wantBody(t, "summary", w, 200, want)
		wantBody(t, "empty summary", s.do("GET", "/chat/"+bob+"/unread-summary", nil), 200, `[]`)
		// Not shadowed by /chat/:id nor /chat/:id/:other.
		wantBody(t, "msgNumber", s.do("GET", "/chat/msgNumber/"+bob, nil), 200, "2")
	})
}
