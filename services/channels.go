package services

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/onlinenow/onlinenow/models"
)

// Channel limits.
const (
	MaxChannelNameLen     = 64
	MaxChannelPasswordLen = 72 // bcrypt reads at most 72 bytes
	MaxSanction           = 365 * 24 * time.Hour
)

// ChannelNotifier hears about changes the service makes on its own: a
// timed ban or mute that expired. The channel gateway implements it.
type ChannelNotifier interface {
	SanctionExpired(ctx context.Context, channelID, userID string, kind Sanction)
}

// ChannelService owns group channels: membership, roles, moderation,
// messages and the expiry of timed bans and mutes.
//
// Authorization: every operation that acts takes the acting user from the
// caller (the socket's verified identity), never from a payload. Only the
// OWNER and ADMINs moderate; nobody moderates the OWNER; only the OWNER
// moderates admins; a MUTED_ADMIN or BANNED_ADMIN does not moderate until
// the sanction ends. A kicked user is re-admitted when the OWNER or an ADMIN
// sends createMember for them (the kick record is removed; they join again
// like anyone else).
type ChannelService struct {
	db       *gorm.DB
	log      *slog.Logger
	now      func() time.Time
	expiries *expiryQueue

	mu       sync.Mutex // guards notifier
	notifier ChannelNotifier
}

// NewChannelService returns a ChannelService over db. Call Run to expire
// sanctions.
func NewChannelService(db *gorm.DB, log *slog.Logger) *ChannelService {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &ChannelService{db: db, log: log, expiries: newExpiryQueue(),
		now: func() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }}
}

// SetNotifier sets who hears about expired sanctions.
func (s *ChannelService) SetNotifier(n ChannelNotifier) {
	s.mu.Lock()
	s.notifier = n
	s.mu.Unlock()
}

// ChannelWithCount is a channel and its number of members.
type ChannelWithCount struct {
	models.Channel
	MemberCount int64
}

// Role groups.
func isAdminRole(r models.Role) bool {
	return r == models.RoleAdmin || r == models.RoleMutedAdmin || r == models.RoleBannedAdmin
}
func isBanned(r models.Role) bool { return r == models.RoleBannedMember || r == models.RoleBannedAdmin }
func isMuted(r models.Role) bool  { return r == models.RoleMutedMember || r == models.RoleMutedAdmin }

// baseRole is r without its sanction.
func baseRole(r models.Role) models.Role {
	switch r {
	case models.RoleMutedAdmin, models.RoleBannedAdmin:
		return models.RoleAdmin
	case models.RoleMutedMember, models.RoleBannedMember:
		return models.RoleMember
	}
	return r
}

func sanctioned(r models.Role, kind Sanction) models.Role {
	admin := isAdminRole(r)
	switch {
	case kind == SanctionBan && admin:
		return models.RoleBannedAdmin
	case kind == SanctionBan:
		return models.RoleBannedMember
	case admin:
		return models.RoleMutedAdmin
	default:
		return models.RoleMutedMember
	}
}

// ValidRole reports whether r is one of the seven roles.
func ValidRole(r models.Role) bool {
	switch r {
	case models.RoleOwner, models.RoleAdmin, models.RoleMember, models.RoleMutedMember,
		models.RoleBannedMember, models.RoleMutedAdmin, models.RoleBannedAdmin:
		return true
	}
	return false
}

// Client-safe errors.
var (
	errChannelNotFound = Public(ErrNotFound, "Channel cannot be found")
	errNotMember       = Public(ErrForbidden, "You are not a member of this channel")
	errBanned          = Public(ErrForbidden, "You are banned from this channel")
	errMuted           = Public(ErrForbidden, "You are muted in this channel")
	errKicked          = Public(ErrForbidden, "You are kicked from this Channel")
	errNotModerator    = Public(ErrForbidden, "Only the channel owner and its admins can do this")
	errNotOwner        = Public(ErrForbidden, "Invalid Owner: only the channel owner can do this")
	errTargetOwner     = Public(ErrForbidden, "Nobody can do this to the channel owner")
	errTargetAdmin     = Public(ErrForbidden, "Only the channel owner can do this to an admin")
	errSelf            = Public(ErrInvalid, "You cannot do this to yourself")
	errTargetNotMember = Public(ErrNotFound, "Invalid Member: this user is not a member of the channel")
	errNameTaken       = Public(ErrConflict, "This channel name is already taken")
	errRaced           = Public(ErrConflict, "The membership changed meanwhile, try again")
)

// CreateChannelInput is a new channel.
type CreateChannelInput struct {
	Name     string
	Type     models.ChannelType
	Password string // required for PROTECTED, ignored otherwise
}

func validName(field, name string) error {
	if strings.TrimSpace(name) == "" {
		return Invalid(field + " should not be empty")
	}
	if !utf8.ValidString(name) || utf8.RuneCountInString(name) > MaxChannelNameLen {
		return Invalid(fmt.Sprintf("%s must be at most %d characters", field, MaxChannelNameLen))
	}
	return nil
}

// Validate checks the name, type and password.
func (in CreateChannelInput) Validate() error {
	var problems []string
	if err := validName("channelName", in.Name); err != nil {
		problems = append(problems, err.(*ValidationError).Problems...)
	}
	switch in.Type {
	case models.ChannelPublic, models.ChannelPrivate:
	case models.ChannelProtected:
		if in.Password == "" {
			problems = append(problems, "channelPassword should not be empty for a PROTECTED channel")
		} else if len(in.Password) > MaxChannelPasswordLen {
			problems = append(problems, fmt.Sprintf("channelPassword must be at most %d bytes", MaxChannelPasswordLen))
		}
	default:
		problems = append(problems, "channelType must be one of the following values: PUBLIC, PROTECTED, PRIVATE")
	}
	if len(problems) > 0 {
		return Invalid(problems...)
	}
	return nil
}

// Create stores a channel owned by ownerID and its OWNER membership.
func (s *ChannelService) Create(ctx context.Context, ownerID string, in CreateChannelInput) (models.Channel, error) {
	var ch models.Channel
	if err := in.Validate(); err != nil {
		return ch, err
	}
	if err := s.userExists(ctx, ownerID, "channelOwnerId"); err != nil {
		return ch, err
	}
	ch = models.Channel{ChannelName: in.Name, ChannelType: in.Type, ChannelOwnerID: ownerID}
	if in.Type == models.ChannelProtected {
		h, err := bcrypt.GenerateFromPassword([]byte(in.Password), bcrypt.DefaultCost)
		if err != nil {
			return models.Channel{}, fmt.Errorf("hash password: %w", err)
		}
		hs := string(h)
		ch.ChannelPassword = &hs
	}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&models.Channel{}).Where("channel_name = ?", in.Name).Count(&n).Error; err != nil {
			return err
		}
		if n > 0 {
			return errNameTaken
		}
		if err := tx.Create(&ch).Error; err != nil {
			return err
		}
		return tx.Create(&models.ChannelMember{UserID: ownerID, ChannelID: ch.ID, Role: models.RoleOwner}).Error
	})
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		err = errNameTaken
	}
	if err != nil {
		return models.Channel{}, wrapOp("create channel", err)
	}
	return ch, nil
}

// wrapOp wraps internal errors with op and passes client-safe ones through.
func wrapOp(op string, err error) error {
	if err == nil {
		return nil
	}
	var pe *PublicError
	var ve *ValidationError
	if errors.As(err, &pe) || errors.As(err, &ve) {
		return err
	}
	return fmt.Errorf("%s: %w", op, err)
}

func (s *ChannelService) userExists(ctx context.Context, id, field string) error {
	if !ValidID(id) {
		return Invalid(field + " must be a UUID")
	}
	var n int64
	if err := s.db.WithContext(ctx).Model(&models.User{}).Where("id = ?", id).Count(&n).Error; err != nil {
		return fmt.Errorf("user exists: %w", err)
	}
	if n == 0 {
		return Public(ErrNotFound, "user not found")
	}
	return nil
}

func channelByID(tx *gorm.DB, id string) (models.Channel, error) {
	var ch models.Channel
	if !ValidID(id) {
		return ch, Invalid("channelId must be a UUID")
	}
	err := tx.Where("id = ?", id).Take(&ch).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return ch, errChannelNotFound
	}
	return ch, err
}

// membership returns the member row, or ok=false.
func membership(tx *gorm.DB, channelID, userID string) (m models.ChannelMember, ok bool, err error) {
	err = tx.Where("channel_id = ? AND user_id = ?", channelID, userID).Take(&m).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return m, false, nil
	}
	return m, err == nil, err
}

func kicked(tx *gorm.DB, channelID, userID string) (bool, error) {
	var n int64
	err := tx.Model(&models.KickedMember{}).Where("channel_id = ? AND user_id = ?", channelID, userID).Count(&n).Error
	return n > 0, err
}

// JoinResult says what Join did.
type JoinResult struct {
	Channel models.Channel
	Member  models.ChannelMember
	New     bool // a membership was created (false: already a member)
}

// Join makes userID a member of channelID, or confirms an existing
// membership. A PROTECTED channel needs its password from a newcomer; a
// banned member, a kicked user and a wrong password are refused. A PRIVATE
// channel is joined by its id, which its members share.
func (s *ChannelService) Join(ctx context.Context, userID, channelID, password string) (JoinResult, error) {
	var res JoinResult
	if err := requireUUIDs("userId", userID, "channelId", channelID); err != nil {
		return res, err
	}
	var upgrade bool
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		ch, err := channelByID(tx, channelID)
		if err != nil {
			return err
		}
		res.Channel = ch
		m, ok, err := membership(tx, channelID, userID)
		if err != nil {
			return err
		}
		if ok {
			if isBanned(m.Role) {
				return errBanned
			}
			res.Member = m
			return nil
		}
		if k, err := kicked(tx, channelID, userID); err != nil {
			return err
		} else if k {
			return errKicked
		}
		if ch.ChannelType == models.ChannelProtected {
			if password == "" {
				return Invalid("channelPasword should not be empty: this channel is PROTECTED")
			}
			match, legacy := checkPassword(ch.ChannelPassword, password)
			if !match {
				return Public(ErrForbidden, "Invalid password")
			}
			upgrade = legacy
		}
		res.Member = models.ChannelMember{UserID: userID, ChannelID: channelID, Role: models.RoleMember}
		if err := tx.Create(&res.Member).Error; err != nil {
			return err
		}
		res.New = true
		return nil
	})
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		// A concurrent join of the same user won: answer as a member.
		return s.Join(ctx, userID, channelID, password)
	}
	if errors.Is(err, gorm.ErrForeignKeyViolated) {
		return res, Public(ErrNotFound, "user not found")
	}
	if err != nil {
		return res, wrapOp("join channel", err)
	}
	if upgrade {
		s.upgradePassword(ctx, channelID, password)
	}
	return res, nil
}

// checkPassword compares password with a stored hash: bcrypt, or an
// unsalted SHA-256 hex from a migrated database (legacy=true on a match,
// so the caller upgrades it).
func checkPassword(stored *string, password string) (match, legacy bool) {
	if stored == nil || *stored == "" {
		return false, false
	}
	h := *stored
	if strings.HasPrefix(h, "$2") {
		return bcrypt.CompareHashAndPassword([]byte(h), []byte(password)) == nil, false
	}
	if len(h) == sha256.Size*2 {
		sum := sha256.Sum256([]byte(password))
		want := hex.EncodeToString(sum[:])
		ok := subtle.ConstantTimeCompare([]byte(strings.ToLower(h)), []byte(want)) == 1
		return ok, ok
	}
	return false, false
}

// upgradePassword replaces a legacy hash with bcrypt; a failure is logged
// (the legacy hash keeps working).
func (s *ChannelService) upgradePassword(ctx context.Context, channelID, password string) {
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err == nil {
		err = s.db.WithContext(ctx).Model(&models.Channel{}).
			Where("id = ? AND channel_password NOT LIKE ?", channelID, "$2%").
			Update("channel_password", string(h)).Error
	}
	if err != nil {
		s.log.ErrorContext(ctx, "upgrade channel password", "channel_id", channelID, "err", err)
	}
}

// MaxChannelMessageLen is the longest channel message, in characters.
const MaxChannelMessageLen = MaxMessageLen

// Post stores a message of userID in channelID. Non-members, banned and
// muted members are refused.
func (s *ChannelService) Post(ctx context.Context, userID, channelID, content string) (models.ChannelMessage, error) {
	var msg models.ChannelMessage
	if err := requireUUIDs("userId", userID, "channelId", channelID); err != nil {
		return msg, err
	}
	if strings.TrimSpace(content) == "" {
		return msg, Invalid("content should not be empty")
	}
	if !utf8.ValidString(content) || utf8.RuneCountInString(content) > MaxChannelMessageLen {
		return msg, Invalid(fmt.Sprintf("content must be at most %d characters of valid UTF-8", MaxChannelMessageLen))
	}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if _, err := channelByID(tx, channelID); err != nil {
			return err
		}
		m, ok, err := membership(tx, channelID, userID)
		switch {
		case err != nil:
			return err
		case !ok:
			return errNotMember
		case isBanned(m.Role):
			return errBanned
		case isMuted(m.Role):
			return errMuted
		}
		msg = models.ChannelMessage{Content: content, UserID: userID, ChannelID: channelID}
		return tx.Create(&msg).Error
	})
	if err != nil {
		return models.ChannelMessage{}, wrapOp("post", err)
	}
	return msg, nil
}

func requireUUIDs(fields ...string) error {
	var problems []string
	for i := 0; i+1 < len(fields); i += 2 {
		if !ValidID(fields[i+1]) {
			problems = append(problems, fields[i]+" must be a UUID")
		}
	}
	if len(problems) > 0 {
		return Invalid(problems...)
	}
	return nil
}

// Action is a moderation action.
type Action string

// Moderation actions.
const (
	ActPromote Action = "createAdmin"
	ActDemote  Action = "createMember"
	ActKick    Action = "kickMember"
	ActBan     Action = "banMember"
	ActMute    Action = "muteMember"
)

// ModerationResult says what a moderation changed.
type ModerationResult struct {
	Channel    models.Channel
	Target     models.ChannelMember // after the change (Kick: the removed row)
	Readmitted bool                 // ActDemote lifted a kick instead of demoting
}

// Moderate applies act by actorID to targetID in channelID. until is the
// end of a ban or mute (ignored otherwise).
func (s *ChannelService) Moderate(ctx context.Context, actorID, channelID, targetID string, act Action, until time.Time) (ModerationResult, error) {
	var res ModerationResult
	if err := requireUUIDs("channelId", channelID, "userId", targetID); err != nil {
		return res, err
	}
	now := s.now()
	if act == ActBan || act == ActMute {
		field := map[Action]string{ActBan: "bannedTime", ActMute: "mutedTime"}[act]
		if until.IsZero() {
			return res, Invalid(field + " must be an ISO 8601 date")
		}
		if !until.After(now) {
			return res, Invalid(field + " must be in the future")
		}
		if until.Sub(now) > MaxSanction {
			return res, Invalid(field + " must be within a year")
		}
		until = until.UTC().Truncate(time.Millisecond)
	}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		ch, err := channelByID(tx, channelID)
		if err != nil {
			return err
		}
		res.Channel = ch
		actor, ok, err := membership(tx, channelID, actorID)
		switch {
		case err != nil:
			return err
		case !ok:
			return errNotMember
		case actor.Role != models.RoleOwner && actor.Role != models.RoleAdmin:
			return errNotModerator
		case actorID == targetID:
			return errSelf
		}
		target, ok, err := membership(tx, channelID, targetID)
		if err != nil {
			return err
		}
		if !ok {
			if act != ActDemote {
				return errTargetNotMember
			}
			// Re-admission of a kicked user.
			del := tx.Where("channel_id = ? AND user_id = ?", channelID, targetID).Delete(&models.KickedMember{})
			if del.Error != nil {
				return del.Error
			}
			if del.RowsAffected == 0 {
				return errTargetNotMember
			}
			res.Readmitted = true
			res.Target = models.ChannelMember{UserID: targetID, ChannelID: channelID}
			return nil
		}
		if target.Role == models.RoleOwner {
			return errTargetOwner
		}
		if isAdminRole(target.Role) && actor.Role != models.RoleOwner {
			return errTargetAdmin
		}
		updates := map[string]any{}
		switch act {
		case ActPromote:
			if target.Role != models.RoleMember {
				return Public(ErrInvalid, "Is Not A Member: only a MEMBER can become an admin")
			}
			updates["role"] = models.RoleAdmin
		case ActDemote:
			if target.Role != models.RoleAdmin {
				return Public(ErrInvalid, "Is Not An Admin: only an ADMIN can become a member")
			}
			updates["role"] = models.RoleMember
		case ActKick:
			if err := tx.Create(&models.KickedMember{UserID: targetID, ChannelID: channelID}).Error; err != nil &&
				!errors.Is(err, gorm.ErrDuplicatedKey) {
				return err
			}
			if err := tx.Delete(&target).Error; err != nil {
				return err
			}
			res.Target = target
			return nil
		case ActBan:
			updates["role"] = sanctioned(target.Role, SanctionBan)
			updates["banned_time"], updates["unbanne_time"] = now, until
			updates["muted_time"], updates["unmute_time"] = nil, nil
		case ActMute:
			if isBanned(target.Role) {
				return Public(ErrInvalid, "This member is banned: a mute would shorten nothing")
			}
			updates["role"] = sanctioned(target.Role, SanctionMute)
			updates["muted_time"], updates["unmute_time"] = now, until
		default:
			return Invalid("unknown action")
		}
		up := tx.Model(&models.ChannelMember{}).Where("id = ? AND role = ?", target.ID, target.Role).Updates(updates)
		if up.Error != nil {
			return up.Error
		}
		if up.RowsAffected != 1 {
			return errRaced
		}
		return tx.Where("id = ?", target.ID).Take(&res.Target).Error
	})
	if err != nil {
		return ModerationResult{}, wrapOp(string(act), err)
	}
	switch act {
	case ActBan:
		s.expiries.Cancel(expiryKey{channelID, targetID, SanctionMute})
		s.expiries.Schedule(expiryKey{channelID, targetID, SanctionBan}, until)
	case ActMute:
		s.expiries.Schedule(expiryKey{channelID, targetID, SanctionMute}, until)
	case ActKick:
		s.expiries.Cancel(expiryKey{channelID, targetID, SanctionBan})
		s.expiries.Cancel(expiryKey{channelID, targetID, SanctionMute})
	}
	return res, nil
}

// Leave removes userID's own membership. The OWNER cannot leave (they
// delete the channel), and a banned or muted member cannot leave until the
// sanction ends, as leaving and joining again would lift it.
func (s *ChannelService) Leave(ctx context.Context, userID, channelID string) (models.Channel, error) {
	var ch models.Channel
	if err := requireUUIDs("userId", userID, "channelId", channelID); err != nil {
		return ch, err
	}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var err error
		if ch, err = channelByID(tx, channelID); err != nil {
			return err
		}
		m, ok, err := membership(tx, channelID, userID)
		switch {
		case err != nil:
			return err
		case !ok:
			return errNotMember
		case m.Role == models.RoleOwner:
			return Public(ErrForbidden, "The owner cannot leave the channel: delete it instead")
		case isBanned(m.Role) || isMuted(m.Role):
			return Public(ErrForbidden, "You cannot leave the channel while banned or muted")
		}
		return tx.Delete(&m).Error
	})
	if err != nil {
		return models.Channel{}, wrapOp("leave channel", err)
	}
	return ch, nil
}

// Remove deletes channelID with its kick records, messages and members;
// only its OWNER may.
func (s *ChannelService) Remove(ctx context.Context, actorID, channelID string) (models.Channel, error) {
	var ch models.Channel
	if err := requireUUIDs("userId", actorID, "channelId", channelID); err != nil {
		return ch, err
	}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var err error
		if ch, err = channelByID(tx, channelID); err != nil {
			return err
		}
		if ch.ChannelOwnerID != actorID {
			return errNotOwner
		}
		return deleteChannel(tx, channelID)
	})
	if err != nil {
		return models.Channel{}, wrapOp("remove channel", err)
	}
	s.expiries.CancelChannel(channelID)
	return ch, nil
}

func deleteChannel(tx *gorm.DB, channelID string) error {
	for _, m := range []any{&models.KickedMember{}, &models.ChannelMessage{}, &models.ChannelMember{}} {
		if err := tx.Where("channel_id = ?", channelID).Delete(m).Error; err != nil {
			return err
		}
	}
	return tx.Where("id = ?", channelID).Delete(&models.Channel{}).Error
}

// Rename changes channelID's name; only its OWNER may.
func (s *ChannelService) Rename(ctx context.Context, actorID, channelID, name string) (models.Channel, error) {
	var ch models.Channel
	if err := requireUUIDs("userId", actorID, "channelId", channelID); err != nil {
		return ch, err
	}
	if err := validName("updatedChannelName", name); err != nil {
		return ch, err
	}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var err error
		if ch, err = channelByID(tx, channelID); err != nil {
			return err
		}
		if ch.ChannelOwnerID != actorID {
			return errNotOwner
		}
		return renameChannel(tx, &ch, name)
	})
	if err != nil {
		return models.Channel{}, wrapOp("rename channel", err)
	}
	return ch, nil
}

func renameChannel(tx *gorm.DB, ch *models.Channel, name string) error {
	if ch.ChannelName == name {
		return nil
	}
	var n int64
	if err := tx.Model(&models.Channel{}).Where("channel_name = ? AND id <> ?", name, ch.ID).Count(&n).Error; err != nil {
		return err
	}
	if n > 0 {
		return errNameTaken
	}
	err := tx.Model(ch).Update("channel_name", name).Error
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return errNameTaken
	}
	return err
}

// ----------------------------------------------------------------- reads

const countColumn = "(SELECT COUNT(*) FROM channel_members m WHERE m.channel_id = channels.id) AS member_count"

func (s *ChannelService) withCount(ctx context.Context) *gorm.DB {
	return s.db.WithContext(ctx).Model(&models.Channel{}).Select("channels.*, " + countColumn)
}

// Discoverable returns the PUBLIC and PROTECTED channels userID is not a
// member of, oldest first. PRIVATE channels are never listed.
func (s *ChannelService) Discoverable(ctx context.Context, userID string) ([]ChannelWithCount, error) {
	var out []ChannelWithCount
	err := s.withCount(ctx).
		Where("channel_type IN ?", []models.ChannelType{models.ChannelPublic, models.ChannelProtected}).
		Where("NOT EXISTS (SELECT 1 FROM channel_members x WHERE x.channel_id = channels.id AND x.user_id = ?)", userID).
		Order("channels.created_at ASC, channels.id ASC").Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("discoverable channels: %w", err)
	}
	return out, nil
}

// Mine returns the channels userID is a member of (any role), oldest first.
func (s *ChannelService) Mine(ctx context.Context, userID string) ([]ChannelWithCount, error) {
	var out []ChannelWithCount
	err := s.withCount(ctx).
		Where("EXISTS (SELECT 1 FROM channel_members x WHERE x.channel_id = channels.id AND x.user_id = ?)", userID).
		Order("channels.created_at ASC, channels.id ASC").Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("my channels: %w", err)
	}
	return out, nil
}

// Channel returns one channel with its member count.
func (s *ChannelService) Channel(ctx context.Context, id string) (ChannelWithCount, error) {
	var out []ChannelWithCount
	if !ValidID(id) {
		return ChannelWithCount{}, errChannelNotFound
	}
	if err := s.withCount(ctx).Where("channels.id = ?", id).Limit(1).Scan(&out).Error; err != nil {
		return ChannelWithCount{}, fmt.Errorf("channel: %w", err)
	}
	if len(out) == 0 {
		return ChannelWithCount{}, errChannelNotFound
	}
	return out[0], nil
}

// MembersWithRoles returns the members of channelID with one of roles, oldest first.
func (s *ChannelService) MembersWithRoles(ctx context.Context, channelID string, roles ...models.Role) ([]models.ChannelMember, error) {
	out := []models.ChannelMember{}
	err := s.db.WithContext(ctx).Where("channel_id = ? AND role IN ?", channelID, roles).
		Order("created_at ASC, id ASC").Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("members: %w", err)
	}
	return out, nil
}

// Member returns userID's membership of channelID, or nil.
func (s *ChannelService) Member(ctx context.Context, channelID, userID string) (*models.ChannelMember, error) {
	m, ok, err := membership(s.db.WithContext(ctx), channelID, userID)
	if err != nil {
		return nil, fmt.Errorf("member: %w", err)
	}
	if !ok {
		return nil, nil
	}
	return &m, nil
}

// Memberships returns userID's channel ids where it may read (not banned).
func (s *ChannelService) Memberships(ctx context.Context, userID string) ([]string, error) {
	var ids []string
	err := s.db.WithContext(ctx).Model(&models.ChannelMember{}).
		Where("user_id = ? AND role NOT IN ?", userID, []models.Role{models.RoleBannedMember, models.RoleBannedAdmin}).
		Pluck("channel_id", &ids).Error
	if err != nil {
		return nil, fmt.Errorf("memberships: %w", err)
	}
	return ids, nil
}

// Messages returns channelID's messages, oldest first.
func (s *ChannelService) Messages(ctx context.Context, channelID string) ([]models.ChannelMessage, error) {
	out := []models.ChannelMessage{}
	err := s.db.WithContext(ctx).Where("channel_id = ?", channelID).Order("created_at ASC, id ASC").Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("channel messages: %w", err)
	}
	return out, nil
}

// Kicked returns channelID's kick records, oldest first.
func (s *ChannelService) Kicked(ctx context.Context, channelID string) ([]models.KickedMember, error) {
	out := []models.KickedMember{}
	err := s.db.WithContext(ctx).Where("channel_id = ?", channelID).Order("created_at ASC, id ASC").Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("kicked members: %w", err)
	}
	return out, nil
}

// KickRecord returns the kick record of userID in channelID, or nil.
func (s *ChannelService) KickRecord(ctx context.Context, channelID, userID string) (*models.KickedMember, error) {
	var k models.KickedMember
	err := s.db.WithContext(ctx).Where("channel_id = ? AND user_id = ?", channelID, userID).Take(&k).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("kick record: %w", err)
	}
	return &k, nil
}

// --------------------------------------------------------------- expiry

// Run reschedules the stored timed sanctions, then expires each exactly
// when it ends, until ctx is done.
func (s *ChannelService) Run(ctx context.Context) error {
	var rows []models.ChannelMember
	err := s.db.WithContext(ctx).
		Where("(role IN ? AND unbanne_time IS NOT NULL) OR (role IN ? AND unmute_time IS NOT NULL)",
			[]models.Role{models.RoleBannedMember, models.RoleBannedAdmin},
			[]models.Role{models.RoleMutedMember, models.RoleMutedAdmin}).Find(&rows).Error
	if err != nil {
		return fmt.Errorf("reschedule sanctions: %w", err)
	}
	for _, m := range rows {
		if isBanned(m.Role) {
			s.expiries.Schedule(expiryKey{m.ChannelID, m.UserID, SanctionBan}, *m.UnbanneTime)
		} else {
			s.expiries.Schedule(expiryKey{m.ChannelID, m.UserID, SanctionMute}, *m.UnmuteTime)
		}
	}
	s.expiries.Run(ctx, s.expire)
	return nil
}

// PendingExpiries returns how many sanctions are scheduled to expire.
func (s *ChannelService) PendingExpiries() int { return s.expiries.Pending() }

// expire lifts one sanction if it is still in force and due, then tells
// the notifier.
func (s *ChannelService) expire(ctx context.Context, k expiryKey) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	lifted, err := s.Lift(ctx, k.ChannelID, k.UserID, k.Kind)
	if err != nil {
		s.log.ErrorContext(ctx, "expire sanction", "channel_id", k.ChannelID, "user_id", k.UserID, "kind", k.Kind, "err", err)
		if ctx.Err() == nil {
			// Try again shortly rather than leave the member sanctioned.
			s.expiries.Schedule(k, time.Now().Add(time.Second))
		}
		return
	}
	if !lifted {
		return
	}
	s.mu.Lock()
	n := s.notifier
	s.mu.Unlock()
	if n != nil {
		n.SanctionExpired(ctx, k.ChannelID, k.UserID, k.Kind)
	}
}

// Lift ends a ban or mute whose time has come; lifted is false when there
// was none in force or it ends later.
func (s *ChannelService) Lift(ctx context.Context, channelID, userID string, kind Sanction) (lifted bool, err error) {
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		m, ok, err := membership(tx.Clauses(clause.Locking{Strength: "UPDATE"}), channelID, userID)
		if err != nil || !ok {
			return err
		}
		var end *time.Time
		updates := map[string]any{"role": baseRole(m.Role)}
		switch {
		case kind == SanctionBan && isBanned(m.Role):
			end = m.UnbanneTime
			updates["banned_time"], updates["unbanne_time"] = nil, nil
		case kind == SanctionMute && isMuted(m.Role):
			end = m.UnmuteTime
			updates["muted_time"], updates["unmute_time"] = nil, nil
		default:
			return nil
		}
		if end != nil && end.After(s.now()) {
			return nil // re-sanctioned for longer: its own schedule lifts it
		}
		up := tx.Model(&models.ChannelMember{}).Where("id = ? AND role = ?", m.ID, m.Role).Updates(updates)
		lifted = up.Error == nil && up.RowsAffected == 1
		return up.Error
	})
	return lifted, err
}
