package services

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/onlinenow/onlinenow/models"
)

// Contact is a user who exchanged direct messages with another user, as
// the contact list shows it. Only messages between the two users count.
type Contact struct {
	User models.User
	// LastFromContact is the newest message the contact sent to the user.
	LastFromContact *models.DirectMessage
	// LastToContact is the newest message the user sent to the contact.
	LastToContact *models.DirectMessage
	// Unseen counts the contact's messages to the user not yet seen.
	Unseen int64
}

// lastAt is the time of the contact's newest message in either direction.
func (c Contact) lastAt() time.Time {
	var t time.Time
	if c.LastFromContact != nil {
		t = c.LastFromContact.CreatedAt
	}
	if c.LastToContact != nil && c.LastToContact.CreatedAt.After(t) {
		t = c.LastToContact.CreatedAt
	}
	return t
}

// Contacts returns the users who exchanged a direct message with userID,
// except those userID blocks, most recent conversation first. It runs three
// queries whatever the number of contacts.
func (s *ChatService) Contacts(ctx context.Context, userID string) ([]Contact, error) {
	db := s.db.WithContext(ctx)

	// The newest message of each ordered pair (sender, receiver) that
	// involves userID, skipping contacts userID blocks.
	var latest []models.DirectMessage
	err := db.Raw(`
SELECT t.id, t.content, t.sender_id, t.reciever_id, t.room_id, t.seen, t.created_at
FROM (
  SELECT m.id, m.content, m.sender_id, m.reciever_id, m.room_id, m.seen, m.created_at,
         ROW_NUMBER() OVER (PARTITION BY m.sender_id, m.reciever_id ORDER BY m.created_at DESC, m.id DESC) AS rn
  FROM direct_messages m
  WHERE (m.sender_id = ? OR m.reciever_id = ?) AND m.sender_id <> m.reciever_id
    AND NOT EXISTS (
      SELECT 1 FROM blocked_users b
      WHERE b.user_id = ?
        AND b.blocked_user_id = CASE WHEN m.sender_id = ? THEN m.reciever_id ELSE m.sender_id END)
) t
WHERE t.rn = 1`, userID, userID, userID, userID).Scan(&latest).Error
	if err != nil {
		return nil, fmt.Errorf("contacts: latest messages: %w", err)
	}
	if len(latest) == 0 {
		return []Contact{}, nil
	}

	byID := map[string]*Contact{}
	var ids []string
	for i := range latest {
		m := &latest[i]
		other := m.SenderID
		if other == userID {
			other = m.RecieverID
		}
		c, ok := byID[other]
		if !ok {
			c = &Contact{}
			byID[other] = c
			ids = append(ids, other)
		}
		if m.SenderID == userID {
			c.LastToContact = m
		} else {
			c.LastFromContact = m
		}
	}

	var counts []struct {
		SenderID string
		N        int64
	}
	err = db.Model(&models.DirectMessage{}).Select("sender_id, COUNT(*) AS n").
		Where("reciever_id = ? AND seen = ? AND sender_id IN ?", userID, false, ids).
		Group("sender_id").Scan(&counts).Error
	if err != nil {
		return nil, fmt.Errorf("contacts: unseen counts: %w", err)
	}
	for _, n := range counts {
		if c, ok := byID[n.SenderID]; ok {
			c.Unseen = n.N
		}
	}

	var users []models.User
	if err := db.Where("id IN ?", ids).Find(&users).Error; err != nil {
		return nil, fmt.Errorf("contacts: users: %w", err)
	}
	out := make([]Contact, 0, len(users))
	for _, u := range users {
		c := byID[u.ID]
		c.User = u
		out = append(out, *c)
	}
	slices.SortFunc(out, func(a, b Contact) int {
		if c := b.lastAt().Compare(a.lastAt()); c != 0 {
			return c
		}
		return cmp.Compare(a.User.ID, b.User.ID)
	})
	return out, nil
}

// UnreadSummary is one sender's unseen messages to a user.
type UnreadSummary struct {
	SenderID    string
	Name        *string
	Avatar      *string
	Count       int64
	LastContent string    // content of the newest unseen message
	LastAt      time.Time // time of the newest unseen message
}

// UnreadSummary groups the unseen messages addressed to userID by sender,
// newest first, in one query. Senders userID blocks are left out, as they
// are from the contact list.
func (s *ChatService) UnreadSummary(ctx context.Context, userID string) ([]UnreadSummary, error) {
	var rows []struct {
		SenderID    string
		Name        *string
		Avatar      *string
		Count       int64
		LastContent string
		LastAt      dbTime
	}
	err := s.db.WithContext(ctx).Raw(`
SELECT t.sender_id AS sender_id, u.name AS name, u.avatar AS avatar, t.n AS count,
       t.content AS last_content, t.created_at AS last_at
FROM (
  SELECT m.id, m.sender_id, m.content, m.created_at,
         COUNT(*) OVER (PARTITION BY m.sender_id) AS n,
         ROW_NUMBER() OVER (PARTITION BY m.sender_id ORDER BY m.created_at DESC, m.id DESC) AS rn
  FROM direct_messages m
  WHERE m.reciever_id = ? AND m.seen = ?
    AND NOT EXISTS (SELECT 1 FROM blocked_users b WHERE b.user_id = ? AND b.blocked_user_id = m.sender_id)
) t
JOIN users u ON u.id = t.sender_id
WHERE t.rn = 1
ORDER BY t.created_at DESC, t.sender_id ASC`, userID, false, userID).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("unread summary: %w", err)
	}
	out := make([]UnreadSummary, 0, len(rows))
	for _, r := range rows {
		out = append(out, UnreadSummary{
			SenderID: r.SenderID, Name: r.Name, Avatar: r.Avatar, Count: r.Count,
			LastContent: r.LastContent, LastAt: r.LastAt.Time,
		})
	}
	return out, nil
}
