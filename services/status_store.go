package services

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/onlinenow/onlinenow/models"
)

// DBStatusStore is the StatusStore over the users table.
type DBStatusStore struct {
	db *gorm.DB
}

// NewStatusStore returns a StatusStore over db.
func NewStatusStore(db *gorm.DB) *DBStatusStore { return &DBStatusStore{db: db} }

var _ StatusStore = (*DBStatusStore)(nil)

// SaveStatus writes status (and lastSeenAt when not nil) of userID.
func (s *DBStatusStore) SaveStatus(ctx context.Context, userID string, status models.Status, lastSeenAt *time.Time) error {
	fields := map[string]any{"status": status}
	if lastSeenAt != nil {
		fields["last_seen_at"] = *lastSeenAt
	}
	if err := s.db.WithContext(ctx).Model(&models.User{}).Where("id = ?", userID).Updates(fields).Error; err != nil {
		return fmt.Errorf("save status: %w", err)
	}
	return nil
}

// ResetStatuses sets every user that is not OFFLINE to OFFLINE, with
// lastSeenAt now, and returns how many changed.
func (s *DBStatusStore) ResetStatuses(ctx context.Context) (int64, error) {
	res := s.db.WithContext(ctx).Model(&models.User{}).Where("status <> ?", models.StatusOffline).
		Updates(map[string]any{"status": models.StatusOffline, "last_seen_at": time.Now().UTC().Truncate(time.Millisecond)})
	if res.Error != nil {
		return 0, fmt.Errorf("reset statuses: %w", res.Error)
	}
	return res.RowsAffected, nil
}
