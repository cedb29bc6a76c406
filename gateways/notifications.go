package gateways

import (
	"context"
	"math"
	"sync"

	"github.com/zishang520/socket.io/servers/socket/v3"

	"github.com/onlinenow/onlinenow/dto"
	"github.com/onlinenow/onlinenow/models"
	"github.com/onlinenow/onlinenow/services"
)

// record stores a notification the gateway just sent (issue 7). A failure
// is logged: the socket event itself went out. The recipient's record does
// not depend on the sender staying connected.
func (g *Gateways) record(ctx context.Context, in services.NotificationInput) {
	if g.d.Inbox == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), eventTimeout)
	defer cancel()
	if _, err := g.d.Inbox.Record(ctx, in); err != nil {
		g.d.Log.Error("record notification", "user_id", in.Recipient, "type", string(in.Type), "err", err)
	}
}

// NotificationGateway adds the inbox to /appGateway: a socket that opts in
// (auth.lastSeq, or the event "sync {lastSeq}") gets the "notification"
// events of its user in seq order after lastSeq, then live ones, and
// "unreadCount" after each change. Other sockets see nothing new.
type NotificationGateway struct {
	g     *Gateways
	app   socket.Namespace
	inbox *services.Notifications

	// mu guards tabs: per user, the identified /appGateway sockets and how
	// many of them reported their tab hidden.
	mu   sync.Mutex
	tabs map[string]*tabCount
}

type tabCount struct{ sockets, hidden int }

var (
	_ services.InboxNotifier = (*NotificationGateway)(nil)
	_ services.Attention     = (*NotificationGateway)(nil)
)

// RegisterNotifications attaches the inbox events to /appGateway (whose
// identity middleware Register installed) and makes the gateway inbox's
// notifier.
func RegisterNotifications(io *socket.Server, d Deps, inbox *services.Notifications) *NotificationGateway {
	ng := &NotificationGateway{g: &Gateways{d: d}, app: io.Of(AppNamespace, nil), inbox: inbox, tabs: map[string]*tabCount{}}
	inbox.SetNotifier(ng)
	ng.app.On("connection", func(args ...any) { ng.onConnection(args[0].(*socket.Socket)) })
	return ng
}

// onConnection opens the socket's stream and starts it: after
// auth.lastSeq (replay, then live), or live from now on.
func (ng *NotificationGateway) onConnection(s *socket.Socket) {
	ctx, cancel := context.WithCancel(context.Background())
	c := &conn{s: s, ctx: ctx}
	id, _ := s.Data().(*identity)
	if id == nil {
		handlers := map[string]handler{"sync": nil, "visibility": nil} // refused by dispatch: no identity
		s.On("sync", func(args ...any) { ng.g.dispatch(c, "sync", handlers["sync"], args, sendException) })
		s.On("visibility", func(args ...any) { ng.g.dispatch(c, "visibility", handlers["visibility"], args, sendException) })
		s.On("disconnect", func(...any) { cancel() })
		return
	}
	c.userID = id.UserID
	// The socket's stream exists only once it opts in (auth.lastSeq or
	// sync): the original frontend's sockets cost the inbox nothing.
	var (
		mu     sync.Mutex // guards stream and gone
		stream *services.NotificationStream
		gone   bool
	)
	openStream := func() *services.NotificationStream {
		mu.Lock()
		defer mu.Unlock()
		if gone {
			return nil
		}
		if stream == nil {
			stream = ng.inbox.Subscribe(id.UserID, func(n models.Notification) {
				s.Emit("notification", dto.FromNotification(n, ng.g.d.Config.Push.FrontendURL))
			})
		}
		return stream
	}
	tab := ng.openTab(id.UserID)
	var closeOnce sync.Once
	closeAll := func() {
		closeOnce.Do(func() {
			cancel()
			mu.Lock()
			gone = true
			st := stream
			mu.Unlock()
			if st != nil {
				st.Close()
			}
			ng.closeTab(id.UserID, tab)
		})
	}
	s.On("disconnect", func(...any) { closeAll() })
	if !s.Connected() {
		// Gone before the listener was in place.
		closeAll()
		return
	}
	visibility := func(_ context.Context, c *conn, payload any, ack socket.Ack) error {
		var in dto.Visibility
		if err := decode(payload, &in); err != nil {
			return err
		}
		if in.Hidden == nil {
			return services.Invalid("hidden must be a boolean")
		}
		ng.setHidden(c.userID, tab, *in.Hidden)
		if ack != nil {
			ack([]any{map[string]string{"status": "ok"}}, nil)
		}
		return nil
	}
	s.On("visibility", func(args ...any) { ng.g.dispatch(c, "visibility", visibility, args, sendException) })
	sync := func(ctx context.Context, c *conn, payload any, ack socket.Ack) error {
		var in dto.Sync
		if payload != nil {
			if err := decode(payload, &in); err != nil {
				return err
			}
		}
		after := int64(-1)
		if in.LastSeq != nil {
			n, ok := wholeNumber(*in.LastSeq)
			if !ok {
				return services.Invalid("lastSeq must be a whole number >= 0")
			}
			after = n
		}
		st := openStream()
		if st == nil {
			return nil // disconnected meanwhile
		}
		if err := st.Start(ctx, after); err != nil {
			return err
		}
		if !c.s.Rooms().Has(inboxRoom(c.userID)) {
			c.s.Join(inboxRoom(c.userID))
			ng.inbox.RefreshCounts(c.userID)
		}
		if ack != nil {
			ack([]any{map[string]string{"status": "ok"}}, nil)
		}
		return nil
	}
	s.On("sync", func(args ...any) { ng.g.dispatch(c, "sync", sync, args, sendException) })

	// Only sockets that opt in (auth.lastSeq here, or sync) get the
	// inbox events: the original frontend's sockets see nothing new.
	v, ok := s.Handshake().Auth["lastSeq"]
	if !ok || v == nil {
		return
	}
	f, isNum := v.(float64)
	after, whole := wholeNumber(f)
	if !isNum || !whole {
		sendException(c, "auth.lastSeq must be a whole number >= 0", nil)
		return
	}
	st := openStream()
	if st == nil {
		return
	}
	s.Join(inboxRoom(id.UserID))
	sctx, scancel := context.WithTimeout(ctx, eventTimeout)
	defer scancel()
	if err := st.Start(sctx, after); err != nil {
		ng.g.d.Log.Error("notification replay", "socket_id", string(s.Id()), "user_id", id.UserID, "err", err)
		sendException(c, "Internal server error", nil)
	}
	ng.inbox.RefreshCounts(id.UserID)
}

// inboxRoom holds a user's /appGateway sockets that opted in to the inbox
// events.
func inboxRoom(userID string) socket.Room { return socket.Room("inbox:" + userID) }

// wholeNumber reads a JSON number as a sequence number.
func wholeNumber(f float64) (int64, bool) {
	if math.IsNaN(f) || f != math.Trunc(f) || f < 0 || f > 1<<53 {
		return 0, false
	}
	return int64(f), true
}

// UnreadChanged implements services.InboxNotifier: the absolute counts to
// every /appGateway tab of the user.
func (ng *NotificationGateway) UnreadChanged(userID string, counts services.UnreadCounts) {
	if err := ng.app.To(inboxRoom(userID)).Emit("unreadCount", dto.FromUnreadCounts(counts)); err != nil {
		ng.g.d.Log.Error("emit unreadCount", "user_id", userID, "err", err)
	}
}

// SetInbox makes the /appGateway and /chatGateway handlers record the
// notifications they send; call it before serving.
func (g *Gateways) SetInbox(inbox *services.Notifications) { g.d.Inbox = inbox }

// tabState is one socket's reported visibility; guarded by the gateway's mu.
type tabState struct{ hidden bool }

// openTab counts a new identified socket of userID, visible until it says
// otherwise.
func (ng *NotificationGateway) openTab(userID string) *tabState {
	ng.mu.Lock()
	defer ng.mu.Unlock()
	tc := ng.tabs[userID]
	if tc == nil {
		tc = &tabCount{}
		ng.tabs[userID] = tc
	}
	tc.sockets++
	return &tabState{}
}

// closeTab forgets a socket of userID.
func (ng *NotificationGateway) closeTab(userID string, tab *tabState) {
	ng.mu.Lock()
	defer ng.mu.Unlock()
	tc := ng.tabs[userID]
	if tc == nil {
		return
	}
	tc.sockets--
	if tab.hidden {
		tc.hidden--
	}
	if tc.sockets <= 0 {
		delete(ng.tabs, userID)
	}
}

// setHidden records a socket's reported visibility.
func (ng *NotificationGateway) setHidden(userID string, tab *tabState, hidden bool) {
	ng.mu.Lock()
	defer ng.mu.Unlock()
	tc := ng.tabs[userID]
	if tc == nil || tab.hidden == hidden {
		return
	}
	tab.hidden = hidden
	if hidden {
		tc.hidden++
	} else {
		tc.hidden--
	}
}

// Watching implements services.Attention: a user is watching while one
// of its /appGateway sockets has not reported its tab hidden, or, with no
// /appGateway socket, while it has a socket in another namespace.
func (ng *NotificationGateway) Watching(userID string) bool {
	ng.mu.Lock()
	tc := ng.tabs[userID]
	sockets, hidden := 0, 0
	if tc != nil {
		sockets, hidden = tc.sockets, tc.hidden
	}
	ng.mu.Unlock()
	if sockets > 0 {
		return hidden < sockets
	}
	_, total := ng.g.d.Presence.Status(userID, "")
	return total > 0
}
