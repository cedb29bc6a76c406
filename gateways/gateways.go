// Package gateways holds the Socket.IO namespaces: identity middleware,
// payload decoding, calls into services, and emits through rooms.
package gateways

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/zishang520/socket.io/servers/socket/v3"
	"github.com/zishang520/socket.io/v3/pkg/types"

	"github.com/onlinenow/onlinenow/config"
	"github.com/onlinenow/onlinenow/dto"
	"github.com/onlinenow/onlinenow/internal/eiows"
	"github.com/onlinenow/onlinenow/services"
)

// Namespace names.
const (
	AppNamespace  = "/appGateway"
	ChatNamespace = "/chatGateway"
)

// eventTimeout bounds the work of one socket event.
const eventTimeout = 5 * time.Second

// NewServer returns a Socket.IO server with the contract's Engine.IO
// settings and CORS for the configured origins.
func NewServer(cfg config.Config) *socket.Server {
	opts := socket.DefaultServerOptions()
	opts.SetPingInterval(25 * time.Second)
	opts.SetPingTimeout(20 * time.Second)
	opts.SetMaxHttpBufferSize(1_000_000)
	opts.SetServeClient(false)
	// Our WebSocket transport (one writer per connection, no per-recipient
	// PreparedMessage) in place of the library's; polling stays the library's.
	opts.SetTransports(types.NewSet[socket.TransportCtor](socket.Polling, eiows.NewBuilder()))
	// Room broadcasts encode one frame and queue it on each recipient's
	// WebSocket directly (through the engine for the others).
	opts.SetAdapter(eiows.AdapterBuilder{})
	opts.SetCors(&types.Cors{
		Origin:      append([]string(nil), cfg.CORSOrigins...),
		Credentials: true,
	})
	return socket.NewServer(nil, opts)
}

// Deps are the services the gateways use.
type Deps struct {
	Config   config.Config
	Users    *services.UserService
	Social   *services.SocialService
	Chat     *services.ChatService
	Presence *services.Presence
	Tokens   *services.Tokens
	Log      *slog.Logger
	// Inbox records the notifications the gateways send (issue 7); nil
	// records nothing.
	Inbox *services.Notifications
}

// Gateways owns the /appGateway and /chatGateway namespaces of one server.
type Gateways struct {
	d    Deps
	app  socket.Namespace
	chat socket.Namespace
}

var _ services.StatusNotifier = (*Gateways)(nil)

// Register attaches the namespaces to io and returns the gateways.
func Register(io *socket.Server, d Deps) *Gateways {
	g := &Gateways{d: d, app: io.Of(AppNamespace, nil), chat: io.Of(ChatNamespace, nil)}
	for _, nsp := range []socket.Namespace{g.app, g.chat} {
		g.secure(nsp)
	}
	appHandlers, chatHandlers := g.appHandlers(), g.chatHandlers()
	g.app.On("connection", func(args ...any) { g.onConnection(args[0].(*socket.Socket), appHandlers, sendException) })
	g.chat.On("connection", func(args ...any) { g.onConnection(args[0].(*socket.Socket), chatHandlers, sendException) })
	return g
}

// userRoom is the room every identified socket of a user joins in its namespace.
func userRoom(userID string) socket.Room { return socket.Room("user:" + userID) }

// identity is what the middleware stores on a socket with SetData.
type identity struct {
	UserID string
}

// conn is one connected socket with its identity and lifetime.
type conn struct {
	s      *socket.Socket
	userID string // "" for a socket without identity
	ctx    context.Context
}

// handler handles one event of an identified socket; payload is the first
// argument the client sent (nil if none), ack its acknowledgement or nil.
type handler func(ctx context.Context, c *conn, payload any, ack socket.Ack) error

// failFunc reports a failed event to its socket; msg is client-safe. The
// app and chat namespaces use sendException; a namespace whose frontend
// listens for another event (the original's "error") passes its own.
type failFunc func(c *conn, msg string, ack socket.Ack)

// sendException emits the "exception" event {status: "error", message} and
// answers the acknowledgement, if any, with the same object.
func sendException(c *conn, msg string, ack socket.Ack) {
	c.s.Emit("exception", dto.Exception{Status: "error", Message: msg})
	if ack != nil {
		ack([]any{dto.Exception{Status: "error", Message: msg}}, nil)
	}
}

// onConnection sets up an accepted socket of any namespace: its user room,
// presence, and its event handlers, whose failures go to fail.
// handlers is built once per namespace; it is shared by its sockets.
func (g *Gateways) onConnection(s *socket.Socket, handlers map[string]handler, fail failFunc) {
	id, _ := s.Data().(*identity)
	ctx, cancel := context.WithCancel(context.Background())
	c := &conn{s: s, ctx: ctx}
	if id != nil {
		c.userID = id.UserID
		s.Join(userRoom(id.UserID))
		g.d.Presence.Connect(id.UserID, s.Nsp().Name())
	}
	s.On("disconnect", func(...any) {
		cancel()
		if c.userID != "" {
			g.d.Presence.Disconnect(c.userID, s.Nsp().Name())
		}
	})
	// One catch-all listener per socket instead of one per event (16 on
	// /appGateway): each listener costs the socket an emitter map entry, a
	// slice and a closure for as long as it lives. Catch-all listeners run
	// in the packet reader, before the event's own; the handler goes to the
	// socket's task queue, where the library runs event listeners, in
	// order, after the same connected check.
	s.OnAny(func(args ...any) {
		if len(args) == 0 {
			return
		}
		event, _ := args[0].(string)
		h, ok := handlers[event]
		if !ok {
			return
		}
		args = args[1:]
		s.Enqueue(func() {
			if s.Connected() {
				g.dispatch(c, event, h, args, fail)
			}
		})
	})
}

// dispatch runs h for one event; every failure is reported through fail,
// in this one place.
func (g *Gateways) dispatch(c *conn, event string, h handler, args []any, fail failFunc) {
	var ack socket.Ack
	if n := len(args); n > 0 {
		if a, ok := args[n-1].(socket.Ack); ok {
			ack = a
			args = args[:n-1]
		} else if a, ok := args[n-1].(func([]any, error)); ok {
			ack = a
			args = args[:n-1]
		}
	}
	var payload any
	if len(args) > 0 {
		payload = args[0]
	}
	err := func() (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("panic in %s: %v", event, r)
			}
		}()
		if c.userID == "" {
			return services.Public(services.ErrForbidden, "this socket has no identity: connect with credentials to send %s", event)
		}
		ctx, cancel := context.WithTimeout(c.ctx, eventTimeout)
		defer cancel()
		return h(ctx, c, payload, ack)
	}()
	if err == nil {
		return
	}
	msg := clientMessage(err)
	if msg == "" {
		g.d.Log.Error("event failed", "nsp", c.s.Nsp().Name(), "socket_id", string(c.s.Id()),
			"user_id", c.userID, "event", event, "err", err)
		msg = "Internal server error"
	}
	fail(c, msg, ack)
}

// clientMessage returns the text a client may see for err, or "" for an
// internal error.
func clientMessage(err error) string {
	var ve *services.ValidationError
	if errors.As(err, &ve) {
		return strings.Join(ve.Problems, "; ")
	}
	var pe *services.PublicError
	if errors.As(err, &pe) {
		return pe.Msg
	}
	return ""
}

// decode converts a payload (decoded JSON: a map) into dst, a pointer to a
// dto struct. Wrong JSON types become a validation error naming the field.
func decode(payload any, dst any) error {
	if _, ok := payload.(map[string]any); !ok {
		return services.Invalid("payload must be an object")
	}
	raw, err := json.Marshal(payload)
	if err != nil {
		return services.Invalid("payload is not valid JSON")
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return services.Invalid(fmt.Sprintf("%s must be a %s", te.Field, jsonKind(te.Type.Kind().String())))
		}
		return services.Invalid("payload has the wrong shape")
	}
	return nil
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string", "ptr":
		return "string"
	case "bool":
		return "boolean"
	case "float64", "int", "int64":
		return "number"
	}
	return goKind
}

// requireIDs checks that each named field holds a UUID.
func requireIDs(fields ...string) error {
	var problems []string
	for i := 0; i+1 < len(fields); i += 2 {
		if !services.ValidID(fields[i+1]) {
			problems = append(problems, fields[i]+" must be a UUID")
		}
	}
	if len(problems) > 0 {
		return services.Invalid(problems...)
	}
	return nil
}

// authenticate is the namespace middleware that fixes a socket's identity.
func (g *Gateways) authenticate(s *socket.Socket, next func(*socket.ExtendedError)) {
	userID, err := g.identify(s)
	if err != nil {
		next(socket.NewExtendedError(err.Error(), nil))
		return
	}
	if userID != "" {
		s.SetData(&identity{UserID: userID})
	}
	next(nil)
}

// identify returns the verified user of a connecting socket, "" for a socket
// without credentials, or an error that refuses the connection.
func (g *Gateways) identify(s *socket.Socket) (string, error) {
	auth := s.Handshake().Auth
	claimed, hasClaim := auth["userId"]
	claimedID, ok := claimed.(string)
	if hasClaim && claimed != nil && !ok {
		return "", errors.New("auth.userId must be a string")
	}
	tokenVal, hasToken := auth["token"]
	token, ok := tokenVal.(string)
	if hasToken && tokenVal != nil && !ok {
		return "", errors.New("auth.token must be a string")
	}
	if token == "" {
		token = requestToken(s.Request().Request())
	}

	var userID string
	switch {
	case token != "":
		claims, err := g.d.Tokens.Verify(token)
		if err != nil {
			return "", errors.New("invalid token")
		}
		if claimedID != "" && claimedID != claims.ID {
			return "", errors.New("auth.userId does not match the token")
		}
		userID = claims.ID
	case claimedID != "" && g.d.Config.AuthMode == config.AuthCompat:
		if !services.ValidID(claimedID) {
			return "", errors.New("auth.userId must be a UUID")
		}
		userID = claimedID
	case claimedID != "":
		return "", errors.New("unverified identity: AUTH_MODE=strict needs a token (auth.token, accessToken cookie or Authorization: Bearer)")
	default:
		return "", nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), eventTimeout)
	defer cancel()
	if _, err := g.d.Users.User(ctx, userID); err != nil {
		if errors.Is(err, services.ErrNotFound) {
			return "", errors.New("unknown user")
		}
		g.d.Log.Error("identify", "err", err)
		return "", errors.New("identity could not be checked, try again")
	}
	return userID, nil
}

// requestToken reads a bearer token from the Authorization header or the
// accessToken cookie of the handshake request.
func requestToken(r *http.Request) string {
	if r == nil {
		return ""
	}
	if h := r.Header.Get("Authorization"); len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	if c, err := r.Cookie("accessToken"); err == nil {
		return c.Value
	}
	return ""
}

// SameOrigin wraps the Socket.IO handler so that the server's own pages
// (/push/demo) can connect: a request whose Origin names the host it was
// sent to is same-origin, needs no CORS, and reaches the library without
// the Origin header, which the library would check against CORS_ORIGINS
// (and refuse a WebSocket upgrade for). Other origins are checked as
// before.
func SameOrigin(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if o := r.Header.Get("Origin"); o != "" {
			if u, err := url.Parse(o); err == nil && u.Host != "" && strings.EqualFold(u.Host, r.Host) {
				r = r.Clone(r.Context())
				r.Header.Del("Origin")
			}
		}
		h.ServeHTTP(w, r)
	})
}
