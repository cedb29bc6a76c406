package models

import "time"

// Notification is one entry of a user's durable inbox (issue 7). Seq is
// the user's own sequence number: strictly increasing per user, unique
// with UserID, assigned from NotificationCounter in the inserting
// transaction.
type Notification struct {
	Base
	UserID    string     `gorm:"uniqueIndex:idx_notification_user_seq,priority:1;not null;type:varchar(36)"`
	Seq       int64      `gorm:"uniqueIndex:idx_notification_user_seq,priority:2;not null"`
	Type      string     `gorm:"not null;type:varchar(64)"`
	ActorID   *string    `gorm:"type:varchar(36)"`
	ActorName *string    `gorm:"type:varchar(255)"`  // the actor's name when it was recorded
	Payload   string     `gorm:"not null;type:text"` // JSON
	CreatedAt time.Time  `gorm:"index;not null"`
	SeenAt    *time.Time // set with ReadAt (the push session adds delivery)
	ReadAt    *time.Time
	User      *User `gorm:"constraint:OnDelete:CASCADE"`
}

// NotificationCounter holds the last sequence number given to a user's
// notifications; its row is updated in the transaction that inserts one.
type NotificationCounter struct {
	UserID  string `gorm:"primaryKey;type:varchar(36)"`
	LastSeq int64  `gorm:"not null"`
	User    *User  `gorm:"constraint:OnDelete:CASCADE"`
}

// NotificationPreference is a user's choice for one notification type;
// a missing row is the type's default.
type NotificationPreference struct {
	UserID  string `gorm:"primaryKey;type:varchar(36)"`
	Type    string `gorm:"primaryKey;type:varchar(64)"`
	Enabled bool   `gorm:"not null"`
	User    *User  `gorm:"constraint:OnDelete:CASCADE"`
}
