package gateways

import (
	"context"
	"errors"
	"math"
	"strconv"
	"strings"

	"github.com/zishang520/socket.io/servers/socket/v3"

	"github.com/onlinenow/onlinenow/dto"
	"github.com/onlinenow/onlinenow/services"
)

// GameNamespace is the namespace of the game (contract 4.3).
const GameNamespace = "/game"

// GameGateway owns the /game namespace and delivers the game service's
// events. It keeps no state beyond its handles.
type GameGateway struct {
	g    *Gateways
	game *services.GameService
	nsp  socket.Namespace
	app  socket.Namespace
}

var (
	_ services.GameNotifier       = (*GameGateway)(nil)
	_ services.InvitationListener = (*GameGateway)(nil)
)

// RegisterGame attaches /game to io and makes the gateway game's notifier.
func RegisterGame(io *socket.Server, d Deps, game *services.GameService) *GameGateway {
	g := &Gateways{d: d}
	gg := &GameGateway{g: g, game: game, nsp: io.Of(GameNamespace, nil), app: io.Of(AppNamespace, nil)}
	game.SetNotifier(gg)
	g.secure(gg.nsp)
	handlers := gg.handlers()
	gg.nsp.On("connection", func(args ...any) {
		s := args[0].(*socket.Socket)
		g.onConnection(s, handlers, sendGameError)
		if id, ok := s.Data().(*identity); ok && id != nil {
			game.Connected(id.UserID)
			s.On("disconnect", func(...any) { game.Disconnected(id.UserID) })
		}
	})
	return gg
}

// sendGameError is the /game failure report: the original's error event
// with a string.
func sendGameError(c *conn, msg string, ack socket.Ack) {
	c.s.Emit("error", msg)
	if ack != nil {
		ack([]any{msg}, nil)
	}
}

// gameRoom is the room of a game's players: its id, as in the original.
func gameRoom(gameID string) socket.Room { return socket.Room(gameID) }

func (gg *GameGateway) handlers() map[string]handler {
	return map[string]handler{
		"createGame":       gg.access(gg.createGame),
		"acceptInvitation": gg.access(gg.answer(services.Accept)),
		"rejectInvitation": gg.access(gg.answer(services.Reject)),
		"joinGame":         gg.access(gg.joinGame),
		"ArrowRight":       gg.access(gg.press(services.KeyUp)),
		"ArrowLeft":        gg.access(gg.press(services.KeyDown)),
		"keyup":            gg.access(gg.press(services.KeyRelease)),
		"quiteGame":        gg.access(gg.quit),
		"cancelGame":       gg.access(gg.cancel),
	}
}

// access answers services.ErrGameAccess with error_access, as the original
// did for an unknown game or a non-player.
func (gg *GameGateway) access(h handler) handler {
	return func(ctx context.Context, c *conn, payload any, ack socket.Ack) error {
		err := h(ctx, c, payload, ack)
		if errors.Is(err, services.ErrGameAccess) {
			c.s.Emit("error_access")
			return nil
		}
		return err
	}
}

// own checks that a payload's user id is the socket's user.
func own(c *conn, field, id string) error {
	if id != c.userID {
		return services.Public(services.ErrForbidden, "%s must be your own id", field)
	}
	return nil
}

// maxScore reads createGame's maxScore: absent or null is the default; a
// whole number (or a string of one) is taken as it is.
func maxScore(v any) (*int, error) {
	bad := services.Public(services.ErrInvalid, "maxScore must be a whole number between 1 and %d", services.MaxScoreLimit)
	var f float64
	switch x := v.(type) {
	case nil:
		return nil, nil
	case float64:
		f = x
	case string:
		n, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		if err != nil {
			return nil, bad
		}
		f = n
	default:
		return nil, bad
	}
	if math.IsNaN(f) || f != math.Trunc(f) || f < 1 || f > services.MaxScoreLimit {
		return nil, bad
	}
	n := int(f)
	return &n, nil
}

func (gg *GameGateway) createGame(ctx context.Context, c *conn, payload any, _ socket.Ack) error {
	var in dto.CreateGame
	if err := decode(payload, &in); err != nil {
		return err
	}
	if err := own(c, "creatorId", in.CreatorID); err != nil {
		return err
	}
	limit, err := maxScore(in.MaxScore)
	if err != nil {
		return err
	}
	id, err := gg.game.Create(ctx, services.CreateGameInput{
		CreatorID: in.CreatorID, InvitedID: in.InvitedID, Random: in.IsRamdomOponent, MaxScore: limit,
	})
	if err != nil {
		return err
	}
	return c.s.Emit("Success", dto.GameCreated{ID: id})
}

func (gg *GameGateway) answer(a services.Answer) handler {
	return func(ctx context.Context, c *conn, payload any, _ socket.Ack) error {
		var in dto.InvitationAnswer
		if err := decode(payload, &in); err != nil {
			return err
		}
		if err := own(c, "userId", in.UserID); err != nil {
			return err
		}
		if err := requireIDs("invitationId", in.InvitationID); err != nil {
			return err
		}
		gameID, err := gg.game.Answer(ctx, in.InvitationID, in.UserID, a)
		if err != nil {
			return err
		}
		if a == services.Accept {
			return c.s.Emit("AcceptedGame", dto.AcceptedGame{GameID: gameID})
		}
		return nil
	}
}

// ref decodes a {gameId, userId} payload of the socket's own user.
func ref(c *conn, payload any) (dto.GameRef, error) {
	var in dto.GameRef
	if err := decode(payload, &in); err != nil {
		return in, err
	}
	if in.GameID == "" || in.UserID == "" {
		return in, services.Public(services.ErrInvalid, "Bad request")
	}
	return in, own(c, "userId", in.UserID)
}

func (gg *GameGateway) joinGame(ctx context.Context, c *conn, payload any, _ socket.Ack) error {
	in, err := ref(c, payload)
	if err != nil {
		return err
	}
	return gg.game.Join(ctx, in.GameID, in.UserID, func(g services.Game) {
		c.s.Join(gameRoom(g.ID))
		c.s.Emit("gameSate", dto.GameSate{State: g.Status})
		c.s.Emit("gameData", dto.FromGameState(g))
	})
}

func (gg *GameGateway) press(k services.Key) handler {
	return func(_ context.Context, c *conn, payload any, _ socket.Ack) error {
		in, err := ref(c, payload)
		if err != nil {
			return err
		}
		return gg.game.Press(in.GameID, in.UserID, k)
	}
}

func (gg *GameGateway) quit(ctx context.Context, c *conn, payload any, _ socket.Ack) error {
	in, err := ref(c, payload)
	if err != nil {
		return err
	}
	c.s.Leave(gameRoom(in.GameID))
	return gg.game.Quit(ctx, in.GameID, in.UserID)
}

func (gg *GameGateway) cancel(ctx context.Context, c *conn, payload any, _ socket.Ack) error {
	in, err := ref(c, payload)
	if err != nil {
		return err
	}
	if err := gg.game.Cancel(ctx, in.GameID, in.UserID); err != nil {
		return err
	}
	c.s.Leave(gameRoom(in.GameID))
	return nil
}

// GameStarted implements services.GameNotifier.
func (gg *GameGateway) GameStarted(gameID string) {
	gg.nsp.To(gameRoom(gameID)).Emit("gameSate", dto.GameSate{State: services.GameStarted})
}

// GameFrame implements services.GameNotifier: volatile, on a fresh
// broadcast operator (the flag would otherwise stick to shared state).
func (gg *GameGateway) GameFrame(g services.Game) {
	gg.nsp.To(gameRoom(g.ID)).Volatile().Emit("gameData", dto.FromGameState(g))
}

// GameFinished implements services.GameNotifier.
func (gg *GameGateway) GameFinished(g services.Game) {
	room := gameRoom(g.ID)
	gg.nsp.To(room).Emit("gameSate", dto.GameSate{State: services.GameFinished})
	gg.nsp.To(room).Emit("gameData", dto.FromGameState(g))
	gg.nsp.In(room).SocketsLeave(room)
}

// GameClosed implements services.GameNotifier.
func (gg *GameGateway) GameClosed(gameID string) {
	gg.nsp.In(gameRoom(gameID)).SocketsLeave(gameRoom(gameID))
}

// InvitationsChanged implements services.GameNotifier: gameInvitation on
// /game and on /appGateway (part of the frontend listens there).
func (gg *GameGateway) InvitationsChanged(userID string) {
	gg.nsp.To(userRoom(userID)).Emit("gameInvitation")
	gg.app.To(userRoom(userID)).Emit("gameInvitation")
}

// InvitationEvent implements services.InvitationListener: a received or
// cancelled invitation goes to the receiver's inbox, an answer to the
// sender's.
func (gg *GameGateway) InvitationEvent(ctx context.Context, ev services.InvitationEvent) {
	recipient, actor := ev.ReceiverID, ev.SenderID
	if ev.Type == services.NotifyGameAccepted || ev.Type == services.NotifyGameRejected {
		recipient, actor = ev.SenderID, ev.ReceiverID
	}
	gg.g.record(ctx, services.NotificationInput{
		Recipient: recipient, Type: ev.Type, ActorID: actor,
		Payload: map[string]any{"invitationId": ev.InvitationID, "gameId": ev.GameID, "senderId": ev.SenderID, "receiverId": ev.ReceiverID},
	})
}

// AccessDenied implements services.GameNotifier.
func (gg *GameGateway) AccessDenied(userID, _ string) {
	gg.nsp.To(userRoom(userID)).Emit("error_access")
}

// GameError implements services.GameNotifier.
func (gg *GameGateway) GameError(userID, msg string) {
	gg.nsp.To(userRoom(userID)).Emit("error", msg)
}
