package services

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"gorm.io/gorm"

	"github.com/google/uuid"
	"github.com/onlinenow/onlinenow/models"
)

// NotificationType names what a notification is about.
type NotificationType string

// The notification types (issue 7). Each is recorded for the user who
// receives the matching socket event, never for its actor.
const (
	NotifyFriendRequest          NotificationType = "friend_request"           // RequestFriendShip, inviteUser
	NotifyFriendRequestCancelled NotificationType = "friend_request_cancelled" // CancelFriendShip
	NotifyFriendAccepted         NotificationType = "friend_accepted"          // AcceptRequest
	NotifyFriendRequestDeleted   NotificationType = "friend_request_deleted"   // DeleteRequest
	NotifyFriendDeleted          NotificationType = "friend_deleted"           // DeleteFriendShip
	NotifyBlock                  NotificationType = "block"                    // BlockFriend
	NotifyUnblock                NotificationType = "unblock"                  // UnblockFriend
	NotifyMessage                NotificationType = "message"                  // direct message (notifMessage)
	NotifyGameInvitation         NotificationType = "game_invitation"
	NotifyGameAccepted           NotificationType = "game_invitation_accepted"
	NotifyGameRejected           NotificationType = "game_invitation_rejected"
	NotifyGameCancelled          NotificationType = "game_invitation_cancelled"
	NotifyChannelKick            NotificationType = "channel_kick" // redirectAfterGetKicked
)

// notificationDefaults lists every type with whether it is enabled when
// the user has not chosen. Block and unblock are refresh signals and start
// muted; everything else, game invitations and friend requests included,
// starts enabled.
var notificationDefaults = map[NotificationType]bool{
	NotifyFriendRequest: true, NotifyFriendRequestCancelled: true, NotifyFriendAccepted: true,
	NotifyFriendRequestDeleted: true, NotifyFriendDeleted: true, NotifyBlock: false, NotifyUnblock: false,
	NotifyMessage: true, NotifyGameInvitation: true, NotifyGameAccepted: true, NotifyGameRejected: true,
	NotifyGameCancelled: true, NotifyChannelKick: true,
}

// NotificationTypes returns every notification type, sorted.
func NotificationTypes() []NotificationType {
	out := make([]NotificationType, 0, len(notificationDefaults))
	for t := range notificationDefaults {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

// Limits of the inbox API.
const (
	DefaultNotificationPage = 50
	MaxNotificationPage     = 200
	maxReadIDs              = 500
	// maxStreamBuffer bounds the live notifications a stream keeps while
	// it catches up; beyond it the stream reads them from the database.
	maxStreamBuffer = 256
	// notificationOpTimeout bounds the database work a stream or a count
	// refresh does on behalf of a caller whose context may end first.
	notificationOpTimeout = 5 * time.Second
)

// NotificationInput is one notification to record.
type NotificationInput struct {
	Recipient string
	Type      NotificationType
	ActorID   string // "" when no user caused it
	Payload   any    // marshalled to JSON; nil is {}
}

// UnreadCounts are a user's unread notifications of enabled types: the
// total, by type and by sender (actor).
type UnreadCounts struct {
	Total    int64
	ByType   map[string]int64
	BySender map[string]int64
}

// InboxNotifier delivers what the inbox decides; the /appGateway gateway
// implements it. Calls are made without any lock held.
type InboxNotifier interface {
	// UnreadChanged sends counts, absolute, to every tab of userID.
	UnreadChanged(userID string, counts UnreadCounts)
}

// RecordListener hears about every notification recorded, after it is
// committed and streamed; the Web Push dispatcher is one. Recorded runs on
// the recording goroutine, without any lock held: it must not block.
type RecordListener interface {
	Recorded(ctx context.Context, n models.Notification)
}

// NotificationsConfig holds the inbox's retention; zero values take
// defaults.
type NotificationsConfig struct {
	Retention  time.Duration // 30 days: older notifications are pruned
	InboxCap   int           // 1000: a user keeps at most this many
	SweepEvery time.Duration // 1 hour: how often the pruning runs
}

func (c NotificationsConfig) withDefaults() NotificationsConfig {
	if c.Retention <= 0 {
		c.Retention = 30 * 24 * time.Hour
	}
	if c.InboxCap <= 0 {
		c.InboxCap = 1000
	}
	if c.SweepEvery <= 0 {
		c.SweepEvery = time.Hour
	}
	return c
}

// Notifications is the durable inbox: it records notifications with a
// per-user sequence, lists and marks them, keeps the users' preferences,
// feeds the live streams of connected sockets and prunes old entries.
//
// Muted types are still recorded and still streamed (so a client's
// sequence has no holes); they are left out of the unread counts, and a
// client should not show them as alerts.
//
// Locks: mu guards streams and counts (tiny critical sections); each
// stream has its own mu, never taken while holding s.mu. No database
// work, emit or log happens under either.
type Notifications struct {
	db  *gorm.DB
	log *slog.Logger
	cfg NotificationsConfig
	now func() time.Time

	mu       sync.Mutex
	notifier InboxNotifier
	listener RecordListener
	streams  map[string]map[*NotificationStream]struct{} // user id -> live streams
	counts   map[string]*countRun                        // user id -> running count refresh
}

// countRun serializes one user's unread-count refreshes: one caller runs
// them; callers arriving meanwhile set dirty so it computes once more.
type countRun struct{ dirty bool }

// NewNotifications returns the inbox over db.
func NewNotifications(db *gorm.DB, log *slog.Logger, cfg NotificationsConfig) *Notifications {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Notifications{
		db: db, log: log, cfg: cfg.withDefaults(), now: time.Now,
		streams: map[string]map[*NotificationStream]struct{}{},
		counts:  map[string]*countRun{},
	}
}

// SetNotifier sets where unread counts go; call it before serving.
func (s *Notifications) SetNotifier(n InboxNotifier) {
	s.mu.Lock()
	s.notifier = n
	s.mu.Unlock()
}

// SetListener sets who hears about recorded notifications; call it before
// serving.
func (s *Notifications) SetListener(l RecordListener) {
	s.mu.Lock()
	s.listener = l
	s.mu.Unlock()
}

// Record stores a notification for in.Recipient with the next sequence
// number, hands it to the recipient's live streams, and sends the
// recipient's tabs their new unread counts.
//
// The sequence comes from the recipient's NotificationCounter row, moved
// in the same statement as the insert: on PostgreSQL by an upsert whose
// row lock holds any other insert for the same user until it commits; on
// SQLite by a trigger, the single writer serializing the statements. So per user, seq order is
// commit order, and once seq n is visible every seq below it is too.
func (s *Notifications) Record(ctx context.Context, in NotificationInput) (models.Notification, error) {
	var n models.Notification
	if !ValidID(in.Recipient) {
		return n, Invalid("recipient must be a UUID")
	}
	if _, ok := notificationDefaults[in.Type]; !ok {
		return n, Invalid("unknown notification type " + string(in.Type))
	}
	payload := in.Payload
	if payload == nil {
		payload = struct{}{}
	}
	raw, err := json.Marshal(payload)
	if err != nil {
		return n, fmt.Errorf("notification payload: %w", err)
	}
	n = models.Notification{
		UserID: in.Recipient, Type: string(in.Type), Payload: string(raw),
		CreatedAt: s.now().UTC().Truncate(time.Millisecond),
	}
	if in.ActorID != "" {
		actor := in.ActorID
		n.ActorID = &actor
	}
	n.ID = uuid.NewString()
	err = s.insert(ctx, &n)
	// Raw statements' errors come untranslated: map the driver's own.
	if tr, ok := s.db.Dialector.(gorm.ErrorTranslator); ok && err != nil {
		err = tr.Translate(err)
	}
	if errors.Is(err, gorm.ErrForeignKeyViolated) {
		return models.Notification{}, Public(ErrNotFound, "user not found")
	}
	if err != nil {
		return models.Notification{}, fmt.Errorf("record notification: %w", err)
	}
	listening := false
	for _, st := range s.userStreams(in.Recipient) {
		if st.offer(n) {
			listening = true
		}
	}
	// Counts go only to tabs that opted in; a tab opting in later gets
	// them when it starts (the gateway refreshes after Start).
	if listening {
		s.RefreshCounts(in.Recipient)
	}
	s.mu.Lock()
	listener := s.listener
	s.mu.Unlock()
	if listener != nil {
		listener.Recorded(ctx, n)
	}
	return n, nil
}

// insertNotification stores a notification with its user's next seq in
// one statement, per dialect. On PostgreSQL the counter upsert is a
// data-modifying CTE: its row lock holds any other insert for the same
// user until the statement commits (and one statement keeps GORM's
// prepared statement cached, which a transaction would prepare and
// deallocate each time). SQLite has no data-modifying CTE: the insert
// reads the seq from the counter and a trigger moves the counter (see
// database.Migrate); the single writer makes the statement atomic.
const (
	insertNotificationPostgres = `WITH c AS (
			INSERT INTO notification_counters (user_id, last_seq) VALUES (@user, 1)
			ON CONFLICT (user_id) DO UPDATE SET last_seq = notification_counters.last_seq + 1
			RETURNING last_seq)
		INSERT INTO notifications (id, user_id, seq, type, actor_id, actor_name, payload, created_at)
		SELECT @id, @user, c.last_seq, @type, @actor, (SELECT name FROM users WHERE id = @actor), @payload, @created FROM c
		RETURNING seq, actor_name`
	insertNotificationSQLite = `INSERT INTO notifications (id, user_id, seq, type, actor_id, actor_name, payload, created_at)
		VALUES (@id, @user, COALESCE((SELECT last_seq FROM notification_counters WHERE user_id = @user), 0) + 1,
			@type, @actor, (SELECT name FROM users WHERE id = @actor), @payload, @created)
		RETURNING seq, actor_name`
)

// insert stores n, setting its Seq and ActorName.
func (s *Notifications) insert(ctx context.Context, n *models.Notification) error {
	query := insertNotificationSQLite
	if s.db.Dialector.Name() == "postgres" {
		query = insertNotificationPostgres
	}
	var row struct {
		Seq       int64
		ActorName *string
	}
	err := s.db.WithContext(ctx).Raw(query, map[string]any{
		"id": n.ID, "user": n.UserID, "type": n.Type, "actor": n.ActorID, "payload": n.Payload, "created": n.CreatedAt,
	}).Scan(&row).Error
	if err != nil {
		return err
	}
	if row.Seq == 0 {
		return errors.New("no sequence number returned")
	}
	n.Seq, n.ActorName = row.Seq, row.ActorName
	return nil
}

// List returns userID's notifications with seq > after, oldest first, at
// most limit (DefaultNotificationPage when 0, at most MaxNotificationPage).
func (s *Notifications) List(ctx context.Context, userID string, after int64, limit int) ([]models.Notification, error) {
	if after < 0 {
		return nil, Invalid("after must be a whole number >= 0")
	}
	if limit == 0 {
		limit = DefaultNotificationPage
	}
	if limit < 1 || limit > MaxNotificationPage {
		return nil, Invalid(fmt.Sprintf("limit must be between 1 and %d", MaxNotificationPage))
	}
	return s.between(ctx, userID, after, -1, limit)
}

// between reads userID's notifications with after < seq <= upTo (upTo < 0:
// no bound), oldest first, at most limit.
func (s *Notifications) between(ctx context.Context, userID string, after, upTo int64, limit int) ([]models.Notification, error) {
	q := s.db.WithContext(ctx).Where("user_id = ? AND seq > ?", userID, after)
	if upTo >= 0 {
		q = q.Where("seq <= ?", upTo)
	}
	list := []models.Notification{}
	if err := q.Order("seq").Limit(limit).Find(&list).Error; err != nil {
		return nil, fmt.Errorf("list notifications: %w", err)
	}
	return list, nil
}

// LastSeq returns the last sequence number given to userID (0 for none).
func (s *Notifications) LastSeq(ctx context.Context, userID string) (int64, error) {
	var c models.NotificationCounter
	err := s.db.WithContext(ctx).Where("user_id = ?", userID).Take(&c).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("last notification seq: %w", err)
	}
	return c.LastSeq, nil
}

// MarkRead marks userID's unread notifications read: those in ids, or, if
// ids is empty, every one with seq <= upToSeq. It returns how many changed
// and, if any did, sends the user's tabs their new counts.
func (s *Notifications) MarkRead(ctx context.Context, userID string, ids []string, upToSeq int64) (int64, error) {
	if len(ids) > maxReadIDs {
		return 0, Invalid(fmt.Sprintf("ids may hold at most %d ids", maxReadIDs))
	}
	for _, id := range ids {
		if !ValidID(id) {
			return 0, Invalid("ids must be UUIDs")
		}
	}
	if len(ids) == 0 && upToSeq < 1 {
		return 0, Invalid("give ids or upToSeq (a whole number >= 1)")
	}
	now := s.now().UTC()
	q := s.db.WithContext(ctx).Model(&models.Notification{}).Where("user_id = ? AND read_at IS NULL", userID)
	if len(ids) > 0 {
		q = q.Where("id IN ?", ids)
	} else {
		q = q.Where("seq <= ?", upToSeq)
	}
	res := q.Updates(map[string]any{"read_at": now, "seen_at": gorm.Expr("COALESCE(seen_at, ?)", now)})
	if res.Error != nil {
		return 0, fmt.Errorf("mark notifications read: %w", res.Error)
	}
	if res.RowsAffected > 0 {
		s.RefreshCounts(userID)
	}
	return res.RowsAffected, nil
}

// UnreadCounts counts userID's unread notifications of enabled types.
func (s *Notifications) UnreadCounts(ctx context.Context, userID string) (UnreadCounts, error) {
	c := UnreadCounts{ByType: map[string]int64{}, BySender: map[string]int64{}}
	prefs, err := s.Preferences(ctx, userID)
	if err != nil {
		return c, err
	}
	var muted []string
	for t, on := range prefs {
		if !on {
			muted = append(muted, string(t))
		}
	}
	q := s.db.WithContext(ctx).Model(&models.Notification{}).Where("user_id = ? AND read_at IS NULL", userID)
	if len(muted) > 0 {
		q = q.Where("type NOT IN ?", muted)
	}
	var rows []struct {
		Type    string
		ActorID *string
		N       int64
	}
	if err := q.Select("type, actor_id, COUNT(*) AS n").Group("type, actor_id").Scan(&rows).Error; err != nil {
		return c, fmt.Errorf("unread notifications: %w", err)
	}
	for _, r := range rows {
		c.Total += r.N
		c.ByType[r.Type] += r.N
		if r.ActorID != nil {
			c.BySender[*r.ActorID] += r.N
		}
	}
	return c, nil
}

// Preferences returns whether each type is enabled for userID.
func (s *Notifications) Preferences(ctx context.Context, userID string) (map[NotificationType]bool, error) {
	var rows []models.NotificationPreference
	if err := s.db.WithContext(ctx).Where("user_id = ?", userID).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("notification preferences: %w", err)
	}
	out := make(map[NotificationType]bool, len(notificationDefaults))
	for t, on := range notificationDefaults {
		out[t] = on
	}
	for _, r := range rows {
		if _, ok := out[NotificationType(r.Type)]; ok {
			out[NotificationType(r.Type)] = r.Enabled
		}
	}
	return out, nil
}

// SetPreferences stores the given choices (type -> enabled) for userID and
// returns all of them. The counts change with them, so the user's tabs
// get theirs.
func (s *Notifications) SetPreferences(ctx context.Context, userID string, set map[NotificationType]bool) (map[NotificationType]bool, error) {
	var bad []string
	for t := range set {
		if _, ok := notificationDefaults[t]; !ok {
			bad = append(bad, "unknown notification type "+string(t))
		}
	}
	if len(bad) > 0 {
		slices.Sort(bad)
		return nil, Invalid(bad...)
	}
	if len(set) > 0 {
		rows := make([]models.NotificationPreference, 0, len(set))
		for t, on := range set {
			rows = append(rows, models.NotificationPreference{UserID: userID, Type: string(t), Enabled: on})
		}
		if err := s.db.WithContext(ctx).Save(&rows).Error; err != nil {
			if errors.Is(err, gorm.ErrForeignKeyViolated) {
				return nil, Public(ErrNotFound, "user not found")
			}
			return nil, fmt.Errorf("save notification preferences: %w", err)
		}
		s.RefreshCounts(userID)
	}
	return s.Preferences(ctx, userID)
}

// RefreshCounts computes userID's unread counts and hands them to the
// notifier. Refreshes of one user run one at a time, and one asked for
// while another runs makes it compute again: the last counts sent are
// computed after the last change, so every tab converges to them.
func (s *Notifications) RefreshCounts(userID string) {
	s.mu.Lock()
	if r, ok := s.counts[userID]; ok {
		r.dirty = true
		s.mu.Unlock()
		return
	}
	s.counts[userID] = &countRun{}
	notifier := s.notifier
	s.mu.Unlock()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), notificationOpTimeout)
		c, err := s.UnreadCounts(ctx, userID)
		cancel()
		if err != nil {
			s.log.Error("unread notification counts", "user_id", userID, "err", err)
		} else if notifier != nil {
			notifier.UnreadChanged(userID, c)
		}
		s.mu.Lock()
		r := s.counts[userID]
		if !r.dirty {
			delete(s.counts, userID)
			s.mu.Unlock()
			return
		}
		r.dirty = false
		s.mu.Unlock()
	}
}

// Prune deletes notifications older than the retention and, per user, all
// but the newest InboxCap. It returns how many it deleted.
func (s *Notifications) Prune(ctx context.Context) (int64, error) {
	old := s.db.WithContext(ctx).Where("created_at < ?", s.now().UTC().Add(-s.cfg.Retention)).Delete(&models.Notification{})
	if old.Error != nil {
		return 0, fmt.Errorf("prune old notifications: %w", old.Error)
	}
	// Seqs are dense below a user's last_seq (pruning only removes the
	// oldest), so seq <= last_seq - cap leaves at most cap entries.
	capped := s.db.WithContext(ctx).Exec(`DELETE FROM notifications WHERE seq <=
		(SELECT c.last_seq FROM notification_counters c WHERE c.user_id = notifications.user_id) - ?`, s.cfg.InboxCap)
	if capped.Error != nil {
		return old.RowsAffected, fmt.Errorf("cap inboxes: %w", capped.Error)
	}
	return old.RowsAffected + capped.RowsAffected, nil
}

// Run prunes at start and every SweepEvery until ctx ends. Failures are
// logged; the next sweep tries again.
func (s *Notifications) Run(ctx context.Context) error {
	t := time.NewTicker(s.cfg.SweepEvery)
	defer t.Stop()
	for {
		pctx, cancel := context.WithTimeout(ctx, time.Minute)
		n, err := s.Prune(pctx)
		cancel()
		if err != nil && ctx.Err() == nil {
			s.log.Error("prune notifications", "err", err)
		} else if n > 0 {
			s.log.Info("notifications pruned", "deleted", n)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Subscribe opens a stream of userID's notifications for one socket;
// emit is called for each in seq order, never twice for one seq, never
// concurrently. The stream is idle until Start; Close it on disconnect.
func (s *Notifications) Subscribe(userID string, emit func(models.Notification)) *NotificationStream {
	st := &NotificationStream{svc: s, userID: userID, emit: emit}
	s.mu.Lock()
	set := s.streams[userID]
	if set == nil {
		set = map[*NotificationStream]struct{}{}
		s.streams[userID] = set
	}
	set[st] = struct{}{}
	s.mu.Unlock()
	return st
}

func (s *Notifications) userStreams(userID string) []*NotificationStream {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*NotificationStream, 0, len(s.streams[userID]))
	for st := range s.streams[userID] {
		out = append(out, st)
	}
	return out
}

// NotificationStream delivers one user's notifications to one socket:
// first the stored ones after the socket's cursor, then the live ones, in
// seq order, with no gap and no duplicate.
//
// Why that holds:
//   - The stream is registered (Subscribe) before Start reads the user's
//     last seq W. A notification committed before that read has seq <= W,
//     and the drain reads it from the database. One committed after it is
//     offered to the stream, since Record looks the streams up after its
//     commit, hence after the registration. Either way the stream learns
//     of it: known rises to its seq.
//   - Per user, seq order is commit order (see Record), so when seq k is
//     known, every seq <= k is committed and a database read of
//     (sent, known] sees all of them (minus any pruned).
//   - Only one caller drains at a time (running), and it emits only seq
//     sent+1 from the live buffer or the rows after sent from the database,
//     raising sent after each: each seq goes out once, in order.
type NotificationStream struct {
	svc    *Notifications
	userID string
	emit   func(models.Notification)

	// mu guards the fields below; emit and database reads happen with it
	// released.
	mu      sync.Mutex
	started bool
	closed  bool
	running bool                  // a caller is draining
	gen     uint64                // bumped by Start: a drain's batch of an older gen is dropped
	sent    int64                 // highest seq emitted (or skipped as the client's)
	known   int64                 // highest seq known to be committed
	buf     []models.Notification // live notifications with seq > sent, by seq
}

// Start begins delivery after seq after (after < 0: after the user's last
// notification so far, i.e. live ones only). On a started stream it moves
// the cursor to after: the client asked again for everything after it.
func (st *NotificationStream) Start(ctx context.Context, after int64) error {
	last, err := st.svc.LastSeq(ctx, st.userID)
	if err != nil {
		return err
	}
	if after < 0 {
		after = last
	}
	st.mu.Lock()
	if st.closed {
		st.mu.Unlock()
		return nil
	}
	st.sent = after
	st.gen++
	st.started = true
	st.known = max(st.known, last)
	st.trim()
	st.mu.Unlock()
	st.drain()
	return nil
}

// Close stops the stream; an emit in progress finishes, no other starts.
func (st *NotificationStream) Close() {
	st.mu.Lock()
	st.closed = true
	st.buf = nil
	st.mu.Unlock()
	s := st.svc
	s.mu.Lock()
	if set := s.streams[st.userID]; set != nil {
		delete(set, st)
		if len(set) == 0 {
			delete(s.streams, st.userID)
		}
	}
	s.mu.Unlock()
}

// offer hands a just-committed notification to the stream and reports
// whether the stream is started (its client opted in).
func (st *NotificationStream) offer(n models.Notification) bool {
	st.mu.Lock()
	if st.closed {
		st.mu.Unlock()
		return false
	}
	started := st.started
	st.known = max(st.known, n.Seq)
	if (!st.started || n.Seq > st.sent) && len(st.buf) < maxStreamBuffer {
		i, found := slices.BinarySearchFunc(st.buf, n.Seq, func(a models.Notification, seq int64) int {
			return int(a.Seq - seq)
		})
		if !found {
			st.buf = slices.Insert(st.buf, i, n)
		}
	}
	st.mu.Unlock()
	st.drain()
	return started
}

// trim drops buffered notifications at or below sent. Call with mu held.
func (st *NotificationStream) trim() {
	i := 0
	for i < len(st.buf) && st.buf[i].Seq <= st.sent {
		i++
	}
	st.buf = st.buf[i:]
}

// drain emits everything in (sent, known], unless another caller already
// does (it will see what this one would have).
func (st *NotificationStream) drain() {
	st.mu.Lock()
	if !st.started || st.running || st.closed {
		st.mu.Unlock()
		return
	}
	st.running = true
	for {
		st.trim()
		if st.closed || st.sent >= st.known {
			st.running = false
			st.mu.Unlock()
			return
		}
		gen := st.gen
		var batch []models.Notification
		skipTo := int64(-1) // after the batch, seqs up to it are pruned ones
		if len(st.buf) > 0 && st.buf[0].Seq == st.sent+1 {
			batch = []models.Notification{st.buf[0]}
		} else {
			from, to := st.sent, st.known
			st.mu.Unlock()
			ctx, cancel := context.WithTimeout(context.Background(), notificationOpTimeout)
			rows, err := st.svc.between(ctx, st.userID, from, to, MaxNotificationPage)
			cancel()
			st.mu.Lock()
			if err != nil {
				// Left for the next offer or Start to retry.
				st.running = false
				st.mu.Unlock()
				st.svc.log.Error("notification stream", "user_id", st.userID, "err", err)
				return
			}
			if len(rows) < MaxNotificationPage {
				// Everything up to `to` was read: what is missing was pruned.
				skipTo = to
			}
			batch = rows
		}
		st.mu.Unlock()
		for _, n := range batch {
			st.mu.Lock()
			if st.closed || st.gen != gen || n.Seq <= st.sent {
				st.mu.Unlock()
				continue
			}
			st.mu.Unlock()
			st.emit(n)
			st.mu.Lock()
			if st.gen == gen {
				st.sent = max(st.sent, n.Seq)
			}
			st.mu.Unlock()
		}
		st.mu.Lock()
		if st.gen == gen {
			st.sent = max(st.sent, skipTo)
		}
	}
}
