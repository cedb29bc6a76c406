package dto

import (
	"time"

	"github.com/onlinenow/onlinenow/models"
	"github.com/onlinenow/onlinenow/services"
)

// Channel is a channel as GET /channel/... answers it (contract 3.4),
// without channelPassword: no response ever carries the password hash.
// hasPassword (additive) says whether joining needs one.
type Channel struct {
	ID             string             `json:"id"`
	ChannelName    string             `json:"channelName"`
	ChannelType    models.ChannelType `json:"channelType"`
	HasPassword    bool               `json:"hasPassword"`
	CreatedAt      Time               `json:"created_at"`
	UpdatedAt      Time               `json:"updated_at"`
	ChannelOwnerID string             `json:"channelOwnerId"`
	Count          *ChannelCount      `json:"_count,omitempty"`
}

// ChannelCount is the _count object of a Channel.
type ChannelCount struct {
	ChannelMember int64 `json:"channelMember"`
}

// FromChannel maps a channel row (no _count).
func FromChannel(m models.Channel) Channel {
	return Channel{
		ID: m.ID, ChannelName: m.ChannelName, ChannelType: m.ChannelType,
		HasPassword: m.ChannelPassword != nil && *m.ChannelPassword != "",
		CreatedAt:   NewTime(m.CreatedAt), UpdatedAt: NewTime(m.UpdatedAt), ChannelOwnerID: m.ChannelOwnerID,
	}
}

// FromChannelWithCount maps a channel with its member count.
func FromChannelWithCount(c services.ChannelWithCount) Channel {
	out := FromChannel(c.Channel)
	out.Count = &ChannelCount{ChannelMember: c.MemberCount}
	return out
}

// FromChannelsWithCount maps channels; never nil.
func FromChannelsWithCount(cs []services.ChannelWithCount) []Channel {
	return mapAll(cs, FromChannelWithCount)
}

// ChannelMember is a membership.
type ChannelMember struct {
	ID          string      `json:"id"`
	UserID      string      `json:"userId"`
	ChannelID   string      `json:"channelId"`
	Role        models.Role `json:"role"`
	BannedTime  *Time       `json:"bannedTime"`
	UnbanneTime *Time       `json:"unbanneTime"`
	MutedTime   *Time       `json:"mutedTime"`
	UnmuteTime  *Time       `json:"unmuteTime"`
	CreatedAt   Time        `json:"created_at"`
}

// FromChannelMember maps a membership row.
func FromChannelMember(m models.ChannelMember) ChannelMember {
	return ChannelMember{
		ID: m.ID, UserID: m.UserID, ChannelID: m.ChannelID, Role: m.Role,
		BannedTime: TimePtr(m.BannedTime), UnbanneTime: TimePtr(m.UnbanneTime),
		MutedTime: TimePtr(m.MutedTime), UnmuteTime: TimePtr(m.UnmuteTime),
		CreatedAt: NewTime(m.CreatedAt),
	}
}

// FromChannelMembers maps membership rows; never nil.
func FromChannelMembers(ms []models.ChannelMember) []ChannelMember {
	return mapAll(ms, FromChannelMember)
}

// KickedMember is a kick record.
type KickedMember struct {
	ID        string `json:"id"`
	UserID    string `json:"userId"`
	ChannelID string `json:"channelId"`
	CreatedAt Time   `json:"created_at"`
}

// FromKickedMember maps a kick row.
func FromKickedMember(m models.KickedMember) KickedMember {
	return KickedMember{ID: m.ID, UserID: m.UserID, ChannelID: m.ChannelID, CreatedAt: NewTime(m.CreatedAt)}
}

// FromKickedMembers maps kick rows; never nil.
func FromKickedMembers(ms []models.KickedMember) []KickedMember { return mapAll(ms, FromKickedMember) }

// ChannelMessage is a channel message.
type ChannelMessage struct {
	ID        string `json:"id"`
	Content   string `json:"content"`
	UserID    string `json:"userId"`
	ChannelID string `json:"channelId"`
	CreatedAt Time   `json:"created_at"`
}

// FromChannelMessage maps a message row.
func FromChannelMessage(m models.ChannelMessage) ChannelMessage {
	return ChannelMessage{ID: m.ID, Content: m.Content, UserID: m.UserID, ChannelID: m.ChannelID, CreatedAt: NewTime(m.CreatedAt)}
}

// FromChannelMessages maps message rows; never nil.
func FromChannelMessages(ms []models.ChannelMessage) []ChannelMessage {
	return mapAll(ms, FromChannelMessage)
}

// ---------------------------------------------------------- socket payloads

// CreateChannelEvent is the payload of createChannel.
type CreateChannelEvent struct {
	ChannelName     string `json:"channelName"`
	ChannelType     string `json:"channelType"`
	ChannelPassword string `json:"channelPassword"`
	ChannelOwnerID  string `json:"channelOwnerId"`
}

// JoinChannelEvent is the payload of joinChannel ("channelPasword" sic).
type JoinChannelEvent struct {
	UserID          string `json:"userId"`
	ChannelID       string `json:"channelId"`
	ChannelPassword string `json:"channelPasword"`
}

// ChannelMessageEvent is the payload of messageChannel and the onMessage
// object a channel's members receive.
type ChannelMessageEvent struct {
	Content   string `json:"content"`
	UserID    string `json:"userId"`
	ChannelID string `json:"channelId"`
}

// MemberEvent is the payload of createAdmin, createMember, kickMember,
// banMember, muteMember, leaveChannel, removeChannel and editChannelName.
type MemberEvent struct {
	ChannelID          string `json:"channelId"`
	UserID             string `json:"userId"`
	BannedTime         string `json:"bannedTime"`
	MutedTime          string `json:"mutedTime"`
	UpdatedChannelName string `json:"updatedChannelName"`
}

// ParseInstant reads an ISO 8601 instant as the frontend's toISOString
// sends it; the zero time for anything else.
func ParseInstant(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t
}

// ------------------------------------------------------------ REST bodies

// DecodeCreateChannel reads POST /channel {channelName, channelType,
// channelPassword?, channelOwnerId}.
func DecodeCreateChannel(body []byte) (ownerID string, in services.CreateChannelInput, err error) {
	f, err := parseObject(body)
	if err != nil {
		return "", in, err
	}
	in.Name = f.nonEmptyString("channelName", services.MaxChannelNameLen)
	t, _ := f.check("channelType", "channelType must be one of the following values: PUBLIC, PROTECTED, PRIVATE",
		func(s string) bool {
			return s == string(models.ChannelPublic) || s == string(models.ChannelProtected) || s == string(models.ChannelPrivate)
		})
	in.Type = models.ChannelType(t)
	in.Password, _ = f.optString("channelPassword")
	ownerID = f.uuid("channelOwnerId")
	return ownerID, in, f.err()
}

// DecodeChannelName reads PATCH /channel/:id {channelName}.
func DecodeChannelName(body []byte) (string, error) {
	f, err := parseObject(body)
	if err != nil {
		return "", err
	}
	name := f.nonEmptyString("channelName", services.MaxChannelNameLen)
	return name, f.err()
}

const roleProblem = "role must be one of the following values: OWNER, ADMIN, MEMBER, MUTED_MEMBER, BANNED_MEMBER, MUTED_ADMIN, BANNED_ADMIN"

func validRole(s string) bool { return services.ValidRole(models.Role(s)) }

// DecodeAddMember reads POST /channel/member {userId, channelId, role}.
func DecodeAddMember(body []byte) (userID, channelID string, role models.Role, err error) {
	f, err := parseObject(body)
	if err != nil {
		return "", "", "", err
	}
	userID = f.uuid("userId")
	channelID = f.uuid("channelId")
	r, _ := f.check("role", roleProblem, validRole)
	return userID, channelID, models.Role(r), f.err()
}

// DecodeUpdateMember reads PATCH /channel/:channelId/member/:id
// {role, bannedTime?, mutedTime?}.
func DecodeUpdateMember(body []byte) (services.UpdateMemberInput, error) {
	var in services.UpdateMemberInput
	f, err := parseObject(body)
	if err != nil {
		return in, err
	}
	r, _ := f.check("role", roleProblem, validRole)
	in.Role = models.Role(r)
	for name, dst := range map[string]*time.Time{"bannedTime": &in.BannedUntil, "mutedTime": &in.MutedUntil} {
		if _, present := f.get(name); present {
			s, _ := f.check(name, name+" must be a valid ISO 8601 date string", func(s string) bool { return !ParseInstant(s).IsZero() })
			*dst = ParseInstant(s)
		}
	}
	return in, f.err()
}

// DecodeKick reads POST /channel/kickedMember {userId, channelId}.
func DecodeKick(body []byte) (userID, channelID string, err error) {
	f, err := parseObject(body)
	if err != nil {
		return "", "", err
	}
	userID = f.uuid("userId")
	channelID = f.uuid("channelId")
	return userID, channelID, f.err()
}

// DecodeChannelMessage reads POST /channel/channelMessage {content, userId, channelId}.
func DecodeChannelMessage(body []byte) (content, userID, channelID string, err error) {
	f, err := parseObject(body)
	if err != nil {
		return "", "", "", err
	}
	content = f.nonEmptyString("content", services.MaxChannelMessageLen)
	userID = f.uuid("userId")
	channelID = f.uuid("channelId")
	return content, userID, channelID, f.err()
}
