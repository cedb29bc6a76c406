package services

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/google/uuid"

	"github.com/onlinenow/onlinenow/models"
)

// MaxMessageLen is the longest direct message accepted, in characters.
const MaxMessageLen = 5000

// ChatService owns direct messages.
type ChatService struct {
	db     *gorm.DB
	social *SocialService
}

// NewChatService returns a ChatService over db; social answers block checks.
func NewChatService(db *gorm.DB, social *SocialService) *ChatService {
	return &ChatService{db: db, social: social}
}

// SendInput is a direct message to store.
type SendInput struct {
	SenderID   string
	RecieverID string
	Content    string
}

// Validate checks the ids and the content.
func (in SendInput) Validate() error {
	var problems []string
	if !ValidID(in.SenderID) {
		problems = append(problems, "senderId must be a UUID")
	}
	if !ValidID(in.RecieverID) {
		problems = append(problems, "recieverId must be a UUID")
	}
	if strings.TrimSpace(in.Content) == "" {
		problems = append(problems, "content should not be empty")
	} else if utf8.RuneCountInString(in.Content) > MaxMessageLen {
		problems = append(problems, fmt.Sprintf("content must be at most %d characters", MaxMessageLen))
	} else if !utf8.ValidString(in.Content) {
		problems = append(problems, "content must be valid UTF-8")
	}
	if len(problems) == 0 && in.SenderID == in.RecieverID {
		problems = append(problems, "senderId and recieverId must differ")
	}
	if len(problems) > 0 {
		return Invalid(problems...)
	}
	return nil
}

// Send stores a message from in.SenderID to in.RecieverID. If the receiver
// blocks the sender, nothing is stored and delivered is false with a nil
// error: the drop is silent, as the sender must not learn of the block.
// If the sender blocks the receiver the send fails with ErrForbidden.
func (s *ChatService) Send(ctx context.Context, in SendInput) (msg models.DirectMessage, delivered bool, err error) {
	if err := in.Validate(); err != nil {
		return msg, false, err
	}
	msg = models.DirectMessage{
		Base:       models.Base{ID: uuid.NewString()},
		Content:    in.Content,
		SenderID:   in.SenderID,
		RecieverID: in.RecieverID,
		RoomID:     RoomID(in.SenderID, in.RecieverID),
		CreatedAt:  s.db.NowFunc(),
	}
	// The common case in one statement: both users exist and no block
	// stands between them. Only when nothing was inserted do we look why.
	res := s.db.WithContext(ctx).Exec(`
INSERT INTO direct_messages (id, content, sender_id, reciever_id, room_id, seen, created_at)
SELECT ?, ?, ?, ?, ?, ?, ?
WHERE (SELECT COUNT(*) FROM users WHERE id IN (?, ?)) = 2
  AND NOT EXISTS (SELECT 1 FROM blocked_users
    WHERE (user_id = ? AND blocked_user_id = ?) OR (user_id = ? AND blocked_user_id = ?))`,
		msg.ID, msg.Content, msg.SenderID, msg.RecieverID, msg.RoomID, false, msg.CreatedAt,
		in.SenderID, in.RecieverID,
		in.SenderID, in.RecieverID, in.RecieverID, in.SenderID)
	if res.Error != nil {
		return models.DirectMessage{}, false, fmt.Errorf("send: %w", res.Error)
	}
	if res.RowsAffected == 1 {
		return msg, true, nil
	}
	if err := checkPair(ctx, s.db, in.SenderID, in.RecieverID, "senderId", "recieverId"); err != nil {
		return models.DirectMessage{}, false, err
	}
	blocks, err := s.social.Blocks(ctx, in.SenderID, in.RecieverID)
	if err != nil {
		return models.DirectMessage{}, false, err
	}
	for _, b := range blocks {
		if b.UserID == in.RecieverID {
			return models.DirectMessage{}, false, nil
		}
	}
	if len(blocks) > 0 {
		return models.DirectMessage{}, false, Public(ErrForbidden, "you blocked this user: unblock them to send messages")
	}
	// The block that stopped the insert was lifted meanwhile: the sender may
	// simply send again.
	return models.DirectMessage{}, false, Public(ErrConflict, "message not sent, try again")
}

// JoinRoom returns the room of senderID and receiverID. If the room has no
// message yet, it stores an empty, seen placeholder from senderID so that
// the contact appears in both users' contact lists.
func (s *ChatService) JoinRoom(ctx context.Context, senderID, receiverID string) (string, error) {
	if err := checkPair(ctx, s.db, senderID, receiverID, "senderId", "recieverId"); err != nil {
		return "", err
	}
	room := RoomID(senderID, receiverID)
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var existing models.DirectMessage
		err := tx.Select("id").Where("room_id = ?", room).Take(&existing).Error
		if err == nil {
			return nil
		}
		if !errors.Is(err, gorm.ErrRecordNotFound) {
			return err
		}
		// A concurrent joinRoom may insert first: the unique placeholder
		// index turns the second insert into a no-op.
		return tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&models.DirectMessage{
			Content: "", SenderID: senderID, RecieverID: receiverID, RoomID: room, Seen: true,
		}).Error
	})
	if err != nil {
		return "", fmt.Errorf("join room: %w", err)
	}
	return room, nil
}

// Unread returns the unseen messages addressed to userID, oldest first.
func (s *ChatService) Unread(ctx context.Context, userID string) ([]models.DirectMessage, error) {
	var out []models.DirectMessage
	err := s.db.WithContext(ctx).Where("reciever_id = ? AND seen = ?", userID, false).
		Order("created_at ASC").Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("unread: %w", err)
	}
	return out, nil
}

// Room returns the messages of a room, oldest first.
func (s *ChatService) Room(ctx context.Context, roomID string) ([]models.DirectMessage, error) {
	var out []models.DirectMessage
	if err := s.db.WithContext(ctx).Where("room_id = ?", roomID).Order("created_at ASC").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("room: %w", err)
	}
	return out, nil
}

// CountSent returns how many messages userID has sent, placeholders included.
func (s *ChatService) CountSent(ctx context.Context, userID string) (int64, error) {
	var n int64
	if err := s.db.WithContext(ctx).Model(&models.DirectMessage{}).Where("sender_id = ?", userID).Count(&n).Error; err != nil {
		return 0, fmt.Errorf("count sent: %w", err)
	}
	return n, nil
}

// MarkSeen sets seen on the messages that otherID sent to readerID in
// their room and that are currently unseen.
func (s *ChatService) MarkSeen(ctx context.Context, readerID, otherID string, seen bool) error {
	err := s.db.WithContext(ctx).Model(&models.DirectMessage{}).
		Where("room_id = ? AND reciever_id = ? AND seen = ?", RoomID(readerID, otherID), readerID, false).
		Update("seen", seen).Error
	if err != nil {
		return fmt.Errorf("mark seen: %w", err)
	}
	return nil
}
