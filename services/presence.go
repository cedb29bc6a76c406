package services

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/onlinenow/onlinenow/models"
)

// StatusStore persists presence.
type StatusStore interface {
	// SaveStatus writes a user's status, and lastSeenAt when it is not nil.
	SaveStatus(ctx context.Context, userID string, status models.Status, lastSeenAt *time.Time) error
	// ResetStatuses sets every user that is not OFFLINE to OFFLINE.
	ResetStatuses(ctx context.Context) (int64, error)
}

// StatusNotifier tells the world about a presence change.
type StatusNotifier interface {
	NotifyStatus(ctx context.Context, change StatusChange)
}

// StatusChange is one transition of a user's presence.
type StatusChange struct {
	UserID     string
	Old, New   models.Status
	LastSeenAt *time.Time
}

// Presence is the connected-clients registry and the presence state machine.
//
// It is the one place that knows how many sockets each user has in each
// namespace. A user's status derives from (live sockets, in-game flag):
// ONLINE when the first identified socket connects, INAGAME while the game
// service says so, OFFLINE when the last socket is gone and none came back
// within the grace period. Every change goes through transition, under mu;
// changes are handed to one worker goroutine (Run) that persists them and
// notifies, so no I/O happens under the lock.
type Presence struct {
	grace    time.Duration
	store    StatusStore
	notifier StatusNotifier
	log      *slog.Logger
	now      func() time.Time

	// mu guards users, queue and closed; held only for map and slice work.
	mu     sync.Mutex
	users  map[string]*presenceEntry
	queue  []queued
	closed bool

	// wake has room for one signal: the worker drains the whole queue per signal.
	wake chan struct{}
}

// queued is a change for the worker, or a barrier (change nil) that only
// marks a point in the queue. done, if not nil, is closed once the worker
// has persisted everything up to and including this item.
type queued struct {
	change *StatusChange
	done   chan struct{}
}

type presenceEntry struct {
	conns  map[string]int // namespace -> live sockets
	total  int
	inGame bool
	status models.Status
	// gen increases on every connect and disconnect; a grace timer only acts
	// if the generation it was armed with is still current.
	gen   uint64
	timer *time.Timer
}

// NewPresence returns a Presence; call Run to start its worker.
func NewPresence(grace time.Duration, store StatusStore, notifier StatusNotifier, log *slog.Logger) *Presence {
	return &Presence{
		grace:    grace,
		store:    store,
		notifier: notifier,
		log:      log,
		now:      func() time.Time { return time.Now().UTC().Truncate(time.Millisecond) },
		users:    map[string]*presenceEntry{},
		wake:     make(chan struct{}, 1),
	}
}

// SetNotifier sets the notifier; it must be called before Run. It exists
// because the gateways that notify are built after the presence they use.
func (p *Presence) SetNotifier(n StatusNotifier) { p.notifier = n }

// Reset marks every user left ONLINE or INAGAME by a previous process OFFLINE.
func (p *Presence) Reset(ctx context.Context) (int64, error) {
	return p.store.ResetStatuses(ctx)
}

func (p *Presence) entry(userID string) *presenceEntry {
	e := p.users[userID]
	if e == nil {
		e = &presenceEntry{conns: map[string]int{}, status: models.StatusOffline}
		p.users[userID] = e
	}
	return e
}

// derived is the status that (sockets, grace timer, in-game) imply.
func (e *presenceEntry) derived() models.Status {
	if e.total == 0 && e.timer == nil {
		return models.StatusOffline
	}
	if e.inGame {
		return models.StatusInGame
	}
	return models.StatusOnline
}

// transition moves e to status and queues the change; it reports whether
// the status changed. Callers hold p.mu.
func (p *Presence) transition(userID string, e *presenceEntry, status models.Status) bool {
	if e.status == status {
		return false
	}
	c := StatusChange{UserID: userID, Old: e.status, New: status}
	if status == models.StatusOffline {
		t := p.now()
		c.LastSeenAt = &t
	}
	e.status = status
	p.enqueue(queued{change: &c})
	return true
}

// enqueue hands q to the worker. Callers hold p.mu.
func (p *Presence) enqueue(q queued) {
	p.queue = append(p.queue, q)
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// forget drops an entry that holds nothing worth remembering. Callers hold p.mu.
func (p *Presence) forget(userID string, e *presenceEntry) {
	if e.total == 0 && e.timer == nil && !e.inGame && e.status == models.StatusOffline {
		delete(p.users, userID)
	}
}

// Connect records a new identified socket of userID in namespace.
func (p *Presence) Connect(userID, namespace string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	e := p.entry(userID)
	e.conns[namespace]++
	e.total++
	e.gen++
	if e.timer != nil {
		e.timer.Stop()
		e.timer = nil
	}
	p.transition(userID, e, e.derived())
}

// Disconnect records that a socket of userID in namespace is gone. When it
// was the user's last socket, a grace timer starts; OFFLINE follows only if
// no socket came back before it fires.
func (p *Presence) Disconnect(userID, namespace string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e := p.users[userID]
	if p.closed || e == nil || e.conns[namespace] == 0 {
		return
	}
	e.conns[namespace]--
	if e.conns[namespace] == 0 {
		delete(e.conns, namespace)
	}
	e.total--
	e.gen++
	if e.total > 0 {
		return
	}
	if p.grace <= 0 {
		p.transition(userID, e, models.StatusOffline)
		p.forget(userID, e)
		return
	}
	gen := e.gen
	e.timer = time.AfterFunc(p.grace, func() { p.expire(userID, gen) })
}

// expire is the grace timer of userID armed at generation gen.
func (p *Presence) expire(userID string, gen uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e := p.users[userID]
	if p.closed || e == nil || e.gen != gen || e.total > 0 {
		return
	}
	e.timer = nil
	p.transition(userID, e, models.StatusOffline)
	p.forget(userID, e)
}

// SetInGame is the game service's entry point: INAGAME while inGame is true
// and the user is connected; back to ONLINE (or OFFLINE) when it is false.
func (p *Presence) SetInGame(userID string, inGame bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	e := p.entry(userID)
	e.inGame = inGame
	p.transition(userID, e, e.derived())
	p.forget(userID, e)
}

// Set applies a status chosen by the user (the frontend's logout sends
// OFFLINE). It is persisted and announced like any other change, and Set
// returns once it is persisted; the next connect or disconnect derives the
// status again.
func (p *Presence) Set(ctx context.Context, userID string, status models.Status) error {
	if !status.Valid() {
		return Invalid("status must be one of the following values: ONLINE, OFFLINE, INAGAME")
	}
	done, err := p.set(userID, status)
	if err != nil {
		return err
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *Presence) set(userID string, status models.Status) (chan struct{}, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, Public(ErrConflict, "server is shutting down")
	}
	e := p.entry(userID)
	p.transition(userID, e, status)
	// A barrier after the change: done closes when it (and anything queued
	// before it for this user) is in the database.
	done := make(chan struct{})
	p.enqueue(queued{done: done})
	if e.total == 0 && e.timer == nil && status != models.StatusOffline {
		// No socket backs this status: it lapses like a last disconnect.
		e.gen++
		gen := e.gen
		e.timer = time.AfterFunc(p.grace, func() { p.expire(userID, gen) })
	}
	p.forget(userID, e)
	return done, nil
}

// Status returns userID's current status and live socket count in namespace
// ("" counts every namespace).
func (p *Presence) Status(userID, namespace string) (models.Status, int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e := p.users[userID]
	if e == nil {
		return models.StatusOffline, 0
	}
	if namespace == "" {
		return e.status, e.total
	}
	return e.status, e.conns[namespace]
}

// Run persists and announces changes until ctx is done. Then it stops every
// grace timer, marks every user it knows OFFLINE, persists that (without
// announcing: the sockets are gone) and returns.
func (p *Presence) Run(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			p.shutdown()
			return nil
		case <-p.wake:
			p.drain(ctx, true)
		}
	}
}

func (p *Presence) take() []queued {
	p.mu.Lock()
	defer p.mu.Unlock()
	q := p.queue
	p.queue = nil
	return q
}

func (p *Presence) drain(ctx context.Context, notify bool) {
	for _, q := range p.take() {
		if c := q.change; c != nil {
			if err := p.store.SaveStatus(ctx, c.UserID, c.New, c.LastSeenAt); err != nil {
				p.log.Error("save status", "user_id", c.UserID, "status", c.New, "err", err)
			}
			if notify && p.notifier != nil {
				p.notifier.NotifyStatus(ctx, *c)
			}
		}
		if q.done != nil {
			close(q.done)
		}
	}
}

func (p *Presence) shutdown() {
	p.mu.Lock()
	p.closed = true
	for id, e := range p.users {
		if e.timer != nil {
			e.timer.Stop()
			e.timer = nil
		}
		e.total = 0
		clear(e.conns)
		e.inGame = false
		p.transition(id, e, models.StatusOffline)
	}
	clear(p.users)
	p.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p.drain(ctx, false)
}
