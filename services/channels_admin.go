package services

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"

	"github.com/onlinenow/onlinenow/models"
)

// The operations below back the original's REST routes that the frontend
// never calls. They have no acting user (REST is unauthenticated until
// issue 6) but keep the channel's invariants: there is one OWNER, made at
// creation, whom none of them can change or remove; sanctions carry an end
// and are scheduled; a kicked user is not added back behind the kick.

// AddMember adds userID to channelID as MEMBER or ADMIN.
func (s *ChannelService) AddMember(ctx context.Context, channelID, userID string, role models.Role) (models.ChannelMember, error) {
	var m models.ChannelMember
	if err := requireUUIDs("userId", userID, "channelId", channelID); err != nil {
		return m, err
	}
	if role != models.RoleMember && role != models.RoleAdmin {
		return m, Invalid("role must be MEMBER or ADMIN")
	}
	if err := s.userExists(ctx, userID, "userId"); err != nil {
		return m, err
	}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if _, err := channelByID(tx, channelID); err != nil {
			return err
		}
		if k, err := kicked(tx, channelID, userID); err != nil {
			return err
		} else if k {
			return Public(ErrConflict, "this user is kicked from the channel: remove the kick record first")
		}
		m = models.ChannelMember{UserID: userID, ChannelID: channelID, Role: role}
		return tx.Create(&m).Error
	})
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return m, Public(ErrConflict, "this user is already a member")
	}
	return m, wrapOp("add member", err)
}

// UpdateMemberInput is a role change; a BANNED role needs BannedUntil, a
// MUTED role MutedUntil.
type UpdateMemberInput struct {
	Role        models.Role
	BannedUntil time.Time
	MutedUntil  time.Time
}

// UpdateMember changes a member's role (never to or from OWNER).
func (s *ChannelService) UpdateMember(ctx context.Context, channelID, userID string, in UpdateMemberInput) (models.ChannelMember, error) {
	var m models.ChannelMember
	if err := requireUUIDs("userId", userID, "channelId", channelID); err != nil {
		return m, err
	}
	if !ValidRole(in.Role) || in.Role == models.RoleOwner {
		return m, Invalid("role must be one of ADMIN, MEMBER, MUTED_MEMBER, BANNED_MEMBER, MUTED_ADMIN, BANNED_ADMIN")
	}
	now := s.now()
	updates := map[string]any{"role": in.Role, "banned_time": nil, "unbanne_time": nil, "muted_time": nil, "unmute_time": nil}
	var key *expiryKey
	var until time.Time
	check := func(field string, t time.Time) error {
		if t.IsZero() || !t.After(now) || t.Sub(now) > MaxSanction {
			return Invalid(field + " must be a date in the coming year")
		}
		return nil
	}
	switch {
	case isBanned(in.Role):
		if err := check("bannedTime", in.BannedUntil); err != nil {
			return m, err
		}
		until = in.BannedUntil.UTC().Truncate(time.Millisecond)
		updates["banned_time"], updates["unbanne_time"] = now, until
		key = &expiryKey{channelID, userID, SanctionBan}
	case isMuted(in.Role):
		if err := check("mutedTime", in.MutedUntil); err != nil {
			return m, err
		}
		until = in.MutedUntil.UTC().Truncate(time.Millisecond)
		updates["muted_time"], updates["unmute_time"] = now, until
		key = &expiryKey{channelID, userID, SanctionMute}
	}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		cur, ok, err := membership(tx, channelID, userID)
		switch {
		case err != nil:
			return err
		case !ok:
			return errTargetNotMember
		case cur.Role == models.RoleOwner:
			return errTargetOwner
		}
		if err := tx.Model(&cur).Updates(updates).Error; err != nil {
			return err
		}
		return tx.Where("id = ?", cur.ID).Take(&m).Error
	})
	if err != nil {
		return models.ChannelMember{}, wrapOp("update member", err)
	}
	s.expiries.Cancel(expiryKey{channelID, userID, SanctionBan})
	s.expiries.Cancel(expiryKey{channelID, userID, SanctionMute})
	if key != nil {
		s.expiries.Schedule(*key, until)
	}
	return m, nil
}

// RemoveMember deletes a membership other than the owner's.
func (s *ChannelService) RemoveMember(ctx context.Context, channelID, userID string) error {
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		m, ok, err := membership(tx, channelID, userID)
		switch {
		case err != nil:
			return err
		case !ok:
			return errTargetNotMember
		case m.Role == models.RoleOwner:
			return errTargetOwner
		}
		return tx.Delete(&m).Error
	})
	return wrapOp("remove member", err)
}

// AddKick records userID as kicked from channelID and removes its
// membership, in one transaction.
func (s *ChannelService) AddKick(ctx context.Context, channelID, userID string) (models.KickedMember, error) {
	var k models.KickedMember
	if err := requireUUIDs("userId", userID, "channelId", channelID); err != nil {
		return k, err
	}
	if err := s.userExists(ctx, userID, "userId"); err != nil {
		return k, err
	}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if _, err := channelByID(tx, channelID); err != nil {
			return err
		}
		m, ok, err := membership(tx, channelID, userID)
		if err != nil {
			return err
		}
		if ok && m.Role == models.RoleOwner {
			return errTargetOwner
		}
		if ok {
			if err := tx.Delete(&m).Error; err != nil {
				return err
			}
		}
		k = models.KickedMember{UserID: userID, ChannelID: channelID}
		return tx.Create(&k).Error
	})
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return k, Public(ErrConflict, "this user is already kicked")
	}
	return k, wrapOp("kick", err)
}

// RemoveKick deletes a kick record.
func (s *ChannelService) RemoveKick(ctx context.Context, channelID, userID string) error {
	err := s.db.WithContext(ctx).Where("channel_id = ? AND user_id = ?", channelID, userID).Delete(&models.KickedMember{}).Error
	return wrapOp("remove kick", err)
}

// DeleteMessages deletes every message of channelID.
func (s *ChannelService) DeleteMessages(ctx context.Context, channelID string) error {
	err := s.db.WithContext(ctx).Where("channel_id = ?", channelID).Delete(&models.ChannelMessage{}).Error
	return wrapOp("delete messages", err)
}

// RenameAny renames a channel without an acting user.
func (s *ChannelService) RenameAny(ctx context.Context, channelID, name string) (models.Channel, error) {
	var ch models.Channel
	if err := validName("channelName", name); err != nil {
		return ch, err
	}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var err error
		if ch, err = channelByID(tx, channelID); err != nil {
			return err
		}
		return renameChannel(tx, &ch, name)
	})
	return ch, wrapOp("rename channel", err)
}

// DeleteAny deletes a channel and its rows without an acting user.
func (s *ChannelService) DeleteAny(ctx context.Context, channelID string) error {
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if _, err := channelByID(tx, channelID); err != nil {
			return err
		}
		return deleteChannel(tx, channelID)
	})
	if err == nil {
		s.expiries.CancelChannel(channelID)
	}
	return wrapOp("delete channel", err)
}
