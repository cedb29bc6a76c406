package models

import "time"

// PushSubscription is one browser's Web Push subscription (issue 7): the
// push service endpoint and the keys from PushSubscription.getKey(). An
// endpoint belongs to one user at a time.
type PushSubscription struct {
	Base
	UserID    string    `gorm:"index;not null;type:varchar(36)"`
	Endpoint  string    `gorm:"uniqueIndex;not null;type:varchar(2048)"`
	P256dh    string    `gorm:"column:p256dh;not null;type:varchar(128)"` // base64url, uncompressed P-256 point
	Auth      string    `gorm:"not null;type:varchar(64)"`                // base64url, 16-byte auth secret
	CreatedAt time.Time `gorm:"not null"`
	User      *User     `gorm:"constraint:OnDelete:CASCADE"`
}

// ServerSetting is a named value the server keeps across restarts and
// shares between its instances, such as a generated VAPID key pair.
type ServerSetting struct {
	Name  string `gorm:"primaryKey;type:varchar(64)"`
	Value string `gorm:"not null;type:text"`
}
