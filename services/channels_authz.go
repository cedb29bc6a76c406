package services

import (
	"context"

	"github.com/onlinenow/onlinenow/models"
)

// The checks below let the REST routes of the channel module act for an
// authenticated caller (AUTH_MODE=strict) with the same role rules as the
// socket's moderation. Each reads the memberships in its own query, before
// the operation it guards.

// CheckModerator returns nil if actorID may administer targetID in
// channelID: the actor is the OWNER or an ADMIN, the target is not the
// actor nor the owner, and only the owner acts on an admin. targetID ""
// checks the actor's role only; ownerOnly requires the OWNER.
func (s *ChannelService) CheckModerator(ctx context.Context, actorID, channelID, targetID string, ownerOnly bool) error {
	if err := requireUUIDs("channelId", channelID); err != nil {
		return err
	}
	db := s.db.WithContext(ctx)
	if _, err := channelByID(db, channelID); err != nil {
		return wrapOp("check moderator", err)
	}
	actor, ok, err := membership(db, channelID, actorID)
	switch {
	case err != nil:
		return wrapOp("check moderator", err)
	case !ok:
		return errNotMember
	case ownerOnly && actor.Role != models.RoleOwner:
		return errNotOwner
	case actor.Role != models.RoleOwner && actor.Role != models.RoleAdmin:
		return errNotModerator
	case targetID == "":
		return nil
	case targetID == actorID:
		return errSelf
	}
	target, ok, err := membership(db, channelID, targetID)
	switch {
	case err != nil:
		return wrapOp("check moderator", err)
	case !ok:
		return nil // the operation itself answers for a missing member
	case target.Role == models.RoleOwner:
		return errTargetOwner
	case isAdminRole(target.Role) && actor.Role != models.RoleOwner:
		return errTargetAdmin
	}
	return nil
}

// CheckReader returns nil if userID may read channelID's messages: a
// member that is not banned.
func (s *ChannelService) CheckReader(ctx context.Context, userID, channelID string) error {
	if err := requireUUIDs("channelId", channelID); err != nil {
		return err
	}
	db := s.db.WithContext(ctx)
	if _, err := channelByID(db, channelID); err != nil {
		return wrapOp("check reader", err)
	}
	m, ok, err := membership(db, channelID, userID)
	switch {
	case err != nil:
		return wrapOp("check reader", err)
	case !ok:
		return errNotMember
	case isBanned(m.Role):
		return Public(ErrForbidden, "You are banned from this channel")
	}
	return nil
}

// IsMember reports whether userID is a member of channelID (in any role).
func (s *ChannelService) IsMember(ctx context.Context, channelID, userID string) (bool, error) {
	_, ok, err := membership(s.db.WithContext(ctx), channelID, userID)
	if err != nil {
		return false, wrapOp("is member", err)
	}
	return ok, nil
}
