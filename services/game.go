package services

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/onlinenow/onlinenow/models"
)

// ErrGameAccess is an event for a game that does not exist or that the user
// does not play: the /game gateway answers it with error_access.
var ErrGameAccess = errors.New("no access to this game")

// GameNotifier delivers the game service's events; the /game gateway
// implements it. Calls are made without any lock held.
type GameNotifier interface {
	// GameStarted tells the game's room that the game started (gameSate).
	GameStarted(gameID string)
	// GameFrame sends one tick's state to the game's room; a slow client
	// may miss it (volatile).
	GameFrame(g Game)
	// GameFinished tells the room the game is over (gameSate finished and
	// the final gameData) and empties the room.
	GameFinished(g Game)
	// GameClosed empties the room of a game that ended without being played.
	GameClosed(gameID string)
	// InvitationsChanged tells userID to refetch its invitation list.
	InvitationsChanged(userID string)
	// AccessDenied tells userID that gameID is gone or refused (error_access).
	AccessDenied(userID, gameID string)
	// GameError sends userID a message (the error event).
	GameError(userID, msg string)
}

// InvitationEvent is one step of a game invitation's life, for the inbox.
type InvitationEvent struct {
	Type                                       NotificationType // game_invitation, _accepted, _rejected, _cancelled
	InvitationID, GameID, SenderID, ReceiverID string
}

// InvitationListener, when the GameNotifier implements it too, hears every
// invitation received, answered or cancelled. Called without locks held.
type InvitationListener interface {
	InvitationEvent(ctx context.Context, ev InvitationEvent)
}

// invitationEvent tells the notifier, if it listens, about ev.
func (s *GameService) invitationEvent(ctx context.Context, ev InvitationEvent) {
	if l, ok := s.notify.(InvitationListener); ok {
		l.InvitationEvent(ctx, ev)
	}
}

// InGameSetter is the presence entry point for the in-game flag.
type InGameSetter interface {
	SetInGame(userID string, inGame bool)
}

// GameSocial is what the game service asks about two users.
type GameSocial interface {
	Friendship(ctx context.Context, a, b string) ([]models.Friend, error)
	BlockedEither(ctx context.Context, a, b string) (bool, error)
}

// GameConfig holds the game service's durations; zero values take defaults.
type GameConfig struct {
	Tick          time.Duration // 1/60 s
	InvitationTTL time.Duration // 2 min: a PENDING invitation is then CANCELED
	RejoinGrace   time.Duration // 5 s: a player who left may rejoin before it
}

func (c GameConfig) withDefaults() GameConfig {
	if c.Tick <= 0 {
		c.Tick = time.Second / 60
	}
	if c.InvitationTTL <= 0 {
		c.InvitationTTL = 2 * time.Minute
	}
	if c.RejoinGrace <= 0 {
		c.RejoinGrace = 5 * time.Second
	}
	return c
}

// GameService owns the games in memory, the random queue, invitations and
// the end-of-game records.
//
// Locks: mu guards the maps and the queue; each game's own mu guards its
// state. mu is taken before a game's mu, never after. No I/O (database,
// notifier, presence) happens under either.
type GameService struct {
	db       *gorm.DB
	social   GameSocial
	presence InGameSetter
	notify   GameNotifier
	log      *slog.Logger
	cfg      GameConfig
	now      func() time.Time

	// ctx ends every loop and timer callback; cancel is called by Close.
	ctx    context.Context
	cancel context.CancelFunc
	// wg counts loop goroutines and running timer callbacks; Add happens
	// under mu while !closed, so Close can Wait.
	wg sync.WaitGroup

	mu    sync.Mutex
	games map[string]*liveGame
	queue []string       // ids of waiting random games, oldest first
	conns map[string]int // user id -> live /game sockets
	// playing counts each user's started games, so presence hears INAGAME
	// on the first and the end only with the last.
	playing map[string]int
	closed  bool
}

// liveGame is a game in memory with what the service holds for it.
type liveGame struct {
	invitationID string // "" for a random game

	// mu guards everything below; the loop goroutine takes it once a tick.
	mu      sync.Mutex
	g       Game
	entered map[string]bool // players whose joinGame completed at least once
	loop    bool            // a loop goroutine was started: never a second
	removed bool            // no longer in the service's map
	expiry  *time.Timer     // invitation expiry of a waiting game
	away    map[string]*awayTimer
}

// awayTimer is the rejoin grace of one player.
type awayTimer struct {
	t *time.Timer
}

// NewGameService returns a service; Run (or Close) stops it.
func NewGameService(db *gorm.DB, social GameSocial, presence InGameSetter, notify GameNotifier, log *slog.Logger, cfg GameConfig) *GameService {
	ctx, cancel := context.WithCancel(context.Background())
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &GameService{
		db: db, social: social, presence: presence, notify: notify, log: log, cfg: cfg.withDefaults(),
		now: time.Now, ctx: ctx, cancel: cancel,
		games: map[string]*liveGame{}, conns: map[string]int{}, playing: map[string]int{},
	}
}

// SetNotifier sets the notifier; call it before any game is created.
func (s *GameService) SetNotifier(n GameNotifier) { s.notify = n }

func (s *GameService) nowMs() int64 { return s.now().UnixMilli() }

// Run blocks until ctx is done, then closes the service.
func (s *GameService) Run(ctx context.Context) error {
	<-ctx.Done()
	s.Close()
	return nil
}

// Close ends every game without a result: loops stop, players leave the
// in-game state, timers stop, open invitations are canceled. It waits for
// the loops and returns; later calls do nothing.
func (s *GameService) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	games := make([]*liveGame, 0, len(s.games))
	for _, lg := range s.games {
		games = append(games, lg)
	}
	clear(s.games)
	s.queue = nil
	s.mu.Unlock()

	s.cancel()
	var invitations []string
	for _, lg := range games {
		lg.mu.Lock()
		lg.removed = true
		lg.stopTimers()
		if lg.invitationID != "" {
			invitations = append(invitations, lg.invitationID)
		}
		lg.mu.Unlock()
	}
	// The loops see ctx done and free their players.
	s.wg.Wait()
	if len(invitations) > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.db.WithContext(ctx).Model(&models.GamesInvitation{}).
			Where("id IN ? AND status = ?", invitations, models.InvitationPending).
			Update("status", models.InvitationCanceled).Error; err != nil {
			s.log.Error("cancel invitations at shutdown", "err", err)
		}
	}
}

// CancelStale cancels the PENDING invitations a previous process left: their
// games died with it. It returns how many.
func (s *GameService) CancelStale(ctx context.Context) (int64, error) {
	res := s.db.WithContext(ctx).Model(&models.GamesInvitation{}).
		Where("status = ?", models.InvitationPending).Update("status", models.InvitationCanceled)
	if res.Error != nil {
		return 0, fmt.Errorf("cancel stale invitations: %w", res.Error)
	}
	return res.RowsAffected, nil
}

// track registers a goroutine (a loop or a timer callback) the service
// owns; it returns false once the service is closed.
func (s *GameService) track() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.wg.Add(1)
	return true
}

func (s *GameService) lookup(gameID string) *liveGame {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.games[gameID]
}

// Game returns a snapshot of a game in memory.
func (s *GameService) Game(gameID string) (Game, bool) {
	lg := s.lookup(gameID)
	if lg == nil {
		return Game{}, false
	}
	lg.mu.Lock()
	defer lg.mu.Unlock()
	return lg.g, true
}

// Games returns how many games are in memory, and how many random games wait.
func (s *GameService) Games() (games, queued int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.games), len(s.queue)
}

// unlink removes lg from the map and the queue. Callers hold no lock.
func (s *GameService) unlink(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.games, id)
	s.queue = slices.DeleteFunc(s.queue, func(q string) bool { return q == id })
}

// stopTimers stops the expiry and grace timers. Callers hold lg.mu.
func (lg *liveGame) stopTimers() {
	if lg.expiry != nil {
		lg.expiry.Stop()
		lg.expiry = nil
	}
	for id, a := range lg.away {
		a.t.Stop()
		delete(lg.away, id)
	}
}

// CreateGameInput is a createGame request; MaxScore nil means the default.
type CreateGameInput struct {
	CreatorID string
	InvitedID string
	Random    bool
	MaxScore  *int
}

// Create creates an invitation game (a PENDING GamesInvitation, and
// gameInvitation to the invited user) or takes a place in the random queue.
// It returns the game id the creator should join.
func (s *GameService) Create(ctx context.Context, in CreateGameInput) (string, error) {
	if in.Random {
		return s.queueUp(in.CreatorID)
	}
	limit := DefaultScore
	if in.MaxScore != nil {
		limit = *in.MaxScore
		if limit < 1 || limit > MaxScoreLimit {
			return "", Public(ErrInvalid, "maxScore must be between 1 and %d", MaxScoreLimit)
		}
	}
	if !ValidID(in.InvitedID) {
		return "", Public(ErrInvalid, "invitedId must be a UUID")
	}
	notAllowed := Public(ErrForbidden, "You are not allowed to play against this one")
	if in.InvitedID == in.CreatorID {
		return "", notAllowed
	}
	friends, err := s.social.Friendship(ctx, in.CreatorID, in.InvitedID)
	if err != nil {
		return "", err
	}
	if len(friends) == 0 {
		return "", notAllowed
	}
	if blocked, err := s.social.BlockedEither(ctx, in.CreatorID, in.InvitedID); err != nil {
		return "", err
	} else if blocked {
		return "", notAllowed
	}

	id := uuid.NewString()
	expires := s.now().Add(s.cfg.InvitationTTL).UTC()
	inv := models.GamesInvitation{
		Status: models.InvitationPending, SenderID: in.CreatorID, ReceiverID: in.InvitedID,
		GameID: id, ExpiresAt: &expires,
	}
	if err := s.db.WithContext(ctx).Create(&inv).Error; err != nil {
		if errors.Is(err, gorm.ErrForeignKeyViolated) {
			return "", notAllowed
		}
		return "", fmt.Errorf("create invitation: %w", err)
	}
	lg := &liveGame{
		invitationID: inv.ID,
		g:            NewGame(id, in.CreatorID, in.InvitedID, limit, false, s.nowMs()),
		entered:      map[string]bool{},
		away:         map[string]*awayTimer{},
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return "", Public(ErrConflict, "server is shutting down")
	}
	s.games[id] = lg
	lg.mu.Lock()
	lg.expiry = time.AfterFunc(s.cfg.InvitationTTL, func() { s.expire(id) })
	lg.mu.Unlock()
	s.mu.Unlock()
	s.notify.InvitationsChanged(in.InvitedID)
	s.invitationEvent(ctx, InvitationEvent{Type: NotifyGameInvitation, InvitationID: inv.ID, GameID: id,
		SenderID: in.CreatorID, ReceiverID: in.InvitedID})
	// A block stored since the check above may have run its OnBlock before
	// this invitation existed: look again now that it does.
	if blocked, err := s.social.BlockedEither(ctx, in.CreatorID, in.InvitedID); err != nil || blocked {
		s.callOff(ctx, lg, in.CreatorID, "")
		if err != nil {
			return "", err
		}
		return "", notAllowed
	}
	return id, nil
}

// queueUp puts userID in the random queue: it takes the oldest waiting
// game of someone else, or waits with a new one (or the one it already has).
func (s *GameService) queueUp(userID string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return "", Public(ErrConflict, "server is shutting down")
	}
	for i, id := range s.queue {
		lg := s.games[id]
		if lg == nil {
			continue
		}
		lg.mu.Lock()
		if lg.removed || lg.g.Status != GameWaiting {
			lg.mu.Unlock()
			continue
		}
		if lg.g.Player1.ID == userID {
			lg.mu.Unlock()
			return id, nil // already waiting: the same game again
		}
		lg.g.Player2.ID = userID
		lg.mu.Unlock()
		s.queue = slices.Delete(slices.Clone(s.queue), i, i+1)
		return id, nil
	}
	// Whatever was in the queue is stale.
	s.queue = s.queue[:0]
	id := uuid.NewString()
	s.games[id] = &liveGame{
		g:       NewGame(id, userID, "", DefaultScore, true, s.nowMs()),
		entered: map[string]bool{},
		away:    map[string]*awayTimer{},
	}
	s.queue = append(s.queue, id)
	return id, nil
}

// Join enters userID into gameID. enter runs (without locks) once access is
// granted, with the game as it was: the gateway joins the room there and
// answers the caller. When both players are in, the game starts: presence
// says INAGAME, the room hears gameSate started and the loop begins. A join
// of a started game (a rejoin) ends the player's grace.
func (s *GameService) Join(ctx context.Context, gameID, userID string, enter func(Game)) error {
	lg := s.lookup(gameID)
	if lg == nil {
		return ErrGameAccess
	}
	lg.mu.Lock()
	if lg.removed || lg.g.player(userID) == nil {
		lg.mu.Unlock()
		return ErrGameAccess
	}
	before := lg.g
	lg.mu.Unlock()

	enter(before)

	lg.mu.Lock()
	p := lg.g.player(userID)
	if lg.removed || p == nil {
		lg.mu.Unlock()
		return nil // ended meanwhile: its end was announced to the room
	}
	if a := lg.away[userID]; a != nil {
		a.t.Stop()
		delete(lg.away, userID)
	}
	if lg.g.Status != GameFinished {
		p.InTheGame = true
	}
	lg.entered[userID] = true
	start := lg.g.Status == GameWaiting && !lg.loop && lg.g.Player2.ID != "" &&
		lg.entered[lg.g.Player1.ID] && lg.entered[lg.g.Player2.ID] &&
		lg.g.Player1.InTheGame && lg.g.Player2.InTheGame
	if start {
		lg.g.Status = GameStarted
		lg.g.UpdateT = s.nowMs()
		lg.loop = true
		if lg.expiry != nil {
			lg.expiry.Stop()
			lg.expiry = nil
		}
	}
	p1, p2, invitationID := lg.g.Player1.ID, lg.g.Player2.ID, lg.invitationID
	lg.mu.Unlock()
	if !start {
		return nil
	}
	if !s.track() {
		return Public(ErrConflict, "server is shutting down")
	}
	s.setInGame(p1, true)
	s.setInGame(p2, true)
	if invitationID != "" {
		// Played without an explicit accept (joined by its URL): it is accepted.
		if err := s.db.WithContext(ctx).Model(&models.GamesInvitation{}).
			Where("id = ? AND status = ?", invitationID, models.InvitationPending).
			Update("status", models.InvitationAccepted).Error; err != nil {
			s.log.Error("accept invitation at start", "game_id", gameID, "err", err)
		}
	}
	s.notify.GameStarted(gameID)
	go s.loop(lg)
	return nil
}

// Key is a paddle command.
type Key int

// Paddle commands.
const (
	KeyUp      Key = iota // ArrowRight: paddleY increases
	KeyDown               // ArrowLeft: paddleY decreases
	KeyRelease            // keyup
)

// Press applies a paddle command of userID in a started game; before the
// start and after the end it does nothing.
func (s *GameService) Press(gameID, userID string, k Key) error {
	lg := s.lookup(gameID)
	if lg == nil {
		return ErrGameAccess
	}
	lg.mu.Lock()
	defer lg.mu.Unlock()
	p := lg.g.player(userID)
	if lg.removed || p == nil {
		return ErrGameAccess
	}
	if lg.g.Status != GameStarted {
		return nil
	}
	switch k {
	case KeyUp:
		p.UpPress = true
	case KeyDown:
		p.DownPress = true
	case KeyRelease:
		p.UpPress, p.DownPress = false, false
	}
	return nil
}

// Quit is a player leaving gameID (quiteGame). A started game is forfeited
// to the opponent; a waiting game is called off (its invitation CANCELED,
// the other side told). An unknown game is ignored: the frontend quits on
// every unmount, also after a game ended.
func (s *GameService) Quit(ctx context.Context, gameID, userID string) error {
	lg := s.lookup(gameID)
	if lg == nil {
		return nil
	}
	lg.mu.Lock()
	if lg.removed {
		lg.mu.Unlock()
		return nil
	}
	if lg.g.player(userID) == nil {
		lg.mu.Unlock()
		return ErrGameAccess
	}
	switch lg.g.Status {
	case GameStarted:
		lg.g.Forfeit(userID, s.nowMs()) // the loop records it on its next tick
		lg.mu.Unlock()
		return nil
	case GameWaiting:
		lg.mu.Unlock()
		s.callOff(ctx, lg, userID, "")
		return nil
	}
	lg.mu.Unlock()
	return nil
}

// Cancel is cancelGame: the creator calls off its own waiting game.
func (s *GameService) Cancel(ctx context.Context, gameID, userID string) error {
	lg := s.lookup(gameID)
	if lg == nil {
		return nil
	}
	lg.mu.Lock()
	if lg.removed || lg.g.player(userID) == nil {
		lg.mu.Unlock()
		return ErrGameAccess
	}
	if lg.g.Player1.ID != userID || lg.g.Status != GameWaiting {
		lg.mu.Unlock()
		return nil
	}
	lg.mu.Unlock()
	s.callOff(ctx, lg, userID, "")
	return nil
}

// callOff ends a waiting game without a result because by left it (or,
// with by "", because it expired; then reason goes to the sender). The
// invitation, if still PENDING, becomes CANCELED; the receiver's list is
// refreshed and whoever else waits is sent error_access.
func (s *GameService) callOff(ctx context.Context, lg *liveGame, by, reason string) {
	lg.mu.Lock()
	if lg.removed || lg.g.Status != GameWaiting {
		lg.mu.Unlock()
		return
	}
	lg.removed = true
	lg.stopTimers()
	g := lg.g
	lg.mu.Unlock()
	s.unlink(g.ID)

	if lg.invitationID != "" {
		res := s.db.WithContext(ctx).Model(&models.GamesInvitation{}).
			Where("id = ? AND status = ?", lg.invitationID, models.InvitationPending).
			Update("status", models.InvitationCanceled)
		if res.Error != nil {
			s.log.Error("cancel invitation", "game_id", g.ID, "err", res.Error)
		}
		s.notify.InvitationsChanged(g.Player2.ID)
		if res.Error == nil && res.RowsAffected > 0 && by != g.Player2.ID {
			s.invitationEvent(ctx, InvitationEvent{Type: NotifyGameCancelled, InvitationID: lg.invitationID,
				GameID: g.ID, SenderID: g.Player1.ID, ReceiverID: g.Player2.ID})
		}
	}
	if reason != "" {
		s.notify.GameError(g.Player1.ID, reason)
	}
	for _, p := range []Player{g.Player1, g.Player2} {
		if p.ID != "" && p.ID != by {
			s.notify.AccessDenied(p.ID, g.ID)
		}
	}
	s.notify.GameClosed(g.ID)
}

// expire is the invitation timer of a waiting game.
func (s *GameService) expire(gameID string) {
	if !s.track() {
		return
	}
	defer s.wg.Done()
	lg := s.lookup(gameID)
	if lg == nil {
		return
	}
	ctx, cancel := context.WithTimeout(s.ctx, 5*time.Second)
	defer cancel()
	s.callOff(ctx, lg, "", "The invitation expired")
}

var _ BlockListener = (*GameService)(nil)

// OnBlock cancels at once every PENDING invitation between blocker and
// blocked, in either direction: each one's waiting game is called off as
// on expiry (error_access to whoever waits, the receiver's list refreshed).
// Failures are logged: the block itself stands.
func (s *GameService) OnBlock(ctx context.Context, blocker, blocked string) {
	var invs []models.GamesInvitation
	if err := s.db.WithContext(ctx).
		Where("status = ? AND ((sender_id = ? AND receiver_id = ?) OR (sender_id = ? AND receiver_id = ?))",
			models.InvitationPending, blocker, blocked, blocked, blocker).
		Find(&invs).Error; err != nil {
		s.log.Error("invitations across a block", "user_id", blocker, "blocked_id", blocked, "err", err)
		return
	}
	for _, inv := range invs {
		if lg := s.lookup(inv.GameID); lg != nil {
			s.callOff(ctx, lg, "", "")
			continue
		}
		// No game in memory (being created, or just gone): the row alone.
		res := s.db.WithContext(ctx).Model(&models.GamesInvitation{}).
			Where("id = ? AND status = ?", inv.ID, models.InvitationPending).
			Update("status", models.InvitationCanceled)
		if res.Error != nil {
			s.log.Error("cancel invitation across a block", "invitation_id", inv.ID, "err", res.Error)
		} else if res.RowsAffected > 0 {
			s.notify.InvitationsChanged(inv.ReceiverID)
			s.invitationEvent(ctx, InvitationEvent{Type: NotifyGameCancelled, InvitationID: inv.ID,
				GameID: inv.GameID, SenderID: inv.SenderID, ReceiverID: inv.ReceiverID})
		}
	}
}

// Answer is the receiver's answer to an invitation.
type Answer int

// Answers.
const (
	Accept Answer = iota
	Reject
)

// Answer accepts or rejects invitationID for userID, its receiver, and
// returns its game id. Only a PENDING invitation changes: accepting one
// already accepted whose game still waits returns the same game; any other
// repeat changes nothing. A block between the two, or a game that no longer
// exists, cancels it instead. Rejecting removes the game and tells the
// sender (error_access).
func (s *GameService) Answer(ctx context.Context, invitationID, userID string, a Answer) (string, error) {
	var inv models.GamesInvitation
	err := s.db.WithContext(ctx).Where("id = ?", invitationID).Take(&inv).Error
	if errors.Is(err, gorm.ErrRecordNotFound) || (err == nil && inv.ReceiverID != userID) {
		return "", Public(ErrNotFound, "invitation not found")
	}
	if err != nil {
		return "", fmt.Errorf("invitation: %w", err)
	}
	if inv.Status != models.InvitationPending {
		if a == Accept && inv.Status == models.InvitationAccepted {
			if g, ok := s.Game(inv.GameID); ok && g.Status != GameFinished {
				return inv.GameID, nil
			}
		}
		return "", Public(ErrConflict, "this invitation is no longer open")
	}
	lg := s.lookup(inv.GameID)
	blocked, err := s.social.BlockedEither(ctx, inv.SenderID, inv.ReceiverID)
	if err != nil {
		return "", err
	}
	if lg == nil || blocked {
		if lg != nil {
			s.callOff(ctx, lg, userID, "")
		}
		if err := s.setInvitation(ctx, inv.ID, models.InvitationCanceled); err != nil {
			return "", err
		}
		return "", Public(ErrConflict, "this invitation is no longer open")
	}
	next := models.InvitationAccepted
	if a == Reject {
		next = models.InvitationRejected
	}
	if err := s.setInvitation(ctx, inv.ID, next); err != nil {
		return "", err
	}
	answered := NotifyGameAccepted
	if a == Reject {
		answered = NotifyGameRejected
	}
	s.invitationEvent(ctx, InvitationEvent{Type: answered, InvitationID: inv.ID, GameID: inv.GameID,
		SenderID: inv.SenderID, ReceiverID: inv.ReceiverID})
	if a == Reject {
		lg.mu.Lock()
		waiting := !lg.removed && lg.g.Status == GameWaiting
		if waiting {
			lg.removed = true
			lg.stopTimers()
		}
		lg.mu.Unlock()
		if waiting {
			s.unlink(inv.GameID)
			s.notify.AccessDenied(inv.SenderID, inv.GameID)
			s.notify.GameClosed(inv.GameID)
		}
		s.notify.InvitationsChanged(userID)
		return inv.GameID, nil
	}
	return inv.GameID, nil
}

// setInvitation moves a PENDING invitation to state; a concurrent answer
// that got there first makes it a conflict.
func (s *GameService) setInvitation(ctx context.Context, id string, state models.GameInvitationState) error {
	res := s.db.WithContext(ctx).Model(&models.GamesInvitation{}).
		Where("id = ? AND status = ?", id, models.InvitationPending).Update("status", state)
	if res.Error != nil {
		return fmt.Errorf("answer invitation: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return Public(ErrConflict, "this invitation is no longer open")
	}
	return nil
}

// Invitation is one entry of GET /game/invitations/:id.
type Invitation struct {
	ID         string
	SenderName *string
	SenderImg  *string
}

// Invitations returns userID's open invitations (PENDING, not expired, not
// between users who block each other), oldest first.
func (s *GameService) Invitations(ctx context.Context, userID string) ([]Invitation, error) {
	var rows []struct {
		ID         string
		SenderName *string
		SenderImg  *string
		ExpiresAt  *dbTime
	}
	err := s.db.WithContext(ctx).Table("games_invitations AS i").
		Select("i.id AS id, u.name AS sender_name, u.avatar AS sender_img, i.expires_at AS expires_at").
		Joins("JOIN users u ON u.id = i.sender_id").
		Where("i.receiver_id = ? AND i.status = ?", userID, models.InvitationPending).
		Where(`NOT EXISTS (SELECT 1 FROM blocked_users b WHERE
			(b.user_id = i.sender_id AND b.blocked_user_id = i.receiver_id) OR
			(b.user_id = i.receiver_id AND b.blocked_user_id = i.sender_id))`).
		Order("i.created_at ASC").Order("i.id ASC").
		Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("invitations: %w", err)
	}
	now := s.now()
	out := make([]Invitation, 0, len(rows))
	for _, r := range rows {
		if r.ExpiresAt != nil && !r.ExpiresAt.After(now) {
			continue
		}
		out = append(out, Invitation{ID: r.ID, SenderName: r.SenderName, SenderImg: r.SenderImg})
	}
	return out, nil
}

// setInGame counts a started (inGame) or ended game of userID and tells
// presence when the user's first game starts or its last one ends.
func (s *GameService) setInGame(userID string, inGame bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.playing[userID]
	switch {
	case inGame:
		s.playing[userID] = n + 1
	case n <= 1:
		delete(s.playing, userID)
	default:
		s.playing[userID] = n - 1
	}
	// Under mu so that two games' changes reach presence in the order
	// counted. SetInGame only takes presence's own lock and queues the
	// change for its worker: no I/O here.
	if (inGame && n == 0) || (!inGame && n == 1) {
		s.presence.SetInGame(userID, inGame)
	}
}

// Connected records a /game socket of userID.
func (s *GameService) Connected(userID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.conns[userID]++
}

// Disconnected records that a /game socket of userID is gone. With its
// last one, userID leaves the random queue at once, and every other game of
// its gets the rejoin grace: a started game is then forfeited, a waiting
// one called off.
func (s *GameService) Disconnected(userID string) {
	s.mu.Lock()
	if s.conns[userID]--; s.conns[userID] > 0 {
		s.mu.Unlock()
		return
	}
	delete(s.conns, userID)
	var mine []*liveGame
	for _, lg := range s.games {
		mine = append(mine, lg)
	}
	s.mu.Unlock()

	for _, lg := range mine {
		lg.mu.Lock()
		p := lg.g.player(userID)
		if lg.removed || p == nil || lg.g.Status == GameFinished {
			lg.mu.Unlock()
			continue
		}
		if lg.g.Random && lg.g.Status == GameWaiting && lg.g.Player2.ID == "" {
			lg.mu.Unlock()
			s.callOff(s.ctx, lg, userID, "")
			continue
		}
		p.InTheGame = false
		p.UpPress, p.DownPress = false, false
		if lg.away[userID] == nil {
			gameID := lg.g.ID
			a := &awayTimer{}
			a.t = time.AfterFunc(s.cfg.RejoinGrace, func() { s.graceOver(gameID, userID, a) })
			lg.away[userID] = a
		}
		lg.mu.Unlock()
	}
}

// graceOver is the rejoin timer a of userID in gameID.
func (s *GameService) graceOver(gameID, userID string, a *awayTimer) {
	if !s.track() {
		return
	}
	defer s.wg.Done()
	lg := s.lookup(gameID)
	if lg == nil {
		return
	}
	lg.mu.Lock()
	if lg.removed || lg.away[userID] != a {
		lg.mu.Unlock()
		return // rejoined, or ended
	}
	delete(lg.away, userID)
	status := lg.g.Status
	if status == GameStarted {
		lg.g.Forfeit(userID, s.nowMs())
	}
	lg.mu.Unlock()
	if status == GameWaiting {
		ctx, cancel := context.WithTimeout(s.ctx, 5*time.Second)
		defer cancel()
		s.callOff(ctx, lg, userID, "")
	}
}

// loop is the owner goroutine of a started game: one step per tick until
// the game finishes or the service closes.
func (s *GameService) loop(lg *liveGame) {
	defer s.wg.Done()
	t := time.NewTicker(s.cfg.Tick)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			s.abandon(lg)
			return
		case <-t.C:
		}
		lg.mu.Lock()
		if lg.removed {
			lg.mu.Unlock()
			s.abandon(lg)
			return
		}
		lg.g.Step(s.nowMs())
		g := lg.g
		if g.Status == GameFinished {
			lg.removed = true
			lg.stopTimers()
		}
		lg.mu.Unlock()
		if g.Status == GameFinished {
			s.finish(g)
			return
		}
		s.notify.GameFrame(g)
	}
}

// abandon frees a started game that ends without a result (shutdown).
func (s *GameService) abandon(lg *liveGame) {
	lg.mu.Lock()
	lg.removed = true
	lg.stopTimers()
	g := lg.g
	lg.mu.Unlock()
	s.unlink(g.ID)
	s.setInGame(g.Player1.ID, false)
	s.setInGame(g.Player2.ID, false)
}

// finish records a finished game (stats and history in one transaction),
// frees its players and tells the room.
func (s *GameService) finish(g Game) {
	s.unlink(g.ID)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(s.ctx), 5*time.Second)
	defer cancel()
	if err := s.record(ctx, g); err != nil {
		s.log.Error("record game", "game_id", g.ID, "err", err)
	}
	s.setInGame(g.Player1.ID, false)
	s.setInGame(g.Player2.ID, false)
	s.notify.GameFinished(g)
}

// record writes the end of g: with a winner, the loser's lossesNumbr + 1
// and the winner's winsNumbr + 1 and rate + 0.2 (rows created when
// missing, by upsert), then the GamesHistories row; all or nothing.
func (s *GameService) record(ctx context.Context, g Game) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if g.Winner != "" {
			loser := g.Player1.ID
			if loser == g.Winner {
				loser = g.Player2.ID
			}
			// Rows are locked in id order, so two games of the same pair
			// finishing at once with opposite winners cannot deadlock.
			first, second := func() error { return bumpStat(tx, loser, 0, 1, 0) },
				func() error { return bumpStat(tx, g.Winner, 1, 0, 0.2) }
			if g.Winner < loser {
				first, second = second, first
			}
			if err := first(); err != nil {
				return err
			}
			if err := second(); err != nil {
				return err
			}
		}
		h := models.GamesHistories{
			PlayerAID: g.Player1.ID, PlayerAScore: g.Player1.Score,
			PlayerBID: g.Player2.ID, PlayerBScore: g.Player2.Score,
		}
		if err := tx.Create(&h).Error; err != nil {
			return fmt.Errorf("insert history: %w", err)
		}
		return nil
	})
}

// bumpStat adds to userID's stat row in one statement, an upsert: the row
// is created from zero when missing, and two games finishing at once for a
// user without a row both count instead of one hitting the unique index.
func bumpStat(tx *gorm.DB, userID string, wins, losses int, rate float64) error {
	st := models.UserStat{UserID: userID, WinsNumbr: wins, LossesNumbr: losses, Rate: rate}
	err := tx.Clauses(clause.OnConflict{
		Columns: []clause.Column{{Name: "user_id"}},
		DoUpdates: clause.Assignments(map[string]any{
			"wins_numbr":   gorm.Expr("user_stats.wins_numbr + excluded.wins_numbr"),
			"losses_numbr": gorm.Expr("user_stats.losses_numbr + excluded.losses_numbr"),
			"rate":         gorm.Expr("user_stats.rate + excluded.rate"),
		}),
	}).Create(&st).Error
	if err != nil {
		return fmt.Errorf("upsert stat: %w", err)
	}
	return nil
}
