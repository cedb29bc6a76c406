package controllers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/gin-gonic/gin"
	"gorm.io/gorm"

	"github.com/onlinenow/onlinenow/config"
	"github.com/onlinenow/onlinenow/controllers"
	"github.com/onlinenow/onlinenow/models"
	"github.com/onlinenow/onlinenow/services"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	os.Exit(m.Run())
}

const (
	frontOrigin = "http://localhost:5173"
	otherOrigin = "http://example.org:8080"
)

// fakePresence is the StatusSetter of the tests: it records calls and
// persists the status, or fails or panics when told to.
type fakePresence struct {
	db *gorm.DB

	mu    sync.Mutex // guards the fields below (handlers run on the test goroutine, but be safe under -race)
	calls []string
	err   error
	panic bool
}

func (p *fakePresence) Set(ctx context.Context, userID string, status models.Status) error {
	p.mu.Lock()
	p.calls = append(p.calls, userID+"="+string(status))
	err, doPanic := p.err, p.panic
	p.mu.Unlock()
	if doPanic {
		panic("presence exploded")
	}
	if err != nil {
		return err
	}
	return p.db.WithContext(ctx).Model(&models.User{}).Where("id = ?", userID).Update("status", status).Error
}

// fail makes the next calls return err, or panic.
func (p *fakePresence) fail(err error, doPanic bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.err, p.panic = err, doPanic
}

func (p *fakePresence) Calls() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.calls...)
}

// lockedBuffer collects log output.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) Lines() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := strings.TrimSpace(b.buf.String())
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// server is a router over a test database.
type server struct {
	t        *testing.T
	db       *gorm.DB
	router   *gin.Engine
	presence *fakePresence
	logs     *lockedBuffer
}

// newServer serves the routes in AUTH_MODE=compat, the original's open
// REST, so these tests check each route's behaviour without credentials;
// strict mode (callers, 401 and 403) is tested in authz_test.go.
func newServer(t *testing.T, db *gorm.DB) *server {
	return newServerWith(t, db, config.Config{CORSOrigins: []string{frontOrigin, otherOrigin}, AuthMode: config.AuthCompat})
}

func newServerWith(t *testing.T, db *gorm.DB, cfg config.Config) *server {
	social := services.NewSocialService(db)
	s := &server{t: t, db: db, presence: &fakePresence{db: db}, logs: &lockedBuffer{}}
	s.router = controllers.NewRouter(controllers.Deps{
		Config:   cfg,
		Users:    services.NewUserService(db),
		Social:   social,
		Chat:     services.NewChatService(db, social),
		Presence: s.presence,
		Log:      slog.New(slog.NewTextHandler(s.logs, nil)),
	})
	return s
}

// do sends a request; body is sent as is (a string) or marshalled.
func (s *server) do(method, path string, body any, header ...string) *httptest.ResponseRecorder {
	s.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			s.t.Fatal(err)
		}
		r = bytes.NewReader(raw)
	}
	req := httptest.NewRequest(method, path, r)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	s.router.ServeHTTP(w, req)
	return w
}

// ok sends a request that must answer status, and decodes a JSON body into out.
func (s *server) must(method, path string, body any, status int, out any) *httptest.ResponseRecorder {
	s.t.Helper()
	w := s.do(method, path, body)
	if w.Code != status {
		s.t.Fatalf("%s %s = %d %s, want %d", method, path, w.Code, w.Body.String(), status)
	}
	if out != nil {
		if err := json.Unmarshal(w.Body.Bytes(), out); err != nil {
			s.t.Fatalf("%s %s: decode %q: %v", method, path, w.Body.String(), err)
		}
	}
	return w
}

// createUser makes a user through POST /users and returns its JSON.
func (s *server) createUser(name string) map[string]any {
	s.t.Helper()
	var u map[string]any
	s.must("POST", "/users", map[string]any{"name": name, "email": name + "@example.com", "intraId": "i-" + name}, 201, &u)
	return u
}

// keys returns the member names of a JSON object in document order.
func keys(t *testing.T, raw []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		t.Fatalf("not a JSON object: %s", raw)
	}
	var out []string
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, k.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// firstElem returns the first element of a JSON array.
func firstElem(t *testing.T, raw []byte) []byte {
	t.Helper()
	var arr []json.RawMessage
	if err := json.Unmarshal(raw, &arr); err != nil || len(arr) == 0 {
		t.Fatalf("not a non-empty JSON array: %s", raw)
	}
	return arr[0]
}

func wantKeys(t *testing.T, what string, raw []byte, want ...string) {
	t.Helper()
	if got := strings.Join(keys(t, raw), ","); got != strings.Join(want, ",") {
		t.Errorf("%s keys = %s, want %s", what, got, strings.Join(want, ","))
	}
}

var (
	userKeys = []string{"id", "name", "email", "intraId", "Avatar", "status", "isAuth", "isTwoFactorEnabled", "created_at", "updated_at", "lastSeenAt"}
	dmKeys   = []string{"id", "content", "senderId", "recieverId", "roomId", "seen", "created_at"}
	jsTime   = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$`)
)

// wantEmpty checks Nest's answer to a null result: status, no body, no type.
func wantEmpty(t *testing.T, what string, w *httptest.ResponseRecorder, status int) {
	t.Helper()
	if w.Code != status || w.Body.Len() != 0 || w.Header().Get("Content-Type") != "" {
		t.Errorf("%s = %d %q (Content-Type %q), want %d with an empty body and no Content-Type",
			what, w.Code, w.Body.String(), w.Header().Get("Content-Type"), status)
	}
}

// wantBody checks the status and the exact body bytes.
func wantBody(t *testing.T, what string, w *httptest.ResponseRecorder, status int, body string) {
	t.Helper()
	if w.Code != status || w.Body.String() != body {
		t.Errorf("%s = %d %s, want %d %s", what, w.Code, w.Body.String(), status, body)
	}
	if body != "" && strings.HasPrefix(body, "{") && w.Header().Get("Content-Type") != "application/json; charset=utf-8" {
		t.Errorf("%s Content-Type = %q", what, w.Header().Get("Content-Type"))
	}
}

var errBoom = errors.New("db on fire")
