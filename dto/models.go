package dto

import (
	"math"

	"github.com/onlinenow/onlinenow/models"
	"github.com/onlinenow/onlinenow/services"
)

// User is a user as the frontend sees it (contract 2.2), in the contract's
// field order, plus the additive lastSeenAt. The TOTP secret is never sent.
type User struct {
	ID                 string        `json:"id"`
	Name               *string       `json:"name"`
	Email              string        `json:"email"`
	IntraID            string        `json:"intraId"`
	Avatar             *string       `json:"Avatar"`
	Status             models.Status `json:"status"`
	IsAuth             bool          `json:"isAuth"`
	IsTwoFactorEnabled bool          `json:"isTwoFactorEnabled"`
	CreatedAt          Time          `json:"created_at"`
	UpdatedAt          Time          `json:"updated_at"`
	LastSeenAt         *Time         `json:"lastSeenAt"`
}

// FromUser maps a user row.
func FromUser(m models.User) User {
	return User{
		ID:                 m.ID,
		Name:               m.Name,
		Email:              m.Email,
		IntraID:            m.IntraID,
		Avatar:             m.Avatar,
		Status:             m.Status,
		IsAuth:             m.IsAuth,
		IsTwoFactorEnabled: m.IsTwoFactorEnabled,
		CreatedAt:          NewTime(m.CreatedAt),
		UpdatedAt:          NewTime(m.UpdatedAt),
		LastSeenAt:         TimePtr(m.LastSeenAt),
	}
}

// FromUsers maps user rows; never nil, so it marshals as [].
func FromUsers(ms []models.User) []User { return mapAll(ms, FromUser) }

// Friend is a friend request or friendship.
type Friend struct {
	ID               string                  `json:"id"`
	FriendShipStatus models.FriendShipStatus `json:"friendShipStatus"`
	UserID           string                  `json:"userId"`
	FriendID         string                  `json:"friendId"`
	CreatedAt        Time                    `json:"created_at"`
}

// FromFriend maps a friend row.
func FromFriend(m models.Friend) Friend {
	return Friend{ID: m.ID, FriendShipStatus: m.FriendShipStatus, UserID: m.UserID, FriendID: m.FriendID, CreatedAt: NewTime(m.CreatedAt)}
}

// FromFriends maps friend rows; never nil.
func FromFriends(ms []models.Friend) []Friend { return mapAll(ms, FromFriend) }

// BlockedUser is a block: userId blocks blockedUserId.
type BlockedUser struct {
	ID            string `json:"id"`
	UserID        string `json:"userId"`
	BlockedUserID string `json:"blockedUserId"`
	CreatedAt     Time   `json:"created_at"`
}

// FromBlockedUser maps a block row.
func FromBlockedUser(m models.BlockedUser) BlockedUser {
	return BlockedUser{ID: m.ID, UserID: m.UserID, BlockedUserID: m.BlockedUserID, CreatedAt: NewTime(m.CreatedAt)}
}

// FromBlockedUsers maps block rows; never nil.
func FromBlockedUsers(ms []models.BlockedUser) []BlockedUser { return mapAll(ms, FromBlockedUser) }

// DirectMessage is a direct message; recieverId keeps the original spelling.
type DirectMessage struct {
	ID         string `json:"id"`
	Content    string `json:"content"`
	SenderID   string `json:"senderId"`
	RecieverID string `json:"recieverId"`
	RoomID     string `json:"roomId"`
	Seen       bool   `json:"seen"`
	CreatedAt  Time   `json:"created_at"`
}

// FromDirectMessage maps a message row.
func FromDirectMessage(m models.DirectMessage) DirectMessage {
	return DirectMessage{
		ID: m.ID, Content: m.Content, SenderID: m.SenderID, RecieverID: m.RecieverID,
		RoomID: m.RoomID, Seen: m.Seen, CreatedAt: NewTime(m.CreatedAt),
	}
}

// FromDirectMessages maps message rows; never nil.
func FromDirectMessages(ms []models.DirectMessage) []DirectMessage {
	return mapAll(ms, FromDirectMessage)
}

// UserStat is a user's win/loss record.
type UserStat struct {
	ID          string  `json:"id"`
	WinsNumbr   int     `json:"winsNumbr"`
	LossesNumbr int     `json:"lossesNumbr"`
	Rate        float64 `json:"rate"`
	UserID      string  `json:"userId"`
	CreatedAt   Time    `json:"created_at"`
}

// FromUserStat maps a stat row. A non-finite rate (which JSON cannot carry
// and the frontend would choke on) is sent as 0.
func FromUserStat(m models.UserStat) UserStat {
	rate := m.Rate
	if math.IsNaN(rate) || math.IsInf(rate, 0) {
		rate = 0
	}
	return UserStat{ID: m.ID, WinsNumbr: m.WinsNumbr, LossesNumbr: m.LossesNumbr, Rate: rate, UserID: m.UserID, CreatedAt: NewTime(m.CreatedAt)}
}

// Achievement is a user's list of achievements.
type Achievement struct {
	ID          string   `json:"id"`
	Achievement []string `json:"achievement"`
	UserID      string   `json:"userId"`
	CreatedAt   Time     `json:"created_at"`
}

// FromAchievement maps an achievement row; the list is never null.
func FromAchievement(m models.Achievement) Achievement {
	list := m.Achievement
	if list == nil {
		list = []string{}
	}
	return Achievement{ID: m.ID, Achievement: list, UserID: m.UserID, CreatedAt: NewTime(m.CreatedAt)}
}

// FromAchievements maps achievement rows; never nil.
func FromAchievements(ms []models.Achievement) []Achievement { return mapAll(ms, FromAchievement) }

// GamesHistories is a finished game.
type GamesHistories struct {
	ID           string `json:"id"`
	PlayerAScore int    `json:"playerA_Score"`
	PlayerBScore int    `json:"playerB_Score"`
	CreatedAt    Time   `json:"created_at"`
	PlayerAID    string `json:"playerA_id"`
	PlayerBID    string `json:"playerB_id"`
}

// FromGame maps a game history row.
func FromGame(m models.GamesHistories) GamesHistories {
	return GamesHistories{
		ID: m.ID, PlayerAScore: m.PlayerAScore, PlayerBScore: m.PlayerBScore,
		CreatedAt: NewTime(m.CreatedAt), PlayerAID: m.PlayerAID, PlayerBID: m.PlayerBID,
	}
}

// FromGames maps game history rows; never nil.
func FromGames(ms []models.GamesHistories) []GamesHistories { return mapAll(ms, FromGame) }

// Contact is one entry of GET /users/:id/receivers: the contact's User
// fields, then the latest message it sent to the user (senders), the latest
// it received from the user (receivers), and its unread count.
type Contact struct {
	User
	Senders   []DirectMessage `json:"senders"`
	Receivers []DirectMessage `json:"receivers"`
	Count     ContactCount    `json:"_count"`
}

// ContactCount is the _count object of a Contact.
type ContactCount struct {
	Senders int64 `json:"senders"`
}

// FromContact maps a services.Contact.
func FromContact(c services.Contact) Contact {
	out := Contact{User: FromUser(c.User), Senders: []DirectMessage{}, Receivers: []DirectMessage{}, Count: ContactCount{Senders: c.Unseen}}
	if c.LastFromContact != nil {
		out.Senders = append(out.Senders, FromDirectMessage(*c.LastFromContact))
	}
	if c.LastToContact != nil {
		out.Receivers = append(out.Receivers, FromDirectMessage(*c.LastToContact))
	}
	return out
}

// FromContacts maps contacts; never nil.
func FromContacts(cs []services.Contact) []Contact { return mapAll(cs, FromContact) }

// UnreadSummary is one sender's line in GET /chat/:userId/unread-summary.
type UnreadSummary struct {
	SenderID    string  `json:"senderId"`
	Name        *string `json:"name"`
	Avatar      *string `json:"Avatar"`
	Count       int64   `json:"count"`
	LastContent string  `json:"lastContent"`
	LastAt      Time    `json:"lastAt"`
}

// FromUnreadSummary maps a services.UnreadSummary.
func FromUnreadSummary(s services.UnreadSummary) UnreadSummary {
	return UnreadSummary{
		SenderID: s.SenderID, Name: s.Name, Avatar: s.Avatar, Count: s.Count,
		LastContent: s.LastContent, LastAt: NewTime(s.LastAt),
	}
}

// FromUnreadSummaries maps summary lines; never nil.
func FromUnreadSummaries(ss []services.UnreadSummary) []UnreadSummary {
	return mapAll(ss, FromUnreadSummary)
}

// mapAll maps every element; the result is non-nil so it marshals as [].
func mapAll[M, D any](ms []M, f func(M) D) []D {
	out := make([]D, 0, len(ms))
	for _, m := range ms {
		out = append(out, f(m))
	}
	return out
}
