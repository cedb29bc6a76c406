package services

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"

	"github.com/onlinenow/onlinenow/models"
)

// SocialService owns friendships and blocks.
type SocialService struct {
	db      *gorm.DB
	onBlock BlockListener // nil: nobody listens; set once at wiring
}

// BlockListener hears of each block once it is stored (the game service
// cancels open invitations between the two).
type BlockListener interface {
	OnBlock(ctx context.Context, blocker, blocked string)
}

// NewSocialService returns a SocialService over db.
func NewSocialService(db *gorm.DB) *SocialService { return &SocialService{db: db} }

// SetBlockListener sets who hears of blocks; call it before serving.
func (s *SocialService) SetBlockListener(l BlockListener) { s.onBlock = l }

// checkPair validates two distinct user ids and that both users exist.
func checkPair(ctx context.Context, db *gorm.DB, a, b, nameA, nameB string) error {
	var problems []string
	if !ValidID(a) {
		problems = append(problems, nameA+" must be a UUID")
	}
	if !ValidID(b) {
		problems = append(problems, nameB+" must be a UUID")
	}
	if len(problems) > 0 {
		return Invalid(problems...)
	}
	if a == b {
		return Invalid(nameA + " and " + nameB + " must differ")
	}
	var n int64
	if err := db.WithContext(ctx).Model(&models.User{}).Where("id IN ?", []string{a, b}).Count(&n).Error; err != nil {
		return fmt.Errorf("count users: %w", err)
	}
	if n != 2 {
		return Public(ErrNotFound, "user not found")
	}
	return nil
}

// CreateFriend records a PENDING friend request from userID to friendID.
// It fails with ErrConflict if a request exists in either direction and with
// ErrForbidden if either user blocks the other.
func (s *SocialService) CreateFriend(ctx context.Context, userID, friendID string) (models.Friend, error) {
	if err := checkPair(ctx, s.db, userID, friendID, "userId", "friendId"); err != nil {
		return models.Friend{}, err
	}
	blocked, err := s.BlockedEither(ctx, userID, friendID)
	if err != nil {
		return models.Friend{}, err
	}
	if blocked {
		return models.Friend{}, Public(ErrForbidden, "a block exists between these users")
	}
	f := models.Friend{FriendShipStatus: models.FriendPending, UserID: userID, FriendID: friendID}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&models.Friend{}).
			Where("(user_id = ? AND friend_id = ?) OR (user_id = ? AND friend_id = ?)", userID, friendID, friendID, userID).
			Count(&n).Error; err != nil {
			return err
		}
		if n > 0 {
			return Public(ErrConflict, "a friendship or request already exists between these users")
		}
		return tx.Create(&f).Error
	})
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return models.Friend{}, Public(ErrConflict, "a friendship or request already exists between these users")
	}
	if err != nil {
		return models.Friend{}, fmt.Errorf("create friend: %w", err)
	}
	return f, nil
}

// Friendship returns the friend rows between a and b in either direction,
// any status, oldest first.
func (s *SocialService) Friendship(ctx context.Context, a, b string) ([]models.Friend, error) {
	var out []models.Friend
	err := s.db.WithContext(ctx).
		Where("(user_id = ? AND friend_id = ?) OR (user_id = ? AND friend_id = ?)", a, b, b, a).
		Order("created_at ASC").Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("friendship: %w", err)
	}
	return out, nil
}

// Pending returns the PENDING requests addressed to userID, oldest first.
func (s *SocialService) Pending(ctx context.Context, userID string) ([]models.Friend, error) {
	var out []models.Friend
	err := s.db.WithContext(ctx).Where("friend_id = ? AND friend_ship_status = ?", userID, models.FriendPending).
		Order("created_at ASC").Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("pending: %w", err)
	}
	return out, nil
}

// Friends returns the ACCEPTED friend rows that involve userID, oldest first.
func (s *SocialService) Friends(ctx context.Context, userID string) ([]models.Friend, error) {
	var out []models.Friend
	err := s.db.WithContext(ctx).
		Where("(user_id = ? OR friend_id = ?) AND friend_ship_status = ?", userID, userID, models.FriendAccepted).
		Order("created_at ASC").Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("friends: %w", err)
	}
	return out, nil
}

// AcceptFriend marks the request from requesterID to addresseeID ACCEPTED.
func (s *SocialService) AcceptFriend(ctx context.Context, requesterID, addresseeID string) (models.Friend, error) {
	var f models.Friend
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Where("user_id = ? AND friend_id = ?", requesterID, addresseeID).First(&f).Error; err != nil {
			return err
		}
		f.FriendShipStatus = models.FriendAccepted
		return tx.Model(&f).Update("friend_ship_status", models.FriendAccepted).Error
	})
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return models.Friend{}, Public(ErrNotFound, "friend request not found")
	}
	if err != nil {
		return models.Friend{}, fmt.Errorf("accept friend: %w", err)
	}
	return f, nil
}

// DeleteFriend deletes the friend rows between a and b in both directions.
func (s *SocialService) DeleteFriend(ctx context.Context, a, b string) error {
	err := s.db.WithContext(ctx).
		Where("(user_id = ? AND friend_id = ?) OR (user_id = ? AND friend_id = ?)", a, b, b, a).
		Delete(&models.Friend{}).Error
	if err != nil {
		return fmt.Errorf("delete friend: %w", err)
	}
	return nil
}

// Block records that userID blocks blockedID. Blocking twice returns the
// existing row.
func (s *SocialService) Block(ctx context.Context, userID, blockedID string) (models.BlockedUser, error) {
	if err := checkPair(ctx, s.db, userID, blockedID, "userId", "blockedUserId"); err != nil {
		return models.BlockedUser{}, err
	}
	var b models.BlockedUser
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		err := tx.Where("user_id = ? AND blocked_user_id = ?", userID, blockedID).First(&b).Error
		if err == nil {
			return nil
		}
		if !errors.Is(err, gorm.ErrRecordNotFound) {
			return err
		}
		b = models.BlockedUser{UserID: userID, BlockedUserID: blockedID}
		return tx.Create(&b).Error
	})
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		// A concurrent Block won the race: read its row.
		err = s.db.WithContext(ctx).Where("user_id = ? AND blocked_user_id = ?", userID, blockedID).First(&b).Error
	}
	if err != nil {
		return models.BlockedUser{}, fmt.Errorf("block: %w", err)
	}
	if s.onBlock != nil {
		s.onBlock.OnBlock(ctx, userID, blockedID)
	}
	return b, nil
}

// Blocks returns the block rows between a and b in either direction, oldest first.
func (s *SocialService) Blocks(ctx context.Context, a, b string) ([]models.BlockedUser, error) {
	var out []models.BlockedUser
	err := s.db.WithContext(ctx).
		Where("(user_id = ? AND blocked_user_id = ?) OR (user_id = ? AND blocked_user_id = ?)", a, b, b, a).
		Order("created_at ASC").Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("blocks: %w", err)
	}
	return out, nil
}

// BlockedBy returns the rows where userID is the blocker, oldest first.
func (s *SocialService) BlockedBy(ctx context.Context, userID string) ([]models.BlockedUser, error) {
	var out []models.BlockedUser
	if err := s.db.WithContext(ctx).Where("user_id = ?", userID).Order("created_at ASC").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("blocked by: %w", err)
	}
	return out, nil
}

// Unblock deletes the block of blockedID by userID.
func (s *SocialService) Unblock(ctx context.Context, userID, blockedID string) error {
	if err := s.db.WithContext(ctx).Where("user_id = ? AND blocked_user_id = ?", userID, blockedID).
		Delete(&models.BlockedUser{}).Error; err != nil {
		return fmt.Errorf("unblock: %w", err)
	}
	return nil
}

// IsBlocked reports whether blocker blocks blocked.
func (s *SocialService) IsBlocked(ctx context.Context, blocker, blocked string) (bool, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&models.BlockedUser{}).
		Where("user_id = ? AND blocked_user_id = ?", blocker, blocked).Count(&n).Error
	if err != nil {
		return false, fmt.Errorf("is blocked: %w", err)
	}
	return n > 0, nil
}

// BlockedEither reports whether a blocks b or b blocks a.
func (s *SocialService) BlockedEither(ctx context.Context, a, b string) (bool, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&models.BlockedUser{}).
		Where("(user_id = ? AND blocked_user_id = ?) OR (user_id = ? AND blocked_user_id = ?)", a, b, b, a).
		Count(&n).Error
	if err != nil {
		return false, fmt.Errorf("blocked either: %w", err)
	}
	return n > 0, nil
}

// StatusAudience returns the ids of userID's accepted friends, less anyone
// who blocks userID or whom userID blocks: the users who may see its presence.
func (s *SocialService) StatusAudience(ctx context.Context, userID string) ([]string, error) {
	var ids []string
	err := s.db.WithContext(ctx).Raw(`
SELECT CASE WHEN f.user_id = ? THEN f.friend_id ELSE f.user_id END AS id
FROM friends f
WHERE (f.user_id = ? OR f.friend_id = ?) AND f.friend_ship_status = ?
  AND NOT EXISTS (
    SELECT 1 FROM blocked_users b
    WHERE (b.user_id = f.user_id AND b.blocked_user_id = f.friend_id)
       OR (b.user_id = f.friend_id AND b.blocked_user_id = f.user_id))`,
		userID, userID, userID, models.FriendAccepted).Scan(&ids).Error
	if err != nil {
		return nil, fmt.Errorf("status audience: %w", err)
	}
	return ids, nil
}
